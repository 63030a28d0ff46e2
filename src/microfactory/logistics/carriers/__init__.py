"""The carrier port: rates, labels and tracking from a parcel network or a local courier.

EasyPost, Shippo, a courier reached by webhook, a simulated carrier for the demo and a manual
booking (a person phones the courier and types in the label) all answer the same four calls, so
logistics picks the best rate and follows the parcel without asking which one it talks to. The
partner's `carrier` (or its kind) in the network document chooses the implementation
(`kinds.CARRIERS`). Money is Decimal; a rate's emissions are given when the carrier knows them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Parcel:
    """A parcel as carriers price it: mass and outer dimensions."""

    mass_kg: Decimal
    length_cm: Decimal = Decimal(20)
    width_cm: Decimal = Decimal(15)
    height_cm: Decimal = Decimal(10)


@dataclass(frozen=True, slots=True)
class Place:
    """Where a parcel is picked up or delivered; coordinates when known."""

    country: str  # ISO 3166-1 alpha-2
    city: str = ""
    postcode: str = ""
    street: str = ""
    name: str = ""
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True, slots=True)
class Rate:
    """One offer: a service at a price, arriving in `days`; `rate_id` is what `buy` takes back.

    `shipment_id` is the carrier's own shipment the rate belongs to (EasyPost's `shp_...`, Shippo's
    shipment `object_id`), which `buy` needs; keep the whole rate until its label is recorded, since
    buying the same rate again is how a lost answer is found (never a fresh quote: see `buy`).
    `arrives_by` is the carrier's promised delivery time, when it gives one.
    """

    rate_id: str
    carrier: str
    service: str
    amount: Decimal
    currency: str
    days: int
    emissions_kg: Decimal | None = None
    shipment_id: str | None = None
    arrives_by: datetime | None = None


@dataclass(frozen=True, slots=True)
class Label:
    """A bought label. `tracking_number` is None while a person still has to enter it.

    `url` is where the label's PDF is fetched (EasyPost's `label_pdf_url`, Shippo's `label_url`, a
    courier's `label_url`); `tracking_url` the carrier's public tracking page, when it has one.
    """

    label_id: str
    rate: Rate
    tracking_number: str | None
    url: str | None = None
    tracking_url: str | None = None


class TrackingState(StrEnum):
    PRE_TRANSIT = "pre_transit"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    RETURNED = "returned"
    FAILURE = "failure"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class TrackingStatus:
    tracking_number: str
    state: TrackingState
    at: datetime | None = None  # aware UTC: when the carrier saw it so
    message: str = ""


class Carrier(Protocol):
    """A shipping service; unknown rates, labels or tracking numbers raise `NotFound`."""

    def rates(self, parcel: Parcel, origin: Place, destination: Place) -> list[Rate]: ...

    def buy(self, rate: Rate, idempotency_key: str) -> Label:
        """Buy the rate's label; the same key answers the same label, never a second purchase."""
        ...

    def track(self, tracking_number: str) -> TrackingStatus: ...

    def cancel(self, label: Label) -> None:
        """Void an unused label (refunds are the carrier's business)."""
        ...


class PickupBooking(Protocol):
    """Optional: carriers and couriers that come to the site to collect.

    `idempotency_key`, when given, names the booking: asked again under the same key (a worker killed
    between booking and recording it, then a retry with another window), the carrier answers the
    first pickup instead of booking a second (see each adapter for how its API allows that).
    """

    def book_pickup(
        self, labels: list[Label], ready_at: datetime, until: datetime, idempotency_key: str | None = None
    ) -> str: ...


class CarrierEvents(Protocol):
    """Optional: carriers that push tracking updates to `POST /webhooks/{carrier}`.

    `read_event` checks the delivery's signature (EasyPost's `X-Hmac-Signature`, Shippo's `?token=`,
    a courier's signed callback) and reads it: `Forbidden` when the signature is wrong or missing,
    `Invalid` when the body is not the carrier's documented shape, `None` for an event that is not
    about tracking (a carrier sends many kinds).
    """

    def read_event(
        self, body: bytes, headers: Mapping[str, str], query: Mapping[str, str]
    ) -> TrackingStatus | None: ...
