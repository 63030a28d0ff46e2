"""The audit trail: every state change of an order, line or work order, with its reason.

Events are collected during the unit of work and written in one statement just before it commits,
so tracing costs one insert per use case rather than one per change.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select

from microfactory.db.base import utcnow
from microfactory.db.tables.orders import AuditEventRow
from microfactory.db.unit_of_work import UnitOfWork

_PENDING = "audit_events"


def record(
    uow: UnitOfWork,
    entity: str,
    entity_id: str,
    to_status: str,
    from_status: str | None = None,
    reason: str = "",
    actor: str = "system",
) -> None:
    """Note a state change; it is written when the unit of work commits, and only then."""
    uow.staged.setdefault(_PENDING, []).append(
        {
            "entity": entity,
            "entity_id": entity_id,
            "from_status": from_status,
            "to_status": to_status,
            "reason": reason[:2000],
            "actor": actor,
            "at": utcnow(),
        }
    )
    uow.before_commit(_PENDING, lambda: _write(uow))


def mark(uow: UnitOfWork) -> int:
    """A bookmark in the changes noted so far, to forget what a rolled-back savepoint noted."""
    return len(uow.staged.get(_PENDING, []))


def discard_since(uow: UnitOfWork, bookmark: int) -> None:
    del uow.staged.get(_PENDING, [])[bookmark:]


def _write(uow: UnitOfWork) -> None:
    pending: list[dict[str, Any]] = uow.staged.pop(_PENDING, [])
    if pending:
        uow.session.execute(insert(AuditEventRow), pending)


def history(uow: UnitOfWork, entity_ids: Sequence[str]) -> list[AuditEventRow]:
    """Every recorded change of the given entities, oldest first."""
    return list(
        uow.session.scalars(
            select(AuditEventRow)
            .where(AuditEventRow.entity_id.in_(entity_ids))
            .order_by(AuditEventRow.at, AuditEventRow.id)
        )
    )
