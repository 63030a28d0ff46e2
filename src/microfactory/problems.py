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


class ProblemsError(ValueError):
    """Raised when a document or request is refused whole; carries every problem found."""

    def __init__(self, summary: str, problems: Iterable[Problem]) -> None:
        self.summary = summary
        self.problems = list(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"{summary}\n{lines}" if lines else summary)

    def as_dict(self) -> dict[str, object]:
        return {"error": self.summary, "problems": [problem.as_dict() for problem in self.problems]}


def prefixed(prefix: str, problems: Iterable[Problem]) -> list[Problem]:
    """The same problems, placed under `prefix` (e.g. a line of an order)."""
    return [Problem(f"{prefix}.{p.path}" if p.path else prefix, p.message) for p in problems]
