"""Text-option patterns on RE2, a linear-time engine.

A catalog's `pattern` is run on every order line a customer types. Python's backtracking `re` can
take exponential time on patterns such as `^(a+)+$` (one 29-character engraving froze the server
for seconds), so patterns run on RE2, whose time is linear in the text. RE2 has no backreferences
or lookaround; a catalog using them is refused at load, naming the option and the pattern.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import re2


class PatternError(Exception):
    """RE2 cannot run the pattern (invalid syntax, or a backtracking-only feature)."""


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # the catalog's problem list says it; no stray lines on stderr
    return options


@dataclass(frozen=True, eq=False)
class TextPattern:
    """A compiled pattern; `fullmatch` answers in time linear in the text."""

    pattern: str
    _compiled: Any

    @classmethod
    def compile(cls, pattern: str) -> TextPattern:
        try:
            compiled = re2.compile(pattern, _options())
        except re2.error as error:
            reason = error.args[0] if error.args else error
            if isinstance(reason, bytes):
                reason = reason.decode("utf-8", "replace")
            raise PatternError(str(reason)) from None
        return cls(pattern, compiled)

    def fullmatch(self, text: str) -> bool:
        return self._compiled.fullmatch(text) is not None
