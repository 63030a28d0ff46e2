"""Domain events raised by order use cases, and the in-process handlers other capabilities register.

Handlers run inside the same unit of work, before it commits, so a reservation released on
cancellation and the cancellation itself land together or not at all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from microfactory.db.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class WorkOrderReleased:
    work_order_id: str
    order_id: str


@dataclass(frozen=True)
class WorkOrderCancelled:
    work_order_id: str
    order_id: str
    reason: str


@dataclass(frozen=True)
class DecisionNeeded:
    """Work had started on a line that the store cancelled or changed: a person must decide."""

    work_order_id: str
    order_id: str
    reason: str


Handler = Callable[[UnitOfWork, Any], None]
_handlers: dict[type, list[Handler]] = defaultdict(list)


def subscribe(event_type: type, handler: Handler) -> None:
    """Register `handler` for events of `event_type` (idempotent)."""
    if handler not in _handlers[event_type]:
        _handlers[event_type].append(handler)


def unsubscribe(event_type: type, handler: Handler) -> None:
    """Stop calling `handler` for `event_type` (a no-op if it was not subscribed)."""
    if handler in _handlers[event_type]:
        _handlers[event_type].remove(handler)


def publish(uow: UnitOfWork, event: object) -> None:
    for handler in list(_handlers[type(event)]):
        handler(uow, event)
