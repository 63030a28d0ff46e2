"""The Admin API client, reconciliation, the fulfillment service and back-sync, against the fake
Shopify on loopback."""

from __future__ import annotations

from contextlib import ExitStack
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from microfactory.bootstrap import bootstrap
from microfactory.channels.shopify import fulfillment_notifications, fulfillment_service, fulfilment_sync
from microfactory.channels.shopify.admin import AdminApiError, ShopifyAdmin
from microfactory.channels.shopify.reconcile import reconcile
from microfactory.channels.shopify.verify import sign
from microfactory.db.tables.channels import FulfillmentRequestRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.orders import listing, service
from microfactory.outbox.dispatcher import dispatch_due
from tests.conftest import CommandLine
from tests.integration.channels.conftest import SECRET, make_everything, updated
from tests.integration.channels.fake_shopify import TOKEN, FakeShop

SINCE = datetime(2026, 11, 1, tzinfo=UTC)


def _orders(order_create: dict[str, Any], count: int) -> list[dict[str, Any]]:
    return [
        updated(order_create, f"2026-11-20T10:{15 + n:02d}:00+01:00", id=7000 + n, name=f"#{2000 + n}",
                admin_graphql_api_id=f"gid://shopify/Order/{7000 + n}")
        for n in range(count)
    ]  # fmt: skip


def test_reconcile_pages_through_orders_and_twice_changes_nothing(
    fake_shop: tuple[FakeShop, str], admin: ShopifyAdmin, factory: Any, order_create: dict[str, Any]
) -> None:
    shop, _ = fake_shop
    for order in _orders(order_create, 7):
        shop.add_order(order)
    shop.orders.append(updated(order_create, "2026-10-01T00:00:00Z", id=6999))  # before --since
    paged = list(admin.orders_updated_since(SINCE, page_size=3))
    assert [order["id"] for order in paged] == [7000 + n for n in range(7)]  # least recently updated first
    assert shop.requests.count("graphql OrdersUpdatedSince") == 3  # pages of 3, 3 and 1
    first = reconcile(factory, admin, SINCE)
    assert first.seen == 7 and first.actions == {"created": 7}
    second = reconcile(factory, admin, SINCE)
    assert second.seen == 7 and second.actions == {"unchanged": 7}
    with UnitOfWork(factory) as uow:
        assert len(listing.page_orders(uow, channel="shopify").items) == 7


def test_reconcile_from_the_command_line(
    fake_shop: tuple[FakeShop, str],
    order_create: dict[str, Any],
    database_url: str,
    channel_engine: Any,
    command_line: CommandLine,
) -> None:
    shop, url = fake_shop
    for order in _orders(order_create, 3):
        shop.add_order(order)
    command_line.env(
        MICROFACTORY_DATABASE_URL=database_url,
        MICROFACTORY_SHOPIFY_SHOP_DOMAIN=url,
        MICROFACTORY_SHOPIFY_ADMIN_TOKEN=None,
    )
    unset = command_line("shopify", "reconcile", "--since", "2026-11-01")
    assert unset.exit_code == 2 and "MICROFACTORY_SHOPIFY_ADMIN_TOKEN" in unset.output
    command_line.env(MICROFACTORY_SHOPIFY_ADMIN_TOKEN=TOKEN)
    first = command_line("shopify", "reconcile", "--since", "2026-11-01")
    again = command_line("shopify", "reconcile", "--since", "2026-11-01")
    bad = command_line("shopify", "reconcile", "--since", "last tuesday")
    assert first.exit_code == 0, first.output
    assert "3 orders seen" in first.output and "3 created" in first.output
    assert "3 unchanged" in again.output
    assert bad.exit_code == 2 and "not a date" in bad.output


def _big_order(order_create: dict[str, Any], lines: int) -> dict[str, Any]:
    """An order with `lines` line items (replacement key modules), each with its own id."""
    item = order_create["line_items"][1]
    items = [
        {**item, "id": 90_000 + n, "admin_graphql_api_id": f"gid://shopify/LineItem/{90_000 + n}"}
        for n in range(lines)
    ]
    return updated(order_create, "2026-11-21T08:00:00Z", id=7100, name="#2100",
                   admin_graphql_api_id="gid://shopify/Order/7100", line_items=items)  # fmt: skip


def test_line_items_beyond_the_first_page_are_fetched_not_dropped(
    fake_shop: tuple[FakeShop, str], admin: ShopifyAdmin, factory: Any, order_create: dict[str, Any]
) -> None:
    shop, _ = fake_shop
    big = _big_order(order_create, 215)
    shop.add_order(big)
    (payload,) = admin.orders_updated_since(SINCE, lines_page=10)
    assert [item["id"] for item in payload["line_items"]] == [item["id"] for item in big["line_items"]]
    assert shop.requests.count("graphql OrderLineItems") == 3  # 10 came with the order, then 100, 100, 5
    assert admin.order(7100) == payload  # the fulfillment service's read pages the same way
    assert admin.order(424242) is None  # Shopify answers `order: null` for an order it does not have

    shop.orders = [_big_order(order_create, 12)]
    assert reconcile(factory, admin, SINCE).actions == {"created": 1}
    with UnitOfWork(factory) as uow:
        taken = service.find_order(uow, "shopify", "7100")
        assert taken is not None and len(taken.lines) == 12


def test_an_order_whose_line_items_stop_coming_is_refused_not_cut() -> None:
    """Shopify loses the order between two pages of its line items: nothing is taken in."""
    first_page = {
        "id": "gid://shopify/Order/7000", "legacyResourceId": "7000", "name": "#2000",
        "lineItems": {"nodes": [{"id": "gid://shopify/LineItem/1", "quantity": 1}],
                      "pageInfo": {"hasNextPage": True, "endCursor": "c1"}},
    }  # fmt: skip
    answers = iter([{"order": first_page}, {"order": None}])

    def shopify(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": next(answers)})

    admin = ShopifyAdmin("shop.example", TOKEN, "2025-07", transport=httpx.MockTransport(shopify))
    with admin, pytest.raises(AdminApiError, match=r"7000 \(#2000\): only 1 of its line items"):
        admin.order(7000)


def test_429_with_retry_after_and_graphql_throttling_are_waited_out(
    fake_shop: tuple[FakeShop, str], admin: ShopifyAdmin, order_create: dict[str, Any]
) -> None:
    shop, _ = fake_shop
    shop.add_order(_orders(order_create, 1)[0])
    shop.failures = [("429", 2.0), ("500", 0)]
    assert len(list(admin.orders_updated_since(SINCE))) == 1
    shop.failures = [("THROTTLED", 1.5), ("429", 0.25)]
    data = admin.graphql(
        fulfillment_service.ASSIGNED_QUERY, {"status": "FULFILLMENT_REQUESTED", "after": None}
    )
    assert data["assignedFulfillmentOrders"]["edges"] == []
    waits = admin.sleeps  # type: ignore[attr-defined]
    assert waits[0] == 2.0  # Retry-After
    assert 1.5 <= waits[2] <= 2.0  # (requested 50 - available -100) / restore 100
    assert waits[3] == 0.25
    assert admin.throttle is not None and admin.throttle.available == 1990.0


def test_errors_are_reported_not_retried_forever(
    fake_shop: tuple[FakeShop, str], admin: ShopifyAdmin
) -> None:
    shop, _ = fake_shop
    shop.failures = [("429", 0.01)] * 10
    with pytest.raises(AdminApiError, match="after 4 attempts"):
        admin.graphql(fulfillment_service.ASSIGNED_QUERY, {"status": "FULFILLMENT_REQUESTED"})
    bad = ShopifyAdmin(fake_shop[1], "wrong-token", "2025-07", sleep=lambda _: None)
    with pytest.raises(AdminApiError, match="401"):
        list(bad.orders_updated_since(SINCE))
    bad.close()


def test_fulfilment_back_sync_is_idempotent(
    fake_shop: tuple[FakeShop, str], admin: ShopifyAdmin, factory: Any, order_create: dict[str, Any]
) -> None:
    shop, _ = fake_shop
    orders = _orders(order_create, 2)
    for order in orders:
        shop.add_order(order)
    reconcile(factory, admin, SINCE)
    with UnitOfWork(factory) as uow:
        first = service.find_order(uow, "shopify", "7000")
        second = service.find_order(uow, "shopify", "7001")
        assert first is not None and second is not None
        first_id, second_id = first.id, second.id
    make_everything(factory, first_id)  # only made work ships
    make_everything(factory, second_id)
    with UnitOfWork(factory) as uow:
        first, second = service.get_order(uow, first_id), service.get_order(uow, second_id)
        fulfilment_sync.queue_shipment(uow, first.id, "1Z999AA10123456784", "UPS", "https://ups.example/1Z")
        fulfilment_sync.queue_shipment(uow, first.id, "1Z999AA10123456784", "UPS")  # asked twice
        fulfilment_sync.queue_shipment(uow, second.id, "JJD0099", "DHL")
        uow.commit()
    shop.failures = [("THROTTLED", 0.1)]
    shop.drop_after_create = 1  # the second order's fulfillment is created but the answer is lost
    report = fulfilment_sync.sync_pending(factory, admin)
    assert report.sent == 1 and report.pending == 1
    again = fulfilment_sync.sync_pending(factory, admin)  # the retry finds it instead of fulfilling twice
    assert again.already_there == 1 and again.sent == 0
    assert fulfilment_sync.sync_pending(factory, admin).sent == 0
    assert [len(shop.fulfillments[f"gid://shopify/Order/{n}"]) for n in (7000, 7001)] == [1, 1]
    info = shop.fulfillments["gid://shopify/Order/7000"][0]["trackingInfo"][0]
    assert info == {"number": "1Z999AA10123456784", "company": "UPS", "url": "https://ups.example/1Z"}


def test_fulfillment_service_accepts_rejects_and_reports_tracking(
    api: TestClient,
    fake_shop: tuple[FakeShop, str],
    admin: ShopifyAdmin,
    factory: Any,
    order_create: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shop, url = fake_shop
    known, unknown_yet, started = _orders(order_create, 3)
    for order in (known, unknown_yet, started):
        shop.add_order(order)
    with UnitOfWork(factory) as uow:  # two orders arrived by webhook, one did not
        from microfactory.channels.shopify.order_sync import sync_order

        sync_order(uow, known)
        sync_order(uow, started)
        uow.commit()
    with UnitOfWork(factory) as uow:
        order = service.find_order(uow, "shopify", str(started["id"]))
        assert order is not None and order.lines[0].work_order is not None
        order.lines[0].work_order.status = "in_progress"
        uow.commit()

    def node(order: dict[str, Any], assignment: str) -> dict[str, Any]:
        return {"id": f"gid://shopify/FulfillmentOrder/{order['id']}1", "status": "OPEN", "requestStatus": "SUBMITTED",
                "order": {"id": order["admin_graphql_api_id"], "legacyResourceId": str(order["id"]), "name": order["name"]},
                "assignment": assignment}  # fmt: skip

    shop.assigned = [node(known, "FULFILLMENT_REQUESTED"), node(unknown_yet, "FULFILLMENT_REQUESTED")]
    container = api.app.state.container  # type: ignore[attr-defined]
    settings = container.settings.with_changes(
        shopify_shop_domain=url, shopify_admin_token=__import__("pydantic").SecretStr("shpat_test_token")
    )
    api.app.state.container = bootstrap(settings, engine=container.engine)  # type: ignore[attr-defined]
    body = b'{"kind":"FULFILLMENT_REQUEST"}'
    path = "/shopify/fulfillment_order_notification"
    assert api.post(path, content=body, headers={"X-Shopify-Hmac-Sha256": "bad"}).status_code == 401
    response = api.post(path, content=body, headers={"X-Shopify-Hmac-Sha256": sign(SECRET, body)})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "queued" and shop.answers == []  # the pass runs in the background
    assert [d["accepted"] for d in _dispatch_notifications(api)] == [True, True]
    assert [name for name, _, _ in shop.answers] == ["AcceptFulfillmentRequest", "AcceptFulfillmentRequest"]
    with UnitOfWork(factory) as uow:
        assert service.find_order(uow, "shopify", str(unknown_yet["id"])) is not None  # taken in on the way

    shop.assigned = [node(known, "CANCELLATION_REQUESTED"), node(started, "CANCELLATION_REQUESTED")]
    body = b'{"kind":"CANCELLATION_REQUEST"}'
    response = api.post(path, content=body, headers={"X-Shopify-Hmac-Sha256": sign(SECRET, body)})
    assert response.status_code == 200, response.text
    assert [d["accepted"] for d in _dispatch_notifications(api)] == [True, False]
    assert [name for name, _, _ in shop.answers[2:]] == [
        "AcceptCancellationRequest",
        "RejectCancellationRequest",
    ]
    with UnitOfWork(factory) as uow:
        cancelled = service.find_order(uow, "shopify", str(known["id"]))
        assert cancelled is not None and cancelled.status == "cancelled"
        assert len(list(uow.session.scalars(select(FulfillmentRequestRow)))) == 4
        running = service.find_order(uow, "shopify", str(started["id"]))
        assert running is not None
        fulfilment_sync.queue_shipment(
            uow, running.id, "TRACK-42", "DHL", override_reason="the keypad left as it was, by phone"
        )
        uow.commit()

    query = "/shopify/fetch_tracking_numbers?order_names[]=%232002.1&order_names[]=%239999.1&shop=keystone-test.myshopify.com"
    assert api.get(query).status_code == 401
    signature = sign(SECRET, query.split("?", 1)[1].encode())  # Shopify signs a GET's query string
    answer = api.get(query, headers={"X-Shopify-Hmac-Sha256": signature}).json()
    assert answer == {
        "tracking_numbers": {"#2002.1": "TRACK-42"},
        "message": answer["message"],
        "success": True,
    }


def _dispatch_notifications(api: TestClient) -> list[dict[str, Any]]:
    """Run the outbox dispatcher over the fulfillment-request passes; the decisions of those done."""
    container = api.app.state.container  # type: ignore[attr-defined]
    with ExitStack() as stack:
        handlers, _ = container.outbox_handlers(stack)
        report = dispatch_due(container.session_factory, handlers, kinds=[fulfillment_notifications.KIND])
    assert [str(outcome.status) for outcome in report.outcomes] == ["done"]
    return list(report.outcomes[0].result["decisions"])  # type: ignore[index]


def test_register_fulfillment_service(fake_shop: tuple[FakeShop, str], admin: ShopifyAdmin) -> None:
    created = fulfillment_service.register(admin, "https://factory.example/shopify")
    assert created["callbackUrl"] == "https://factory.example/shopify"
    assert created["location"]["id"].startswith("gid://shopify/Location/")
