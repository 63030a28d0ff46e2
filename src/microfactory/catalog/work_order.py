"""What translation yields for one order line: a BOM variant and a DAG of operations.

Plain data, shared by routing (capabilities, materials, bought parts), scheduling (operations and
their order) and storage (`as_dict`, the JSON of `translate --json`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from microfactory.catalog.model import OptionValue, PartKind


@dataclass(frozen=True, slots=True)
class BomVariantLine:
    """One part of the variant with its total quantity for the order line and the rules behind it."""

    part: str
    qty: Decimal
    kind: PartKind
    level: int  # 1 for lines of the product's own BOM, 2 for their children, ...
    rules: tuple[str, ...]  # catalog places that put the part here, e.g. "products.KP.bom[3]"
    material: str | None = None
    unit_cost: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Operation:
    """A step of the work order: what capability, how many units, how long, after what."""

    id: str
    op: str
    capability: str
    qty: Decimal
    minutes: float  # for all `qty` units together, setups aside
    params: Mapping[str, Any]
    after: tuple[str, ...]
    item: str  # the part or product whose make step or routing this is
    rule: str  # catalog place of the rule that made the operation
    material: str | None = None


@dataclass(frozen=True, slots=True)
class Translation:
    """A configured order line, ready to become a work order."""

    catalog: str
    catalog_version: int
    product: str
    options: Mapping[str, OptionValue]
    qty: int
    configuration_key: str
    bom: tuple[BomVariantLine, ...]
    operations: tuple[Operation, ...]

    @property
    def capabilities(self) -> frozenset[str]:
        return frozenset(operation.capability for operation in self.operations)

    @property
    def materials(self) -> frozenset[str]:
        return frozenset(op.material for op in self.operations if op.material is not None)

    @property
    def bought_parts(self) -> dict[str, Decimal]:
        """Bought-in parts and their quantities: what a site must hold in stock."""
        return {line.part: line.qty for line in self.bom if line.kind == "buy"}

    @property
    def total_minutes(self) -> float:
        return sum(operation.minutes for operation in self.operations)

    @property
    def critical_path_minutes(self) -> float:
        """The longest chain of operations: no site finishes the line sooner, however many machines."""
        finish: dict[str, float] = {}
        for operation in self.operations:  # predecessors come first: the bridge lists them so
            start = max((finish.get(before, 0.0) for before in operation.after), default=0.0)
            finish[operation.id] = start + operation.minutes
        return max(finish.values(), default=0.0)

    def minutes_by_capability(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for operation in self.operations:
            totals[operation.capability] = totals.get(operation.capability, 0.0) + operation.minutes
        return totals

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of `translate --json` (spec/interfaces.md), with a few extra keys."""
        return {
            "configuration_key": self.configuration_key,
            "catalog": self.catalog,
            "catalog_version": self.catalog_version,
            "product": self.product,
            "options": dict(self.options),
            "qty": self.qty,
            "bom": [
                {
                    "part": line.part,
                    "qty": _number(line.qty),
                    "kind": line.kind,
                    "level": line.level,
                    "material": line.material,
                    "unit_cost": None if line.unit_cost is None else str(line.unit_cost),
                    "rules": list(line.rules),
                }
                for line in self.bom
            ],
            "operations": [
                {
                    "id": op.id,
                    "op": op.op,
                    "capability": op.capability,
                    "qty": _number(op.qty),
                    "minutes": round(op.minutes, 4),
                    "params": dict(op.params),
                    "after": list(op.after),
                    "item": op.item,
                    "material": op.material,
                    "rule": op.rule,
                }
                for op in self.operations
            ],
        }


def _number(value: Decimal) -> int | float:
    """Decimal quantities as JSON numbers: whole numbers stay integers."""
    return int(value) if value == value.to_integral_value() else float(value)


def translation_from_dict(data: Mapping[str, Any]) -> Translation:
    """Rebuild a stored translation (the inverse of `Translation.as_dict`)."""
    return Translation(
        catalog=data["catalog"],
        catalog_version=int(data["catalog_version"]),
        product=data["product"],
        options=dict(data["options"]),
        qty=int(data["qty"]),
        configuration_key=data["configuration_key"],
        bom=tuple(
            BomVariantLine(
                part=line["part"],
                qty=Decimal(str(line["qty"])),
                kind=line["kind"],
                level=int(line["level"]),
                rules=tuple(line["rules"]),
                material=line.get("material"),
                unit_cost=None if line.get("unit_cost") is None else Decimal(str(line["unit_cost"])),
            )
            for line in data["bom"]
        ),
        operations=tuple(
            Operation(
                id=op["id"],
                op=op["op"],
                capability=op["capability"],
                qty=Decimal(str(op["qty"])),
                minutes=float(op["minutes"]),
                params=dict(op["params"]),
                after=tuple(op["after"]),
                item=op["item"],
                rule=op["rule"],
                material=op.get("material"),
            )
            for op in data["operations"]
        ),
    )
