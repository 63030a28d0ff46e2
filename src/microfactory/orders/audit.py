"""The audit trail: every state change of an order, line or work order, with its reason."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from microfactory.db.tables.orders import AuditEventRow
from microfactory.db.unit_of_work import UnitOfWork


def record(
    uow: UnitOfWork,
    entity: str,
    entity_id: str,
    to_status: str,
    from_status: str | None = None,
    reason: str = "",
    actor: str = "system",
) -> None:
    uow.session.add(
        AuditEventRow(
            entity=entity,
            entity_id=entity_id,
            from_status=from_status,
            to_status=to_status,
            reason=reason,
            actor=actor,
        )
    )


def history(uow: UnitOfWork, entity_ids: Sequence[str]) -> list[AuditEventRow]:
    """Every recorded change of the given entities, oldest first."""
    return list(
        uow.session.scalars(
            select(AuditEventRow)
            .where(AuditEventRow.entity_id.in_(entity_ids))
            .order_by(AuditEventRow.at, AuditEventRow.id)
        )
    )
