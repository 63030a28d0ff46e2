"""A page of a long list and where the next one starts: what every list command and endpoint answers.

Lists are paged by offset, oldest first: new orders and work orders join the end, so a page already
read never shifts while a user walks through the rest. Pure: no database, no HTTP.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")

CLI_MAX_LIMIT = 500  # a table of more rows is unreadable: page instead (`--offset`)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """Some items of a list, with the size of the whole list and the window they were taken from."""

    items: Sequence[T]
    total: int
    limit: int
    offset: int

    @property
    def next_offset(self) -> int | None:
        """Where the next page starts; None on the last page."""
        after = self.offset + len(self.items)
        return after if after < self.total and self.items else None

    def as_dict(self, view: Callable[[T], Any]) -> dict[str, Any]:
        """The paged JSON shape: `{"items", "total", "limit", "offset", "next"}`."""
        return {
            "items": [view(item) for item in self.items],
            "total": self.total,
            "limit": self.limit,
            "offset": self.offset,
            "next": self.next_offset,
        }

    def summary(self) -> str:
        """What a table shows under itself: `showing 1-50 of 312 (next: --offset 50)`."""
        if not self.items:
            return f"showing none of {self.total}" + (f" (offset {self.offset})" if self.offset else "")
        shown = f"showing {self.offset + 1}-{self.offset + len(self.items)} of {self.total}"
        following = self.next_offset
        return shown if following is None else f"{shown} (next: --offset {following})"
