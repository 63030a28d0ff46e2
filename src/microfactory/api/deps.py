"""Request-scoped dependencies: the process's container, one unit of work per request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request

from microfactory.bootstrap import Container
from microfactory.db.engine import bounded_write_turn
from microfactory.db.unit_of_work import UnitOfWork

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def container_of(request: Request) -> Container:
    """The container `create_app` was built over (settings, engine, adapters, workers)."""
    container: Container = request.app.state.container
    return container


def unit_of_work(request: Request) -> Iterator[UnitOfWork]:
    """A unit of work per request; requests that write take the database's write turn first.

    The turn is taken with a bounded wait (`db.engine.WriteTurn.bounded`): this dependency and the
    endpoint run in two calls of the same thread pool, so waiting here without a bound could take
    every thread while the holder waits for one to finish in. Too many waiters get 503.
    """
    container = container_of(request)
    if request.method in READ_METHODS:
        with container.unit_of_work() as uow:
            yield uow
        return
    with bounded_write_turn(container.engine), container.unit_of_work() as uow:
        yield uow


Uow = Annotated[UnitOfWork, Depends(unit_of_work)]
