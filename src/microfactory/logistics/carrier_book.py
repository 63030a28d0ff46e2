"""Which `Carrier` speaks for a partner: built once per process from the network file, by its kind.

The partner's mapping in the stored network document (`fulfilment_partners.ID`) is what
`kinds.CARRIERS.build` takes; the carrier is kept for as long as that mapping stays the same, so a
simulated carrier remembers the rates it quoted and a real one keeps its HTTP connections. A test
(or the demo) puts its own carrier in with `use(partner, carrier)`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import NotFound
from microfactory.logistics.carriers import Carrier
from microfactory.logistics.carriers.kinds import CARRIERS, carrier_kind
from microfactory.network.stored_state import active_network_row


class PartnerNotFound(NotFound):
    def __init__(self, partner: str) -> None:
        super().__init__("fulfilment partner", partner, f"no fulfilment partner {partner!r} in the network")


def partner_specs(uow: UnitOfWork) -> dict[str, Mapping[str, Any]]:
    """Every partner's mapping in the active network document (empty without a network)."""
    row = active_network_row(uow)
    if row is None:
        return {}
    partners = (row.document or {}).get("fulfilment_partners") or {}
    return {str(pid): spec for pid, spec in partners.items() if isinstance(spec, Mapping)}


class CarrierBook:
    """Carriers by partner id, built on first use and rebuilt when the partner's mapping changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._built: dict[str, tuple[str, Carrier]] = {}
        self._chosen: dict[str, Carrier] = {}

    def use(self, partner: str, carrier: Carrier) -> None:
        """Speak to `partner` through `carrier`, whatever the network says (tests, the demo)."""
        with self._lock:
            self._chosen[partner] = carrier

    def carrier(self, partner: str, spec: Mapping[str, Any] | None) -> Carrier:
        """The partner's carrier; `PartnerNotFound` without a mapping, `Conflict` for a kind not yet built."""
        with self._lock:
            chosen = self._chosen.get(partner)
            if chosen is not None:
                return chosen
            if spec is None:
                raise PartnerNotFound(partner)
            fingerprint = json.dumps(spec, sort_keys=True, default=str)
            built = self._built.get(partner)
            if built is not None and built[0] == fingerprint:
                return built[1]
            kind = str(carrier_kind(spec))
            made = CARRIERS.build(spec, f"fulfilment_partners.{partner}", kind)
            self._built[partner] = (fingerprint, made)
            return made

    def kind_of(self, spec: Mapping[str, Any] | None) -> str:
        """The carrier kind a partner's mapping names or implies (`manual` for no mapping)."""
        return str(carrier_kind(spec)) if spec is not None else "manual"
