"""Problems a user can read: what is wrong, and where.

Validation never stops at the first problem: it collects them all, each with its place in the
document (`products.KP.bom[3].part`) or the request (`lines[0].options.keys`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


def prefixed(prefix: str, problems: Iterable[Problem]) -> list[Problem]:
    """The same problems, placed under `prefix` (e.g. a line of an order)."""
    return [Problem(f"{prefix}.{p.path}" if p.path else prefix, p.message) for p in problems]
