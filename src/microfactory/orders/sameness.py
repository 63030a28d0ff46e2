"""Is a repeated order the same order? Pure: the content a client sent, and what differs.

An order id (channel, external id) works like an idempotency key: sending the same content again
answers the first record, sending other content under the same id is a conflict that names what
differs. Intake keeps the content as it was sent (`content_of`) on the order, because corrections
and translation (option defaults) change the stored lines later while the request stays the same.
Only the store channels' own updates (Shopify's `updated_at`) change an order's content.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from microfactory.orders.model import NewOrder, NewOrderLine

CONTENT_KEY = "received_content"  # where intake keeps it in the order's attributes
_HEADER = ("name", "email", "currency", "total_price", "allow_split")
_LINE = ("external_id", "product", "sku", "qty", "options", "properties", "unit_price", "kind")
MAX_NAMED = 6  # a message names this many differences, then counts the rest


def content_of(new: NewOrder) -> dict[str, Any]:
    """What the client sent, as plain JSON (money as text, keys sorted): equal content, equal dicts."""
    content = {
        **{name: getattr(new, name) for name in _HEADER},
        "ship_to": new.ship_to.as_dict(),
        "lines": [_line(line) for line in new.lines],
    }
    normalised: dict[str, Any] = json.loads(json.dumps(content, sort_keys=True, default=str))
    return normalised


def _line(line: NewOrderLine) -> dict[str, Any]:
    return {name: getattr(line, name) for name in _LINE}


def differences(before: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """Each field that differs, by place: `lines[0].qty: 1 before, 3 now`."""
    found: list[str] = []
    for name in _HEADER:
        _compare(found, name, before.get(name), now.get(name))
    old_ship, new_ship = before.get("ship_to") or {}, now.get("ship_to") or {}
    for name in sorted(set(old_ship) | set(new_ship)):
        _compare(found, f"ship_to.{name}", old_ship.get(name), new_ship.get(name))
    old_lines, new_lines = list(before.get("lines") or []), list(now.get("lines") or [])
    if len(old_lines) != len(new_lines):
        found.append(f"lines: {len(old_lines)} before, {len(new_lines)} now")
    for index, (old, new) in enumerate(zip(old_lines, new_lines, strict=False)):
        for name in _LINE:
            _compare(found, f"lines[{index}].{name}", old.get(name), new.get(name))
    return found


def _compare(found: list[str], place: str, before: Any, now: Any) -> None:
    if before != now:
        found.append(f"{place}: {_shown(before)} before, {_shown(now)} now")


def _shown(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def summary(found: list[str]) -> str:
    """The differences for a message, the first few named and the rest counted."""
    named = "; ".join(found[:MAX_NAMED])
    rest = len(found) - MAX_NAMED
    return named + (f"; and {rest} more" if rest > 0 else "")
