"""Shopify order JSON (webhook bodies, REST `orders.json` items) to a channel-neutral `NewOrder`.

Pure: no database, no HTTP. The catalog lookup is passed in as anything with `match_sku` (the
`CatalogSet` of `catalog.service` in production). A line that cannot be understood is never dropped:
it becomes a line with problems that name the SKU, the option or the field, and intake keeps it in
*needs attention*. Only a body that is not an order at all (no id, no line items list) is refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from microfactory.catalog.model import Product
from microfactory.catalog.sku import SkuMatcher
from microfactory.errors import Invalid
from microfactory.orders import iso_codes
from microfactory.orders.model import Address, LineKind, NewOrder, NewOrderLine
from microfactory.problems import Problem

CHANNEL = "shopify"
MAX_LINES = 1000  # Shopify caps an order far below this; more is hostile input
MAX_TEXT = 300


class PayloadError(Invalid):
    """The body is not a Shopify order we can read at all; the delivery fails with these problems."""


@dataclass(frozen=True)
class ShopifyOrder:
    """A mapped order and the store facts intake does not keep in `NewOrder` itself."""

    new: NewOrder
    updated_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    removed_line_ids: tuple[str, ...]  # line items the store edited down to zero


def parse_time(value: object) -> datetime | None:
    """Shopify's ISO 8601 times (with offsets, or `Z`) as aware UTC; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def order_id(payload: Mapping[str, Any]) -> str:
    """The store's order id as text; `PayloadError` when there is none."""
    raw = payload.get("id")
    if isinstance(raw, float):  # orjson reads an integer past 64 bits as a float
        message = f"the order id {raw!r} is not a whole number of at most 64 bits, as Shopify sends"
        raise PayloadError("not a Shopify order", [Problem("id", message)])
    if isinstance(raw, bool) or not isinstance(raw, int | str) or not str(raw).strip():
        raise PayloadError("not a Shopify order", [Problem("id", "the order has no id")])
    return str(raw).strip()[:120]


def map_order(payload: Mapping[str, Any], catalogs: SkuMatcher) -> ShopifyOrder:
    """Map one order; raises `PayloadError` only when the body is not an order at all."""
    if not isinstance(payload, Mapping):
        raise PayloadError("not a Shopify order", [Problem("", "the body is not a JSON object")])
    external_id = order_id(payload)
    items = payload.get("line_items")
    if not isinstance(items, list):
        raise PayloadError("not a Shopify order", [Problem("line_items", "line_items is not a list")])
    if len(items) > MAX_LINES:
        raise PayloadError(
            "not a Shopify order",
            [Problem("line_items", f"{len(items)} line items is more than {MAX_LINES}")],
        )
    lines: list[NewOrderLine] = []
    removed: list[str] = []
    for index, item in enumerate(items):
        line = map_line(index, item, catalogs)
        if line is None:
            removed.append(_text(item.get("id")) if isinstance(item, Mapping) else str(index))
            continue
        lines.append(line)
    new = NewOrder(
        channel=CHANNEL,
        external_id=external_id,
        lines=tuple(lines),
        ship_to=map_address(payload.get("shipping_address")),
        name=_text(payload.get("name"), 120) or None,
        email=_text(payload.get("email") or payload.get("contact_email"), 320) or None,
        currency=_currency(payload.get("currency")),
        total_price=_money(payload.get("current_total_price", payload.get("total_price"))),
        source_updated_at=parse_time(payload.get("updated_at")),
        attributes=_attributes(payload),
    )
    new = _with_header_problems(new)
    return ShopifyOrder(
        new=new,
        updated_at=new.source_updated_at,
        cancelled_at=parse_time(payload.get("cancelled_at")),
        cancel_reason=_text(payload.get("cancel_reason"), 60) or None,
        removed_line_ids=tuple(removed),
    )


def _with_header_problems(new: NewOrder) -> NewOrder:
    """The orders capability's header check (country, currency, email) on a store's order.

    Shopify's order cannot be refused (it exists in the store), so a value no shipment can use is a
    problem on each of its manufacture lines: they wait in needs attention, the order is kept.
    """
    found = tuple(iso_codes.order_problems(new))
    if not found:
        return new
    lines = tuple(
        replace(line, problems=line.problems + found) if line.kind == LineKind.MANUFACTURE else line
        for line in new.lines
    )
    return replace(new, lines=lines)


def map_line(index: int, item: object, catalogs: SkuMatcher) -> NewOrderLine | None:
    """One line item; None when the store edited it down to zero (it is no longer ordered)."""
    path = f"line_items[{index}]"
    if not isinstance(item, Mapping):
        return NewOrderLine(qty=0, problems=(Problem(path, "the line item is not a JSON object"),))
    problems: list[Problem] = []
    qty = _quantity(item, path, problems)
    if qty == 0 and not problems:
        return None
    sku = _text(item.get("sku"), 120)
    properties = _properties(item.get("properties"), path, problems)
    unit_price = _money(item.get("price"))
    if item.get("price") is not None and unit_price is None:
        problems.append(Problem(f"{path}.price", f"price {_shown(item.get('price'))} is not an amount"))
    kind = LineKind.MANUFACTURE
    product: str | None = None
    options: dict[str, Any] = {}
    if item.get("gift_card") is True or item.get("requires_shipping") is False:
        kind = LineKind.FULFILMENT_ONLY
    elif not sku:
        problems.append(Problem(f"{path}.sku", "the line item has no SKU, so no product can be made for it"))
    else:
        found = catalogs.match_sku(sku)
        if found is None:
            problems.append(
                Problem(f"{path}.sku", f"unknown SKU '{sku}': no catalog product's SKU pattern matches")
            )
        else:
            _catalog, matched, options = found
            product = matched.sku
            if matched.stocked:
                kind = LineKind.FULFILMENT_ONLY
            else:
                options = {**options, **_personalisation(matched, properties)}
    return NewOrderLine(
        qty=qty,
        product=product,
        options=options,
        sku=sku or None,
        external_id=_text(item.get("id"), 120) or None,
        title=_text(item.get("name") or item.get("title"), MAX_TEXT) or None,
        properties=properties,
        unit_price=unit_price,
        kind=kind,
        problems=tuple(problems),
    )


def _personalisation(product: Product, properties: Mapping[str, Any]) -> dict[str, Any]:
    """Option values from line item properties, by the product's `shopify.properties` mapping."""
    return product.shopify.options_from(properties) if product.shopify is not None else {}


def map_address(raw: object) -> Address:
    """Shopify's shipping address as an `Address`; unreadable fields are left empty, never guessed."""
    if not isinstance(raw, Mapping):
        return Address()
    name = _text(raw.get("name"), 200) or " ".join(
        part for part in (_text(raw.get("first_name")), _text(raw.get("last_name"))) if part
    )
    return Address(
        name=name[:200],
        line1=_text(raw.get("address1")),
        line2=_text(raw.get("address2")),
        city=_text(raw.get("city"), 120),
        postcode=_text(raw.get("zip"), 20),
        region=_text(raw.get("province_code") or raw.get("province"), 120),
        country=_text(raw.get("country_code"), 2).upper(),
        phone=_text(raw.get("phone"), 40),
        company=_text(raw.get("company"), 200),
        latitude=_coordinate(raw.get("latitude"), 90),
        longitude=_coordinate(raw.get("longitude"), 180),
    )


def _quantity(item: Mapping[str, Any], path: str, problems: list[Problem]) -> int:
    """`current_quantity` (after order edits) when Shopify sends it, else `quantity`."""
    key = "current_quantity" if "current_quantity" in item else "quantity"
    raw = item.get(key)
    if isinstance(raw, bool) or raw is None:
        problems.append(Problem(f"{path}.{key}", f"quantity {_shown(raw)} is not a whole number"))
        return 0
    if isinstance(raw, int):
        number = raw
    elif isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit() and len(raw.strip()) <= 6:
        number = int(raw.strip())
    elif isinstance(raw, float) and raw.is_integer():
        number = int(raw)
    else:
        problems.append(Problem(f"{path}.{key}", f"quantity {_shown(raw)} is not a whole number"))
        return 0
    if number < 0 or number > 100_000:
        problems.append(Problem(f"{path}.{key}", f"quantity {number} is out of range"))
        return 0
    return number


def _properties(raw: object, path: str, problems: list[Problem]) -> dict[str, Any]:
    """Line item properties by name, private `_` ones included (kept, never shown to customers)."""
    if raw is None:
        return {}
    result: dict[str, Any] = {}
    entries: Sequence[Any]
    if isinstance(raw, Mapping):  # some apps send {name: value}
        entries = [{"name": k, "value": v} for k, v in raw.items()]
    elif isinstance(raw, list):
        entries = raw
    else:
        problems.append(Problem(f"{path}.properties", "properties is not a list"))
        return {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            problems.append(Problem(f"{path}.properties[{index}]", "a property needs a name"))
            continue
        value = entry.get("value")
        if value is not None and not isinstance(value, str | int | float | bool):
            problems.append(Problem(f"{path}.properties.{entry['name']}", "the value is not text"))
            continue
        result[entry["name"][:MAX_TEXT]] = value[:2000] if isinstance(value, str) else value
    return result


def _attributes(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Store facts worth keeping on the order (all JSON-safe text, numbers or lists of them)."""
    shipping = payload.get("shipping_lines")
    discounts = payload.get("discount_codes")
    return {
        "shopify_order_id": _text(payload.get("id"), 40),
        "admin_graphql_api_id": _text(payload.get("admin_graphql_api_id"), 120) or None,
        "order_number": payload.get("order_number") if isinstance(payload.get("order_number"), int) else None,
        "financial_status": _text(payload.get("financial_status"), 40) or None,
        "fulfillment_status": _text(payload.get("fulfillment_status"), 40) or None,
        "cancelled_at": _text(payload.get("cancelled_at"), 40) or None,
        "note": _text(payload.get("note"), 2000) or None,
        "tags": _text(payload.get("tags"), 500) or None,
        "test": payload.get("test") is True,
        "total_discounts": _money_text(payload.get("total_discounts")),
        "discount_codes": [_text(code.get("code"), 100) for code in discounts if isinstance(code, Mapping)]
        if isinstance(discounts, list)
        else [],
        "shipping_lines": [
            _text(line.get("title") or line.get("code"), 200)
            for line in shipping
            if isinstance(line, Mapping)
        ]
        if isinstance(shipping, list)
        else [],
    }


def _text(value: object, limit: int = MAX_TEXT) -> str:
    if value is None or isinstance(value, bool) or not isinstance(value, str | int | float):
        return ""
    return str(value).strip()[:limit]


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _money(value: object) -> Decimal | None:
    """Shopify sends money as strings ("109.00"); read as Decimal, never as float."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and abs(amount) < Decimal(10) ** 10 else None


def _money_text(value: object) -> str | None:
    amount = _money(value)
    return None if amount is None else str(amount)


def _currency(value: object) -> str | None:
    text = _text(value, 10).upper()
    return text if len(text) == 3 and text.isalpha() else None


def _coordinate(value: object, bound: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if -bound <= number <= bound else None
