"""The errors a user can act on, by kind: one small tree, mapped once to HTTP and once to the CLI.

```
MicrofactoryError            something the user (or an upstream system) can act on
 ├── NotFound                a named thing does not exist              HTTP 404, CLI exit 3
 ├── Conflict                the thing exists but the rule refuses it  HTTP 409, CLI exit 4
 ├── Invalid(problems)       the input is wrong: every problem named   HTTP 422, CLI exit 2
 ├── UpstreamFailure         a store, carrier or machine failed us     HTTP 502, CLI exit 5
 ├── MissingSetting          the operator has not configured it        HTTP 503, CLI exit 2
 ├── Forbidden               the caller's role may not do this         HTTP 403, CLI exit 6
 └── Busy                    too many writers wait: try again shortly  HTTP 503 + Retry-After, exit 7
```

Builtin exceptions (`KeyError`, `IndexError`, `ValueError` from a library) are bugs: the API answers
500 and logs the traceback; they are never turned into a 404 or a 422 by accident. The mapping to
HTTP lives in `api/errors.py`, the one to exit codes in `cli/errors.py`; each capability subclasses
these (`OrderNotFound(NotFound)`, `AssignmentConflict(Conflict)`, `AdminApiError(UpstreamFailure)`)
to keep its own name while the entrypoints need to know only the kinds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from microfactory.problems import Problem


class MicrofactoryError(Exception):
    """Base of every error the API and CLI turn into a clean answer."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NotFound(MicrofactoryError):
    """A named thing (order, work order, site, shipment) does not exist."""

    def __init__(self, kind: str, identifier: str, message: str | None = None) -> None:
        super().__init__(message or f"no {kind} {identifier!r}")
        self.kind = kind
        self.identifier = identifier


class Conflict(MicrofactoryError):
    """The thing exists, but its state or a rule refuses the request (an illegal transition)."""


class Invalid(MicrofactoryError):
    """The input is refused whole; carries every problem found, each with its place."""

    def __init__(self, summary: str, problems: Iterable[Problem] = ()) -> None:
        self.summary = summary
        self.problems = list(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"{summary}\n{lines}" if lines else summary)

    def as_dict(self) -> dict[str, object]:
        return {"error": self.summary, "problems": [problem.as_dict() for problem in self.problems]}


class UpstreamFailure(MicrofactoryError):
    """A system we call (store, carrier, machine, inspector) failed or answered nonsense."""

    def __init__(self, upstream: str, message: str, *, retryable: bool = True) -> None:
        super().__init__(f"{upstream}: {message}")
        self.upstream = upstream
        self.detail = message
        self.retryable = retryable


class MissingSetting(MicrofactoryError):
    """A command or request needs a setting that is not in the environment; the message names it.

    Not the user's input and not an upstream failure: the operator must configure the service.
    """

    def __init__(self, name: str, why: str) -> None:
        super().__init__(f"{name} is not set: {why}")
        self.name = name


def nearest_code(error: MicrofactoryError, codes: Mapping[type[MicrofactoryError], int], default: int) -> int:
    """The code of an error's nearest kind in `codes` (an HTTP status, an exit code), else `default`.

    The API and the CLI each keep one table of codes by kind; the most specific kind wins.
    """
    for kind in type(error).__mro__:
        if kind in codes:
            return codes[kind]
    return default


class Forbidden(MicrofactoryError):
    """The caller is known, but its role (or its site, or the channel) does not allow the request."""


class Busy(MicrofactoryError):
    """The database's write turn is taken and enough others wait for it: refused now, not queued.

    A clean, quick refusal keeps the server answering everyone else; the caller retries after
    `retry_after` seconds (the API sends it as `Retry-After`).
    """

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after
