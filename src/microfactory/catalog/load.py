"""Catalog documents (YAML, spec/catalog.md) to a validated `Catalog`, or every problem with its place.

Structure is checked first, then references across the document (parts, materials, options) are
checked per product, since a part's placeholders are filled from the options of the product that
orders it. A catalog with any problem is refused whole.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from microfactory.catalog.cross_check import CrossCheck, param_placeholders
from microfactory.catalog.inspection import inspection_checks, inspection_sampling
from microfactory.catalog.model import (
    ALWAYS,
    BomLine,
    BuySpec,
    Catalog,
    Clause,
    Condition,
    IdIndex,
    MakeSpec,
    Material,
    Minutes,
    OptionSpec,
    Part,
    Product,
    Quantity,
    RoutingOp,
    ShopifyMapping,
    placeholders,
)
from microfactory.catalog.options import check_value
from microfactory.catalog.text_pattern import PatternError, TextPattern
from microfactory.errors import Invalid
from microfactory.problems import Problem
from microfactory.yaml_documents import is_number, parse_mapping, read_mapping, refusal_summary


class CatalogError(Invalid):
    """A catalog that is not valid; `problems` lists every problem by place."""


def read_catalog_file(path: str | Path) -> dict[str, Any]:
    """Parse a catalog file as YAML; a file that is not a YAML mapping is refused with its reason."""
    return read_mapping(path, "catalog", CatalogError)


def parse_catalog_text(text: str, source: str = "catalog") -> dict[str, Any]:
    return parse_mapping(text, source, "catalog", CatalogError)


def load_catalog(path: str | Path) -> Catalog:
    """Read and validate a catalog file."""
    return build_catalog(read_catalog_file(path))


def build_catalog(document: Mapping[str, Any]) -> Catalog:
    """Validate a parsed document and build the catalog; raises `CatalogError` with every problem."""
    builder = _Builder()
    catalog = builder.build(document)
    if builder.problems or catalog is None:
        name = document.get("catalog", "catalog") if isinstance(document, Mapping) else "catalog"
        raise CatalogError(refusal_summary("catalog", name, len(builder.problems)), builder.problems)
    return catalog


def _decimal(value: object) -> Decimal | None:
    if not is_number(value) and not isinstance(value, str):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


class _Builder:
    """Walks the document once, collecting problems and building the model as it goes."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.broken_options: dict[str, set[str]] = {}  # by product: options with problems of their own

    def error(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def mapping(self, value: object, path: str) -> Mapping[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.error(path, f"must be a mapping, not {type(value).__name__}")
            return {}
        return value

    def build(self, document: Mapping[str, Any]) -> Catalog | None:
        name = document.get("catalog")
        if not isinstance(name, str) or not name:
            self.error("catalog", "a catalog name (text) is required")
        version = document.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            self.error("version", "a positive integer version is required")
        materials = self.materials(self.mapping(document.get("materials"), "materials"))
        raw_parts = self.mapping(document.get("parts"), "parts")
        part_ids = IdIndex({str(key): str(key) for key in raw_parts})
        parts = IdIndex({str(pid): self.part(str(pid), raw, part_ids) for pid, raw in raw_parts.items()})
        raw_products = self.mapping(document.get("products"), "products")
        if not raw_products:
            self.error("products", "a catalog needs at least one product")
        products = IdIndex(
            {str(sku): self.product(str(sku), raw, part_ids) for sku, raw in raw_products.items()}
        )
        catalog = Catalog(str(name), version if isinstance(version, int) else 0, materials, parts, products)
        # Cross-checks run on what could be built, so that every problem is found in one pass.
        CrossCheck(catalog, self.problems, self.broken_options).run()
        return None if self.problems else catalog

    def materials(self, raw: Mapping[str, Any]) -> IdIndex[Material]:
        result: dict[str, Material] = {}
        for mid, raw_spec in raw.items():
            spec = self.mapping(raw_spec, f"materials.{mid}")
            result[str(mid)] = Material(
                str(mid), str(spec.get("family", "")), str(spec.get("color", "")), str(spec.get("hex", ""))
            )
        return IdIndex(result)

    def part(self, pid: str, raw: object, part_ids: IdIndex[str]) -> Part:
        path = f"parts.{pid}"
        spec = self.mapping(raw, path)
        kinds = [key for key in ("make", "buy", "bom") if key in spec]
        if len(kinds) != 1:
            found = ", ".join(kinds) or "none"
            self.error(path, f"a part has exactly one of make, buy or bom (found: {found})")
        if "routing" in spec and "bom" not in spec:
            self.error(f"{path}.routing", "only a sub-assembly (a part with bom) has a routing")
        make = self.make(spec["make"], f"{path}.make") if "make" in spec else None
        buy = self.buy(spec["buy"], f"{path}.buy") if "buy" in spec else None
        bom = self.bom(spec.get("bom"), f"{path}.bom", part_ids) if "bom" in spec else ()
        if "bom" in spec and not bom:
            self.error(f"{path}.bom", "a sub-assembly needs at least one BOM line")
        routing = self.routing(spec.get("routing"), f"{path}.routing")
        return Part(pid, str(spec.get("name", pid)), make, buy, bom, routing)

    def make(self, raw: object, path: str) -> MakeSpec | None:
        spec = self.mapping(raw, path)
        capability = spec.get("capability")
        if not isinstance(capability, str) or not capability:
            self.error(f"{path}.capability", "a capability (text) is required")
        minutes = spec.get("minutes")
        if not is_number(minutes) or minutes < 0:
            self.error(f"{path}.minutes", "minutes must be a number of at least 0")
        material = spec.get("material")
        if material is not None and not isinstance(material, str):
            self.error(f"{path}.material", "material must be a material ID (text)")
        mass = spec.get("mass_g")
        if mass is not None and (not is_number(mass) or mass < 0):
            self.error(f"{path}.mass_g", "mass_g must be a number of at least 0")
        if self.problems and not (isinstance(capability, str) and is_number(minutes)):
            return None
        return MakeSpec(
            str(capability),
            float(minutes) if is_number(minutes) else 0.0,
            material if isinstance(material, str) else None,
            float(mass) if is_number(mass) else None,
        )

    def buy(self, raw: object, path: str) -> BuySpec | None:
        spec = self.mapping(raw, path)
        cost = _decimal(spec.get("unit_cost"))
        if cost is None or cost < 0:
            self.error(f"{path}.unit_cost", "unit_cost must be a number of at least 0")
        lead = spec.get("lead_time_days", 0)
        if not isinstance(lead, int) or isinstance(lead, bool) or lead < 0:
            self.error(f"{path}.lead_time_days", "lead_time_days must be a whole number of at least 0")
        if cost is None or not isinstance(lead, int):
            return None
        return BuySpec(cost, lead)

    def bom(self, raw: object, path: str, part_ids: IdIndex[str]) -> tuple[BomLine, ...]:
        if not isinstance(raw, list):
            self.error(path, "a BOM is a list of lines")
            return ()
        lines = []
        for index, item in enumerate(raw):
            line_path = f"{path}[{index}]"
            spec = self.mapping(item, line_path)
            part = spec.get("part")
            canonical = part_ids.canonical(part) if isinstance(part, str) else None
            if canonical is None:
                self.error(f"{line_path}.part", f"unknown part {part!r}")
            qty = self.quantity(spec.get("qty"), f"{line_path}.qty")
            when = self.condition(spec.get("when"), f"{line_path}.when")
            if canonical is not None and qty is not None:
                lines.append(BomLine(canonical, qty, when, line_path))
        return tuple(lines)

    def quantity(self, raw: object, path: str) -> Quantity | None:
        if isinstance(raw, str):
            names = placeholders(raw)
            if len(names) == 1 and raw.strip() == "{" + names[0] + "}":
                return Quantity(option=names[0])
        elif is_number(raw) and raw > 0:
            return Quantity(fixed=Decimal(str(raw)))
        self.error(path, f"qty must be a positive number or '{{option}}', not {raw!r}")
        return None

    def condition(self, raw: object, path: str) -> Condition:
        if raw is None:
            return ALWAYS
        if not isinstance(raw, Mapping) or not raw:
            self.error(path, "a condition is a mapping of option: value, [values], present or absent")
            return ALWAYS
        clauses = []
        for option, value in raw.items():
            if value in ("present", "absent"):
                clauses.append(Clause(str(option), value))
            elif isinstance(value, list) and value and all(_is_scalar(v) for v in value):
                clauses.append(Clause(str(option), "any_of", frozenset(str(v).casefold() for v in value)))
            elif _is_scalar(value):
                clauses.append(Clause(str(option), "any_of", frozenset({str(value).casefold()})))
            else:
                self.error(
                    f"{path}.{option}", f"{value!r} is not a value, a list of values, present or absent"
                )
        return Condition(tuple(clauses))

    def routing(self, raw: object, path: str) -> tuple[RoutingOp, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list):
            self.error(path, "a routing is a list of operations")
            return ()
        ops: list[RoutingOp] = []
        for index, item in enumerate(raw):
            op = self.routing_op(item, f"{path}[{index}]")
            if op is not None:
                ops.append(op)
        names = [op.op for op in ops]
        for op in ops:
            if names.count(op.op) > 1 and op is ops[names.index(op.op)]:
                self.error(op.rule, f"operation id '{op.op}' is used more than once in this routing")
            for name in op.after or ():
                if name not in names:
                    self.error(f"{op.rule}.after", f"unknown operation '{name}' in this routing")
        self.check_routing_cycle(ops)
        return tuple(ops)

    def check_routing_cycle(self, ops: list[RoutingOp]) -> None:
        order = {op.op: index for index, op in enumerate(ops)}
        for op in ops:
            later = [name for name in op.after or () if order.get(name, -1) >= order[op.op]]
            if later:
                self.error(f"{op.rule}.after", f"must name operations listed before it, not {later}")

    def routing_op(self, raw: object, path: str) -> RoutingOp | None:
        spec = self.mapping(raw, path)
        name, capability = spec.get("op"), spec.get("capability")
        if not isinstance(name, str) or not name:
            self.error(f"{path}.op", "an operation id (text) is required")
        if not isinstance(capability, str) or not capability:
            self.error(f"{path}.capability", "a capability (text) is required")
        minutes = self.minutes(spec.get("minutes"), f"{path}.minutes")
        params = self.mapping(spec.get("params"), f"{path}.params")
        after = spec.get("after")
        if after is not None and not (isinstance(after, list) and all(isinstance(a, str) for a in after)):
            self.error(f"{path}.after", "after must be a list of operation ids")
            after = None
        when = self.condition(spec.get("when"), f"{path}.when")
        if not isinstance(name, str) or not isinstance(capability, str) or minutes is None:
            return None
        templated = bool(param_placeholders(params, path))
        return RoutingOp(name, capability, minutes, dict(params), when, _tuple(after), path, templated)

    def minutes(self, raw: object, path: str) -> Minutes | None:
        if is_number(raw) and raw >= 0:
            return Minutes(float(raw))
        if isinstance(raw, Mapping) and is_number(raw.get("base")):
            per = self.mapping(raw.get("per"), f"{path}.per")
            pairs = []
            for option, each in per.items():
                if not is_number(each):
                    self.error(f"{path}.per.{option}", "minutes per unit must be a number")
                else:
                    pairs.append((str(option), float(each)))
            return Minutes(float(raw["base"]), tuple(pairs))
        self.error(path, f"minutes must be a number or {{base, per}}, not {raw!r}")
        return None

    def product(self, sku: str, raw: object, part_ids: IdIndex[str]) -> Product:
        path = f"products.{sku}"
        spec = self.mapping(raw, path)
        options_raw = self.mapping(spec.get("options"), f"{path}.options")
        options = {str(n): self.option(str(n), o, f"{path}.options.{n}") for n, o in options_raw.items()}
        bom = self.bom(spec.get("bom", []), f"{path}.bom", part_ids)
        routing = self.routing(spec.get("routing"), f"{path}.routing")
        stocked = bool(spec.get("stocked", False))
        if not bom and not routing and not stocked:
            self.error(path, "a product needs a bom or a routing (or stocked: true)")
        valid = {name: option for name, option in options.items() if option is not None}
        self.broken_options[sku] = set(options) - set(valid)
        shopify = self.shopify(spec.get("shopify"), f"{path}.shopify", options)
        raw_inspection = spec.get("inspection")
        checks, problems = inspection_checks(raw_inspection, f"{path}.inspection", options, self.condition)
        sampling, sampling_problems = inspection_sampling(raw_inspection, f"{path}.inspection")
        self.problems.extend(problems + sampling_problems)
        return Product(
            sku, str(spec.get("name", sku)), valid, bom, routing, shopify, stocked, checks, sampling
        )

    def option(self, name: str, raw: object, path: str) -> OptionSpec | None:
        spec = self.mapping(raw, path)
        kind = spec.get("type")
        if kind not in ("choice", "int", "text"):
            self.error(f"{path}.type", f"type must be choice, int or text, not {kind!r}")
            return None
        values = spec.get("values", [])
        if not isinstance(values, list) or not all(_is_scalar(v) for v in values):
            self.error(f"{path}.values", "values must be a list of values")
            values = []
        option = self._option_spec(name, kind, spec, values, path)
        if option is not None and "default" in spec and spec["default"] is not None:
            default, problem = check_value(option, spec["default"])
            if problem is not None:
                self.error(f"{path}.default", problem)
                return None
            option = OptionSpec(**{**_fields(option), "default": default})
        return option

    def _option_spec(
        self, name: str, kind: str, spec: Mapping[str, Any], values: list[Any], path: str
    ) -> OptionSpec | None:
        if kind == "choice":
            if not values:
                self.error(f"{path}.values", "a choice option needs a non-empty list of values")
                return None
            return OptionSpec(name, "choice", values=tuple(str(v) for v in values))
        if kind == "int":
            return self._int_option(name, spec, values, path)
        max_length = spec.get("max_length")
        if not isinstance(max_length, int) or isinstance(max_length, bool) or max_length < 1:
            self.error(f"{path}.max_length", "a text option needs a positive whole max_length")
            return None
        pattern = spec.get("pattern")
        compiled = None
        if pattern is not None:
            try:
                compiled = TextPattern.compile(str(pattern))
            except PatternError as error:
                self.error(
                    f"{path}.pattern",
                    f"option {name!r}: the pattern `{pattern}` cannot be run by the linear-time "
                    f"engine (RE2: no backreferences or lookaround): {error}",
                )
                return None
        return OptionSpec(name, "text", max_length=max_length, pattern=compiled)

    def _int_option(
        self, name: str, spec: Mapping[str, Any], values: list[Any], path: str
    ) -> OptionSpec | None:
        if values:
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
                self.error(f"{path}.values", "an int option's values must be whole numbers")
                return None
            return OptionSpec(name, "int", values=tuple(values))
        low, high = spec.get("min"), spec.get("max")
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high)):
            self.error(path, "an int option needs values, or whole numbers min and max")
            return None
        assert isinstance(low, int) and isinstance(high, int)
        if low > high:
            self.error(path, f"min {low} is greater than max {high}")
            return None
        return OptionSpec(name, "int", min=low, max=high)

    def shopify(
        self, raw: object, path: str, declared: Mapping[str, OptionSpec | None]
    ) -> ShopifyMapping | None:
        """The SKU pattern and properties; options declared with problems of their own are known."""
        options = {name: option for name, option in declared.items() if option is not None}
        if raw is None:
            return None
        spec = self.mapping(raw, path)
        sku = spec.get("sku")
        if not isinstance(sku, str) or not sku:
            self.error(f"{path}.sku", "a SKU pattern (text) is required")
            return None
        for name in placeholders(sku):
            if name not in declared:
                self.error(f"{path}.sku", f"option '{name}' is referenced but not defined")
        properties = self.mapping(spec.get("properties"), f"{path}.properties")
        for prop, option in properties.items():
            if option not in declared:
                self.error(f"{path}.properties.{prop}", f"option '{option}' is referenced but not defined")
        regex = sku_regex(sku, options)
        return ShopifyMapping(sku, {str(k): str(v) for k, v in properties.items()}, regex)


def sku_regex(pattern: str, options: Mapping[str, OptionSpec]) -> re.Pattern[str]:
    """A case-insensitive regex matching SKUs of the pattern, one named group per placeholder."""
    parts: list[str] = []
    position = 0
    seen: set[str] = set()
    for match in re.finditer(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", pattern):
        parts.append(re.escape(pattern[position : match.start()]))
        name = match.group(1)
        option = options.get(name)
        if name in seen:
            parts.append(f"(?P={name})")
        elif option is not None and option.type == "choice":
            alternatives = sorted((re.escape(str(v)) for v in option.values), key=len, reverse=True)
            parts.append(f"(?P<{name}>{'|'.join(alternatives)})")
        elif option is not None and option.type == "int":
            parts.append(f"(?P<{name}>[+-]?\\d+)")
        else:
            parts.append(f"(?P<{name}>.+?)")
        seen.add(name)
        position = match.end()
    parts.append(re.escape(pattern[position:]))
    return re.compile("".join(parts), re.IGNORECASE)


def _is_scalar(value: object) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def _tuple(value: object) -> tuple[str, ...] | None:
    return None if value is None else tuple(str(v) for v in value)  # type: ignore[attr-defined]


def _fields(option: OptionSpec) -> dict[str, Any]:
    return {name: getattr(option, name) for name in OptionSpec.__slots__}
