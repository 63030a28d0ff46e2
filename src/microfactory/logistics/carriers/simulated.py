"""A simulated carrier: deterministic rates from distance and mass, labels, and tracking by clock.

The same parcel between the same places always costs the same, so demos and tests can assert
prices. Distance is great-circle when both places have coordinates, else a rough guess by city
and country. A label moves pre-transit -> in transit -> delivered as the injected clock passes its
promised days.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from math import asin, cos, radians, sin, sqrt

from microfactory.errors import Conflict, NotFound
from microfactory.logistics.carriers import Label, Parcel, Place, Rate, TrackingState, TrackingStatus

CENT = Decimal("0.01")
CARRIER = "simulated"


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    base: Decimal  # per parcel
    per_kg: Decimal
    per_100_km: Decimal
    km_per_day: int
    kg_co2_per_tonne_km: Decimal


SERVICES = (
    Service("economy", Decimal("4.20"), Decimal("0.60"), Decimal("0.35"), 400, Decimal("0.08")),
    Service("express", Decimal("9.90"), Decimal("1.10"), Decimal("0.80"), 900, Decimal("0.60")),
)


def distance_km(origin: Place, destination: Place) -> float:
    """Great-circle km when both places have coordinates; else same city 8, country 350, else 1200."""
    if None not in (origin.lat, origin.lon, destination.lat, destination.lon):
        lat1, lon1 = radians(origin.lat or 0.0), radians(origin.lon or 0.0)
        lat2, lon2 = radians(destination.lat or 0.0), radians(destination.lon or 0.0)
        h = sin((lat2 - lat1) / 2) ** 2 + cos(lat1) * cos(lat2) * sin((lon2 - lon1) / 2) ** 2
        return 2 * 6371.0 * asin(sqrt(h))
    if origin.country.upper() != destination.country.upper():
        return 1200.0
    same_city = origin.city and origin.city.casefold() == destination.city.casefold()
    return 8.0 if same_city else 350.0


class SimulatedCarrier:
    """Rates, labels and tracking without a network; purchases are idempotent by key."""

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC), currency: str = "EUR"):
        self._clock = clock
        self._currency = currency
        self._rates: dict[str, Rate] = {}
        self._labels: dict[str, Label] = {}  # by idempotency key
        self._bought: dict[str, tuple[Label, datetime]] = {}  # by tracking number
        self._cancelled: set[str] = set()

    def rates(self, parcel: Parcel, origin: Place, destination: Place) -> list[Rate]:
        km = Decimal(str(round(distance_km(origin, destination), 1)))
        found = []
        for service in SERVICES:
            amount = service.base + service.per_kg * parcel.mass_kg + service.per_100_km * km / 100
            days = max(1, -(-int(km) // service.km_per_day))
            emissions = service.kg_co2_per_tonne_km * parcel.mass_kg / 1000 * km
            rate_id = _digest(service.name, parcel, origin, destination)
            rate = Rate(
                f"rate_{rate_id}",
                CARRIER,
                service.name,
                amount.quantize(CENT, ROUND_HALF_UP),
                self._currency,
                days,
                emissions.quantize(Decimal("0.001"), ROUND_HALF_UP),
            )
            self._rates[rate.rate_id] = rate
            found.append(rate)
        return found

    def buy(self, rate: Rate, idempotency_key: str) -> Label:
        if idempotency_key in self._labels:
            return self._labels[idempotency_key]
        if self._rates.get(rate.rate_id) != rate:
            raise NotFound("rate", rate.rate_id)
        number = f"SIM{_digest(idempotency_key)[:12].upper()}"
        label = Label(f"lbl_{number.lower()}", rate, number, f"https://carrier.invalid/labels/{number}")
        self._labels[idempotency_key] = label
        self._bought[number] = (label, self._clock())
        return label

    def track(self, tracking_number: str) -> TrackingStatus:
        if tracking_number not in self._bought:
            raise NotFound("tracking number", tracking_number)
        label, bought_at = self._bought[tracking_number]
        now = self._clock()
        if tracking_number in self._cancelled:
            return TrackingStatus(tracking_number, TrackingState.CANCELLED, now, "label voided")
        days = (now - bought_at) / timedelta(days=1)
        if days >= label.rate.days:
            delivered = bought_at + timedelta(days=label.rate.days)
            return TrackingStatus(tracking_number, TrackingState.DELIVERED, delivered)
        if days >= 0.25:
            return TrackingStatus(tracking_number, TrackingState.IN_TRANSIT, now)
        return TrackingStatus(tracking_number, TrackingState.PRE_TRANSIT, bought_at)

    def cancel(self, label: Label) -> None:
        number = label.tracking_number or ""
        status = self.track(number)
        if status.state not in (TrackingState.PRE_TRANSIT, TrackingState.CANCELLED):
            raise Conflict(f"label {label.label_id} is {status.state}, only an unused label can be voided")
        self._cancelled.add(number)


def _digest(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]
