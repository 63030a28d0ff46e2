"""A product's `inspection:` section (an extension of spec/catalog.md): which inspectors judge it.

```yaml
inspection:
  checks:
    - {inspector: colour, option: color}
    - {inspector: http, url: "https://qa.example/hook", secret_env: QA_HOOK_SECRET}
```

Each check names an inspector kind the registry knows, with the fields that kind must or may
have; an `option` setting must name one of the product's options, since that is what the
inspector compares the unit against.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from microfactory.catalog.model import InspectionCheck
from microfactory.problems import Problem
from microfactory.quality.inspectors.kinds import INSPECTORS


def inspection_checks(
    raw: object, path: str, options: Collection[str]
) -> tuple[tuple[InspectionCheck, ...], list[Problem]]:
    """The checks of one product's `inspection` mapping, and every problem with its place."""
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
        found = INSPECTORS.problems(item, where) + _option_problem(item, where, options)
        problems.extend(found)
        if not found:
            settings: dict[str, Any] = {str(k): v for k, v in item.items() if k != "inspector"}
            checks.append(InspectionCheck(str(item["inspector"]), settings))
    return tuple(checks), problems


def _option_problem(item: Mapping[str, Any], where: str, options: Collection[str]) -> list[Problem]:
    option = item.get("option")
    if option is None or option in options:
        return []
    known = ", ".join(sorted(options)) or "none"
    return [Problem(f"{where}.option", f"{option!r} is not an option of the product (options: {known})")]
