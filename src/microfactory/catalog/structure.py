"""Which option values shape a variant's structure, and which only fill in parameters.

An engraved name changes the text the laser cuts, not the BOM or the operations: two keypads that
differ only in their engraving share one structure. The bridge translates a structure once and
refills the parameters for each new text, which keeps personalised orders fast to translate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from microfactory.catalog.model import BomLine, Catalog, OptionValue, Product, RoutingOp, placeholders


@dataclass(frozen=True, slots=True)
class Shape:
    """For one product: options whose value matters, and options of which only presence matters."""

    by_value: tuple[str, ...]
    by_presence: tuple[str, ...]

    def signature(self, options: Mapping[str, OptionValue]) -> tuple[object, ...]:
        values = tuple(options.get(name) for name in self.by_value)
        present = tuple(str(options.get(name, "")) != "" for name in self.by_presence)
        return (values, present)


def shape_of(catalog: Catalog, product: Product) -> Shape:
    """Walk the product's BOM and routings once and sort its options by how they are used."""
    structural: set[str] = set()
    presence: set[str] = set()
    seen: set[str] = set()

    def visit_lines(lines: tuple[BomLine, ...]) -> None:
        for line in lines:
            _conditions(line.when.clauses, structural, presence)
            if line.qty.option is not None:
                structural.add(line.qty.option)
            if line.part in seen:
                continue
            seen.add(line.part)
            part = catalog.parts[line.part]
            if part.make is not None and part.make.material is not None:
                structural.update(placeholders(part.make.material))
            visit_routing(part.routing)
            visit_lines(part.bom)

    def visit_routing(ops: tuple[RoutingOp, ...]) -> None:
        for op in ops:
            _conditions(op.when.clauses, structural, presence)
            structural.update(option for option, _ in op.minutes.per)

    visit_lines(product.bom)
    visit_routing(product.routing)
    by_value = tuple(name for name in product.options if name in structural)
    by_presence = tuple(name for name in product.options if name in presence - structural)
    return Shape(by_value, by_presence)


def _conditions(clauses: tuple[object, ...], structural: set[str], presence: set[str]) -> None:
    for clause in clauses:
        kind, option = getattr(clause, "kind"), getattr(clause, "option")  # noqa: B009
        (presence if kind in ("present", "absent") else structural).add(option)
