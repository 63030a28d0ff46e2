"""A GraphQL `Order` node, turned into webhook JSON, maps exactly as the webhook itself does.

The order is the example `orders-create.json` with what makes mapping interesting: non-ASCII names,
private `_` properties, a gift card line and a discount code. The GraphQL node is written by hand
the way the Admin API answers (GIDs, `UnsignedInt64` strings, upper-case enums, UTC times, MoneyBags
whose amounts drop trailing zeros, tags as a list), not derived from the webhook, so the test
checks the conversion rather than restating it.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from microfactory.catalog.model import Catalog
from microfactory.catalog.service import CatalogSet
from microfactory.channels.shopify.graphql_orders import (
    IncompleteOrder,
    legacy_id,
    order_gid,
    updated_since_filter,
    webhook_payload,
)
from microfactory.channels.shopify.mapping import MAX_LINES, PayloadError, map_order
from microfactory.orders.model import LineKind

ENGRAVING = "Für Zoë ♥ — 東京"
GIFT_CARD = {
    "id": 13579246801359,
    "admin_graphql_api_id": "gid://shopify/LineItem/13579246801359",
    "gift_card": True,
    "name": "Gutschein - 25 €",
    "price": "25.00",
    "properties": [{"name": "_recipient", "value": "Jürgen Łukasiewicz"}],
    "quantity": 1,
    "requires_shipping": False,
    "sku": None,
    "title": "Gutschein",
    "variant_title": "25 €",
}


@pytest.fixture
def webhook(examples: Path) -> dict[str, Any]:
    """The example orders/create webhook, with a discount, a gift card and non-ASCII text."""
    path = examples / "shopify" / "orders-create.json"
    payload: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    payload.update(
        current_total_price="149.90",
        total_price="149.90",
        total_discounts="10.00",
        discount_codes=[{"code": "WILLKOMMEN10", "amount": "10.00", "type": "fixed_amount"}],
        tags="berlin, vip",
    )
    payload["shipping_address"].update(
        first_name="Zoë", last_name="Łukasiewicz-Müller", name="Zoë Łukasiewicz-Müller"
    )
    payload["line_items"][0]["properties"][0]["value"] = ENGRAVING
    payload["line_items"][0]["total_discount"] = "10.00"
    payload["line_items"].append(copy.deepcopy(GIFT_CARD))
    return payload


@pytest.fixture
def node() -> dict[str, Any]:
    """The same order as the Admin GraphQL API answers the `WebhookOrder` fragment."""
    return {
        "id": "gid://shopify/Order/5678901234567",
        "legacyResourceId": "5678901234567",
        "name": "#1042",
        "email": "mira.kowalski@example.com",
        "createdAt": "2026-11-20T09:15:42Z",
        "updatedAt": "2026-11-20T09:15:43Z",
        "cancelledAt": None,
        "cancelReason": None,
        "currencyCode": "EUR",
        "number": 1042,
        "note": "Gift — please no invoice in the box",
        "tags": ["berlin", "vip"],
        "test": False,
        "displayFinancialStatus": "PAID",
        "displayFulfillmentStatus": "UNFULFILLED",
        "discountCodes": ["WILLKOMMEN10"],
        "totalPriceSet": _money("149.9"),
        "currentTotalPriceSet": _money("149.9"),
        "totalDiscountsSet": _money("10.0"),
        "shippingAddress": {
            "name": "Zoë Łukasiewicz-Müller",
            "firstName": "Zoë",
            "lastName": "Łukasiewicz-Müller",
            "company": None,
            "address1": "Oranienstraße 185",
            "address2": "Hinterhaus, 3. OG",
            "city": "Berlin",
            "zip": "10999",
            "province": None,
            "provinceCode": None,
            "country": "Germany",
            "countryCodeV2": "DE",
            "phone": "+49 30 1234567",
            "latitude": 52.5003,
            "longitude": 13.4197,
        },
        "shippingLines": {"nodes": [{"title": "Local express (made in Berlin)", "code": "local-express"}]},
        "lineItems": {
            "nodes": [
                _item(
                    13579246801357,
                    "KP8-TEAL",
                    "Keystone modular keypad",
                    "8 keys / Teal",
                    "109.0",
                    1,
                    [
                        ("Engraving", ENGRAVING),
                        ("Firmware", "studio"),
                        ("_preview_image", "https://cdn.example.com/previews/abc123.png"),
                    ],
                ),
                _item(13579246801358, "KM-RED", "Replacement key module", "Red", "10.0", 2, []),
                {
                    **_item(
                        13579246801359,
                        None,
                        "Gutschein",
                        "25 €",
                        "25.0",
                        1,
                        [("_recipient", "Jürgen Łukasiewicz")],
                    ),
                    "isGiftCard": True,
                    "requiresShipping": False,
                },
            ],
            "pageInfo": {"hasNextPage": False, "endCursor": "eyJsYXN0X2lkIjozfQ=="},
        },
    }


def _money(amount: str) -> dict[str, Any]:
    return {"shopMoney": {"amount": amount, "currencyCode": "EUR"}}


def _item(
    number: int, sku: str | None, title: str, variant: str, price: str, qty: int, attrs: list[tuple[str, str]]
) -> dict[str, Any]:
    return {
        "id": f"gid://shopify/LineItem/{number}",
        "name": f"{title} - {variant}",
        "title": title,
        "variantTitle": variant,
        "sku": sku,
        "quantity": qty,
        "currentQuantity": qty,
        "requiresShipping": True,
        "isGiftCard": False,
        "customAttributes": [{"key": key, "value": value} for key, value in attrs],
        "originalUnitPriceSet": _money(price),
    }


def test_maps_exactly_as_the_webhook(node: dict[str, Any], webhook: dict[str, Any], keypad: Catalog) -> None:
    catalogs = CatalogSet((keypad,))
    from_graphql = map_order(webhook_payload(node), catalogs)
    assert from_graphql == map_order(webhook, catalogs)  # the property that matters
    first, module, gift = from_graphql.new.lines
    assert first.options["engraving"] == ENGRAVING and "_preview_image" in first.properties
    assert module.qty == 2 and str(module.unit_price) == "10.00"
    assert gift.kind == LineKind.FULFILMENT_ONLY and gift.properties == {"_recipient": "Jürgen Łukasiewicz"}
    assert from_graphql.new.ship_to.name == "Zoë Łukasiewicz-Müller"
    attributes = from_graphql.new.attributes
    assert attributes["total_discounts"] == "10.00" and attributes["discount_codes"] == ["WILLKOMMEN10"]
    assert attributes["admin_graphql_api_id"] == "gid://shopify/Order/5678901234567"


def test_payload_has_the_webhook_shape(node: dict[str, Any]) -> None:
    payload = webhook_payload(node)
    assert payload["id"] == 5678901234567 and payload["order_number"] == 1042
    assert (payload["total_price"], payload["current_total_price"]) == ("149.90", "149.90")
    assert (payload["financial_status"], payload["fulfillment_status"], payload["tags"]) == (
        "paid", None, "berlin, vip",
    )  # fmt: skip
    first = payload["line_items"][0]
    assert first["id"] == 13579246801357 and first["admin_graphql_api_id"].endswith("/13579246801357")
    assert first["price"] == "109.00" and first["properties"][0] == {"name": "Engraving", "value": ENGRAVING}
    assert payload["shipping_address"]["country_code"] == "DE"
    assert payload["shipping_lines"] == [{"title": "Local express (made in Berlin)", "code": "local-express"}]


def test_cancelled_order_keeps_reason_and_instant(
    node: dict[str, Any], webhook: dict[str, Any], keypad: Catalog
) -> None:
    node.update(cancelledAt="2026-11-21T07:00:00Z", cancelReason="CUSTOMER", displayFinancialStatus="VOIDED")
    webhook.update(
        cancelled_at="2026-11-21T08:00:00+01:00", cancel_reason="customer", financial_status="voided"
    )
    catalogs = CatalogSet((keypad,))
    from_graphql, from_webhook = map_order(webhook_payload(node), catalogs), map_order(webhook, catalogs)
    assert from_graphql.cancelled_at == from_webhook.cancelled_at == datetime(2026, 11, 21, 7, tzinfo=UTC)
    assert from_graphql.cancel_reason == from_webhook.cancel_reason == "customer"
    assert from_graphql.new.lines == from_webhook.new.lines


def test_line_items_edited_away_are_removed_as_in_webhooks(node: dict[str, Any], keypad: Catalog) -> None:
    node["lineItems"]["nodes"][1]["currentQuantity"] = 0
    mapped = map_order(webhook_payload(node), CatalogSet((keypad,)))
    assert mapped.removed_line_ids == ("13579246801358",) and len(mapped.new.lines) == 2


def test_an_order_with_line_items_not_all_fetched_is_refused(node: dict[str, Any]) -> None:
    node["lineItems"]["pageInfo"]["hasNextPage"] = True
    with pytest.raises(IncompleteOrder, match=r"5678901234567 \(#1042\): only 3 of its line items"):
        webhook_payload(node)


def test_an_order_too_big_for_mapping_is_refused_whole(node: dict[str, Any], keypad: Catalog) -> None:
    item = node["lineItems"]["nodes"][1]
    node["lineItems"] = {
        "nodes": [{**item, "id": f"gid://shopify/LineItem/{n}"} for n in range(MAX_LINES + 1)],
        "pageInfo": {"hasNextPage": True, "endCursor": "more"},
    }
    with pytest.raises(PayloadError):  # never taken in with lines missing
        map_order(webhook_payload(node), CatalogSet((keypad,)))


@pytest.mark.parametrize(
    ("value", "expected"),
    [("5678901234567", 5678901234567), ("gid://shopify/LineItem/42", 42), (7, 7),
     ("gid://shopify/LineItem/x", None), (True, None), (None, None), ("", None)],
)  # fmt: skip
def test_legacy_id(value: object, expected: int | None) -> None:
    assert legacy_id(value) == expected


def test_money_keeps_webhook_decimals(node: dict[str, Any]) -> None:
    for amount, text in [("0.0", "0.00"), ("1E+2", "100.00"), ("29.999", "29.999"), ("7", "7.00")]:
        node["totalPriceSet"] = _money(amount)
        assert webhook_payload(node)["total_price"] == text
    node["totalPriceSet"] = _money("NaN")
    assert webhook_payload(node)["total_price"] is None


def test_search_filter_and_gid() -> None:
    berlin = timezone(timedelta(hours=1))
    assert updated_since_filter(datetime(2026, 11, 1, 1, 30, tzinfo=berlin)) == (
        "updated_at:>='2026-11-01T00:30:00Z'"
    )
    assert updated_since_filter(datetime(2026, 11, 1)) == "updated_at:>='2026-11-01T00:00:00Z'"
    assert order_gid(7000) == order_gid("gid://shopify/Order/7000") == "gid://shopify/Order/7000"
