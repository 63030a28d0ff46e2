"""Order intake for the API with group commit (`db.group_commit`): orders that arrive together
are written together, one flush and one commit per burst, each answered once it is durable."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from microfactory.db.group_commit import GroupCommit
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.orders.model import NewOrder
from microfactory.orders.service import IntakeResult, OrderDiffers, intake_many

View = Callable[[IntakeResult], Any]


class IntakeQueue:
    """`await submit(order)` returns (view of the order, created) once its batch has committed."""

    def __init__(self, factory: sessionmaker[Session], view: View, max_batch: int = 32) -> None:
        self._factory = factory
        self._view = view
        self._group = GroupCommit(self._write, max_batch, linger=True)  # see `db.group_commit`

    async def submit(self, order: NewOrder, actor: str = "intake") -> tuple[Any, bool]:
        """Raises `OrderDiffers` when the order's id was received before with other content.

        `actor` is who sent it, as the audit trail names them (the API token's name).
        """
        answer = await self._group.submit((order, actor))
        if isinstance(answer, OrderDiffers):
            raise answer
        return answer

    def _write(self, sent: list[tuple[NewOrder, str]]) -> list[tuple[Any, bool] | OrderDiffers]:
        with UnitOfWork(self._factory) as uow, uow.write_turn():
            results = intake_many(uow, [order for order, _ in sent], [actor for _, actor in sent])
            uow.commit()
            return [
                result.refused if result.refused is not None else (self._view(result), result.created)
                for result in results
            ]
