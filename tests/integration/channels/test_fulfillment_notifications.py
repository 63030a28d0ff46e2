"""Fulfillment-service notifications: answered at once, worked off by the outbox, replays merged.

The fake Admin API answers slowly here; the callback must not wait for it, and 20 replays of one
captured notification must cost one pass over the assigned fulfillment orders, not 20.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from datetime import timedelta
from typing import Any

import pydantic
from fastapi.testclient import TestClient
from sqlalchemy import select

from microfactory.bootstrap import Container, bootstrap
from microfactory.channels.shopify import fulfillment_notifications
from microfactory.channels.shopify.order_sync import sync_order
from microfactory.channels.shopify.verify import sign
from microfactory.db.base import utcnow
from microfactory.db.tables.outbox import OutboxMessageRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.outbox.claim import claim
from microfactory.outbox.dispatcher import DispatchReport, dispatch_due
from tests.integration.channels.conftest import SECRET, updated
from tests.integration.channels.fake_shopify import FakeShop

PATH = "/shopify/fulfillment_order_notification"
BODY = b'{"kind":"FULFILLMENT_REQUEST"}'
KIND = fulfillment_notifications.KIND


def _configured(api: TestClient, url: str) -> Container:
    container = api.app.state.container  # type: ignore[attr-defined]
    settings = container.settings.with_changes(
        shopify_shop_domain=url, shopify_admin_token=pydantic.SecretStr("shpat_test_token")
    )
    configured = bootstrap(settings, engine=container.engine)
    api.app.state.container = configured  # type: ignore[attr-defined]
    return configured


def _dispatch(container: Container) -> DispatchReport:
    with ExitStack() as stack:
        handlers, missing = container.outbox_handlers(stack)
        assert missing == {}
        return dispatch_due(container.session_factory, handlers, kinds=[KIND])


def _messages(container: Container) -> list[OutboxMessageRow]:
    with container.unit_of_work() as uow:
        rows = list(uow.session.scalars(select(OutboxMessageRow).where(OutboxMessageRow.kind == KIND)))
        uow.session.expunge_all()
        return rows


def _requested(shop: FakeShop, order: dict[str, Any]) -> None:
    shop.add_order(order)
    shop.assigned = [
        {
            "id": f"gid://shopify/FulfillmentOrder/{order['id']}1",
            "status": "OPEN",
            "requestStatus": "SUBMITTED",
            "order": {
                "id": order["admin_graphql_api_id"],
                "legacyResourceId": str(order["id"]),
                "name": order["name"],
            },
            "assignment": "FULFILLMENT_REQUESTED",
        }
    ]


def test_replayed_notifications_answer_at_once_and_cost_one_pass(
    api: TestClient, fake_shop: tuple[FakeShop, str], factory: Any, order_create: dict[str, Any]
) -> None:
    shop, url = fake_shop
    order = updated(order_create, "2026-11-20T10:15:00+01:00", id=7300, name="#2300",
                    admin_graphql_api_id="gid://shopify/Order/7300")  # fmt: skip
    _requested(shop, order)
    with UnitOfWork(factory) as uow:
        sync_order(uow, order)
        uow.commit()
    container = _configured(api, url)
    shop.delay = 1.5  # every Admin API call takes 1.5 s
    headers = {"X-Shopify-Hmac-Sha256": sign(SECRET, BODY)}

    answers, slowest = [], 0.0
    for _ in range(20):  # one captured notification, replayed
        started = time.monotonic()
        response = api.post(PATH, content=BODY, headers=headers)
        slowest = max(slowest, time.monotonic() - started)
        assert response.status_code == 200, response.text
        answers.append(response.json())
    assert slowest < 1.0  # never waits for the Admin API
    assert shop.requests == [] and shop.answers == []
    assert [a["status"] for a in answers] == ["queued"] + ["merged"] * 19
    assert len({a["message_id"] for a in answers}) == 1

    shop.delay = 0.2
    report = _dispatch(container)
    assert [str(outcome.status) for outcome in report.outcomes] == ["done"]
    assert shop.requests.count("graphql AssignedFulfillmentOrders") == 1  # one pass
    assert [name for name, _, _ in shop.answers] == ["AcceptFulfillmentRequest"]  # the work happened
    assert _dispatch(container).outcomes == []  # nothing left over

    again = api.post(PATH, content=BODY, headers=headers)  # after the pass: a new pass, not lost
    assert again.json()["status"] == "queued"
    assert [str(o.status) for o in _dispatch(container).outcomes] == ["done"]
    assert shop.requests.count("graphql AssignedFulfillmentOrders") == 2
    assert len(shop.answers) == 1  # nothing was assigned any more: the pass was idempotent


def test_a_notification_during_a_pass_gets_a_pass_of_its_own(
    api: TestClient, fake_shop: tuple[FakeShop, str]
) -> None:
    container = _configured(api, fake_shop[1])
    with container.unit_of_work() as uow:
        first, merged = fulfillment_notifications.note_notification(uow, "FULFILLMENT_REQUEST")
        other, _ = fulfillment_notifications.note_notification(uow, "CANCELLATION_REQUEST")
        uow.commit()
    assert not merged and other != first  # each kind has its own pass
    (claimed,) = claim(container.session_factory, [KIND], limit=1, worker_id="w1", now=utcnow(),
                       lease_for=lambda _: timedelta(minutes=5))  # fmt: skip
    with container.unit_of_work() as uow:
        during, merged_during = fulfillment_notifications.note_notification(uow, claimed.payload["kind"])
        repeat, merged_repeat = fulfillment_notifications.note_notification(uow, claimed.payload["kind"])
        uow.commit()
    assert during not in (first, other) and not merged_during
    assert (repeat, merged_repeat) == (during, True)
    assert sorted(str(row.status) for row in _messages(container)) == ["in_flight", "pending", "pending"]


def test_without_the_admin_api_configured_the_notification_is_refused(api: TestClient) -> None:
    response = api.post(PATH, content=BODY, headers={"X-Shopify-Hmac-Sha256": sign(SECRET, BODY)})
    assert response.status_code == 503 and "MICROFACTORY_SHOPIFY" in response.json()["error"]
