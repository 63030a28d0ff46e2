"""`--option K=V` as typed on the command line, for `translate` and `orders correct`."""

from __future__ import annotations

import typer


def parse_options(pairs: list[str]) -> dict[str, str]:
    """Option values by name; a pair without `=` or without a name is refused with its place."""
    options: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{pair!r} is not K=V", param_hint="--option")
        options[key.strip()] = value
    return options
