"""Carrier events at `POST /webhooks/easypost`, `/webhooks/shippo`, `/webhooks/courier/{partner}`.

Public routes: no bearer token, the carrier's own signature instead. The partners the route can
mean (those whose carrier kind is `easypost`, or `shippo`, or the one partner named) are asked in
turn to read the delivery (`CarrierEvents.read_event`): the first whose secret verifies it speaks
for it. None verifies: `Forbidden` (403). A body that is not the carrier's shape: `Invalid` (422).
An event that is not about tracking, or about a tracking number that is not ours: 200, nothing
done (an error would only make the carrier send it again). A repeated event changes nothing
(`tracking.apply_status` keeps each once).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import Conflict, Forbidden, MissingSetting, NotFound
from microfactory.logistics.carrier_book import CarrierBook, PartnerNotFound, partner_specs
from microfactory.logistics.carriers import TrackingStatus
from microfactory.logistics.carriers.kinds import carrier_kind
from microfactory.logistics.tracking import apply_status, shipment_by_tracking

MAX_BODY_BYTES = 256 * 1024


def receive(
    factory: sessionmaker[Session],
    carriers: CarrierBook,
    now: Callable[[], datetime],
    body: bytes,
    headers: Mapping[str, str],
    query: Mapping[str, str],
    *,
    kind: str | None = None,
    partner: str | None = None,
) -> dict[str, Any]:
    """Verify, read and apply one carrier delivery; the answer says what became of it."""
    with UnitOfWork(factory) as uow:
        specs = partner_specs(uow)
    if partner is not None:
        if partner not in specs:
            raise PartnerNotFound(partner)
        candidates = [partner]
    else:
        candidates = [pid for pid, spec in specs.items() if carrier_kind(spec) == kind]
        if not candidates:
            raise NotFound("partner with carrier", str(kind), f"no fulfilment partner uses carrier {kind}")
    speaker, event = _read(carriers, specs, candidates, body, headers, query)
    if event is None:
        return {"outcome": "ignored", "partner": speaker}
    with UnitOfWork(factory) as uow, uow.write_turn():
        row = shipment_by_tracking(uow, event.tracking_number, candidates)
        if row is None:
            return {"outcome": "unknown tracking number", "partner": speaker}
        outcome = apply_status(uow, row, event, "webhook", now(), f"webhook:{speaker}")
        uow.commit()
        return {"outcome": outcome, "partner": speaker, "shipment_id": row.id, "status": row.status}


def _read(
    carriers: CarrierBook,
    specs: Mapping[str, Mapping[str, Any]],
    candidates: list[str],
    body: bytes,
    headers: Mapping[str, str],
    query: Mapping[str, str],
) -> tuple[str, TrackingStatus | None]:
    refused: Forbidden | None = None
    unset: MissingSetting | None = None
    listening = False
    for pid in candidates:
        try:
            carrier = carriers.carrier(pid, specs.get(pid))
        except MissingSetting as error:  # a partner not set up here cannot have signed it: ask the next
            unset = unset or error
            continue
        reader = getattr(carrier, "read_event", None)
        if not callable(reader):
            continue
        listening = True
        try:
            event: TrackingStatus | None = reader(body, headers, query)
        except Forbidden as error:
            refused = error
            continue
        return pid, event
    if refused is not None or listening:
        raise refused or Forbidden("the delivery's signature does not verify")
    if unset is not None:
        raise unset
    raise Conflict(
        f"partner {', '.join(candidates)} takes no tracking callbacks (its carrier cannot read them)"
    )
