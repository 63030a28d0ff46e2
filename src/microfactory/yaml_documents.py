"""Reading the YAML documents users hand us (catalogs, networks) into plain mappings, safely."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeGuard

import yaml

from microfactory.errors import Invalid
from microfactory.problems import Problem
from microfactory.text_files import read_text


def parse_mapping(text: str, source: str, kind: str, error: type[Invalid]) -> dict[str, Any]:
    """A YAML mapping, or `error` naming why the text is not one (safe loader: no Python objects)."""
    try:
        document = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as problem:
        raise error(f"{source} is not valid YAML", [Problem("", str(problem))]) from problem
    if not isinstance(document, dict):
        raise error(f"{source} is not a {kind}", [Problem("", "the document must be a mapping")])
    return document


def read_mapping(path: str | Path, kind: str, error: type[Invalid]) -> dict[str, Any]:
    return parse_mapping(read_text(path, kind, error), str(path), kind, error)


def is_number(value: object) -> TypeGuard[int | float]:
    """A YAML number (booleans are ints to Python, never to a user)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_whole(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def refusal_summary(kind: str, name: object, count: int) -> str:
    """`catalog keystone has 3 problems`: the headline of a refused document."""
    return f"{kind} {name} has {count} problem{'s' * (count != 1)}"
