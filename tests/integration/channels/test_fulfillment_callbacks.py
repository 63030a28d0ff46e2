"""Shopify's calls to microfactory as a fulfillment service, held to Shopify's documented contract.

`GET <callback>/fetch_tracking_numbers[.json]?order_names[]=#1001.1&shop=...` carries no body, so its
`X-Shopify-Hmac-Sha256` signs the query string; `POST <callback>/fulfillment_order_notification`
signs its body. Sources and open questions: docs/integrations/shopify.md, section 4.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient

from microfactory.bootstrap import bootstrap
from microfactory.channels.shopify import fulfillment_service, fulfilment_sync
from microfactory.channels.shopify.verify import sign
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.orders import service
from tests.integration.channels.conftest import SECRET, Deliver, make_everything

PATHS = ("/shopify/fetch_tracking_numbers", "/shopify/fetch_tracking_numbers.json")
SHOP = "shop=keystone-test.myshopify.com"
TRACKING = "1Z999AA10123456784"


def _names(*names: str, key: str = "order_names[]") -> str:
    return "&".join(f"{key}={quote(name, safe='')}" for name in names)


def _get(
    api: TestClient, path: str, query: str, signed: str | None = None, secret: str = SECRET
) -> httpx.Response:
    """A GET as Shopify sends it: the header is the HMAC of the query string (or of `signed`)."""
    signature = sign(secret, (query if signed is None else signed).encode())
    response: httpx.Response = api.get(f"{path}?{query}", headers={"X-Shopify-Hmac-Sha256": signature})
    return response


@pytest.fixture
def shipped(
    api: TestClient, deliver: Deliver, process: Any, order_create: dict[str, Any], factory: Any
) -> str:
    """Order #1042 taken in by webhook and shipped with a tracking number; returns the order's name."""
    assert deliver(order_create).status_code == 200
    assert process().processed == 1
    with UnitOfWork(factory) as uow:
        order = service.find_order(uow, "shopify", str(order_create["id"]))
        assert order is not None
        order_id = order.id
    make_everything(factory, order_id)  # only made work ships
    with UnitOfWork(factory) as uow:
        fulfilment_sync.queue_shipment(uow, order_id, TRACKING, "UPS")
        uow.commit()
    return str(order_create["name"])


@pytest.mark.parametrize("path", PATHS)
def test_signed_request_gets_the_documented_answer(api: TestClient, shipped: str, path: str) -> None:
    query = f"{_names(f'{shipped}.1', '#9999.1')}&{SHOP}"
    response = _get(api, path, query)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "tracking_numbers": {f"{shipped}.1": TRACKING},  # #9999.1 is not ours: left out, not null
        "message": "Successfully received the tracking numbers",
        "success": True,
    }


def test_both_parameter_spellings_are_read_once_each(api: TestClient, shipped: str) -> None:
    query = "&".join(
        [_names(f"{shipped}.1"), _names(f"{shipped}.2", f"{shipped}.1", key="order_names"), SHOP]
    )
    answer = _get(api, PATHS[0], query).json()
    assert answer["tracking_numbers"] == {f"{shipped}.1": TRACKING, f"{shipped}.2": TRACKING}


def test_unknown_names_only_give_an_empty_map(api: TestClient, shipped: str) -> None:
    answer = _get(api, PATHS[1], f"{_names('#9999.1', '#1042', 'not-a-name')}&{SHOP}").json()
    assert answer["tracking_numbers"] == {f"{shipped}": TRACKING}  # a bare order name is its own order
    answer = _get(api, PATHS[1], f"{_names('#9999.1')}&{SHOP}").json()
    assert answer == {"tracking_numbers": {}, "message": answer["message"], "success": True}


def test_the_signature_over_the_sorted_parameters_is_accepted_too(api: TestClient, shipped: str) -> None:
    sent = f"{SHOP}&{_names(f'{shipped}.1')}"  # parameters not in name order
    response = _get(api, PATHS[0], sent, signed=f"{_names(f'{shipped}.1')}&{SHOP}")
    assert response.status_code == 200, response.text
    assert response.json()["tracking_numbers"] == {f"{shipped}.1": TRACKING}


def _refused(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["problems"] == [] and "X-Shopify-Hmac-Sha256" in body["error"]
    assert "tracking_numbers" not in body


@pytest.mark.parametrize("path", PATHS)
def test_unsigned_or_wrongly_signed_requests_get_no_data(api: TestClient, shipped: str, path: str) -> None:
    query = f"{_names(f'{shipped}.1')}&{SHOP}"
    _refused(api.get(f"{path}?{query}"))  # no header
    _refused(api.get(f"{path}?{query}", headers={"X-Shopify-Hmac-Sha256": "not base64!"}))
    _refused(_get(api, path, query, secret="another-secret"))
    _refused(_get(api, path, query, signed=""))  # the empty body's HMAC binds nothing: refused
    _refused(_get(api, path, f"{_names(f'{shipped}.1', '#1043.1')}&{SHOP}", signed=query))  # names added
    _refused(_get(api, path, query.replace("keystone-test", "other-shop"), signed=query))  # shop changed


def test_a_request_without_query_is_refused_even_with_the_empty_signature(api: TestClient) -> None:
    _refused(api.get(PATHS[0], headers={"X-Shopify-Hmac-Sha256": sign(SECRET, b"")}))


def test_without_a_secret_nothing_is_answered(api: TestClient, shipped: str) -> None:
    container = api.app.state.container  # type: ignore[attr-defined]
    unset = container.settings.with_changes(shopify_webhook_secret=None)
    api.app.state.container = bootstrap(unset, engine=container.engine)  # type: ignore[attr-defined]
    response = _get(api, PATHS[0], f"{_names(f'{shipped}.1')}&{SHOP}")
    assert response.status_code == 503
    assert response.json()["problems"] == [] and "tracking_numbers" not in response.json()


def test_notification_is_verified_over_its_body_before_anything_else(api: TestClient) -> None:
    path = "/shopify/fulfillment_order_notification"
    body = b'{"kind":"FULFILLMENT_REQUEST"}'
    for headers in (
        {},
        {"X-Shopify-Hmac-Sha256": sign("another-secret", body)},
        {"X-Shopify-Hmac-Sha256": sign(SECRET, b"")},
    ):
        _refused(api.post(path, content=body, headers=headers))
    unknown = b'{"kind":"SOMETHING_ELSE"}'
    response = api.post(path, content=unknown, headers={"X-Shopify-Hmac-Sha256": sign(SECRET, unknown)})
    assert response.status_code == 400 and response.json()["problems"] == []


def test_no_stock_endpoint_because_registration_declines_inventory_management(api: TestClient) -> None:
    assert "inventoryManagement: false" in fulfillment_service.REGISTER  # so Shopify never calls fetch_stock
    assert "trackingSupport: true" in fulfillment_service.REGISTER  # so it does poll fetch_tracking_numbers
    query = f"sku=KP-8&{SHOP}"
    for path in ("/shopify/fetch_stock", "/shopify/fetch_stock.json"):
        assert _get(api, path, query).status_code == 404
