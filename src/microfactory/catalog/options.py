"""Checking an order line's option values against a product's option specs.

Every problem is reported, named by option, so that a line in *needs attention* tells the operator
exactly what to correct.
"""

from __future__ import annotations

from collections.abc import Mapping

from microfactory.catalog.model import OptionSpec, OptionValue, Product
from microfactory.problems import Problem

MAX_SHOWN_VALUES = 12


def resolve_options(
    product: Product, raw: Mapping[str, object]
) -> tuple[dict[str, OptionValue], list[Problem]]:
    """Valid option values in the product's order (defaults filled in), and every problem found."""
    specs_by_fold = {name.casefold(): name for name in product.options}
    given: dict[str, object] = {}
    problems: list[Problem] = []
    for key, value in raw.items():
        name = specs_by_fold.get(str(key).casefold())
        if name is None:
            known = ", ".join(product.options) or "none"
            problems.append(
                Problem(f"options.{key}", f"unknown option '{key}' for {product.sku} (options: {known})")
            )
            continue
        given[name] = value
    resolved: dict[str, OptionValue] = {}
    for name, spec in product.options.items():
        if name not in given or given[name] is None:
            if spec.default is None:
                problems.append(Problem(f"options.{name}", f"option '{name}' is required"))
            else:
                resolved[name] = spec.default
            continue
        value, problem = check_value(spec, given[name])
        if problem is not None:
            problems.append(Problem(f"options.{name}", problem))
        else:
            assert value is not None
            resolved[name] = value
    return resolved, problems


def check_value(spec: OptionSpec, value: object) -> tuple[OptionValue | None, str | None]:
    """The value as it is stored, or a message saying why it is not valid."""
    if spec.type == "choice":
        return _check_choice(spec, value)
    if spec.type == "int":
        return _check_int(spec, value)
    return _check_text(spec, value)


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _check_choice(spec: OptionSpec, value: object) -> tuple[OptionValue | None, str | None]:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None, f"{_shown(value)} is not a valid value for '{spec.name}'"
    folded = str(value).strip().casefold()
    for allowed in spec.values:
        if str(allowed).casefold() == folded:
            return allowed, None
    allowed_text = ", ".join(str(v) for v in spec.values[:MAX_SHOWN_VALUES])
    return None, f"{_shown(value)} is not one of {allowed_text}"


def _check_int(spec: OptionSpec, value: object) -> tuple[OptionValue | None, str | None]:
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().lstrip("+-").isdigit() and len(value.strip()) <= 12:
        number = int(value.strip())
    if number is None:
        return None, f"{_shown(value)} is not a whole number"
    if spec.values and number not in spec.values:
        return None, f"{number} is not one of {', '.join(str(v) for v in spec.values[:MAX_SHOWN_VALUES])}"
    if spec.min is not None and number < spec.min:
        return None, f"{number} is below the minimum {spec.min}"
    if spec.max is not None and number > spec.max:
        return None, f"{number} is above the maximum {spec.max}"
    return number, None


def _check_text(spec: OptionSpec, value: object) -> tuple[OptionValue | None, str | None]:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None, f"{_shown(value)} is not text"
    text = str(value)
    if spec.max_length is not None and len(text) > spec.max_length:
        return None, f"{len(text)} characters is longer than the maximum {spec.max_length}"
    if spec.pattern is not None and not spec.pattern.fullmatch(text):
        return None, f"{_shown(text)} does not match the pattern {spec.pattern.pattern}"
    return text, None
