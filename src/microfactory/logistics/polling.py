"""Polling: the fallback for tracking webhooks that never came (a partner without them, a lost one).

Every round takes the parcels on their way (`model.TRACKED`) whose last news is older than
`stale`, claims each with a conditional UPDATE of `tracked_at` (two pollers never ask about one
parcel at once: the second finds it fresh), asks its carrier `track()` through the partner's
breaker (a paused partner is skipped) and applies the answer like a webhook (`tracking.apply_status`).
The API process runs it every `MICROFACTORY_TRACKING_INTERVAL_SECONDS` (`TrackingWorker`);
`microfactory shipments track` runs one round by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import or_, select, update

from microfactory.background import PeriodicThread
from microfactory.db.tables.logistics import ShipmentRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.logistics.handoff import Handoff
from microfactory.logistics.model import TRACKED
from microfactory.logistics.tracking import apply_status

ACTOR = "logistics-poll"


@dataclass
class PollReport:
    asked: int = 0
    moved: int = 0
    errors: list[str] = field(default_factory=list)


def poll_due(handoff: Handoff, stale: timedelta, limit: int = 100) -> PollReport:
    """One round: track every parcel on its way not heard of for `stale`."""
    now = handoff.clock()
    cutoff = now - stale
    fresh_enough = or_(ShipmentRow.tracked_at.is_(None), ShipmentRow.tracked_at < cutoff)
    waiting = [status.value for status in TRACKED]
    with UnitOfWork(handoff.factory) as uow:
        due = list(
            uow.session.execute(
                select(ShipmentRow.id, ShipmentRow.partner, ShipmentRow.site, ShipmentRow.tracking_number)
                .where(
                    ShipmentRow.status.in_(waiting), fresh_enough, ShipmentRow.tracking_number.is_not(None)
                )
                .order_by(ShipmentRow.tracked_at, ShipmentRow.id)
                .limit(limit)
            ).all()
        )
    report = PollReport()
    for shipment_id, partner, site, number in due:
        if not _claim(handoff, shipment_id, cutoff, now):
            continue
        report.asked += 1
        try:
            carrier = handoff.carrier_for(partner)
            status = handoff.call(partner, site, partial(carrier.track, str(number)))
        except Exception as error:  # one parcel's failure never stops the round
            report.errors.append(f"{shipment_id}: {error}")
            continue
        with UnitOfWork(handoff.factory) as uow, uow.write_turn():
            row = uow.session.get(ShipmentRow, shipment_id, with_for_update=True)
            if row is not None and apply_status(uow, row, status, "poll", handoff.clock(), ACTOR) == "moved":
                report.moved += 1
            uow.commit()
    return report


def _claim(handoff: Handoff, shipment_id: str, cutoff: datetime, now: datetime) -> bool:
    with UnitOfWork(handoff.factory) as uow, uow.write_turn():
        result = uow.session.execute(
            update(ShipmentRow)
            .where(
                ShipmentRow.id == shipment_id,
                or_(ShipmentRow.tracked_at.is_(None), ShipmentRow.tracked_at < cutoff),
            )
            .values(tracked_at=now)
        )
        uow.commit()
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


class TrackingWorker(PeriodicThread):
    """The API process's poller: one `poll_due` round every `interval` seconds."""

    def __init__(self, handoff: Handoff, interval: float, stale: timedelta) -> None:
        super().__init__("tracking", interval)
        self._handoff = handoff
        self._stale = stale

    def round(self) -> None:
        poll_due(self._handoff, self._stale)
