"""The EasyPost adapter against the fake EasyPost: rates, one label per shipment whatever fails,
refunds, pickups, trackers and signed events."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx
import pytest

from microfactory.errors import Conflict, Forbidden, Invalid, MissingSetting, NotFound, UpstreamFailure
from microfactory.logistics.carriers import TrackingState
from microfactory.logistics.carriers.easypost import EasyPostCarrier
from microfactory.logistics.carriers.signing import hex_digest
from tests.fakes.carriers import FakeEasyPost
from tests.integration.logistics.conftest import (
    BERLIN,
    CUSTOMER,
    PARCEL,
    T0,
    Receiver,
    easypost_at,
    no_sleep,
)


def test_rates_come_from_a_shipment_in_inches_and_ounces(easypost_fake: FakeEasyPost) -> None:
    rates = easypost_at(easypost_fake).rates(PARCEL, BERLIN, CUSTOMER)
    assert [(r.carrier, r.service, r.days) for r in rates] == [
        ("USPS", "GroundAdvantage", 3),
        ("USPS", "Express", 1),
    ]
    assert all(isinstance(r.amount, Decimal) and r.currency == "USD" for r in rates)
    (shipment,) = easypost_fake.shipments.values()
    assert {r.shipment_id for r in rates} == {shipment["id"]}
    assert shipment["parcel"]["weight"] == "42.4"  # 1.2 kg rounded up in ounces
    assert shipment["parcel"]["length"] == "7.9"  # 20 cm
    assert shipment["to_address"]["zip"] == "14467" and shipment["options"] == {"label_format": "PDF"}


def test_a_label_is_bought_once_per_key_and_per_shipment(easypost_fake: FakeEasyPost) -> None:
    carrier = easypost_at(easypost_fake)
    rate = carrier.rates(PARCEL, BERLIN, CUSTOMER)[0]
    label = carrier.buy(rate, "parcel-1")
    assert label.tracking_number and label.url and label.url.endswith(".pdf")
    assert label.rate.rate_id == rate.rate_id and label.tracking_url
    assert carrier.buy(rate, "parcel-1") == label
    assert easypost_at(easypost_fake).buy(rate, "parcel-1") == label  # another process: found on the shipment
    assert easypost_fake.purchases == 1
    pdf = httpx.get(label.url)
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")


@pytest.mark.parametrize("kind", ["crash_after_buy", "timeout_after_buy"])
def test_a_purchase_whose_answer_was_lost_is_found_again(easypost_fake: FakeEasyPost, kind: str) -> None:
    carrier = easypost_at(easypost_fake)
    rate = carrier.rates(PARCEL, BERLIN, CUSTOMER)[1]
    easypost_fake.fail_next(1, kind)
    label = carrier.buy(rate, "parcel-2")
    assert label.tracking_number == easypost_fake.shipments[rate.shipment_id or ""]["tracking_code"]
    assert easypost_at(easypost_fake).buy(rate, "parcel-2") == label
    assert easypost_fake.purchases == 1 and not easypost_fake.failures  # the failure was served
    assert easypost_fake.requests.count(f"POST /v2/shipments/{rate.shipment_id}/buy") == 1  # never resent


def test_a_buy_that_failed_before_buying_is_retried_by_the_next_attempt(easypost_fake: FakeEasyPost) -> None:
    carrier = easypost_at(easypost_fake)
    rate = carrier.rates(PARCEL, BERLIN, CUSTOMER)[0]
    easypost_fake.fail_next(1, "500", on="/buy")
    with pytest.raises(UpstreamFailure, match="shows no label yet") as failed:
        carrier.buy(rate, "parcel-3")
    assert failed.value.retryable and easypost_fake.purchases == 0
    easypost_fake.fail_next(2, "503", on="GET /v2/shipments")  # reads are retried
    assert carrier.buy(rate, "parcel-3").tracking_number
    assert easypost_fake.purchases == 1


def test_refusals_map_to_our_error_kinds(easypost_fake: FakeEasyPost) -> None:
    carrier = easypost_at(easypost_fake)
    rate = carrier.rates(PARCEL, BERLIN, CUSTOMER)[0]
    other = carrier.rates(PARCEL, BERLIN, CUSTOMER)[0]
    wrong = type(rate)(
        other.rate_id,
        rate.carrier,
        rate.service,
        rate.amount,
        rate.currency,
        rate.days,
        shipment_id=rate.shipment_id,
    )
    with pytest.raises(Conflict, match=r"SHIPMENT\.RATE\.INVALID"):
        carrier.buy(wrong, "parcel-4")
    gone = type(rate)("rate_x", "USPS", "Express", Decimal(1), "USD", 1, shipment_id="shp_missing")
    with pytest.raises(NotFound, match="not found"):
        carrier.buy(gone, "parcel-5")
    with pytest.raises(UpstreamFailure, match="EASYPOST_API_KEY") as refused:
        easypost_at(easypost_fake, key="wrong").rates(PARCEL, BERLIN, CUSTOMER)
    assert not refused.value.retryable
    easypost_fake.fail_next(3, "503")
    with pytest.raises(UpstreamFailure, match="still after 3 attempts"):
        carrier.rates(PARCEL, BERLIN, CUSTOMER)


def test_timeouts_of_reads_are_retried(easypost_fake: FakeEasyPost) -> None:
    carrier = easypost_at(easypost_fake)
    easypost_fake.fail_next(1, "timeout")
    assert carrier.rates(PARCEL, BERLIN, CUSTOMER)


def test_an_unused_label_is_refunded_once_a_used_one_is_refused(
    easypost_fake: FakeEasyPost, receiver: Receiver
) -> None:
    carrier = easypost_at(easypost_fake)
    rates = carrier.rates(PARCEL, BERLIN, CUSTOMER)
    label = carrier.buy(rates[0], "parcel-6")
    carrier.cancel(label)
    carrier.cancel(label)  # asked already: nothing more
    assert easypost_fake.refunds == [rates[0].shipment_id]
    used = carrier.buy(carrier.rates(PARCEL, BERLIN, CUSTOMER)[0], "parcel-7")
    receiver.events = carrier
    easypost_fake.send_tracking(used.tracking_number or "", "in_transit", f"{receiver.url}/webhooks/easypost")
    with pytest.raises(Conflict, match="rejected"):
        carrier.cancel(used)


def test_pickups_for_one_label_or_a_batch(easypost_fake: FakeEasyPost) -> None:
    carrier = easypost_at(easypost_fake)
    first = carrier.buy(carrier.rates(PARCEL, BERLIN, CUSTOMER)[0], "parcel-8")
    second = carrier.buy(carrier.rates(PARCEL, BERLIN, CUSTOMER)[0], "parcel-9")
    one = carrier.book_pickup([first], T0, T0 + timedelta(hours=4))
    both = carrier.book_pickup([first, second], T0, T0 + timedelta(hours=4))
    assert easypost_fake.pickups[one]["status"] == "scheduled"
    assert easypost_fake.pickups[one]["shipment"] == {"id": first.rate.shipment_id}
    assert easypost_fake.pickups[one]["min_datetime"] == "2026-11-20T09:00:00Z"
    batch = easypost_fake.batches[easypost_fake.pickups[both]["batch"]["id"]]
    assert [s["id"] for s in batch["shipments"]] == [first.rate.shipment_id, second.rate.shipment_id]
    with pytest.raises(Invalid):
        carrier.book_pickup([], T0, T0)


def test_tracking_follows_the_signed_events(easypost_fake: FakeEasyPost, receiver: Receiver) -> None:
    carrier = easypost_at(easypost_fake)
    label = carrier.buy(carrier.rates(PARCEL, BERLIN, CUSTOMER)[0], "parcel-10")
    number = label.tracking_number or ""
    assert carrier.track(number).state is TrackingState.PRE_TRANSIT
    receiver.events = carrier
    for status in ("in_transit", "out_for_delivery", "delivered"):
        assert easypost_fake.send_tracking(number, status, f"{receiver.url}/webhooks/easypost") == 200
    assert [s.state if s else None for s in receiver.read] == [
        TrackingState.IN_TRANSIT,
        TrackingState.OUT_FOR_DELIVERY,
        TrackingState.DELIVERED,
    ]
    last = receiver.read[-1]
    assert last is not None and last.tracking_number == number and last.at is not None
    assert carrier.track(number).state is TrackingState.DELIVERED
    with pytest.raises(NotFound):
        carrier.track("9400NOPE")


def test_events_are_verified_and_read(easypost_fake: FakeEasyPost) -> None:
    carrier = easypost_at(easypost_fake)
    secret = easypost_fake.webhook_secret
    body = (
        b'{"object": "Event", "description": "tracker.updated", "result": {"object": "Tracker", '
        b'"tracking_code": "9400X", "status": "return_to_sender", "updated_at": "2026-11-21T10:00:00Z"}}'
    )
    good = {"X-Hmac-Signature": "hmac-sha256-hex=" + hex_digest(secret, body)}
    status = carrier.read_event(body, good, {})
    assert status is not None and status.state is TrackingState.RETURNED
    assert status.at is not None and status.at.isoformat() == "2026-11-21T10:00:00+00:00"
    assert carrier.read_event(body, {k.lower(): v for k, v in good.items()}, {}) == status
    with pytest.raises(Forbidden, match="no X-Hmac-Signature"):
        carrier.read_event(body, {}, {})
    with pytest.raises(Forbidden, match="does not match"):
        carrier.read_event(body + b" ", good, {})
    with pytest.raises(Forbidden, match="does not match"):
        easypost_at(easypost_fake, secret="other").read_event(body, good, {})

    def signed(raw: bytes) -> dict[str, str]:
        return {"X-Hmac-Signature": "hmac-sha256-hex=" + hex_digest(secret, raw)}

    for malformed in (
        b"not json",
        b"[1]",
        b'{"object": "Event"}',
        b'{"object": "Event", "description": "tracker.updated"}',
        b'{"object": "Event", "description": "tracker.updated", "result": {"status": "delivered"}}',
    ):
        with pytest.raises(Invalid):
            carrier.read_event(malformed, signed(malformed), {})
    batch = b'{"object": "Event", "description": "batch.updated", "result": {"object": "Batch"}}'
    assert carrier.read_event(batch, signed(batch), {}) is None
    unset = EasyPostCarrier(
        "k", base_url=easypost_fake.api_url, secret_env="MILPONY_EP_SECRET", sleep=no_sleep
    )
    with pytest.raises(MissingSetting, match="MILPONY_EP_SECRET"):
        unset.read_event(body, good, {})
