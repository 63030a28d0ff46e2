"""The handoff of a packed parcel: rate, label bought once, label kept, pickup booked, store told.

It runs as the outbox handler of `logistics.handoff` (one message per parcel, keyed by its id), so
it is claimed by one worker at a time, retried with backoff on timeouts and 5xx, and taken up again
when a worker dies. Each step is recorded in its own short transaction before the next begins, and
no transaction is open during a carrier call, so a retry starts where the last attempt stopped:

1. the partner: the site's, unless it is paused (`health`) and nothing was bought there yet, then
   the site's `fallback_partner` (audited); with neither, the parcel waits (a retryable failure);
2. the rate the partner's `policy` picks (`model.choose_rate`), kept with `buy_partner` *before*
   the purchase: from then on the parcel never changes partner;
3. `buy(rate, idempotency_key=parcel id)`: a retry, a second worker, or a worker killed after the
   purchase asks again under the same key and gets the same label; an unknown outcome is therefore
   retried, never parked (the key makes the repeat safe); a rate the carrier forgot is re-quoted;
4. the label PDF (`labels.label_pdf`), kept on the parcel;
5. a pickup when the carrier books them (`PickupBooking`), under the key `{parcel id}-pickup`, so a
   worker killed between booking and recording it does not book a second collection;
6. the lines move to shipped and the store hears of it: a Shopify order through
   `fulfilment_sync.queue_shipment` (its own outbox message, keyed by the parcel id), any other
   channel through `shipping.ship_lines`, which only records it.
Every carrier call passes the partner's circuit breaker (`health`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from microfactory.channels.shopify.fulfilment_sync import ShipmentLine, queue_shipment
from microfactory.channels.shopify.mapping import CHANNEL as SHOPIFY
from microfactory.channels.shopify.shipping import ship_lines
from microfactory.db.tables.logistics import ShipmentRow
from microfactory.db.tables.orders import OrderRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import NotFound, UpstreamFailure
from microfactory.logistics import health
from microfactory.logistics.carrier_book import CarrierBook, partner_specs
from microfactory.logistics.carriers import Carrier, Label, Parcel, Place, Rate, TrackingState
from microfactory.logistics.labels import LabelText, label_pdf
from microfactory.logistics.model import BEFORE_HANDOFF, BreakerPolicy, ShipmentStatus, choose_rate
from microfactory.logistics.tracking import record_event
from microfactory.network.stored_state import active_network_row, network_of
from microfactory.orders import audit
from microfactory.outbox.dispatcher import Handler, Outcome, default_worker_id
from microfactory.outbox.model import Backoff

ACTOR = "logistics"
BACKOFF = Backoff(base_seconds=30, cap_seconds=1800, max_attempts=20)
PICKUP_WINDOW = timedelta(hours=8)
T = TypeVar("T")


class PartnerPaused(UpstreamFailure):
    """The partner's breaker is open and the parcel has nowhere else to go: it waits (retried)."""


@dataclass
class Handoff:
    """What a handoff runs on: storage, the carriers, a clock, the breaker's rule and a worker name."""

    factory: sessionmaker[Session]
    carriers: CarrierBook
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    breaker: BreakerPolicy = field(default_factory=BreakerPolicy)
    worker: str = field(default_factory=default_worker_id)

    def handler(self) -> Handler:
        """The outbox handler of `logistics.handoff`."""
        return Handler(
            send=lambda message: self.run(str(message.payload["shipment_id"])),
            record=_record,
            backoff=BACKOFF,
        )

    def run(self, shipment_id: str) -> dict[str, Any]:
        """Carry the parcel's handoff as far as it goes; the steps already recorded are skipped."""
        shipment = self._read(shipment_id)
        if shipment.status not in BEFORE_HANDOFF:
            return {"shipment_id": shipment_id, "status": shipment.status, "already": True}
        if shipment.label_id is None:
            self._buy(shipment, self._partner(shipment))
            shipment = self._read(shipment_id)
        partner = str(shipment.buy_partner or shipment.partner)
        carrier = self.carrier_for(partner)
        label = _label_of(shipment)
        if not shipment.has_pdf:
            pdf = label_pdf(carrier, label, self._label_text(shipment))
            self._write(shipment_id, lambda row, _uow: setattr(row, "label_pdf", pdf))
        book: Callable[[list[Label], datetime, datetime, str], str] | None = getattr(
            carrier, "book_pickup", None
        )
        if shipment.pickup_id is None and callable(book):
            ready, key = self.clock(), pickup_key(shipment_id)
            pickup = self.call(
                partner, shipment.site, lambda: book([label], ready, ready + PICKUP_WINDOW, key)
            )
            self._write(shipment_id, lambda row, _uow: setattr(row, "pickup_id", str(pickup)[:120]))
        status = self._finish(shipment_id)
        return {"shipment_id": shipment_id, "status": status, "tracking_number": label.tracking_number}

    # -- steps --------------------------------------------------------------------------------

    def _partner(self, shipment: Snapshot) -> str:
        """Where to buy: where a purchase began, else the site's partner, else its fallback, else wait."""
        if shipment.buy_partner is not None:
            return shipment.buy_partner
        now = self.clock()
        until = health.paused_until(self.factory, shipment.partner, now)
        if until is None:
            return shipment.partner
        fallback = shipment.fallback_partner
        if (
            fallback
            and fallback != shipment.partner
            and health.paused_until(self.factory, fallback, now) is None
        ):
            self._switch(shipment.id, shipment.partner, fallback, until)
            return fallback
        raise PartnerPaused(
            shipment.partner,
            f"partner {shipment.partner} is paused until {until.isoformat()}; parcel {shipment.id} waits",
        )

    def _switch(self, shipment_id: str, paused: str, fallback: str, until: datetime) -> None:
        def switch(row: ShipmentRow, uow: UnitOfWork) -> None:
            if row.buy_partner is not None:
                return
            kind = self.carriers.kind_of(partner_specs(uow).get(fallback))
            reason = (
                f"partner {paused} is paused until {until.isoformat()}: handed to fallback partner {fallback}"
            )
            audit.record(uow, "shipment", row.id, row.status, row.status, reason, ACTOR)
            row.partner, row.carrier, row.rate, row.rate_amount, row.rate_currency = (
                fallback,
                kind,
                None,
                None,
                None,
            )

        self._write(shipment_id, switch)

    def _buy(self, shipment: Snapshot, partner: str) -> None:
        carrier = self.carrier_for(partner)
        rate = shipment.stored_rate(partner) or self._quote(carrier, shipment, partner)

        def begin(row: ShipmentRow, _uow: UnitOfWork) -> None:
            row.rate, row.rate_amount, row.rate_currency = (
                _rate_json(rate, partner),
                rate.amount,
                rate.currency[:3],
            )
            row.buy_partner = partner

        self._write(shipment.id, begin)
        try:
            label = self.call(partner, shipment.site, lambda: carrier.buy(rate, shipment.id))
        except NotFound:  # the carrier forgot the quote (expired, or another process quoted it)
            rate = self._quote(carrier, shipment, partner)
            self._write(shipment.id, begin)
            label = self.call(partner, shipment.site, lambda: carrier.buy(rate, shipment.id))
        except UpstreamFailure as error:
            if error.retryable:
                raise
            raise UpstreamFailure(partner, f"{error} (asked again under the same key)") from error
        self._write(shipment.id, lambda row, uow: _keep_label(row, uow, label, self.clock()))

    def _quote(self, carrier: Carrier, shipment: Snapshot, partner: str) -> Rate:
        rates = self.call(
            partner,
            shipment.site,
            lambda: carrier.rates(shipment.parcel, shipment.origin, shipment.destination),
        )
        rate = choose_rate(rates, shipment.policy, self.clock(), shipment.promised_delivery_at)
        if rate is None:
            raise UpstreamFailure(partner, f"partner {partner} offers no rate for parcel {shipment.id}")
        return rate

    def _finish(self, shipment_id: str) -> str:
        """Lines shipped and the store told, in one transaction with the parcel's new status."""
        with UnitOfWork(self.factory) as uow, uow.write_turn():
            row = uow.session.get(ShipmentRow, shipment_id)
            assert row is not None
            order = uow.session.get(OrderRow, row.order_id, with_for_update=True)
            row = uow.session.get(ShipmentRow, shipment_id, with_for_update=True, populate_existing=True)
            assert row is not None and order is not None
            status = finish(uow, row, self.clock(), ACTOR)
            uow.commit()
            return status

    # -- plumbing -----------------------------------------------------------------------------

    def call(self, partner: str, site: str, call: Callable[[], T]) -> T:
        """A carrier call through the partner's breaker: refused while paused, counted either way."""
        now = self.clock()
        if not health.admit(self.factory, partner, now, self.worker, self.breaker):
            until = health.paused_until(self.factory, partner, now) or now
            raise PartnerPaused(partner, f"partner {partner} is paused until {until.isoformat()}")
        try:
            result = call()
        except Exception as error:
            if health.counts_as_failure(error):
                health.failed(self.factory, partner, site, str(error), self.clock(), self.breaker)
            raise
        health.succeeded(self.factory, partner, self.clock())
        return result

    def carrier_for(self, partner: str) -> Carrier:
        with UnitOfWork(self.factory) as uow:
            spec = partner_specs(uow).get(partner)
        return self.carriers.carrier(partner, spec)

    def _read(self, shipment_id: str) -> Snapshot:
        with UnitOfWork(self.factory) as uow:
            row = uow.session.get(ShipmentRow, shipment_id)
            if row is None:
                raise NotFound("shipment", shipment_id)
            return _snapshot(uow, row)

    def _write(self, shipment_id: str, change: Callable[[ShipmentRow, UnitOfWork], None]) -> None:
        with UnitOfWork(self.factory) as uow, uow.write_turn():
            row = uow.session.get(ShipmentRow, shipment_id, with_for_update=True)
            assert row is not None
            change(row, uow)
            uow.commit()

    def _label_text(self, shipment: Snapshot) -> LabelText:
        rate = shipment.rate or {}
        return LabelText(
            shipment.id,
            str(rate.get("carrier") or shipment.carrier),
            str(rate.get("service") or ""),
            shipment.tracking_number,
            shipment.origin.name,
            shipment.ship_to,
            str(shipment.parcel.mass_kg),
        )


def finish(uow: UnitOfWork, row: ShipmentRow, now: datetime, actor: str) -> str:
    """A bought label with its tracking number: lines shipped and the store told (the order is locked).

    Without a tracking number (a partner booked by hand) the parcel stays `label_bought` until a person
    enters it (`manual_entry.record_tracking`), which finishes the handoff through here.
    """
    if row.status != ShipmentStatus.LABEL_BOUGHT:
        return row.status
    if row.tracking_number is None:
        row.last_error = "the label has no tracking number yet: the partner books by hand"
        return row.status
    _tell_store(uow, row, actor)
    audit.record(uow, "shipment", row.id, ShipmentStatus.SHIPPED, row.status, _handed(row), actor)
    row.status = ShipmentStatus.SHIPPED
    row.tracked_at = now
    row.last_error = None
    return row.status


def pickup_key(shipment_id: str) -> str:
    """The pickup's idempotency key: one collection per parcel, however often the step is retried."""
    return f"{shipment_id}-pickup"


@dataclass(frozen=True)
class Snapshot:
    """A parcel as the handoff needs it, read in a short transaction: plain values, no session."""

    id: str
    status: str
    partner: str
    carrier: str
    policy: str
    fallback_partner: str | None
    buy_partner: str | None
    rate: Mapping[str, Any] | None
    label_id: str | None
    tracking_number: str | None
    label_url: str | None
    tracking_url: str | None
    has_pdf: bool
    pickup_id: str | None
    site: str
    parcel: Parcel
    origin: Place
    destination: Place
    ship_to: Mapping[str, Any]
    promised_delivery_at: datetime | None

    def stored_rate(self, partner: str) -> Rate | None:
        """The rate chosen before, when it was chosen at this partner."""
        if self.rate is None or self.rate.get("partner") != partner:
            return None
        return _rate_of(self.rate)


def _snapshot(uow: UnitOfWork, row: ShipmentRow) -> Snapshot:
    order = uow.session.get(OrderRow, row.order_id)
    assert order is not None
    network_row = active_network_row(uow)
    site = network_of(network_row).site(row.site) if network_row is not None else None
    ship_to = dict(order.ship_to or {})
    stored_pdf = select(ShipmentRow.id).where(ShipmentRow.id == row.id, ShipmentRow.label_pdf.is_not(None))
    has_pdf = uow.session.scalar(stored_pdf) is not None
    origin = (
        Place(site.location.country, name=site.name, lat=site.location.lat, lon=site.location.lon)
        if site is not None
        else Place("", name=row.site)
    )
    return Snapshot(
        id=row.id,
        status=row.status,
        partner=row.partner,
        carrier=row.carrier,
        policy=row.policy,
        fallback_partner=site.fallback_partner if site is not None else None,
        buy_partner=row.buy_partner,
        rate=dict(row.rate) if row.rate else None,
        label_id=row.label_id,
        tracking_number=row.tracking_number,
        label_url=row.label_url,
        tracking_url=row.tracking_url,
        has_pdf=has_pdf,
        pickup_id=row.pickup_id,
        site=row.site,
        parcel=Parcel(row.mass_kg, row.length_cm, row.width_cm, row.height_cm),
        origin=origin,
        destination=Place(
            str(ship_to.get("country") or ""),
            city=str(ship_to.get("city") or ""),
            postcode=str(ship_to.get("postcode") or ""),
            street=str(ship_to.get("line1") or ""),
            name=str(ship_to.get("name") or ""),
            lat=ship_to.get("latitude"),
            lon=ship_to.get("longitude"),
        ),
        ship_to=ship_to,
        promised_delivery_at=row.promised_delivery_at,
    )


def _rate_json(rate: Rate, partner: str) -> dict[str, Any]:
    return {
        "partner": partner,
        "rate_id": rate.rate_id,
        "carrier": rate.carrier,
        "service": rate.service,
        "amount": str(rate.amount),
        "currency": rate.currency,
        "days": rate.days,
        "emissions_kg": None if rate.emissions_kg is None else str(rate.emissions_kg),
        "shipment_id": rate.shipment_id,
        "arrives_by": None if rate.arrives_by is None else rate.arrives_by.isoformat(),
    }


def _rate_of(data: Mapping[str, Any]) -> Rate:
    """The rate exactly as the carrier gave it (a retry in another process buys this same rate)."""
    emissions, shipment, arrives = data.get("emissions_kg"), data.get("shipment_id"), data.get("arrives_by")
    return Rate(
        str(data["rate_id"]),
        str(data["carrier"]),
        str(data["service"]),
        Decimal(str(data["amount"])),
        str(data["currency"]),
        int(data["days"]),
        None if emissions is None else Decimal(str(emissions)),
        None if shipment is None else str(shipment),
        None if arrives is None else datetime.fromisoformat(str(arrives)).astimezone(UTC),
    )


def _label_of(shipment: Snapshot) -> Label:
    assert shipment.label_id is not None and shipment.rate is not None
    return Label(
        shipment.label_id,
        _rate_of(shipment.rate),
        shipment.tracking_number,
        shipment.label_url,
        shipment.tracking_url,
    )


def _keep_label(row: ShipmentRow, uow: UnitOfWork, label: Label, now: datetime) -> None:
    """Record the bought label once; a second answer under the same key is the same label."""
    if row.label_id is not None:
        return
    row.label_id = label.label_id[:120]
    row.tracking_number = label.tracking_number
    row.label_url = label.url
    row.tracking_url = label.tracking_url
    audit.record(uow, "shipment", row.id, ShipmentStatus.LABEL_BOUGHT, row.status, _bought(row, label), ACTOR)
    row.status = ShipmentStatus.LABEL_BOUGHT
    record_event(uow, row, TrackingState.PRE_TRANSIT.value, now, f"label {label.label_id} bought", "handoff")


def _bought(row: ShipmentRow, label: Label) -> str:
    rate = label.rate
    return (
        f"label {label.label_id} bought from {row.buy_partner} ({rate.carrier} {rate.service}, "
        f"{rate.amount} {rate.currency}, {rate.days} days), tracking {label.tracking_number or 'to be entered'}"
    )


def _handed(row: ShipmentRow) -> str:
    pickup = f", pickup {row.pickup_id}" if row.pickup_id else ""
    return f"handed to {row.buy_partner or row.partner}: tracking {row.tracking_number}{pickup}"


def _tell_store(uow: UnitOfWork, row: ShipmentRow, actor: str) -> None:
    """A Shopify order hears of the parcel through the existing back-sync; others only record it."""
    order = uow.session.get(OrderRow, row.order_id)
    assert order is not None and row.tracking_number is not None
    lines = list(row.lines)
    if order.channel == SHOPIFY:
        company = str((row.rate or {}).get("carrier") or row.carrier)
        url = row.tracking_url if row.tracking_url and row.tracking_url.startswith("https://") else None
        queue_shipment(
            uow,
            order.id,
            row.tracking_number,
            company,
            url,
            idempotency_key=row.id,
            lines=[ShipmentLine(entry["line_id"], int(entry["qty"])) for entry in lines],
            override_reason=row.override_reason,
            actor=actor,
        )
        return
    from microfactory.orders import service  # the order's lines, loaded with their work orders

    ship_lines(uow, service.get_order(uow, order.id), lines, row.id, row.override_reason, actor)


def _record(uow: UnitOfWork, outcome: Outcome) -> None:
    """Mirror the attempt's error on the parcel, so `shipments list` shows why it waits."""
    row = uow.session.get(ShipmentRow, outcome.message.payload["shipment_id"])
    if row is None:
        return
    if outcome.error is None and row.status == ShipmentStatus.LABEL_BOUGHT and row.tracking_number is None:
        return  # done for now, but waiting for a person to enter the tracking number: keep saying so
    row.last_error = outcome.error
