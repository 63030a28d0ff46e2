"""The order-to-manufacturing bridge: an order line becomes a BOM variant and a work order.

Pure: it reads a `Catalog` and returns a `Translation`, or the problems that keep the line in
*needs attention*. Operation ids are `make:PART` for a made part and `ITEM:op` for a routing step.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from microfactory.catalog.model import (
    PLACEHOLDER,
    BomLine,
    Catalog,
    OptionValue,
    Part,
    Product,
    RoutingOp,
    fill,
)
from microfactory.catalog.options import resolve_options
from microfactory.catalog.structure import Shape, shape_of
from microfactory.catalog.work_order import BomVariantLine, Operation, Translation
from microfactory.errors import Invalid
from microfactory.problems import Problem

MEMO_SIZE = 20_000


class TranslationError(Invalid):
    """The order line cannot become a work order; the problems say why."""


def configuration_key(catalog: str, product: str, options: Mapping[str, OptionValue]) -> str:
    """A stable key per (product, option values): identical configurations batch together."""
    canonical = json.dumps([catalog.casefold(), product, sorted(options.items())], ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]
    return f"{product}-{digest}"


MAX_LINE_QTY = 10_000
"""The most units one order line may ask for: translate, the API and ERP import all refuse more."""


def translate(catalog: Catalog, product_id: str, options: Mapping[str, object], qty: int = 1) -> Translation:
    """Translate one order line; raises `TranslationError` with every problem when it cannot."""
    product = catalog.products.get(product_id)
    if product is None:
        raise TranslationError(
            f"unknown product '{product_id}'",
            [Problem("product", f"unknown product '{product_id}' in catalog {catalog.name}")],
        )
    resolved, problems = resolve_options(product, options)
    if isinstance(qty, bool) or not isinstance(qty, int) or not 1 <= qty <= MAX_LINE_QTY:
        problems.append(
            Problem("qty", f"quantity must be a whole number between 1 and {MAX_LINE_QTY}, not {qty!r}")
        )
    if problems:
        raise TranslationError(f"invalid options for {product.sku}", problems)
    return translate_resolved(catalog, product, resolved, qty)


def translate_resolved(
    catalog: Catalog, product: Product, options: Mapping[str, OptionValue], qty: int
) -> Translation:
    """Translate with options already checked by `resolve_options`.

    Identical lines are memoised; a line that differs from a known one only in parameter-only
    options (an engraved text) reuses that structure and refills its parameters.
    """
    key = (product.sku, tuple(options.items()), qty)
    known = catalog.memo.get(key)
    if isinstance(known, Translation):
        return known
    shape = catalog.memo.get(("shape", product.sku))
    if not isinstance(shape, Shape):
        shape = catalog.memo[("shape", product.sku)] = shape_of(catalog, product)
    structure_key = ("structure", product.sku, shape.signature(options), qty)
    structure = catalog.memo.get(structure_key)
    if isinstance(structure, Translation):
        result = _refill(catalog, product, structure, options)
    else:
        result = _translate(catalog, product, options, qty)
        catalog.memo[structure_key] = result
    if len(catalog.memo) >= MEMO_SIZE:
        catalog.memo.clear()
    catalog.memo[key] = result
    return result


def _refill(
    catalog: Catalog, product: Product, structure: Translation, options: Mapping[str, OptionValue]
) -> Translation:
    """The same structure for other parameter-only option values: only templated params change."""
    operations = []
    for operation in structure.operations:
        source = _routing_op(catalog, product, operation)
        if source is not None and source.templated:
            operations.append(replace(operation, params=fill_params(source.params, options)))
        else:
            operations.append(operation)
    return replace(
        structure,
        options=dict(options),
        configuration_key=configuration_key(catalog.name, product.sku, options),
        operations=tuple(operations),
    )


def _routing_op(catalog: Catalog, product: Product, operation: Operation) -> RoutingOp | None:
    if operation.op == "make" and operation.id.startswith("make:"):
        return None
    routing = product.routing if operation.item == product.sku else catalog.parts[operation.item].routing
    return next((op for op in routing if op.op == operation.op), None)


def _translate(
    catalog: Catalog, product: Product, options: Mapping[str, OptionValue], qty: int
) -> Translation:
    expansion = _Expansion(catalog, options)
    bom_work = expansion.expand(product.bom, Decimal(qty), level=1)
    expansion.routing(product.sku, product.routing, Decimal(qty), bom_work)
    if expansion.problems:
        raise TranslationError(f"cannot translate {product.sku}", expansion.problems)
    return Translation(
        catalog=catalog.name,
        catalog_version=catalog.version,
        product=product.sku,
        options=dict(options),
        qty=qty,
        configuration_key=configuration_key(catalog.name, product.sku, options),
        bom=expansion.bom_lines(),
        operations=expansion.operations(),
    )


@dataclass(slots=True)
class _BomEntry:
    part: Part
    qty: Decimal
    level: int
    rules: list[str]


@dataclass(slots=True)
class _Expansion:
    """The walk through one variant's BOM tree, accumulating parts and operations."""

    catalog: Catalog
    options: Mapping[str, OptionValue]
    entries: dict[str, _BomEntry] = field(default_factory=dict)
    make_order: list[str] = field(default_factory=list)
    assembly_qty: dict[str, Decimal] = field(default_factory=dict)
    assembly_inputs: dict[str, list[str]] = field(default_factory=dict)
    assembly_order: list[str] = field(default_factory=list)
    routing_ops: list[Operation] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    materials: dict[str, str | None] = field(default_factory=dict)

    def expand(self, lines: tuple[BomLine, ...], multiplier: Decimal, level: int) -> list[str]:
        """Add the lines that apply; return the operation ids that produce them (the BOM's work)."""
        work: list[str] = []
        for line in lines:
            if not line.when.holds(self.options):
                continue
            qty = line.qty.value(self.options) * multiplier
            if qty <= 0:  # an int option of 0 (no shelves, no keys) orders none of the part
                continue
            part = self.catalog.parts[line.part]
            entry = self.entries.get(part.id)
            if entry is None:
                self.entries[part.id] = _BomEntry(part, qty, level, [line.rule])
                if part.make is not None:
                    self.make_order.append(part.id)
            else:
                entry.qty += qty
                entry.level = min(entry.level, level)
                if line.rule not in entry.rules:
                    entry.rules.append(line.rule)
            if part.make is not None:
                _add_once(work, f"make:{part.id}")
            elif part.buy is None:
                for op_id in self._expand_assembly(part, qty, level):
                    _add_once(work, op_id)
        return work

    def _expand_assembly(self, part: Part, qty: Decimal, level: int) -> list[str]:
        inputs = self.expand(part.bom, qty, level + 1)
        first = part.id not in self.assembly_qty
        self.assembly_qty[part.id] = self.assembly_qty.get(part.id, Decimal(0)) + qty
        known = self.assembly_inputs.setdefault(part.id, [])
        for op_id in inputs:
            _add_once(known, op_id)
        if first:
            self.assembly_order.append(part.id)
        applicable = [op for op in part.routing if op.when.holds(self.options)]
        if not applicable:
            return inputs
        return _sinks(part.id, applicable)

    def routing(self, item: str, ops: tuple[RoutingOp, ...], qty: Decimal, bom_work: list[str]) -> None:
        """Add an item's routing for `qty` units, after its BOM's work where the catalog says so."""
        applicable = [op for op in ops if op.when.holds(self.options)]
        ids = {op.op: f"{item}:{op.op}" for op in applicable}
        earlier: list[str] = []
        for op in applicable:
            if op.after is None:
                after = [*earlier, *bom_work]
            else:
                after = [ids[name] for name in op.after if name in ids]
            self.routing_ops.append(self._operation(item, op, qty, tuple(after)))
            earlier.append(ids[op.op])

    def _operation(self, item: str, op: RoutingOp, qty: Decimal, after: tuple[str, ...]) -> Operation:
        return Operation(
            id=f"{item}:{op.op}",
            op=op.op,
            capability=op.capability,
            qty=qty,
            minutes=op.minutes.per_unit(self.options) * float(qty),
            params=fill_params(op.params, self.options) if op.templated else op.params,
            after=after,
            item=item,
            rule=op.rule,
        )

    def material_of(self, part: Part) -> str | None:
        if part.id not in self.materials:
            self.materials[part.id] = self._material(part)
        return self.materials[part.id]

    def _material(self, part: Part) -> str | None:
        if part.make is None or part.make.material is None:
            return None
        name = fill(part.make.material, self.options)
        canonical = self.catalog.materials.canonical(name)
        if canonical is None:
            self.problems.append(
                Problem(f"parts.{part.id}.make.material", f"unknown material '{name}' for this configuration")
            )
            return name
        return canonical

    def bom_lines(self) -> tuple[BomVariantLine, ...]:
        lines = []
        for entry in self.entries.values():
            part = entry.part
            lines.append(
                BomVariantLine(
                    part=part.id,
                    qty=entry.qty,
                    kind=part.kind,
                    level=entry.level,
                    rules=tuple(entry.rules),
                    material=self.material_of(part),
                    unit_cost=part.buy.unit_cost if part.buy is not None else None,
                )
            )
        return tuple(lines)

    def operations(self) -> tuple[Operation, ...]:
        made: list[Operation] = []
        for part_id in self.make_order:
            entry = self.entries[part_id]
            make = entry.part.make
            assert make is not None
            material = self.material_of(entry.part)
            made.append(
                Operation(
                    id=f"make:{part_id}",
                    op="make",
                    capability=make.capability,
                    qty=entry.qty,
                    minutes=make.minutes * float(entry.qty),
                    params={"part": part_id, "material": material},
                    after=(),
                    item=part_id,
                    rule=f"parts.{part_id}.make",
                    material=material,
                )
            )
        product_ops = self.routing_ops
        self.routing_ops = []
        for part_id in self.assembly_order:
            part = self.entries[part_id].part
            self.routing(part_id, part.routing, self.assembly_qty[part_id], self.assembly_inputs[part_id])
        return (*made, *self.routing_ops, *product_ops)


def _add_once(items: list[str], item: str) -> None:
    if item not in items:
        items.append(item)


def _sinks(item: str, ops: list[RoutingOp]) -> list[str]:
    """The operations of a routing that nothing else in it waits for: when the item is done."""
    names = [op.op for op in ops]
    waited_for: set[str] = set()
    for index, op in enumerate(ops):
        waited_for.update(names[:index] if op.after is None else op.after)
    return [f"{item}:{name}" for name in names if name not in waited_for]


def fill_params(params: Mapping[str, object], options: Mapping[str, OptionValue]) -> dict[str, Any]:
    """Fill `{option}` placeholders in params, keeping an option's type where a value is one placeholder."""
    return {key: _fill_value(value, options) for key, value in params.items()}


def _fill_value(value: object, options: Mapping[str, OptionValue]) -> Any:
    if isinstance(value, str):
        whole = PLACEHOLDER.fullmatch(value)
        if whole is not None and whole.group(1) in options:
            return options[whole.group(1)]
        return fill(value, options)
    if isinstance(value, list | tuple):
        return [_fill_value(item, options) for item in value]
    if isinstance(value, Mapping):
        return {key: _fill_value(item, options) for key, item in value.items()}
    return value
