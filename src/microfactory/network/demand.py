"""What a work order asks of a site, and how much each part of the score counts.

Plain data shared by routing, the service that feeds it from storage, and the benchmark.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from microfactory.catalog.work_order import Translation
from microfactory.errors import Invalid
from microfactory.network.geo import GeoPoint
from microfactory.problems import Problem

COMPONENTS = ("distance", "load", "cost", "promise")


@dataclass(frozen=True, slots=True)
class RoutingWeights:
    """How much each component counts; the operator sets them (API, CLI).

    Each must be a finite number of at least 0: an infinite weight makes every score infinite and
    every site tie, so it is refused with the weight's name wherever weights are set.
    """

    distance: float = 1.0
    load: float = 1.0
    cost: float = 1.0
    promise: float = 1.0

    def __post_init__(self) -> None:
        problems = [
            Problem(name, f"weight {name} must be a finite number of at least 0, not {value!r}")
            for name in COMPONENTS
            if not _is_weight(value := getattr(self, name))
        ]
        if problems:
            raise Invalid(problems[0].message if len(problems) == 1 else "invalid routing weights", problems)

    def as_dict(self) -> dict[str, float]:
        return {name: float(getattr(self, name)) for name in COMPONENTS}


def _is_weight(value: object) -> bool:
    return (
        isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value >= 0
    )


class Step(NamedTuple):
    """One operation of a work order as routing lays it on a site's machines.

    A named tuple, not a dataclass: a demand's steps are a cache key on every routing decision,
    and a tuple hashes in C.
    """

    capability: str
    material: str | None
    minutes: float
    after: tuple[int, ...]  # indices of the steps that must end first, all earlier in the demand


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
    # minutes of the operations that use a material, by (capability, material): that work runs on
    # the machines loaded with the material only (what `work` lays for a demand without steps)
    material_minutes: Mapping[tuple[str, str], float] = field(default_factory=dict)
    # its operations, predecessors first: laid on a site's machines they give its finish, the
    # longest chain of operations and the queue ahead included (site_queue.py)
    steps: tuple[Step, ...] = ()

    @property
    def capabilities(self) -> frozenset[str]:
        return frozenset(self.minutes)

    @property
    def work(self) -> tuple[Step, ...]:
        """The steps to lay on machines: the operations, or for a demand made by hand without them,
        one independent step per capability (and per material where its minutes say which)."""
        if self.steps:
            return self.steps
        found: list[Step] = []
        for capability, minutes in self.minutes.items():
            rest = minutes
            for (cap, material), part in self.material_minutes.items():
                if cap == capability:
                    found.append(Step(capability, material, part, ()))
                    rest -= part
            if rest > 0 or not any(step.capability == capability for step in found):
                found.append(Step(capability, None, max(0.0, rest), ()))
        return tuple(found)

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
            material_minutes=minutes_by_material(
                (op.capability, op.material, op.minutes) for op in translation.operations
            ),
            steps=steps_of(
                (op.id, op.capability, op.material, op.minutes, op.after) for op in translation.operations
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


def steps_of(operations: Iterable[tuple[str, str, str | None, float, Sequence[str]]]) -> tuple[Step, ...]:
    """Steps of (id, capability, material, minutes, ids after) operations listed predecessors first,
    as translation lists them."""
    position: dict[str, int] = {}
    steps: list[Step] = []
    for op_id, capability, material, minutes, after in operations:
        steps.append(
            Step(capability, material, float(minutes), tuple(position[a] for a in after if a in position))
        )
        position[op_id] = len(position)
    return tuple(steps)


def steps_from_stored(translation: Mapping[str, Any]) -> tuple[Step, ...]:
    """Steps straight from a work order's stored translation (JSON), without rebuilding it."""
    return steps_of(
        (op["id"], op["capability"], op.get("material"), float(op["minutes"]), op.get("after", ()))
        for op in translation.get("operations", ())
    )


def merge(demands: Iterable[Demand]) -> Demand:
    """The demands of an order that must stay together, as one."""
    items = list(demands)
    minutes: dict[str, float] = {}
    material_minutes: dict[tuple[str, str], float] = {}
    parts: dict[str, Decimal] = {}
    steps: list[Step] = []
    for demand in items:
        offset = len(steps)
        steps += (step._replace(after=tuple(offset + a for a in step.after)) for step in demand.work)
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
        material_minutes=material_minutes,
        steps=tuple(steps),
    )
