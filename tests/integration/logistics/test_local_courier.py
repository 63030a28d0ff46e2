"""The local courier adapter against the fake courier: signed quotes, bookings answered once per
key (so they are safely resent), cancellation, collection, tracking and signed status callbacks."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from microfactory.errors import Conflict, Forbidden, Invalid, NotFound, UpstreamFailure
from microfactory.logistics.carriers import TrackingState
from microfactory.logistics.carriers.kinds import CARRIERS, carrier_for, carrier_kind
from microfactory.logistics.carriers.local_courier import sign
from tests.fakes.carriers import FakeCourier, FakeEasyPost, FakeShippo
from tests.integration.logistics.conftest import BERLIN, CUSTOMER, PARCEL, T0, Receiver, courier_at


def test_quotes_are_rates(courier_fake: FakeCourier) -> None:
    rates = courier_at(courier_fake).rates(PARCEL, BERLIN, CUSTOMER)
    assert [(r.service, r.amount, r.currency, r.days) for r in rates] == [
        ("same_day", Decimal("9.980"), "EUR", 1),
        ("next_day", Decimal("6.480"), "EUR", 1),
    ]
    assert rates[0].carrier == "ber-cargobike" and rates[0].emissions_kg == Decimal(0)
    assert rates[0].arrives_by is not None
    request = courier_fake.quotes[rates[0].rate_id]["request"]
    assert request["parcel"]["mass_kg"] == "1.2" and request["delivery"]["postcode"] == "14467"
    assert request["ready_at"] == "2026-11-20T09:00:00Z" and request["pickup"]["lat"] == 52.4986


def test_a_booking_is_made_once_per_key_even_when_resent(courier_fake: FakeCourier) -> None:
    courier = courier_at(courier_fake)
    rate = courier.rates(PARCEL, BERLIN, CUSTOMER)[1]
    courier_fake.fail_next(1, "503", on="POST /pickups$")  # refused before booking: resent
    courier_fake.fail_next(1, "crash_after_buy")  # booked, the answer lost: resent, the same booking
    label = courier.buy(rate, "parcel-1")
    assert label.tracking_number and label.url and not courier_fake.failures
    assert courier.buy(rate, "parcel-1") == label
    assert courier_at(courier_fake).buy(rate, "parcel-1") == label
    assert courier_fake.purchases == 1
    assert courier_fake.requests.count("POST /pickups") == 5


def test_a_key_reused_for_another_quote_is_a_conflict(courier_fake: FakeCourier) -> None:
    courier = courier_at(courier_fake)
    first, second = courier.rates(PARCEL, BERLIN, CUSTOMER)
    courier.buy(first, "parcel-2")
    with pytest.raises(Conflict, match="was used for quote"):
        courier.buy(second, "parcel-2")
    gone = type(first)("q_missing", "ber-cargobike", "x", Decimal(1), "EUR", 1)
    with pytest.raises(NotFound, match="no quote q_missing"):
        courier.buy(gone, "parcel-3")


def test_a_wrong_secret_is_refused_and_named(courier_fake: FakeCourier) -> None:
    with pytest.raises(UpstreamFailure, match="BER_CARGOBIKE_SECRET") as refused:
        courier_at(courier_fake, secret="wrong").rates(PARCEL, BERLIN, CUSTOMER)
    assert not refused.value.retryable


def test_cancel_until_collected(courier_fake: FakeCourier, receiver: Receiver) -> None:
    courier = courier_at(courier_fake)
    label = courier.buy(courier.rates(PARCEL, BERLIN, CUSTOMER)[0], "parcel-4")
    courier.cancel(label)
    courier.cancel(label)  # cancelled already: the same answer
    assert courier.track(label.tracking_number or "").state is TrackingState.CANCELLED
    used = courier.buy(courier.rates(PARCEL, BERLIN, CUSTOMER)[0], "parcel-5")
    receiver.events = courier
    courier_fake.send_tracking(
        used.tracking_number or "", "picked_up", f"{receiver.url}/webhooks/courier/ber"
    )
    with pytest.raises(Conflict, match="too late to cancel"):
        courier.cancel(used)


def test_collection_of_bookings_is_one_per_window(courier_fake: FakeCourier) -> None:
    courier = courier_at(courier_fake)
    labels = [courier.buy(courier.rates(PARCEL, BERLIN, CUSTOMER)[0], f"parcel-{n}") for n in (6, 7)]
    window = (T0, T0 + timedelta(hours=2))
    collection = courier.book_pickup(labels, *window)
    assert courier.book_pickup(list(reversed(labels)), *window) == collection
    (booked,) = courier_fake.collections.values()
    assert booked["booking_ids"] == sorted(label.label_id for label in labels)
    assert booked["until"] == "2026-11-20T11:00:00Z"


def test_tracking_by_callback_and_by_asking(courier_fake: FakeCourier, receiver: Receiver) -> None:
    courier = courier_at(courier_fake)
    label = courier.buy(courier.rates(PARCEL, BERLIN, CUSTOMER)[0], "parcel-8")
    number = label.tracking_number or ""
    assert courier.track(number).state is TrackingState.PRE_TRANSIT
    receiver.events = courier
    for status in ("picked_up", "out_for_delivery", "delivered"):
        assert courier_fake.send_tracking(number, status, f"{receiver.url}/webhooks/courier/ber") == 200
    assert [s.state if s else None for s in receiver.read] == [
        TrackingState.IN_TRANSIT,
        TrackingState.OUT_FOR_DELIVERY,
        TrackingState.DELIVERED,
    ]
    assert courier.track(number).state is TrackingState.DELIVERED
    with pytest.raises(NotFound):
        courier.track("CB-NOPE")


def test_callbacks_are_verified_and_read(courier_fake: FakeCourier) -> None:
    courier = courier_at(courier_fake)
    event = {
        "event": "status",
        "booking_id": "bk_1",
        "tracking_number": "CB1",
        "status": "failed",
        "at": "2026-11-20T15:30:00Z",
        "message": "nobody home",
    }
    body = json.dumps(event).encode()
    good = {"X-Microfactory-Signature": sign(courier_fake.secret, body)}
    status = courier.read_event(body, good, {})
    assert status is not None and status.state is TrackingState.FAILURE and status.message == "nobody home"
    with pytest.raises(Forbidden, match="no X-Microfactory-Signature"):
        courier.read_event(body, {}, {})
    with pytest.raises(Forbidden, match="does not match"):
        courier.read_event(body, {"X-Microfactory-Signature": sign("guess", body)}, {})
    for malformed in (
        b"nope",
        b"[]",
        b'{"status": "delivered"}',
        b'{"event": "status", "status": "delivered"}',
    ):
        with pytest.raises(Invalid):
            courier.read_event(
                malformed, {"X-Microfactory-Signature": sign(courier_fake.secret, malformed)}, {}
            )
    ping = b'{"event": "ping"}'
    assert courier.read_event(ping, {"X-Microfactory-Signature": sign(courier_fake.secret, ping)}, {}) is None


def test_every_fake_gives_a_partner_entry_the_registry_builds(
    courier_fake: FakeCourier, easypost_fake: FakeEasyPost, shippo_fake: FakeShippo
) -> None:
    for fake in (courier_fake, easypost_fake, shippo_fake):
        spec, environ = fake.partner()
        assert not CARRIERS.problems(spec, "fulfilment_partners.x", carrier_kind(spec))
        carrier = carrier_for({"id": "x", **spec}, environ)
        rate = carrier.rates(PARCEL, BERLIN, CUSTOMER)[0]
        assert carrier.buy(rate, "k").tracking_number and fake.purchases == 1
