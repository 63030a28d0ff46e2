"""Channel-neutral orders and their states, as plain data.

A store or an ERP hands over a `NewOrder`; intake turns each line into a work order or keeps it in
*needs attention* with its problems. Nothing accepted is dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from microfactory.problems import Problem


class OrderStatus(StrEnum):
    ACCEPTED = "accepted"  # every line has a work order or needs no manufacturing
    NEEDS_ATTENTION = "needs_attention"  # at least one line waits for a correction
    IN_PRODUCTION = "in_production"
    FULFILLED = "fulfilled"
    DECISION_NEEDED = "decision_needed"  # cancelled in the store while work had started
    CANCELLED = "cancelled"


class LineStatus(StrEnum):
    NEEDS_ATTENTION = "needs_attention"
    RELEASED = "released"  # a work order exists, waiting for a site
    ROUTED = "routed"
    SCHEDULED = "scheduled"
    IN_PRODUCTION = "in_production"
    COMPLETED = "completed"
    SHIPPED = "shipped"
    FULFILMENT_ONLY = "fulfilment_only"  # not manufactured: gift cards, stocked goods
    DECISION_NEEDED = "decision_needed"
    CANCELLED = "cancelled"


class WorkOrderStatus(StrEnum):
    RELEASED = "released"
    ASSIGNED = "assigned"
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


STARTED_WORK = frozenset({WorkOrderStatus.IN_PROGRESS, WorkOrderStatus.COMPLETED})
STARTED_LINE = frozenset({LineStatus.IN_PRODUCTION, LineStatus.COMPLETED, LineStatus.SHIPPED})
OPEN_LINE = frozenset(
    {LineStatus.NEEDS_ATTENTION, LineStatus.RELEASED, LineStatus.ROUTED, LineStatus.SCHEDULED}
)
LINE_DONE = frozenset({LineStatus.SHIPPED, LineStatus.FULFILMENT_ONLY, LineStatus.CANCELLED})


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


def derive_order_status(lines: Iterable[LineStatus]) -> OrderStatus:
    """The order's status follows from its lines' statuses; it is never set independently."""
    statuses = list(lines)
    if statuses and all(status == LineStatus.CANCELLED for status in statuses):
        return OrderStatus.CANCELLED
    if LineStatus.DECISION_NEEDED in statuses:
        return OrderStatus.DECISION_NEEDED
    if LineStatus.NEEDS_ATTENTION in statuses:
        return OrderStatus.NEEDS_ATTENTION
    if statuses and all(status in LINE_DONE for status in statuses):
        return OrderStatus.FULFILLED
    if any(status in (LineStatus.IN_PRODUCTION, LineStatus.COMPLETED) for status in statuses):
        return OrderStatus.IN_PRODUCTION
    return OrderStatus.ACCEPTED
