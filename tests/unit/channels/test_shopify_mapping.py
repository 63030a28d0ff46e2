"""Mapping Shopify order JSON to NewOrder, without a database."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microfactory.catalog.model import Catalog
from microfactory.catalog.service import CatalogSet
from microfactory.channels.shopify.inbox import read_payload
from microfactory.channels.shopify.mapping import PayloadError, map_order, parse_time
from microfactory.orders.model import LineKind


@pytest.fixture
def payload(examples: Path) -> dict[str, Any]:
    return dict(json.loads((examples / "shopify" / "orders-create.json").read_text(encoding="utf-8")))


def test_maps_the_example_webhook(payload: dict[str, Any], keypad: Catalog) -> None:
    mapped = map_order(payload, CatalogSet((keypad,)))
    new = mapped.new
    assert (new.channel, new.external_id, new.name, new.currency) == (
        "shopify",
        "5678901234567",
        "#1042",
        "EUR",
    )
    assert new.total_price == Decimal("134.90")
    assert (
        new.source_updated_at is not None and new.source_updated_at.isoformat() == "2026-11-20T09:15:43+00:00"
    )
    first, second = new.lines
    assert first.product == "KP" and first.options == {
        "keys": "8", "color": "TEAL", "engraving": "Mira's Deck", "firmware": "studio",
    }  # fmt: skip
    assert first.properties["_preview_image"].endswith("abc123.png")
    assert first.unit_price == Decimal("109.00") and not first.problems
    assert (second.product, second.qty, second.options) == ("KEY-MODULE-R", 2, {"color": "RED"})
    assert new.ship_to.country == "DE" and new.ship_to.latitude == 52.5003


def test_unknown_sku_and_gift_cards(payload: dict[str, Any], keypad: Catalog) -> None:
    payload["line_items"][0]["sku"] = "NOPE-1"
    payload["line_items"][1].update(gift_card=True, sku=None)
    first, second = map_order(payload, CatalogSet((keypad,))).new.lines
    assert first.problems[0].path == "line_items[0].sku" and "NOPE-1" in first.problems[0].message
    assert second.kind == LineKind.FULFILMENT_ONLY and not second.problems


def test_edited_to_zero_lines_are_not_ordered(payload: dict[str, Any], keypad: Catalog) -> None:
    payload["line_items"][1]["current_quantity"] = 0
    mapped = map_order(payload, CatalogSet((keypad,)))
    assert len(mapped.new.lines) == 1 and mapped.removed_line_ids == ("13579246801358",)


@pytest.mark.parametrize(
    "body",
    [[], {"line_items": []}, {"id": None, "line_items": []}, {"id": 5, "line_items": "x"}, {"id": True}],
)
def test_what_is_not_an_order_is_refused(body: Any, keypad: Catalog) -> None:
    with pytest.raises(PayloadError):
        map_order(body, CatalogSet((keypad,)))


def test_parse_time() -> None:
    assert parse_time("2026-11-20T10:15:43+01:00") is not None
    assert parse_time("2026-11-20T09:15:43Z") == parse_time("2026-11-20T10:15:43+01:00")
    assert parse_time("yesterday") is None and parse_time(5) is None


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(
    items=st.lists(
        st.dictionaries(
            st.sampled_from(
                ["sku", "quantity", "price", "properties", "gift_card", "id", "requires_shipping"]
            ),
            JSONISH,
        ),
        max_size=5,
    ),
    address=JSONISH,
)
def test_hostile_line_items_never_crash(items: list[dict[str, Any]], address: Any, keypad: Catalog) -> None:
    mapped = map_order({"id": 1, "line_items": items, "shipping_address": address}, CatalogSet((keypad,)))
    for line in mapped.new.lines:
        assert isinstance(line.qty, int)


def test_an_id_too_large_for_64_bits_is_named_not_called_missing(keypad: Catalog) -> None:
    payload = read_payload(b'{"id": 1000000000000000000000000000000, "line_items": []}')
    with pytest.raises(PayloadError) as refused:
        map_order(payload, CatalogSet((keypad,)))
    [problem] = refused.value.problems
    assert problem.path == "id"
    assert "no id" not in problem.message and "whole number" in problem.message


def test_a_superscript_digit_is_not_a_quantity(payload: dict[str, Any], keypad: Catalog) -> None:
    payload["line_items"][0]["quantity"] = "²"  # str.isdigit() says yes; int() says no
    payload["line_items"][0].pop("current_quantity", None)
    mapped = map_order(payload, CatalogSet((keypad,)))
    assert any("not a whole number" in p.message for p in mapped.new.lines[0].problems)
