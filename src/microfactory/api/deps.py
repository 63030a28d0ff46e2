"""Request-scoped dependencies: one unit of work per request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request

from microfactory.db.engine import write_lock
from microfactory.db.unit_of_work import UnitOfWork

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def unit_of_work(request: Request) -> Iterator[UnitOfWork]:
    """A unit of work per request; requests that write take the database's write turn first."""
    if request.method in READ_METHODS:
        with UnitOfWork(request.app.state.session_factory) as uow:
            yield uow
        return
    with write_lock(request.app.state.engine), UnitOfWork(request.app.state.session_factory) as uow:
        yield uow


Uow = Annotated[UnitOfWork, Depends(unit_of_work)]
