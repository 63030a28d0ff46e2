"""The Shippo adapter against the fake Shippo: rates, transactions found again by our metadata or
rate, refunds, pickups, tracks and `?token=` webhooks."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx
import pytest

from microfactory.errors import Conflict, Forbidden, Invalid, MissingSetting, NotFound, UpstreamFailure
from microfactory.logistics.carriers import TrackingState
from microfactory.logistics.carriers import shippo as shippo_module
from microfactory.logistics.carriers.shippo import ShippoCarrier, metadata_of
from tests.fakes.carriers import FakeShippo
from tests.integration.logistics.conftest import BERLIN, CUSTOMER, PARCEL, T0, Receiver, no_sleep, shippo_at


def test_rates_come_from_a_shipment_in_cm_and_kg(shippo_fake: FakeShippo) -> None:
    rates = shippo_at(shippo_fake).rates(PARCEL, BERLIN, CUSTOMER)
    assert [(r.carrier, r.service, r.days) for r in rates] == [
        ("DHL Express", "Domestic Express", 1),
        ("DHL Express", "Economy Select", 3),
    ]
    assert rates[1].amount == Decimal("8.66") and rates[1].currency == "EUR"
    (shipment,) = shippo_fake.shipments.values()
    assert {r.shipment_id for r in rates} == {shipment["object_id"]}
    assert shipment["parcels"] == [
        {
            "length": "20",
            "width": "15",
            "height": "10",
            "distance_unit": "cm",
            "weight": "1.2",
            "mass_unit": "kg",
        }
    ]


def test_a_label_is_bought_once_per_key(shippo_fake: FakeShippo) -> None:
    carrier = shippo_at(shippo_fake)
    rate = carrier.rates(PARCEL, BERLIN, CUSTOMER)[0]
    label = carrier.buy(rate, "parcel-1")
    assert label.tracking_number and label.url and label.tracking_url
    assert carrier.buy(rate, "parcel-1") == label
    assert shippo_at(shippo_fake).buy(rate, "parcel-1") == label  # another process: found by metadata
    assert shippo_fake.purchases == 1
    (transaction,) = shippo_fake.transactions.values()
    assert transaction["metadata"] == "parcel-1"
    assert httpx.get(label.url).content.startswith(b"%PDF-")


@pytest.mark.parametrize("kind", ["crash_after_buy", "timeout_after_buy"])
def test_a_purchase_whose_answer_was_lost_is_found_again(shippo_fake: FakeShippo, kind: str) -> None:
    carrier = shippo_at(shippo_fake)
    rate = carrier.rates(PARCEL, BERLIN, CUSTOMER)[1]
    shippo_fake.fail_next(1, kind)
    label = carrier.buy(rate, "parcel-2")
    assert shippo_fake.purchases == 1 and not shippo_fake.failures
    assert shippo_at(shippo_fake).buy(rate, "parcel-2") == label
    assert shippo_fake.requests.count("POST /transactions") == 1


def test_an_earlier_purchase_is_found_by_its_rate_and_across_pages(
    shippo_fake: FakeShippo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shippo_module, "PAGE_SIZE", 2)
    carrier = shippo_at(shippo_fake)
    rate = carrier.rates(PARCEL, BERLIN, CUSTOMER)[0]
    first = carrier.buy(rate, "parcel-3")
    for n in range(4):  # newer purchases push it to the third page
        carrier.buy(carrier.rates(PARCEL, BERLIN, CUSTOMER)[0], f"other-{n}")
    assert shippo_at(shippo_fake).buy(rate, "another-key") == first  # the rate was bought: that label
    assert shippo_fake.purchases == 5
    assert shippo_fake.requests.count("GET /transactions") >= 3


def test_long_keys_fit_the_metadata(shippo_fake: FakeShippo) -> None:
    key = "order-" + "x" * 200
    carrier = shippo_at(shippo_fake)
    label = carrier.buy(carrier.rates(PARCEL, BERLIN, CUSTOMER)[0], key)
    assert shippo_fake.transactions[label.label_id]["metadata"] == metadata_of(key)
    assert len(metadata_of(key)) <= 100


def test_a_buy_that_failed_before_buying_is_retried_by_the_next_attempt(shippo_fake: FakeShippo) -> None:
    carrier = shippo_at(shippo_fake)
    rate = carrier.rates(PARCEL, BERLIN, CUSTOMER)[0]
    shippo_fake.fail_next(1, "502", on="POST /transactions")
    with pytest.raises(UpstreamFailure, match="looks again before buying") as failed:
        carrier.buy(rate, "parcel-4")
    assert failed.value.retryable and shippo_fake.purchases == 0
    shippo_fake.fail_next(1, "timeout", on="GET /transactions")
    assert carrier.buy(rate, "parcel-4").tracking_number
    assert shippo_fake.purchases == 1


def test_refusals_map_to_our_error_kinds(shippo_fake: FakeShippo) -> None:
    carrier = shippo_at(shippo_fake)
    rate = carrier.rates(PARCEL, BERLIN, CUSTOMER)[0]
    gone = type(rate)("rate_missing", rate.carrier, rate.service, rate.amount, rate.currency, rate.days)
    with pytest.raises(UpstreamFailure, match="Rate rate_missing not found") as refused:
        carrier.buy(gone, "parcel-5")
    assert not refused.value.retryable and shippo_fake.purchases == 0
    with pytest.raises(UpstreamFailure, match="Invalid token") as wrong:
        shippo_at(shippo_fake, key="wrong").rates(PARCEL, BERLIN, CUSTOMER)
    assert "SHIPPO_API_KEY" in str(wrong.value) and "Invalid token" in str(wrong.value)
    with pytest.raises(NotFound):
        carrier.track("JDNOPE")


def test_an_unused_label_is_refunded_a_used_one_is_refused(
    shippo_fake: FakeShippo, receiver: Receiver
) -> None:
    carrier = shippo_at(shippo_fake)
    label = carrier.buy(carrier.rates(PARCEL, BERLIN, CUSTOMER)[0], "parcel-6")
    carrier.cancel(label)
    carrier.cancel(label)  # a refund is pending already: nothing more
    assert [r["transaction"] for r in shippo_fake.refunds] == [label.label_id]
    used = carrier.buy(carrier.rates(PARCEL, BERLIN, CUSTOMER)[0], "parcel-7")
    receiver.events = carrier
    shippo_fake.send_tracking(used.tracking_number or "", "in_transit", f"{receiver.url}/webhooks/shippo")
    with pytest.raises(Conflict, match="cannot be voided"):
        carrier.cancel(used)


def test_a_pickup_uses_the_rate_account_and_the_sender_address(shippo_fake: FakeShippo) -> None:
    carrier = shippo_at(shippo_fake)
    first = carrier.buy(carrier.rates(PARCEL, BERLIN, CUSTOMER)[0], "parcel-8")
    second = carrier.buy(carrier.rates(PARCEL, BERLIN, CUSTOMER)[0], "parcel-9")
    pickup_id = carrier.book_pickup([first, second], T0, T0 + timedelta(hours=3))
    pickup = shippo_fake.pickups[pickup_id]
    assert pickup["carrier_account"] == "ca_dhl_express" and pickup["status"] == "CONFIRMED"
    assert pickup["transactions"] == [first.label_id, second.label_id]
    assert pickup["location"]["address"]["zip"] == "10997"
    assert pickup["requested_end_time"] == "2026-11-20T12:00:00Z"


def test_tracking_by_webhook_and_by_polling(shippo_fake: FakeShippo, receiver: Receiver) -> None:
    carrier = shippo_at(shippo_fake)
    label = carrier.buy(carrier.rates(PARCEL, BERLIN, CUSTOMER)[0], "parcel-10")
    number = label.tracking_number or ""
    assert carrier.track(number).state is TrackingState.PRE_TRANSIT
    receiver.events = carrier
    for status in ("in_transit", "out_for_delivery", "delivered"):
        assert shippo_fake.send_tracking(number, status, f"{receiver.url}/webhooks/shippo") == 200
    assert [s.state if s else None for s in receiver.read] == [
        TrackingState.IN_TRANSIT,
        TrackingState.OUT_FOR_DELIVERY,
        TrackingState.DELIVERED,
    ]
    fresh = shippo_at(shippo_fake)  # another process: the carrier is found in the transaction list
    assert fresh.track(number).state is TrackingState.DELIVERED


def test_webhooks_carry_the_token_and_are_read(shippo_fake: FakeShippo) -> None:
    carrier = shippo_at(shippo_fake)
    token = {"token": shippo_fake.webhook_secret}
    body = (
        b'{"event": "track_updated", "test": true, "data": {"tracking_number": "JD1", "carrier": "dhl_express",'
        b' "tracking_status": {"status": "RETURNED", "status_details": "back", "status_date": "2026-11-22T08:00:00Z"}}}'
    )
    status = carrier.read_event(body, {}, token)
    assert status is not None and status.state is TrackingState.RETURNED and status.message == "back"
    with pytest.raises(Forbidden, match="no \\?token="):
        carrier.read_event(body, {}, {})
    with pytest.raises(Forbidden, match="wrong"):
        carrier.read_event(body, {}, {"token": "guess"})
    for malformed in (
        b"{",
        b'"x"',
        b'{"data": {}}',
        b'{"event": "track_updated"}',
        b'{"event": "track_updated", "data": {"tracking_number": "JD1"}}',
    ):
        with pytest.raises(Invalid):
            carrier.read_event(malformed, {}, token)
    assert carrier.read_event(b'{"event": "transaction_created", "data": {}}', {}, token) is None
    unset = ShippoCarrier("k", base_url=shippo_fake.api_url, secret_env="AIR_SHIPPO_TOKEN", sleep=no_sleep)
    with pytest.raises(MissingSetting, match="AIR_SHIPPO_TOKEN"):
        unset.read_event(body, {}, token)
