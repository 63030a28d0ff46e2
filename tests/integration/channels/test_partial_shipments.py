"""Partial and split shipments reported to Shopify, against the fake Admin API on loopback: each
parcel fulfils exactly its lines, a retry never fulfils twice, too much is refused and visible; the
`POST /api/v1/orders/{id}/shipments` route and `microfactory shopify ship` queue them."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import Engine, inspect, select, text

from microfactory.channels.shopify import fulfilment_sync
from microfactory.channels.shopify.admin import ShopifyAdmin
from microfactory.channels.shopify.fulfilment_sync import ShipmentLine
from microfactory.channels.shopify.verify import sign
from microfactory.db.engine import make_engine, make_session_factory
from microfactory.db.migrate import alembic_config, upgrade
from microfactory.db.tables.channels import FulfilmentSyncRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.orders import service
from microfactory.outbox import store
from tests.conftest import CommandLine
from tests.integration.channels.conftest import SECRET, Deliver, make_everything
from tests.integration.channels.fake_shopify import TOKEN, FakeShop

KEYPAD, KEYS, CABLE = "13579246801357", "13579246801358", "13579246801359"


@pytest.fixture
def order(order_create: dict[str, Any]) -> dict[str, Any]:
    """The example order (a keypad, two key modules) with a stocked cable added: three line items."""
    made = copy.deepcopy(order_create)
    cable = copy.deepcopy(made["line_items"][1])
    cable.update(
        id=int(CABLE),
        admin_graphql_api_id=f"gid://shopify/LineItem/{CABLE}",
        sku="CBL-USB-1m",
        quantity=1,
        name="USB-C cable - 1m",
        title="USB-C cable",
        variant_title="1m",
        price="9.00",
    )
    made["line_items"].append(cable)
    return made


@pytest.fixture
def taken_in(
    order: dict[str, Any], deliver: Deliver, process: Callable[[], Any], factory: Any
) -> dict[str, str]:
    """The order arrived by webhook: our order id and its line ids by Shopify line item id."""
    assert deliver(order).status_code == 200
    process()
    with UnitOfWork(factory) as uow:
        found = service.find_order(uow, "shopify", str(order["id"]))
        assert found is not None
        taken = {"order": found.id, **{str(line.external_id): line.id for line in found.lines}}
    make_everything(factory, taken["order"])  # only made work ships
    return taken


def _gid(order: dict[str, Any]) -> str:
    return f"gid://shopify/Order/{order['id']}"


def _shipped(shop: FakeShop, order: dict[str, Any]) -> list[dict[str, int]]:
    """What each fulfillment in the fake holds: Shopify line item id -> quantity."""
    return [
        {
            node["lineItem"]["id"].rsplit("/", 1)[1]: node["quantity"]
            for node in f["fulfillmentLineItems"]["nodes"]
        }
        for f in shop.fulfillments.get(_gid(order), [])
    ]


def _remaining(shop: FakeShop, order: dict[str, Any]) -> dict[str, int]:
    left: dict[str, int] = {}
    for fo in shop.fulfillment_orders[_gid(order)]:
        for item in fo["lineItems"]["nodes"]:
            key = item["lineItem"]["id"].rsplit("/", 1)[1]
            left[key] = left.get(key, 0) + item["remainingQuantity"]
    return left


def _ship(factory: Any, order_id: str, tracking: str, lines: list[ShipmentLine] | None = None) -> None:
    """Queue one parcel in its own committed transaction, as the API or CLI would."""
    with UnitOfWork(factory) as uow:
        fulfilment_sync.queue_shipment(uow, order_id, tracking, lines=lines)
        uow.commit()


def _row(factory: Any, tracking: str) -> FulfilmentSyncRow:
    with UnitOfWork(factory) as uow:
        row = uow.session.scalar(
            select(FulfilmentSyncRow).where(FulfilmentSyncRow.tracking_number == tracking)
        )
        assert row is not None
        uow.session.expunge(row)
        return row


@pytest.mark.parametrize("split", [False, True], ids=["one-fulfillment-order", "one-per-line-item"])
def test_two_parcels_each_fulfil_only_their_lines(
    split: bool,
    fake_shop: tuple[FakeShop, str],
    admin: ShopifyAdmin,
    factory: Any,
    order: dict[str, Any],
    taken_in: dict[str, str],
) -> None:
    shop, _ = fake_shop
    shop.add_order(order, split=split)
    with UnitOfWork(factory) as uow:  # Berlin ships the keypad and one key; the rest leaves from stock
        fulfilment_sync.queue_shipment(
            uow,
            taken_in["order"],
            "BER-1",
            "DHL Express",
            "https://dhl.example/BER-1",
            lines=[ShipmentLine(taken_in[KEYPAD], 1), ShipmentLine(taken_in[KEYS], 1)],
        )
        fulfilment_sync.queue_shipment(
            uow,
            taken_in["order"],
            "STOCK-2",
            "UPS",
            lines=[ShipmentLine(taken_in[KEYS], 1), ShipmentLine(taken_in[CABLE], 1)],
        )
        uow.commit()
    first = fulfilment_sync.sync_pending(factory, admin)
    assert (first.sent, first.pending, first.failed) == (2, 0, 0), first.errors
    assert _shipped(shop, order) == [{KEYPAD: 1, KEYS: 1}, {KEYS: 1, CABLE: 1}]
    assert _remaining(shop, order) == {KEYPAD: 0, KEYS: 0, CABLE: 0}
    assert {fo["status"] for fo in shop.fulfillment_orders[_gid(order)]} == {"CLOSED"}
    tracking = [f["trackingInfo"][0]["number"] for f in shop.fulfillments[_gid(order)]]
    assert tracking == ["BER-1", "STOCK-2"]
    assert _row(factory, "BER-1").status == "sent" and _row(factory, "STOCK-2").status == "sent"
    assert fulfilment_sync.sync_pending(factory, admin).sent == 0


def test_each_parcel_answers_fetch_tracking_numbers_under_its_own_fulfillment_name(
    fake_shop: tuple[FakeShop, str],
    admin: ShopifyAdmin,
    factory: Any,
    api: TestClient,
    order: dict[str, Any],
    taken_in: dict[str, str],
) -> None:
    shop, _ = fake_shop
    shop.add_order(order)
    with UnitOfWork(factory) as uow:
        for tracking, line in (("BER-1", KEYPAD), ("STOCK-2", CABLE)):
            lines = [ShipmentLine(taken_in[line], 1)]
            fulfilment_sync.queue_shipment(uow, taken_in["order"], tracking, lines=lines)
        uow.commit()
    assert fulfilment_sync.sync_pending(factory, admin).sent == 2
    name = order["name"]
    assert [_row(factory, t).shopify_fulfillment_name for t in ("BER-1", "STOCK-2")] == [
        f"{name}.1",
        f"{name}.2",
    ]
    assert fulfilment_sync.shipment_view(_row(factory, "STOCK-2"))["shopify_fulfillment_name"] == f"{name}.2"
    query = f"order_names[]={name.replace('#', '%23')}.1&order_names[]={name.replace('#', '%23')}.2"
    answer = api.get(
        f"/shopify/fetch_tracking_numbers?{query}",
        headers={"X-Shopify-Hmac-Sha256": sign(SECRET, query.encode())},
    )
    assert answer.json()["tracking_numbers"] == {f"{name}.1": "BER-1", f"{name}.2": "STOCK-2"}


def test_a_partial_parcel_leaves_the_rest_open_and_everything_else_ships_later(
    fake_shop: tuple[FakeShop, str],
    admin: ShopifyAdmin,
    factory: Any,
    order: dict[str, Any],
    taken_in: dict[str, str],
) -> None:
    shop, _ = fake_shop
    shop.add_order(order)
    _ship(factory, taken_in["order"], "P-1", [ShipmentLine(taken_in[KEYS], 1)])
    assert fulfilment_sync.sync_pending(factory, admin).sent == 1
    assert _remaining(shop, order) == {KEYPAD: 1, KEYS: 1, CABLE: 1}
    assert shop.fulfillment_orders[_gid(order)][0]["status"] == "IN_PROGRESS"
    _ship(factory, taken_in["order"], "P-2")  # no lines: whatever is still open, as before
    assert fulfilment_sync.sync_pending(factory, admin).sent == 1
    assert _shipped(shop, order) == [{KEYS: 1}, {KEYPAD: 1, KEYS: 1, CABLE: 1}]
    assert _remaining(shop, order) == {KEYPAD: 0, KEYS: 0, CABLE: 0}


def test_a_retry_never_fulfils_a_parcel_twice(
    fake_shop: tuple[FakeShop, str],
    admin: ShopifyAdmin,
    factory: Any,
    order: dict[str, Any],
    taken_in: dict[str, str],
) -> None:
    shop, _ = fake_shop
    shop.add_order(order)
    parcel = [ShipmentLine(taken_in[KEYS], 1)]
    with UnitOfWork(factory) as uow:
        first = fulfilment_sync.queue_shipment(uow, taken_in["order"], "RETRY-1", lines=parcel)
        again = fulfilment_sync.queue_shipment(uow, taken_in["order"], "RETRY-1", lines=parcel)
        assert again.row.id == first.row.id and not again.created  # the same parcel, asked twice: queued once
        uow.commit()
    shop.drop_after_create = 1  # Shopify creates the fulfillment, the answer never arrives
    lost = fulfilment_sync.sync_pending(factory, admin)
    assert (lost.sent, lost.pending) == (0, 1)
    assert _remaining(shop, order)[KEYS] == 1
    retried = fulfilment_sync.sync_pending(factory, admin)
    assert (retried.sent, retried.already_there) == (0, 1)
    assert _shipped(shop, order) == [{KEYS: 1}] and _remaining(shop, order)[KEYS] == 1
    row = _row(factory, "RETRY-1")
    assert row.status == "sent" and row.last_error is None and row.attempts == 2
    assert row.shopify_fulfillment_id == shop.fulfillments[_gid(order)][0]["id"]


def test_more_than_shopify_has_left_is_refused_and_visible(
    fake_shop: tuple[FakeShop, str],
    admin: ShopifyAdmin,
    factory: Any,
    order: dict[str, Any],
    taken_in: dict[str, str],
) -> None:
    shop, _ = fake_shop
    shop.add_order(order, line_count=2)  # the cable is not this app's to fulfil: in no fulfillment order
    with UnitOfWork(factory) as uow:
        fulfilment_sync.queue_shipment(
            uow, taken_in["order"], "ALL-KEYS", lines=[ShipmentLine(taken_in[KEYS], 2)]
        )
        fulfilment_sync.queue_shipment(
            uow,
            taken_in["order"],
            "ONE-TOO-MANY",
            lines=[ShipmentLine(taken_in[KEYPAD], 1), ShipmentLine(taken_in[KEYS], 1)],
        )
        fulfilment_sync.queue_shipment(
            uow, taken_in["order"], "CABLE", lines=[ShipmentLine(taken_in[CABLE], 1)]
        )
        uow.commit()
    report = fulfilment_sync.sync_pending(factory, admin)
    assert (report.sent, report.pending) == (1, 2)
    too_many = _row(factory, "ONE-TOO-MANY")
    assert too_many.status == "pending" and too_many.last_error is not None
    assert f"line {taken_in[KEYS]}: 1 to ship but Shopify has 0 left to fulfil" in too_many.last_error
    assert taken_in[KEYPAD] not in too_many.last_error  # the keypad would fit: only the keys are named
    cable = _row(factory, "CABLE")
    assert cable.last_error is not None and "in no open fulfillment order" in cable.last_error
    assert any(taken_in[KEYS] in error for error in report.errors)
    assert _shipped(shop, order) == [{KEYS: 2}]
    assert _remaining(shop, order) == {KEYPAD: 1, KEYS: 0}  # the keypad was not fulfilled either
    for _ in range(fulfilment_sync.MAX_ATTEMPTS - 1):
        last = fulfilment_sync.sync_pending(factory, admin)
    assert last.failed == 2
    assert _row(factory, "ONE-TOO-MANY").status == "failed" and _row(factory, "CABLE").status == "failed"
    assert len(shop.fulfillments[_gid(order)]) == 1


def test_the_fake_refuses_too_much_like_shopify(
    fake_shop: tuple[FakeShop, str], admin: ShopifyAdmin, order: dict[str, Any]
) -> None:
    shop, _ = fake_shop
    shop.add_order(order)
    fo = shop.fulfillment_orders[_gid(order)][0]
    item = fo["lineItems"]["nodes"][1]
    asked = {
        "lineItemsByFulfillmentOrder": [
            {"fulfillmentOrderId": fo["id"], "fulfillmentOrderLineItems": [{"id": item["id"], "quantity": 3}]}
        ],
        "trackingInfo": {"number": "X"},
    }
    answer = admin.graphql(fulfilment_sync.CREATE, {"fulfillment": asked}, mutation=True)["fulfillmentCreate"]
    assert answer["fulfillment"] is None
    assert answer["userErrors"][0]["message"] == "Invalid fulfillment order line item quantity requested."
    assert item["remainingQuantity"] == 2 and shop.fulfillments == {}


def test_lines_that_do_not_fit_the_order_are_refused_when_queued(
    factory: Any, taken_in: dict[str, str]
) -> None:
    bad = [
        ShipmentLine("line_nope", 1),
        ShipmentLine(taken_in[KEYS], 3),
        ShipmentLine(taken_in[KEYPAD], 0),
        ShipmentLine(taken_in[CABLE], 1),
        ShipmentLine(taken_in[CABLE], 1),
    ]
    with UnitOfWork(factory) as uow, pytest.raises(fulfilment_sync.ShipmentRefused) as refused:
        fulfilment_sync.queue_shipment(uow, taken_in["order"], "T", lines=bad)
    problems = {problem.path: problem.message for problem in refused.value.problems}
    assert problems == {
        "lines[0].line_id": f"line line_nope is not a line of order {taken_in['order']}",
        "lines[1].qty": f"qty 3 of line {taken_in[KEYS]} is not between 1 and its 2",
        "lines[2].qty": f"qty 0 of line {taken_in[KEYPAD]} is not between 1 and its 1",
        "lines[4].line_id": f"line {taken_in[CABLE]} is named twice",
    }
    with UnitOfWork(factory) as uow:
        assert uow.session.scalar(select(FulfilmentSyncRow)) is None


def test_the_shipments_endpoint(api: TestClient, taken_in: dict[str, str]) -> None:
    path = f"/api/v1/orders/{taken_in['order']}/shipments"
    body = {
        "tracking_number": "BER-9",
        "company": "DHL Express",
        "url": "https://dhl.example/BER-9",
        "lines": [{"line_id": taken_in[KEYPAD], "qty": 1}, {"line_id": taken_in[KEYS], "qty": 2}],
    }
    created = api.post(path, json=body)
    assert created.status_code == 201, created.text
    shipment = created.json()
    assert shipment["status"] == "pending" and shipment["lines"] == body["lines"]
    assert shipment["idempotency_key"] == f"{taken_in['order']}:BER-9" and shipment["id"].startswith("ffs_")
    repeated = api.post(path, json=body)
    assert repeated.status_code == 200 and repeated.json()["id"] == shipment["id"]
    keyed = api.post(path, json={"tracking_number": "ALL", "idempotency_key": "site-berlin:parcel-7"})
    assert keyed.status_code == 201 and keyed.json()["lines"] is None
    assert keyed.json()["idempotency_key"] == "site-berlin:parcel-7"
    assert [s["id"] for s in api.get(path).json()] == [shipment["id"], keyed.json()["id"]]

    def refused(payload: dict[str, Any], expected: int = 422, where: str = path) -> dict[str, Any]:
        response = api.post(where, json=payload)
        assert response.status_code == expected, response.text
        return dict(response.json())

    unknown = refused({"tracking_number": "X", "lines": [{"line_id": "line_nope", "qty": 1}]})
    assert unknown["problems"] == [
        {"path": "lines[0].line_id", "message": f"line line_nope is not a line of order {taken_in['order']}"}
    ]
    too_many = refused({"tracking_number": "X", "lines": [{"line_id": taken_in[KEYS], "qty": 3}]})
    assert too_many["problems"][0]["message"] == f"qty 3 of line {taken_in[KEYS]} is not between 1 and its 2"
    zero = refused({"tracking_number": "X", "lines": [{"line_id": taken_in[KEYS], "qty": 0}]})
    assert taken_in[KEYS] in zero["problems"][0]["message"]
    assert refused({"tracking_number": "X", "lines": []})["problems"][0]["path"] == "lines"
    assert refused({"company": "DHL"})["problems"][0]["path"] == "tracking_number"
    assert refused({"tracking_number": "X", "lines": [{"line_id": taken_in[KEYS], "qty": "2"}]})["problems"]
    assert refused({"tracking_number": "X", "carrier": "DHL"})["problems"][0]["path"] == "carrier"
    missing = refused({"tracking_number": "X"}, 404, "/api/v1/orders/ord_nope/shipments")
    assert missing["error"] == "no order ord_nope"
    assert api.get("/api/v1/orders/ord_nope/shipments").status_code == 404
    other = api.post("/api/v1/orders", json={"external_id": "PO-1", "lines": [{"product": "KP8"}]})
    assert other.status_code == 201, other.text
    not_shopify = refused({"tracking_number": "X"}, 409, f"/api/v1/orders/{other.json()['id']}/shipments")
    assert not_shopify["error"] == f"order {other.json()['id']} came from api, not from Shopify"
    assert api.post(path, json=body, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert len(api.get(path).json()) == 2  # nothing refused was queued


@pytest.fixture
def cli(database_url: str, command_line: CommandLine) -> Callable[..., Any]:
    command_line.use_database(database_url)
    return lambda *args: command_line("shopify", *args)


def test_the_ship_command(cli: Callable[..., Any], taken_in: dict[str, str], factory: Any) -> None:
    order_id = taken_in["order"]
    lines = ["--line", f"{taken_in[KEYS]}:2", "--line", f"{taken_in[CABLE]}:1"]
    shipped = cli(
        "ship", order_id, "--tracking", "CLI-1", "--company", "UPS", "--url", "https://ups.example/1", *lines
    )
    assert shipped.exit_code == 0, shipped.output
    shown = json.loads(shipped.stdout)
    assert shown["lines"] == [{"line_id": taken_in[KEYS], "qty": 2}, {"line_id": taken_in[CABLE], "qty": 1}]
    assert shown["company"] == "UPS" and shown["status"] == "pending" and "queued" in shipped.stderr
    again = cli("ship", order_id, "--tracking", "CLI-1", *lines)
    assert again.exit_code == 0 and "already queued" in again.stderr
    assert json.loads(again.stdout)["id"] == shown["id"]
    whole = cli("ship", order_id, "--tracking", "CLI-2")
    assert whole.exit_code == 0 and json.loads(whole.stdout)["lines"] is None

    malformed = cli("ship", order_id, "--tracking", "CLI-3", "--line", f"{taken_in[KEYS]}-2")
    assert malformed.exit_code == 2 and "LINE_ID:QTY" in malformed.output
    too_many = cli("ship", order_id, "--tracking", "CLI-3", "--line", f"{taken_in[KEYS]}:5")
    assert too_many.exit_code == 2 and f"qty 5 of line {taken_in[KEYS]}" in too_many.stderr
    unknown = cli("ship", "ord_nope", "--tracking", "CLI-3")
    assert unknown.exit_code == 3 and "no order ord_nope" in unknown.stderr
    with UnitOfWork(factory) as uow:
        assert len(fulfilment_sync.list_shipments(uow, order_id)) == 2


def test_the_sync_fulfilments_command_reports_parcels_to_shopify(
    cli: Callable[..., Any],
    fake_shop: tuple[FakeShop, str],
    order: dict[str, Any],
    taken_in: dict[str, str],
    command_line: CommandLine,
) -> None:
    shop, url = fake_shop
    shop.add_order(order)
    command_line.env(MICROFACTORY_SHOPIFY_SHOP_DOMAIN=url, MICROFACTORY_SHOPIFY_ADMIN_TOKEN=TOKEN)
    assert (
        cli("ship", taken_in["order"], "--tracking", "SYNC-1", "--line", f"{taken_in[KEYS]}:1").exit_code == 0
    )
    synced = cli("sync-fulfilments")
    assert synced.exit_code == 0, synced.output
    assert "1 fulfilled, 0 already in Shopify, 0 to retry, 0 failed" in synced.output
    assert _shipped(shop, order) == [{KEYS: 1}]


def test_sync_progress_counts_every_shipment(
    fake_shop: tuple[FakeShop, str],
    admin: ShopifyAdmin,
    factory: Any,
    order: dict[str, Any],
    taken_in: dict[str, str],
) -> None:
    fake_shop[0].add_order(order)
    _ship(factory, taken_in["order"], "P-1", [ShipmentLine(taken_in[KEYS], 1)])
    _ship(factory, taken_in["order"], "P-2", [ShipmentLine(taken_in[CABLE], 1)])
    calls: list[tuple[int, int]] = []
    report = fulfilment_sync.sync_pending(
        factory, admin, progress=lambda done, total: calls.append((done, total))
    )
    assert report.sent == 2
    assert calls == [(0, 2), (1, 2), (2, 2)]


def test_the_lines_column_migrates_down_and_up(channel_engine: Engine) -> None:
    config = alembic_config(channel_engine.url.render_as_string(hide_password=False))
    with channel_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0003")
    columns = {c["name"] for c in inspect(channel_engine).get_columns("shopify_fulfilment_syncs")}
    assert "lines" not in columns and "tracking_number" in columns
    upgrade(channel_engine)
    columns = {c["name"] for c in inspect(channel_engine).get_columns("shopify_fulfilment_syncs")}
    assert "lines" in columns


def test_an_idempotency_key_is_scoped_to_its_order(
    deliver: Deliver,
    process: Callable[[], Any],
    factory: Any,
    order: dict[str, Any],
    taken_in: dict[str, str],
) -> None:
    other = copy.deepcopy(order)
    other.update(
        id=order["id"] + 1, name="#9999", admin_graphql_api_id=f"gid://shopify/Order/{order['id'] + 1}"
    )
    assert deliver(other).status_code == 200
    process()
    with UnitOfWork(factory) as uow:
        found = service.find_order(uow, "shopify", str(other["id"]))
        assert found is not None
        other_id = found.id
    make_everything(factory, other_id)  # only made work ships
    with UnitOfWork(factory) as uow:
        found = service.get_order(uow, other_id)
        first = fulfilment_sync.queue_shipment(uow, taken_in["order"], "T-1", idempotency_key="parcel-1")
        second = fulfilment_sync.queue_shipment(uow, found.id, "T-2", idempotency_key="parcel-1")
        again = fulfilment_sync.queue_shipment(uow, found.id, "T-2", idempotency_key="parcel-1")
        assert first.created and second.created and first.row.id != second.row.id
        assert not again.created and again.row.id == second.row.id
        uow.commit()
    with UnitOfWork(factory) as uow:
        messages = store.list_messages(uow, kind=fulfilment_sync.KIND)
    assert sorted(m.key for m in messages) == sorted([first.row.id, second.row.id])
    assert {m.payload["tracking_number"] for m in messages} == {"T-1", "T-2"}


def test_two_syncs_at_once_create_each_fulfillment_once(
    fake_shop: tuple[FakeShop, str],
    database_url: str,
    factory: Any,
    order: dict[str, Any],
    taken_in: dict[str, str],
) -> None:
    shop, url = fake_shop
    shop.add_order(order)
    for tracking, line in (("BER-1", KEYPAD), ("BER-2", KEYS), ("BER-3", CABLE)):
        _ship(factory, taken_in["order"], tracking, [ShipmentLine(taken_in[line], 1)])
    barrier = threading.Barrier(2)
    reports: list[fulfilment_sync.SyncReport] = []

    def run() -> None:
        engine = make_engine(database_url)
        with ShopifyAdmin(url, TOKEN, "2025-07", sleep=lambda _: None) as admin:
            barrier.wait(10)
            reports.append(fulfilment_sync.sync_pending(make_session_factory(engine), admin))
        engine.dispose()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(report.sent for report in reports) == 3
    assert sum(report.already_there for report in reports) == 0
    assert sorted(f["trackingInfo"][0]["number"] for f in shop.fulfillments[_gid(order)]) == [
        "BER-1",
        "BER-2",
        "BER-3",
    ]


def test_shipments_pending_before_the_outbox_get_their_message(channel_engine: Engine) -> None:
    config = alembic_config(channel_engine.url.render_as_string(hide_password=False))
    with channel_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0004")
    now = datetime.now(UTC)
    with channel_engine.begin() as connection:
        for sync_id, status in (("ffs_old", "pending"), ("ffs_sent", "sent")):
            connection.execute(
                text(
                    "INSERT INTO shopify_fulfilment_syncs (id, idempotency_key, order_id, shopify_order_id,"
                    " order_name, tracking_number, status, attempts, created_at, updated_at, lines)"
                    " VALUES (:id, :key, 'ord_1', 'gid://shopify/Order/1', '#1', :id, :status, 2, :now, :now,"
                    " NULL)"
                ),
                {"id": sync_id, "key": f"ord_1:{sync_id}", "status": status, "now": now},
            )
    upgrade(channel_engine)
    with UnitOfWork.for_engine(channel_engine) as uow:
        (message,) = store.list_messages(uow, kind=fulfilment_sync.KIND)
    assert (message.key, message.status, message.attempts) == ("ffs_old", "pending", 2)
    assert message.payload == {
        "shipment_id": "ffs_old",
        "shopify_order_id": "gid://shopify/Order/1",
        "order_name": "#1",
        "tracking_number": "ffs_old",
        "company": None,
        "url": None,
        "lines": None,
    }


def test_the_outbox_dispatch_command_sends_parcels_by_kind(
    cli: Callable[..., Any],
    fake_shop: tuple[FakeShop, str],
    order: dict[str, Any],
    taken_in: dict[str, str],
    command_line: CommandLine,
) -> None:
    def outbox(*args: str) -> Any:
        return command_line("outbox", *args)

    shop, url = fake_shop
    shop.add_order(order)
    assert (
        cli("ship", taken_in["order"], "--tracking", "OBX-1", "--line", f"{taken_in[KEYS]}:1").exit_code == 0
    )
    unconfigured = outbox("dispatch", "--kind", "shopify.fulfilment")  # logistics' kind needs no setting
    assert unconfigured.exit_code == 2 and "MICROFACTORY_SHOPIFY_SHOP_DOMAIN" in unconfigured.stderr
    command_line.env(MICROFACTORY_SHOPIFY_SHOP_DOMAIN=url, MICROFACTORY_SHOPIFY_ADMIN_TOKEN=TOKEN)
    assert outbox("dispatch", "--kind", "carrier.label").exit_code == 2
    sent = outbox("dispatch")
    assert sent.exit_code == 0, sent.output
    assert "1 dispatched: 1 done" in sent.stdout
    assert _shipped(shop, order) == [{KEYS: 1}]
    assert "0 dispatched: nothing due" in outbox("dispatch", "--kind", "shopify.fulfilment").stdout
    listed = json.loads(outbox("list", "--status", "done", "--json").stdout)
    assert [m["payload"]["tracking_number"] for m in listed] == ["OBX-1"]


def test_the_ship_command_refuses_an_empty_tracking_number(
    cli: Callable[..., Any], taken_in: dict[str, str], factory: Any
) -> None:
    result = cli("ship", taken_in["order"], "--tracking", "")
    assert result.exit_code == 2, result.output
    with UnitOfWork(factory) as uow:
        assert fulfilment_sync.list_shipments(uow, taken_in["order"]) == []
