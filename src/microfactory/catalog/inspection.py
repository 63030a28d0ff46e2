"""A product's `inspection:` section (an extension of spec/catalog.md): which inspectors judge it,
when each check applies, what passes, and how many units are looked at.

```yaml
inspection:
  sampling: {pilot: 1.0, steady: 0.2, pilot_units: 10}   # optional; default: every unit
  checks:
    - {inspector: colour, option: color, max_delta_e: 8.0}
    - {inspector: engraving, option: engraving, when: {engraving: present}}
    - {inspector: http, url: "https://qa.example/hook", secret_env: QA_HOOK_SECRET}
```

Each check names an inspector kind the registry knows, with the fields that kind must or may
have; an `option` setting must name one of the product's options, since that is what the
inspector compares the unit against. Three keys belong to the acceptance criteria, not to the
inspector: `threshold` (a score from 0 to 1: the unit fails when the worst finding scores above it), `when`
(a condition on the ordered options, as in BOM lines and routings) and, beside `checks`,
`sampling` (rates 0..1 for the first `pilot_units` units of a configuration and for the rest).
The shape of before (`{checks: [{inspector, ...}]}`) stays valid and means: every unit, every check,
the inspector's own verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from microfactory.catalog.model import ALWAYS, Condition, InspectionCheck, InspectionSampling
from microfactory.problems import Problem
from microfactory.quality.inspectors.kinds import INSPECTORS

CRITERIA_KEYS = frozenset({"threshold", "when"})
SAMPLING_KEYS = frozenset({"pilot", "steady", "pilot_units"})
ConditionReader = Callable[[object, str], Condition]


def _no_conditions(raw: object, path: str) -> Condition:
    return ALWAYS


def inspection_checks(
    raw: object, path: str, options: Collection[str], condition: ConditionReader = _no_conditions
) -> tuple[tuple[InspectionCheck, ...], list[Problem]]:
    """The checks of one product's `inspection` mapping, and every problem with its place.

    `condition` reads a `when` (the catalog loader's reader, which records its own problems).
    """
    if raw is None:
        return (), []
    if not isinstance(raw, Mapping) or not isinstance(raw.get("checks", []), list):
        return (), [Problem(path, "inspection must be {checks: [{inspector: KIND, ...}, ...]}")]
    checks: list[InspectionCheck] = []
    problems: list[Problem] = []
    for index, item in enumerate(raw.get("checks", [])):
        where = f"{path}.checks[{index}]"
        if not isinstance(item, Mapping):
            problems.append(Problem(where, f"a check must be a mapping, not {item!r}"))
            continue
        kind_part = {k: v for k, v in item.items() if k not in CRITERIA_KEYS}
        found = INSPECTORS.problems(kind_part, where) + _option_problem(item, where, options)
        threshold, threshold_problems = _threshold(item.get("threshold"), f"{where}.threshold")
        found += threshold_problems
        when = condition(item.get("when"), f"{where}.when")
        found += _condition_problems(when, f"{where}.when", options)
        problems.extend(found)
        if not found:
            settings: dict[str, Any] = {str(k): v for k, v in kind_part.items() if k != "inspector"}
            checks.append(InspectionCheck(str(item["inspector"]), settings, threshold, when))
    return tuple(checks), problems


def inspection_sampling(raw: object, path: str) -> tuple[InspectionSampling, list[Problem]]:
    """The product's `inspection.sampling` (every unit when absent), and every problem with its place."""
    spec = raw.get("sampling") if isinstance(raw, Mapping) else None
    if spec is None:
        return InspectionSampling(), []
    where = f"{path}.sampling"
    if not isinstance(spec, Mapping):
        return InspectionSampling(), [
            Problem(where, "sampling must be {pilot: RATE, steady: RATE, pilot_units: N}")
        ]
    problems = [
        Problem(f"{where}.{key}", f"unknown key; sampling takes {', '.join(sorted(SAMPLING_KEYS))}")
        for key in spec
        if key not in SAMPLING_KEYS
    ]
    rates = {}
    for key in ("pilot", "steady"):
        value = spec.get(key, 1.0)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            problems.append(Problem(f"{where}.{key}", f"a rate must be a number from 0 to 1, not {value!r}"))
            value = 1.0
        rates[key] = float(value)
    units = spec.get("pilot_units", 0)
    if isinstance(units, bool) or not isinstance(units, int) or units < 0:
        problems.append(
            Problem(f"{where}.pilot_units", f"must be a whole number of units >= 0, not {units!r}")
        )
        units = 0
    return InspectionSampling(rates["pilot"], rates["steady"], units), problems


def _threshold(value: object, where: str) -> tuple[float | None, list[Problem]]:
    if value is None:
        return None, []
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        why = (
            f"a threshold is a finding's score from 0 to 1, not {value!r}; an inspector's own "
            "tolerance is its setting (colour: max_delta_e)"
        )
        return None, [Problem(where, why)]
    return float(value), []


def _condition_problems(when: Condition, where: str, options: Collection[str]) -> list[Problem]:
    known = ", ".join(sorted(options)) or "none"
    return [
        Problem(f"{where}.{name}", f"{name!r} is not an option of the product (options: {known})")
        for name in when.options
        if name not in options
    ]


def _option_problem(item: Mapping[str, Any], where: str, options: Collection[str]) -> list[Problem]:
    option = item.get("option")
    if option is None or option in options:
        return []
    known = ", ".join(sorted(options)) or "none"
    return [Problem(f"{where}.option", f"{option!r} is not an option of the product (options: {known})")]
