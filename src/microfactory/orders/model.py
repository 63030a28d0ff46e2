"""Channel-neutral orders, as plain data (their states and rules: `orders.lifecycle`).

A store or an ERP hands over a `NewOrder`; intake turns each line into a work order or keeps it in
*needs attention* with its problems. Nothing accepted is dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from microfactory.orders.lifecycle import (
    LINE_DONE,
    OPEN_LINE,
    STARTED_LINE,
    STARTED_WORK,
    LineStatus,
    OrderStatus,
    WorkOrderStatus,
    derive_order_status,
)
from microfactory.problems import Problem

# The states and their rules live in `orders.lifecycle`; they are named here too for older imports.
__all__ = [
    "LINE_DONE",
    "OPEN_LINE",
    "STARTED_LINE",
    "STARTED_WORK",
    "Address",
    "LineKind",
    "LineStatus",
    "NewOrder",
    "NewOrderLine",
    "OrderStatus",
    "WorkOrderStatus",
    "derive_order_status",
]


class LineKind(StrEnum):
    MANUFACTURE = "manufacture"
    FULFILMENT_ONLY = "fulfilment_only"


@dataclass(frozen=True, slots=True)
class Address:
    """Where the goods go; coordinates when the store knows them (Shopify usually does)."""

    name: str = ""
    line1: str = ""
    line2: str = ""
    city: str = ""
    postcode: str = ""
    region: str = ""
    country: str = ""  # ISO 3166-1 alpha-2
    phone: str = ""
    company: str = ""
    latitude: float | None = None
    longitude: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Address:
        return cls(**{name: data[name] for name in cls.__slots__ if data.get(name) is not None})


@dataclass(frozen=True, slots=True)
class NewOrderLine:
    """One line as the channel understood it; `problems` are those the channel already found."""

    qty: int
    product: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    sku: str | None = None
    external_id: str | None = None
    title: str | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)
    unit_price: Decimal | None = None
    kind: LineKind = LineKind.MANUFACTURE
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True, slots=True)
class NewOrder:
    channel: str
    external_id: str
    lines: tuple[NewOrderLine, ...]
    ship_to: Address = Address()
    name: str | None = None
    email: str | None = None
    currency: str | None = None
    total_price: Decimal | None = None
    allow_split: bool = False
    source_updated_at: datetime | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
