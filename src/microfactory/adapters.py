"""Registries of adapter kinds: what a network or catalog document may name, and how each is built.

A machine's `connector`, a partner's `carrier`, a product's inspection `inspector`: each names a
`kind`. One `Registry` per adapter family knows every kind, the fields a document must or may give
for it (`octoprint` requires `url`, takes `api_key_env`) and the factory that builds it. The loaders
ask the registry instead of keeping their own tuples of kinds, so a kind added here is accepted by
the documents at once, and a problem keeps its place (`sites.berlin.machines[2].connector.kind`).

A kind may be known before its implementation lands (its `factory` is None): documents naming it
load, and building it raises `Conflict` naming the kind as not yet available, rather than a fake.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

from microfactory.errors import Conflict, Invalid
from microfactory.problems import Problem

T = TypeVar("T")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class FieldType(StrEnum):
    """What a field's value must look like; checked the same way for every family."""

    TEXT = "text"  # non-empty text
    URL = "url"  # an http(s) URL
    ENV = "env"  # the name of an environment variable (secrets never sit in documents)
    MAPPING = "mapping"  # a nested mapping the loader checks itself
    NUMBER = "number"  # a positive number


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    type: FieldType = FieldType.TEXT


def text(name: str) -> Field:
    return Field(name, FieldType.TEXT)


def url(name: str) -> Field:
    return Field(name, FieldType.URL)


def env(name: str) -> Field:
    return Field(name, FieldType.ENV)


def _field_problem(field: Field, value: object) -> str | None:
    """Why `value` does not fit the field, or None."""
    if field.type is FieldType.MAPPING:
        return None if isinstance(value, Mapping) else f"{field.name} must be a mapping, not {value!r}"
    if field.type is FieldType.NUMBER:
        fits = isinstance(value, int | float) and not isinstance(value, bool) and value > 0
        return None if fits else f"{field.name} must be a positive number, not {value!r}"
    if not isinstance(value, str) or not value.strip():
        return f"{field.name} must be non-empty text, not {value!r}"
    if field.type is FieldType.URL and not value.startswith(("http://", "https://")):
        return f"{field.name} must be an http(s) URL, not {value!r}"
    if field.type is FieldType.ENV and not ENV_NAME.match(value):
        return f"{field.name} must name an environment variable (such as SHOP_API_KEY), not {value!r}"
    return None


@dataclass(frozen=True, slots=True)
class AdapterKind(Generic[T]):
    """One kind of adapter: its name, the fields a document must/may give, and its factory.

    `factory` receives the document's mapping for the adapter (already checked); None means the kind
    is known but its implementation has not landed yet.
    """

    name: str
    required: tuple[Field, ...] = ()
    optional: tuple[Field, ...] = ()
    factory: Callable[[Mapping[str, Any]], T] | None = None
    summary: str = ""

    @property
    def available(self) -> bool:
        return self.factory is not None

    def fields(self) -> tuple[Field, ...]:
        return self.required + self.optional


class Registry(Generic[T]):
    """The kinds of one adapter family (`connector`, `carrier`, `inspector`), keyed by name."""

    def __init__(self, family: str, kinds: Iterable[AdapterKind[T]] = (), *, kind_key: str = "kind"):
        self.family = family
        self.kind_key = kind_key  # the document key that names the kind (`kind`, `carrier`, `inspector`)
        self._kinds: dict[str, AdapterKind[T]] = {}
        for kind in kinds:
            self.register(kind)

    def register(self, kind: AdapterKind[T]) -> None:
        """Add a kind; registering a name twice is a programming error the registry refuses."""
        if kind.name in self._kinds:
            raise Conflict(f"{self.family} kind {kind.name!r} is already registered")
        self._kinds[kind.name] = kind

    def unregister(self, name: str) -> None:
        """Remove a kind registered at run time (a site's plug-in, a test's stand-in); absent is fine."""
        self._kinds.pop(name, None)

    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._kinds))

    def __contains__(self, name: object) -> bool:
        return name in self._kinds

    def __iter__(self) -> Iterator[AdapterKind[T]]:
        return iter(self._kinds[name] for name in self.names())

    def get(self, name: str) -> AdapterKind[T] | None:
        return self._kinds.get(name)

    def problems(self, spec: Mapping[str, Any], path: str, kind: object = None) -> list[Problem]:
        """Every problem of one adapter's mapping, each with its place under `path`.

        `kind` overrides the kind read from `spec[kind_key]` (a partner's carrier may be implied);
        keys the kind does not know are left alone: the document's entity has keys of its own.
        """
        name = spec.get(self.kind_key) if kind is None else kind
        entry = self._kinds.get(name) if isinstance(name, str) else None
        if entry is None:
            where = f"{path}.{self.kind_key}" if path else self.kind_key
            message = f"{self.family} kind {name!r} is not one of {', '.join(self.names())}"
            return [Problem(where, message)]
        found = []
        for field in entry.required:
            if spec.get(field.name) is None:
                found.append(Problem(f"{path}.{field.name}", f"{entry.name} requires {field.name}"))
        for field in entry.fields():
            value = spec.get(field.name)
            wrong = None if value is None else _field_problem(field, value)
            if wrong is not None:
                found.append(Problem(f"{path}.{field.name}", wrong))
        return found

    def build(self, spec: Mapping[str, Any], path: str = "", kind: str | None = None) -> T:
        """The adapter a document's mapping describes.

        Raises `Invalid` with every problem of the mapping, and `Conflict` when the kind is known
        but not yet available (its implementation lands in a later issue).
        """
        problems = self.problems(spec, path, kind)
        if problems:
            raise Invalid(f"the {self.family} cannot be built", problems)
        entry = self._kinds[str(spec.get(self.kind_key) if kind is None else kind)]
        if entry.factory is None:
            raise Conflict(f"{self.family} kind {entry.name!r} is not yet available")
        return entry.factory(spec)
