"""What a work order asks of a site, and how much each part of the score counts.

Plain data shared by routing, the service that feeds it from storage, and the benchmark.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from microfactory.catalog.work_order import Translation
from microfactory.network.geo import GeoPoint

COMPONENTS = ("distance", "load", "cost", "promise")


@dataclass(frozen=True, slots=True)
class RoutingWeights:
    """How much each component counts; the operator sets them (API, CLI). All must be >= 0."""

    distance: float = 1.0
    load: float = 1.0
    cost: float = 1.0
    promise: float = 1.0

    def __post_init__(self) -> None:
        for name in COMPONENTS:
            value = getattr(self, name)
            if not isinstance(value, int | float) or value < 0 or math.isnan(value):
                raise ValueError(f"weight {name} must be a number of at least 0, not {value!r}")

    def as_dict(self) -> dict[str, float]:
        return {name: float(getattr(self, name)) for name in COMPONENTS}


@dataclass(frozen=True, slots=True)
class Demand:
    """What a work order (or an order kept together) asks of a site."""

    work_order_ids: tuple[str, ...]
    minutes: Mapping[str, float]  # by capability; every capability needed is a key
    materials: frozenset[tuple[str, str]]  # (capability, material)
    parts: Mapping[str, Decimal]  # bought-in parts to take from stock
    units: int
    destination: GeoPoint | None = None
    parts_cost: Decimal = Decimal(0)
    critical_minutes: float = 0.0  # the longest chain of its operations, however many machines

    @property
    def capabilities(self) -> frozenset[str]:
        return frozenset(self.minutes)

    @classmethod
    def from_translation(
        cls, translation: Translation, work_order_id: str, destination: GeoPoint | None
    ) -> Demand:
        cost = sum(
            (line.unit_cost * line.qty for line in translation.bom if line.unit_cost is not None),
            Decimal(0),
        )
        return cls(
            work_order_ids=(work_order_id,),
            minutes=translation.minutes_by_capability(),
            materials=frozenset(
                (op.capability, op.material) for op in translation.operations if op.material is not None
            ),
            parts=translation.bought_parts,
            units=translation.qty,
            destination=destination,
            parts_cost=cost,
            critical_minutes=translation.critical_path_minutes,
        )


def merge(demands: Iterable[Demand]) -> Demand:
    """The demands of an order that must stay together, as one."""
    items = list(demands)
    minutes: dict[str, float] = {}
    parts: dict[str, Decimal] = {}
    for demand in items:
        for capability, value in demand.minutes.items():
            minutes[capability] = minutes.get(capability, 0.0) + value
        for part, qty in demand.parts.items():
            parts[part] = parts.get(part, Decimal(0)) + qty
    return Demand(
        work_order_ids=tuple(wid for demand in items for wid in demand.work_order_ids),
        minutes=minutes,
        materials=frozenset().union(*(demand.materials for demand in items)),
        parts=parts,
        units=sum(demand.units for demand in items),
        destination=items[0].destination if items else None,
        parts_cost=sum((demand.parts_cost for demand in items), Decimal(0)),
        critical_minutes=max((demand.critical_minutes for demand in items), default=0.0),
    )
