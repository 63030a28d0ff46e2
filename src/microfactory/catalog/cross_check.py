"""Checks only a product gives meaning to: the options a part refers to, the materials its
templates expand to, and cycles through sub-assemblies.

A part is shared by products (a keycap is in the keypad and in the repair module), and its
`{option}` placeholders are filled from the options of whichever product orders it, so each
reference is checked once per product that reaches the part.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

from microfactory.catalog.model import (
    BomLine,
    Catalog,
    Condition,
    OptionSpec,
    OptionValue,
    Part,
    RoutingOp,
    fill,
    placeholders,
)
from microfactory.catalog.options import check_value
from microfactory.problems import Problem

MAX_EXPANSIONS = 2000


class CrossCheck:
    """Checks what only a product gives meaning to: option references, materials, sub-assembly cycles."""

    def __init__(
        self, catalog: Catalog, problems: list[Problem], broken: Mapping[str, set[str]] | None = None
    ) -> None:
        """`broken`: by product, options declared with problems of their own (already reported),
        which references may name without being called undefined."""
        self.catalog = catalog
        self.problems = problems
        self.broken = broken or {}

    def run(self) -> None:
        for sku, product in self.catalog.products.items():
            self.check_routing(product.options, product.routing, sku, f"products.{sku}")
            self.check_lines(product.options, product.bom, sku, [])

    def error(self, path: str, message: str) -> None:
        problem = Problem(path, message)
        if problem not in self.problems:
            self.problems.append(problem)

    def check_lines(
        self, options: Mapping[str, OptionSpec], lines: tuple[BomLine, ...], sku: str, stack: list[str]
    ) -> None:
        for line in lines:
            self.check_condition(options, line.when, f"{line.rule}.when", sku)
            if line.qty.option is not None:
                self.check_int_option(options, line.qty.option, f"{line.rule}.qty", sku)
            part = self.catalog.parts[line.part]
            if part.id in stack:
                cycle = " -> ".join([*stack[stack.index(part.id) :], part.id])
                self.error(f"{line.rule}.part", f"sub-assembly cycle: {cycle}")
                continue
            self.check_part(options, part, sku)
            if part.kind == "assembly":
                self.check_lines(options, part.bom, sku, [*stack, part.id])

    def check_part(self, options: Mapping[str, OptionSpec], part: Part, sku: str) -> None:
        path = f"parts.{part.id}"
        self.check_routing(options, part.routing, sku, path)
        if part.make is None or part.make.material is None:
            return
        template = part.make.material
        for name in placeholders(template):
            if name not in options:
                self.undefined(f"{path}.make.material", name, sku)
                return
        for values in self.expansions(options, placeholders(template)):
            material = fill(template, values)
            if material not in self.catalog.materials:
                shown = ", ".join(f"{k}={v}" for k, v in values.items())
                where = f" ({shown})" if shown else ""
                self.error(f"{path}.make.material", f"unknown material '{material}' for product {sku}{where}")

    def expansions(self, options: Mapping[str, OptionSpec], names: list[str]) -> list[dict[str, OptionValue]]:
        """Every combination of the named options' values (open-ended options are left out)."""
        domains: list[tuple[str, tuple[OptionValue, ...]]] = []
        for name in dict.fromkeys(names):
            values = options[name].enumerate_values()
            if values is not None:
                domains.append((name, values))
        combos = itertools.islice(itertools.product(*(values for _, values in domains)), MAX_EXPANSIONS)
        return [dict(zip([name for name, _ in domains], combo, strict=True)) for combo in combos]

    def check_routing(
        self, options: Mapping[str, OptionSpec], ops: tuple[RoutingOp, ...], sku: str, path: str
    ) -> None:
        for op in ops:
            self.check_condition(options, op.when, f"{op.rule}.when", sku)
            for option, _ in op.minutes.per:
                self.check_int_option(options, option, f"{op.rule}.minutes.per.{option}", sku)
            for key, name in param_placeholders(op.params, f"{op.rule}.params"):
                if name not in options:
                    self.undefined(key, name, sku)

    def check_int_option(self, options: Mapping[str, OptionSpec], name: str, path: str, sku: str) -> None:
        if name not in options:
            self.undefined(path, name, sku)
        elif options[name].type != "int":
            self.error(path, f"option '{name}' of product {sku} is not an int option")

    def undefined(self, path: str, name: str, sku: str) -> None:
        if name in self.broken.get(sku, set()):
            return
        self.error(path, f"option '{name}' is referenced but not defined by product {sku}")

    def check_condition(
        self, options: Mapping[str, OptionSpec], when: Condition, path: str, sku: str
    ) -> None:
        for clause in when.clauses:
            spec = options.get(clause.option)
            if spec is None:
                self.undefined(f"{path}.{clause.option}", clause.option, sku)
                continue
            for value in clause.values:
                _, problem = check_value(spec, value)
                if problem is not None:
                    self.error(f"{path}.{clause.option}", f"{problem} (option of product {sku})")


def param_placeholders(value: object, path: str) -> list[tuple[str, str]]:
    """(place, option name) for every placeholder in a params value, however deeply nested."""
    if isinstance(value, str):
        return [(path, name) for name in placeholders(value)]
    if isinstance(value, list):
        return [found for i, item in enumerate(value) for found in param_placeholders(item, f"{path}[{i}]")]
    if isinstance(value, Mapping):
        return [found for k, item in value.items() for found in param_placeholders(item, f"{path}.{k}")]
    return []
