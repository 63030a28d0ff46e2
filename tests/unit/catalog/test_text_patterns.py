"""Text-option patterns run on a linear-time engine: a catalog cannot freeze the server (issue 11.7)."""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from microfactory.catalog.load import CatalogError, build_catalog
from microfactory.catalog.options import check_value


def keypad_with_pattern(examples: Path, pattern: str) -> dict[str, Any]:
    document = yaml.safe_load((examples / "catalog-keypad.yaml").read_text())
    document = copy.deepcopy(document)
    document["products"]["KP"]["options"]["engraving"]["pattern"] = pattern
    document["products"]["KP"]["options"]["engraving"]["max_length"] = 64
    document["products"]["KP"]["options"]["engraving"]["default"] = "a"
    return document


def test_catastrophic_pattern_answers_at_once(examples: Path) -> None:
    catalog = build_catalog(keypad_with_pattern(examples, "^(a+)+$"))
    spec = catalog.products["KP"].options["engraving"]
    started = time.perf_counter()
    value, problem = check_value(spec, "a" * 29 + "!")
    assert time.perf_counter() - started < 0.1
    assert value is None and problem is not None
    assert "does not match the pattern ^(a+)+$" in problem
    assert check_value(spec, "aaaa") == ("aaaa", None)


def test_pattern_the_engine_cannot_run_is_refused_by_name(examples: Path) -> None:
    with pytest.raises(CatalogError) as caught:
        build_catalog(keypad_with_pattern(examples, r"^(a)\1$"))
    problems = {problem.path: problem.message for problem in caught.value.problems}
    message = problems["products.KP.options.engraving.pattern"]
    assert "engraving" in message and r"^(a)\1$" in message
