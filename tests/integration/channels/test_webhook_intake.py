"""Webhook intake end to end through the API: signature, inbox, processing into orders."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from microfactory.bootstrap import bootstrap
from microfactory.channels.shopify.verify import sign
from microfactory.db.tables.channels import WebhookDeliveryRow
from microfactory.db.tables.orders import OrderRow
from microfactory.db.unit_of_work import UnitOfWork
from tests.conftest import CommandLine
from tests.integration.channels.conftest import SECRET, Deliver, fixture, signed_headers


def _count(engine: Engine, table: Any) -> int:
    with UnitOfWork.for_engine(engine) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(table)) or 0)


def _order(api: TestClient, external_id: object) -> dict[str, Any]:
    found = api.get("/api/v1/orders", params={"channel": "shopify", "external_id": str(external_id)}).json()
    assert len(found) == 1, found
    return dict(found[0])


def test_the_example_webhook_becomes_an_accepted_order(
    api: TestClient, deliver: Deliver, process: Any, order_create: dict[str, Any]
) -> None:
    response = deliver(order_create)
    assert response.status_code == 200
    assert response.json()["status"] == "received"
    assert process().processed == 1
    order = _order(api, order_create["id"])
    assert order["status"] == "accepted"
    assert order["name"] == "#1042"
    assert order["total_price"] == "134.9000"
    keypad, module = order["lines"]
    assert keypad["product"] == "KP"
    assert keypad["options"] == {"keys": 8, "color": "teal", "engraving": "Mira's Deck", "firmware": "studio"}
    assert keypad["properties"]["_preview_image"].startswith("https://")  # private property kept
    assert keypad["work_order_id"] is not None
    assert module["product"] == "KEY-MODULE-R" and module["qty"] == 2
    assert order["ship_to"]["line1"] == "Oranienstraße 185"
    assert order["ship_to"]["country"] == "DE"


def test_wrong_or_missing_signature_is_refused_and_nothing_stored(
    api: TestClient, channel_engine: Engine, order_create: dict[str, Any]
) -> None:
    body = b'{"id": 1, "line_items": []}'
    headers = signed_headers(body, "orders/create")
    headers["X-Shopify-Hmac-Sha256"] = sign("another-secret", body)
    assert api.post("/webhooks/shopify", content=body, headers=headers).status_code == 401
    del headers["X-Shopify-Hmac-Sha256"]
    assert api.post("/webhooks/shopify", content=body, headers=headers).status_code == 401
    headers["X-Shopify-Hmac-Sha256"] = sign(SECRET, body)
    tampered = body.replace(b"1", b"2")
    assert api.post("/webhooks/shopify", content=tampered, headers=headers).status_code == 401
    assert _count(channel_engine, WebhookDeliveryRow) == 0


def test_missing_secret_answers_503_naming_the_setting(api: TestClient) -> None:
    container = api.app.state.container  # type: ignore[attr-defined]
    unset = container.settings.with_changes(shopify_webhook_secret=None)
    api.app.state.container = bootstrap(unset, engine=container.engine)  # type: ignore[attr-defined]
    body = b"{}"
    response = api.post("/webhooks/shopify", content=body, headers=signed_headers(body, "orders/create"))
    assert response.status_code == 503
    assert "MICROFACTORY_SHOPIFY_WEBHOOK_SECRET" in response.json()["error"]
    assert SECRET not in response.text


def test_a_huge_body_gets_413(api: TestClient, channel_engine: Engine) -> None:
    body = b'{"id": 1, "note": "' + b"x" * 300_000 + b'"}'
    response = api.post("/webhooks/shopify", content=body, headers=signed_headers(body, "orders/create"))
    assert response.status_code == 413
    assert "limit" in response.json()["error"]
    assert _count(channel_engine, WebhookDeliveryRow) == 0


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b'{"id": 12, "line_items": [', "line 1 column"),
        (b'[{"id": 12}]', "not a JSON object"),
        (b'{"id": 12, "note": "caf\xe9"}', "UTF-8"),
        (b'{"id": 12, "total_price": NaN}', "expected a JSON value"),
        (b"[" * 5000 + b"]" * 5000, "depth limit"),
    ],
)
def test_a_signed_body_that_is_not_a_json_object_gets_400_and_nothing_is_stored(
    deliver: Deliver, channel_engine: Engine, body: bytes, named: str
) -> None:
    response = deliver(body, webhook_id="wh-bad")
    assert response.status_code == 400
    assert response.json()["error"] == "the body is not valid JSON"
    assert named in response.json()["problems"][0]["message"]
    assert _count(channel_engine, WebhookDeliveryRow) == 0


def test_a_delivery_without_its_id_headers_gets_400_naming_them(
    api: TestClient, channel_engine: Engine
) -> None:
    body = b'{"id": 1, "line_items": []}'
    headers = signed_headers(body, "orders/create")
    del headers["X-Shopify-Webhook-Id"], headers["X-Shopify-Topic"]
    response = api.post("/webhooks/shopify", content=body, headers=headers)
    assert response.status_code == 400
    assert {p["path"] for p in response.json()["problems"]} == {
        "headers.X-Shopify-Webhook-Id",
        "headers.X-Shopify-Topic",
    }
    assert _count(channel_engine, WebhookDeliveryRow) == 0


def test_an_order_topic_without_an_order_id_is_kept_as_failed(
    deliver: Deliver, channel_engine: Engine, process: Any
) -> None:
    assert deliver({"line_items": []}, webhook_id="wh-no-id").json()["status"] == "received"
    assert process().failed == 1
    with UnitOfWork.for_engine(channel_engine) as uow:
        row = uow.session.scalar(select(WebhookDeliveryRow))
        assert row is not None and row.status == "failed" and "no id" in (row.error or "")
    assert _count(channel_engine, OrderRow) == 0


def test_retries_and_duplicates_leave_one_order(
    api: TestClient, deliver: Deliver, channel_engine: Engine, process: Any, order_create: dict[str, Any]
) -> None:
    assert deliver(order_create, webhook_id="wh-1", event_id="ev-1").json()["status"] == "received"
    assert deliver(order_create, webhook_id="wh-1", event_id="ev-1").json()["status"] == "duplicate"  # retry
    assert (
        deliver(order_create, webhook_id="wh-2", event_id="ev-1").json()["status"] == "received"
    )  # same event
    report = process()
    assert report.processed == 1 and report.duplicates == 1
    assert _count(channel_engine, OrderRow) == 1
    assert _count(channel_engine, WebhookDeliveryRow) == 2


def test_paid_before_create_and_stale_updates(
    api: TestClient, deliver: Deliver, process: Any, order_create: dict[str, Any]
) -> None:
    from tests.integration.channels.conftest import updated

    paid = updated(order_create, "2026-11-20T10:20:00+01:00", financial_status="paid")
    deliver(paid, topic="orders/paid")
    deliver(order_create, topic="orders/create")  # arrives late, older updated_at
    older_edit = updated(order_create, "2026-11-20T10:16:00+01:00", email="old@example.com")
    deliver(older_edit, topic="orders/updated")
    report = process()
    assert report.processed == 3
    assert report.actions == {"order created": 1, "order unchanged": 2}
    order = _order(api, order_create["id"])
    assert order["email"] == "mira.kowalski@example.com"
    assert order["status"] == "accepted"


def test_cancellation_cancels_unstarted_work_and_wins_over_late_updates(
    api: TestClient, deliver: Deliver, process: Any, order_create: dict[str, Any]
) -> None:
    from tests.integration.channels.conftest import updated

    cancelled = updated(
        order_create,
        "2026-11-20T11:00:00+01:00",
        cancelled_at="2026-11-20T11:00:00+01:00",
        cancel_reason="customer",
    )
    deliver(cancelled, topic="orders/cancelled")  # before the create
    deliver(order_create)
    deliver(updated(order_create, "2026-11-20T10:30:00+01:00"), topic="orders/updated")
    process()
    order = _order(api, order_create["id"])
    assert order["status"] == "cancelled"
    assert {line["status"] for line in order["lines"]} == {"cancelled"}


def test_cancelling_started_work_flags_a_decision(
    api: TestClient, deliver: Deliver, process: Any, channel_engine: Engine, order_create: dict[str, Any]
) -> None:
    from tests.integration.channels.conftest import updated

    deliver(order_create)
    process()
    order = _order(api, order_create["id"])
    _start_work(channel_engine, order["lines"][0]["work_order_id"])
    deliver(
        updated(order_create, "2026-11-20T12:00:00+01:00", cancelled_at="2026-11-20T12:00:00+01:00"),
        topic="orders/cancelled",
    )
    process()
    order = _order(api, order_create["id"])
    assert order["status"] == "decision_needed"
    assert [line["status"] for line in order["lines"]] == ["decision_needed", "cancelled"]


def _start_work(engine: Engine, work_order_id: str) -> None:
    from microfactory.db.tables.orders import WorkOrderRow

    with UnitOfWork.for_engine(engine) as uow:
        row = uow.session.get(WorkOrderRow, work_order_id)
        assert row is not None
        row.status = "in_progress"
        uow.commit()


def test_edits_re_take_unstarted_lines_and_flag_started_ones(
    api: TestClient, deliver: Deliver, process: Any, channel_engine: Engine, order_create: dict[str, Any]
) -> None:
    from tests.integration.channels.conftest import updated

    deliver(order_create)
    process()
    first = _order(api, order_create["id"])
    _start_work(channel_engine, first["lines"][0]["work_order_id"])
    edited = updated(order_create, "2026-11-20T13:00:00+01:00")
    edited["line_items"][0]["properties"][0]["value"] = "New Name"  # started: needs a decision
    edited["line_items"][1]["current_quantity"] = 3  # not started: cancelled and taken in again
    deliver(edited, topic="orders/updated")
    process()
    order = _order(api, order_create["id"])
    statuses = [(line["sku"], line["status"], line["qty"]) for line in order["lines"]]
    assert statuses == [
        ("KP8-TEAL", "decision_needed", 1),
        ("KM-RED", "cancelled", 2),
        ("KM-RED", "released", 3),
    ]
    assert order["status"] == "decision_needed"


def test_mixed_lines_unknown_sku_invalid_option_gift_card_and_non_ascii(
    api: TestClient, deliver: Deliver, process: Any
) -> None:
    payload = fixture("orders-create-mixed.json")
    deliver(payload)
    process()
    order = _order(api, payload["id"])
    assert order["status"] == "needs_attention"
    assert order["email"] == "zoë.øster@example.com"
    assert order["ship_to"]["name"] == "Zoë Øster-Müller"
    keypad, gift, five_keys, purple = order["lines"]
    assert keypad["status"] == "needs_attention"
    assert any("engraving" in p["path"] for p in keypad["problems"])  # "Zoë" is not allowed by the pattern
    assert gift["status"] == "fulfilment_only" and gift["kind"] == "fulfilment_only"
    assert five_keys["status"] == "needs_attention"
    assert any(p["path"] == "options.keys" and "5" in p["message"] for p in five_keys["problems"])
    assert purple["status"] == "needs_attention"
    assert any("KM-PURPLE" in p["message"] for p in purple["problems"])
    attention = api.get("/api/v1/needs-attention").json()
    assert len(attention) == 3


def test_wrong_types_keep_the_order_and_put_lines_in_needs_attention(
    api: TestClient, deliver: Deliver, process: Any
) -> None:
    payload = fixture("orders-create-wrong-types.json")
    deliver(payload)
    assert process().processed == 1
    order = _order(api, payload["id"])
    first, second, third = order["lines"]
    assert first["status"] == "needs_attention" and "'abc'" in first["problems"][0]["message"]
    assert second["status"] == "needs_attention"
    assert {p["path"] for p in second["problems"]} == {"line_items[1].properties", "line_items[1].price"}
    assert third["status"] == "needs_attention" and "not a JSON object" in third["problems"][0]["message"]
    assert order["ship_to"]["line1"] == ""


def test_stocked_products_and_non_shipping_lines_pass_through(
    api: TestClient, deliver: Deliver, process: Any, order_create: dict[str, Any]
) -> None:
    order_create["line_items"][0]["sku"] = "CBL-USB-2m"
    order_create["line_items"][1]["requires_shipping"] = False
    deliver(order_create)
    process()
    order = _order(api, order_create["id"])
    assert [line["status"] for line in order["lines"]] == ["fulfilment_only", "fulfilment_only"]
    assert order["lines"][0]["product"] == "CABLE-USB"
    assert order["status"] == "fulfilled"


def test_many_line_items(
    api: TestClient, deliver: Deliver, process: Any, order_create: dict[str, Any]
) -> None:
    template = order_create["line_items"][1]
    colors = ["black", "red", "teal", "white"]
    order_create["line_items"] = [
        dict(template, id=900000 + n, sku=f"KM-{colors[n % 4].upper()}", quantity=1 + n % 3)
        for n in range(120)
    ]
    deliver(order_create)
    process()
    order = _order(api, order_create["id"])
    assert len(order["lines"]) == 120
    assert {line["status"] for line in order["lines"]} == {"released"}


def test_other_topics_are_stored_but_not_turned_into_orders(
    deliver: Deliver, process: Any, channel_engine: Engine
) -> None:
    deliver({"id": 1, "title": "a product"}, topic="products/update")
    report = process()
    assert report.processed == 1
    assert _count(channel_engine, OrderRow) == 0


def test_missing_webhook_id_is_a_bad_request(api: TestClient) -> None:
    body = b"{}"
    headers = signed_headers(body, "orders/create")
    del headers["X-Shopify-Webhook-Id"]
    assert api.post("/webhooks/shopify", content=body, headers=headers).status_code == 400


def test_the_inbox_shows_counts_backlog_and_why_deliveries_failed(
    api: TestClient,
    deliver: Deliver,
    order_create: dict[str, Any],
    database_url: str,
    command_line: CommandLine,
) -> None:
    deliver(order_create, webhook_id="wh-good")
    deliver(order_create, webhook_id="wh-good")  # a retry: refused by the unique webhook id
    deliver({"line_items": []}, webhook_id="wh-no-id")
    waiting = api.get("/api/v1/shopify/inbox").json()
    assert waiting["counts"]["received"] == 2 and waiting["pending"] == 2
    assert waiting["oldest_pending_received_at"] is not None
    command_line.use_database(database_url)
    processed = command_line("shopify", "process-inbox")
    shown = command_line("shopify", "inbox")
    assert processed.exit_code == 1  # a delivery failed: cron and scripts must notice
    assert "1 processed" in processed.output and "1 failed" in processed.output
    status = api.get("/api/v1/shopify/inbox").json()
    assert status["counts"] == {"received": 0, "processing": 0, "processed": 1, "duplicate": 0, "failed": 1}
    assert status["pending"] == 0 and status["oldest_pending_received_at"] is None
    (failure,) = status["failed"]
    assert failure["webhook_id"] == "wh-no-id" and "no id" in failure["error"]
    assert api.get("/api/v1/shopify/inbox", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert shown.exit_code == 0, shown.output
    assert "1 processed" in shown.output and "1 failed" in shown.output
    assert "wh-no-id" in shown.output and "no id" in shown.output
