"""Reading the text files users hand us (catalogs, networks, order exports), with a reason if we cannot.

A file saved in Latin-1 or Windows-1252 is a common mistake; the user learns which byte on which
line is not UTF-8 instead of a traceback.
"""

from __future__ import annotations

from pathlib import Path

from microfactory.errors import Invalid
from microfactory.problems import Problem


def read_text(path: str | Path, kind: str, error: type[Invalid] = Invalid, encoding: str = "utf-8") -> str:
    """The file's text, or `error` naming why it cannot be read (not UTF-8, missing, a folder)."""
    try:
        raw = Path(path).read_bytes()
    except OSError as problem:
        raise error(
            f"cannot read {kind} file {path}", [Problem("", problem.strerror or str(problem))]
        ) from None
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as problem:
        line = raw[: problem.start].count(b"\n") + 1
        column = problem.start - (raw.rfind(b"\n", 0, problem.start) + 1) + 1
        byte = raw[problem.start : problem.start + 1].hex()
        message = f"byte 0x{byte} at line {line}, column {column} is not UTF-8: save the file as UTF-8"
        raise error(f"{kind} file {path} is not UTF-8 text", [Problem("", message)]) from None
