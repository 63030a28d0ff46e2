"""What a work order asks of a site, and how much each part of the score counts.

Plain data shared by routing, the service that feeds it from storage, and the benchmark.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
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
    # minutes of the operations that use a material, by (capability, material): that work waits
    # for the machines loaded with the material, not for every machine of the capability
    material_minutes: Mapping[tuple[str, str], float] = field(default_factory=dict)

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
            material_minutes=minutes_by_material(
                (op.capability, op.material, op.minutes) for op in translation.operations
            ),
        )


def minutes_by_material(
    operations: Iterable[tuple[str, str | None, float]],
) -> dict[tuple[str, str], float]:
    """Minutes by (capability, material) of (capability, material, minutes) operations that have one."""
    totals: dict[tuple[str, str], float] = {}
    for capability, material, minutes in operations:
        if material is not None:
            key = (capability, material)
            totals[key] = totals.get(key, 0.0) + minutes
    return totals


def merge(demands: Iterable[Demand]) -> Demand:
    """The demands of an order that must stay together, as one."""
    items = list(demands)
    minutes: dict[str, float] = {}
    material_minutes: dict[tuple[str, str], float] = {}
    parts: dict[str, Decimal] = {}
    for demand in items:
        for capability, value in demand.minutes.items():
            minutes[capability] = minutes.get(capability, 0.0) + value
        for part, qty in demand.parts.items():
            parts[part] = parts.get(part, Decimal(0)) + qty
        for key, value in demand.material_minutes.items():
            material_minutes[key] = material_minutes.get(key, 0.0) + value
    return Demand(
        work_order_ids=tuple(wid for demand in items for wid in demand.work_order_ids),
        minutes=minutes,
        materials=frozenset().union(*(demand.materials for demand in items)),
        parts=parts,
        units=sum(demand.units for demand in items),
        destination=items[0].destination if items else None,
        parts_cost=sum((demand.parts_cost for demand in items), Decimal(0)),
        critical_minutes=max((demand.critical_minutes for demand in items), default=0.0),
        material_minutes=material_minutes,
    )
