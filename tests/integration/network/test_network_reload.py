"""Loading a changed network: a new version, sites added and removed, work at a removed site moved."""

from __future__ import annotations

import copy
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from microfactory.db.tables.network import AssignmentRow, StockRow
from microfactory.db.tables.orders import AuditEventRow, WorkOrderRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import Conflict
from microfactory.network import service
from microfactory.network.document import read_network_file
from microfactory.network.stored_state import current

from .conftest import EXAMPLES, LYON, NOW, PlaceOrder

Uows = Callable[[], UnitOfWork]


def _example() -> dict[str, Any]:
    return read_network_file(EXAMPLES / "network.yaml")


def _load(open_uow: Uows, document: dict[str, Any]) -> service.LoadResult:
    with open_uow() as uow:
        result = service.load_network(uow, document, now=NOW)
        uow.commit()
    return result


def test_a_changed_labour_rate_is_a_new_version_that_keeps_stock_and_machines(open_uow: Uows) -> None:
    changed = _example()
    changed["sites"]["berlin"]["labour_rate_per_hour"] = 41.0
    changed["sites"]["berlin"]["stock"]["SWITCH"] = 2500
    result = _load(open_uow, changed)
    assert result.created
    assert result.version == 2
    assert result.removed_sites == [] and result.added_sites == []
    with open_uow() as uow:
        ctx = current(uow)
        assert ctx.network.sites["berlin"].labour_rate_per_hour == Decimal("41.0")
        counted = uow.session.scalar(
            select(StockRow.on_hand).where(StockRow.site == "berlin", StockRow.part == "SWITCH")
        )
        assert counted == Decimal(2500)
    assert not _load(open_uow, changed).created  # the same document again: nothing changes


def test_removing_a_site_reroutes_its_work_with_an_audit_trail(
    open_uow: Uows, place_order: PlaceOrder
) -> None:
    [wo] = place_order({"keys": 4}, ship_to=LYON)
    with open_uow() as uow:
        [outcome] = service.route_work_orders(uow, now=NOW)
        uow.commit()
    assert outcome.site == "lyon"
    smaller = _example()
    del smaller["sites"]["lyon"]
    smaller["sites"]["paris"] = copy.deepcopy(_example()["sites"]["lyon"])
    smaller["sites"]["paris"]["machines"] = [
        {**m, "id": m["id"].replace("lyo", "par")} for m in smaller["sites"]["paris"]["machines"]
    ]
    result = _load(open_uow, smaller)
    assert result.removed_sites == ["lyon"] and result.added_sites == ["paris"]
    assert [o.work_order_ids for o in result.rerouted] == [[wo]]
    with open_uow() as uow:
        rows = uow.session.scalars(
            select(AssignmentRow).where(AssignmentRow.work_order_id == wo).order_by(AssignmentRow.created_at)
        ).all()
        assert (rows[0].site, rows[0].status) == ("lyon", "released")
        assert "lyon removed from network keystone-eu" in rows[0].reason
        assert rows[1].status == "offered" and rows[1].site == result.rerouted[0].site != "lyon"
        work_order = uow.session.get(WorkOrderRow, wo)
        assert work_order is not None and work_order.site == rows[1].site
        assert {s for (s,) in uow.session.execute(select(StockRow.site))} == {"berlin", "paris", "milano"}
        loads = uow.session.scalars(
            select(AuditEventRow.reason).where(
                AuditEventRow.entity == "network", AuditEventRow.entity_id == "keystone-eu"
            )
        ).all()
        assert any("removed lyon" in reason and "added paris" in reason for reason in loads)


def test_removing_a_site_with_started_work_is_refused_naming_it(
    open_uow: Uows, place_order: PlaceOrder
) -> None:
    [wo] = place_order({"keys": 4}, ship_to=LYON)
    with open_uow() as uow:
        service.route_work_orders(uow, now=NOW)
        work_order = uow.session.get(WorkOrderRow, wo)
        assert work_order is not None
        work_order.status = "in_progress"
        uow.commit()
    smaller = _example()
    del smaller["sites"]["lyon"]
    with open_uow() as uow, pytest.raises(Conflict) as refused:
        service.load_network(uow, smaller, now=NOW)
    assert "lyon" in str(refused.value) and wo in str(refused.value)
    with open_uow() as uow:
        assert "lyon" in current(uow).network.sites  # nothing changed
