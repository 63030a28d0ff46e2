"""The catalog as plain, immutable data: no I/O, no framework.

Everything the bridge needs to turn an order line into a BOM variant and a work order lives here.
IDs are matched case-insensitively and written as they are defined (spec/catalog.md), which is what
`IdIndex` is for.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Generic, Literal, TypeVar

from microfactory.catalog.text_pattern import TextPattern

OptionValue = str | int
T = TypeVar("T")
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def placeholders(text: str) -> list[str]:
    """The option names a template string refers to, in order of appearance."""
    return PLACEHOLDER.findall(text)


def fill(text: str, options: Mapping[str, OptionValue]) -> str:
    """Replace `{option}` placeholders with option values; no format strings, no eval."""
    if "{" not in text:
        return text
    return PLACEHOLDER.sub(lambda m: str(options.get(m.group(1), m.group(0))), text)


class IdIndex(Generic[T]):
    """A mapping whose keys are matched case-insensitively but kept as defined."""

    __slots__ = ("_by_fold", "_items")

    def __init__(self, items: Mapping[str, T] | None = None) -> None:
        self._items: dict[str, T] = dict(items or {})
        self._by_fold: dict[str, str] = {key.casefold(): key for key in self._items}

    def canonical(self, key: str) -> str | None:
        """The ID as it was defined, or None when nothing matches."""
        return self._by_fold.get(key.casefold())

    def get(self, key: str) -> T | None:
        found = self._by_fold.get(key.casefold())
        return None if found is None else self._items[found]

    def __getitem__(self, key: str) -> T:
        item = self.get(key)
        if item is None:
            raise KeyError(key)
        return item

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.casefold() in self._by_fold

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def items(self) -> Iterator[tuple[str, T]]:
        return iter(self._items.items())

    def values(self) -> Iterator[T]:
        return iter(self._items.values())


@dataclass(frozen=True, slots=True)
class Material:
    id: str
    family: str = ""
    color: str = ""
    hex: str = ""


ClauseKind = Literal["any_of", "present", "absent"]


@dataclass(frozen=True, slots=True)
class Clause:
    """One entry of a `when` mapping: `option: value`, `option: [..]`, `present` or `absent`."""

    option: str
    kind: ClauseKind
    values: frozenset[str] = frozenset()

    def holds(self, options: Mapping[str, OptionValue]) -> bool:
        value = options.get(self.option)
        if self.kind == "present":
            return value is not None and str(value) != ""
        if self.kind == "absent":
            return value is None or str(value) == ""
        return value is not None and str(value).casefold() in self.values


@dataclass(frozen=True, slots=True)
class Condition:
    """A `when`: every clause must hold. The empty condition always holds."""

    clauses: tuple[Clause, ...] = ()

    def holds(self, options: Mapping[str, OptionValue]) -> bool:
        for clause in self.clauses:  # noqa: SIM110 - a plain loop is faster on this hot path
            if not clause.holds(options):
                return False
        return True

    @property
    def options(self) -> tuple[str, ...]:
        return tuple(clause.option for clause in self.clauses)


ALWAYS = Condition()


@dataclass(frozen=True, slots=True)
class Quantity:
    """A BOM quantity: a fixed number, or the value of an `int` option."""

    fixed: Decimal | None = None
    option: str | None = None

    def value(self, options: Mapping[str, OptionValue]) -> Decimal:
        if self.option is not None:
            return Decimal(int(options[self.option]))
        assert self.fixed is not None
        return self.fixed


@dataclass(frozen=True, slots=True)
class Minutes:
    """Minutes per unit: `base` plus `per[option] * value` for each int option named."""

    base: float
    per: tuple[tuple[str, float], ...] = ()

    def per_unit(self, options: Mapping[str, OptionValue]) -> float:
        total = self.base
        for option, each in self.per:
            total += each * int(options[option])
        return total


@dataclass(frozen=True, slots=True)
class MakeSpec:
    capability: str
    minutes: float
    material: str | None = None  # may hold placeholders, e.g. "PLA-{color}"
    mass_g: float | None = None


@dataclass(frozen=True, slots=True)
class BuySpec:
    unit_cost: Decimal
    lead_time_days: int


@dataclass(frozen=True, slots=True)
class BomLine:
    part: str
    qty: Quantity
    when: Condition = ALWAYS
    rule: str = ""  # where the line stands in the catalog, e.g. "products.KP.bom[3]"


@dataclass(frozen=True, slots=True)
class RoutingOp:
    op: str
    capability: str
    minutes: Minutes
    params: Mapping[str, object] = field(default_factory=dict)
    when: Condition = ALWAYS
    after: tuple[str, ...] | None = None  # None: after everything listed before it and the BOM's work
    rule: str = ""
    templated: bool = True  # False when no param holds a placeholder: params are used as they are


PartKind = Literal["make", "buy", "assembly"]


@dataclass(frozen=True, slots=True)
class Part:
    id: str
    name: str = ""
    make: MakeSpec | None = None
    buy: BuySpec | None = None
    bom: tuple[BomLine, ...] = ()
    routing: tuple[RoutingOp, ...] = ()

    @property
    def kind(self) -> PartKind:
        if self.make is not None:
            return "make"
        if self.buy is not None:
            return "buy"
        return "assembly"


OptionType = Literal["choice", "int", "text"]


@dataclass(frozen=True, slots=True)
class OptionSpec:
    name: str
    type: OptionType
    values: tuple[OptionValue, ...] = ()
    min: int | None = None
    max: int | None = None
    max_length: int | None = None
    pattern: TextPattern | None = None
    default: OptionValue | None = None

    @property
    def required(self) -> bool:
        return self.default is None

    def enumerate_values(self, limit: int = 1000) -> tuple[OptionValue, ...] | None:
        """Every value the option can take, or None when that set is open or too large."""
        if self.values:
            return self.values
        if (
            self.type == "int"
            and self.min is not None
            and self.max is not None
            and self.max - self.min < limit
        ):
            return tuple(range(self.min, self.max + 1))
        return None


@dataclass(frozen=True, slots=True)
class ShopifyMapping:
    sku: str  # pattern such as "KP{keys}-{color}"
    properties: Mapping[str, str] = field(default_factory=dict)  # property name -> option name
    sku_regex: re.Pattern[str] | None = None

    def options_from(self, properties: Mapping[str, object]) -> dict[str, object]:
        """Option values a store line carries as properties (an engraving text), by this mapping.

        Names match case-insensitively; properties starting with `_` are the store's own, never options.
        """
        folded = {name.casefold(): option for name, option in self.properties.items()}
        options: dict[str, object] = {}
        for name, value in properties.items():
            option = self.properties.get(name) or folded.get(name.casefold())
            if option is not None and not name.startswith("_"):
                options[option] = value
        return options


@dataclass(frozen=True, slots=True)
class InspectionCheck:
    """One check a product's units pass before shipping: an inspector kind and its settings.

    `threshold` is the acceptance criterion (a unit fails when the worst finding's score is above
    it; None: the inspector's own verdict stands), and `when` the options that make the check apply
    (engraving only when an engraving was ordered), in the syntax of BOM and routing conditions.
    """

    inspector: str  # a kind of `quality.inspectors.kinds.INSPECTORS`
    settings: Mapping[str, object] = field(default_factory=dict)
    threshold: float | None = None
    when: Condition = ALWAYS


@dataclass(frozen=True, slots=True)
class InspectionSampling:
    """Which share of units is inspected: every one of the first `pilot_units` of a configuration
    at the `pilot` rate, the rest at the `steady` rate (the default inspects every unit)."""

    pilot: float = 1.0
    steady: float = 1.0
    pilot_units: int = 0


@dataclass(frozen=True, slots=True)
class Product:
    sku: str
    name: str
    options: Mapping[str, OptionSpec]
    bom: tuple[BomLine, ...]
    routing: tuple[RoutingOp, ...]
    shopify: ShopifyMapping | None = None
    stocked: bool = False  # an extension: sold from stock, fulfilment only, never manufactured
    inspection: tuple[InspectionCheck, ...] = ()  # an extension: `inspection: {checks: [...]}`
    sampling: InspectionSampling = InspectionSampling()  # `inspection: {sampling: {...}}`


@dataclass(frozen=True, slots=True)
class Catalog:
    name: str
    version: int
    materials: IdIndex[Material]
    parts: IdIndex[Part]
    products: IdIndex[Product]
    # translations already made, by (product, options, qty): identical lines recur all day
    memo: dict[tuple[object, ...], object] = field(default_factory=dict, compare=False, repr=False)
