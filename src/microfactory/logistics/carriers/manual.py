"""A manual carrier: a person books the courier and enters the label by hand.

For couriers without an API (a neighbourhood cargo-bike service called by phone). `buy` records the
booking the person must make and answers a label without a tracking number; `enter_label` completes
it with what the courier gave them, and `record_status` is where they note pick-up and delivery.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from microfactory.errors import Conflict, NotFound
from microfactory.logistics.carriers import Label, Parcel, Place, Rate, TrackingState, TrackingStatus


class ManualCarrier:
    """One flat rate the partner agreed on; everything after is typed in by a person."""

    def __init__(
        self, name: str = "manual", amount: Decimal = Decimal(0), currency: str = "EUR", days: int = 1
    ) -> None:
        self._rate = Rate(f"rate_{name}", name, "booked by hand", amount, currency, days)
        self._labels: dict[str, Label] = {}  # by idempotency key
        self._statuses: dict[str, TrackingStatus] = {}  # by tracking number

    def rates(self, parcel: Parcel, origin: Place, destination: Place) -> list[Rate]:
        return [self._rate]

    def buy(self, rate: Rate, idempotency_key: str) -> Label:
        """Record the booking to make; the label has no tracking number until it is entered."""
        if rate != self._rate:
            raise NotFound("rate", rate.rate_id)
        label = self._labels.get(idempotency_key)
        if label is None:
            label = Label(f"lbl_manual_{len(self._labels) + 1}", rate, None)
            self._labels[idempotency_key] = label
        return label

    def enter_label(self, label_id: str, tracking_number: str, at: datetime, url: str | None = None) -> Label:
        """What the courier gave the person: the tracking number (and a label URL, if any)."""
        key, label = self._find(label_id)
        if label.tracking_number is not None and label.tracking_number != tracking_number:
            raise Conflict(f"label {label_id} already has tracking number {label.tracking_number}")
        entered = Label(label.label_id, label.rate, tracking_number, url)
        self._labels[key] = entered
        self._statuses.setdefault(
            tracking_number, TrackingStatus(tracking_number, TrackingState.PRE_TRANSIT, at)
        )
        return entered

    def record_status(
        self, tracking_number: str, state: TrackingState, at: datetime, message: str = ""
    ) -> None:
        if tracking_number not in self._statuses:
            raise NotFound("tracking number", tracking_number)
        self._statuses[tracking_number] = TrackingStatus(tracking_number, state, at, message)

    def track(self, tracking_number: str) -> TrackingStatus:
        if tracking_number not in self._statuses:
            raise NotFound("tracking number", tracking_number)
        return self._statuses[tracking_number]

    def cancel(self, label: Label) -> None:
        key, stored = self._find(label.label_id)
        if stored.tracking_number is None:
            del self._labels[key]  # never booked: nothing to call off
            return
        status = self._statuses[stored.tracking_number]
        if status.state is not TrackingState.PRE_TRANSIT:
            raise Conflict(f"label {label.label_id} is {status.state}, it cannot be cancelled")
        self._statuses[stored.tracking_number] = TrackingStatus(
            stored.tracking_number, TrackingState.CANCELLED, status.at, "cancelled by hand"
        )

    def _find(self, label_id: str) -> tuple[str, Label]:
        for key, label in self._labels.items():
            if label.label_id == label_id:
                return key, label
        raise NotFound("label", label_id)
