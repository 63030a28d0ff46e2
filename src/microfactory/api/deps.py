"""Request-scoped dependencies: one unit of work per request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request

from microfactory.db.unit_of_work import UnitOfWork


def unit_of_work(request: Request) -> Iterator[UnitOfWork]:
    with UnitOfWork(request.app.state.session_factory) as uow:
        yield uow


Uow = Annotated[UnitOfWork, Depends(unit_of_work)]
