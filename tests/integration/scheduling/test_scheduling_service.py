"""Planning a site from what routing stored: the real work orders of the site, checked by the validator."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from microfactory.catalog import service as catalog_service
from microfactory.catalog.load import read_catalog_file
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.network import service as network_service
from microfactory.network.document import read_network_file
from microfactory.network.stored_state import NoNetwork
from microfactory.orders import service as order_service
from microfactory.orders.model import Address, NewOrder, NewOrderLine
from microfactory.scheduling.service import UnknownSite, local_site, plan_for_site, site_work_orders
from microfactory.scheduling.site_plan import SitePlanSettings
from microfactory.scheduling.validate import validate

NOW = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # Monday, 08:00 in Berlin
KREUZBERG = Address(name="Jonas Weber", city="Berlin", country="DE", latitude=52.50, longitude=13.42)


def _take(uow: UnitOfWork, number: int, color: str, engraving: str = "") -> None:
    options = {"keys": 8, "color": color, "engraving": engraving}
    line = NewOrderLine(qty=1, product="KP", options=options)
    order_service.intake(
        uow, NewOrder(channel="test", external_id=f"S-{number}", lines=(line,), ship_to=KREUZBERG)
    )


def _route_keypads(engine: Engine, examples: Path, keypads: list[tuple[str, str]]) -> set[str | None]:
    """The example catalog and network, one order per (colour, engraving) keypad, routed at NOW;
    the sites the work went to."""
    with UnitOfWork.for_engine(engine) as uow:
        catalog_service.load_catalog(uow, read_catalog_file(examples / "catalog-keypad.yaml"))
        network_service.load_network(uow, read_network_file(examples / "network.yaml"))
        for number, (color, engraving) in enumerate(keypads):
            _take(uow, number, color, engraving)
        uow.commit()
    with UnitOfWork.for_engine(engine) as uow:
        outcomes = network_service.route_work_orders(uow, now=NOW)
        uow.commit()
    return {outcome.site for outcome in outcomes}


def test_a_site_plans_the_work_orders_routed_to_it(engine: Engine, examples: Path) -> None:
    with UnitOfWork.for_engine(engine) as uow, pytest.raises(NoNetwork):
        plan_for_site(uow, "berlin", NOW)
    colors = ["black", "red", "black", "teal", "red", "black"]
    keypads = [(color, "Desk" if number % 2 else "") for number, color in enumerate(colors)]
    assert _route_keypads(engine, examples, keypads) == {"berlin"}
    with UnitOfWork.for_engine(engine) as uow:
        berlin, lyon = local_site(uow, "berlin"), local_site(uow, "lyon")
        work_orders = site_work_orders(uow, berlin, NOW)
        assert len(work_orders) == 6
        # due at the close of the promised ship day in Berlin: 18:00 CET is 17:00 UTC
        assert {w.due for w in work_orders} == {datetime(2026, 3, 2, 17, 0, tzinfo=UTC)}
        assert site_work_orders(uow, lyon, NOW) == []
        with pytest.raises(UnknownSite, match="sites: berlin, lyon, milano"):
            plan_for_site(uow, "central", NOW)
        site_plan = plan_for_site(uow, "berlin", NOW, SitePlanSettings(time_limit=2))
    assert validate(site_plan.problem, site_plan.plan) == []
    assert set(site_plan.completions) == {w.id for w in work_orders}
    assert all(done > NOW for done in site_plan.completions.values())
    due = {w.id: w.due for w in work_orders}
    assert site_plan.on_time == sum(site_plan.completions[i] <= due[i] for i in due)


def test_planning_promises_each_work_order_its_planned_finish(engine: Engine, examples: Path) -> None:
    from microfactory.db.tables.network import AssignmentRow
    from microfactory.db.tables.orders import WorkOrderRow
    from microfactory.orders import audit
    from microfactory.scheduling.service import plan_and_promise

    with UnitOfWork.for_engine(engine) as uow:
        catalog_service.load_catalog(uow, read_catalog_file(examples / "catalog-keypad.yaml"))
        network_service.load_network(uow, read_network_file(examples / "network.yaml"))
        for number in range(8):
            _take(uow, number, ["black", "red", "teal", "white"][number % 4])
        uow.commit()
    with UnitOfWork.for_engine(engine) as uow:
        network_service.route_work_orders(uow, now=NOW)
        uow.commit()
    with UnitOfWork.for_engine(engine) as uow:
        site_plan, slipped = plan_and_promise(uow, "berlin", NOW, SitePlanSettings(time_limit=2))
        uow.commit()
    with UnitOfWork.for_engine(engine) as uow:
        rows = {row.work_order_id: row for row in uow.session.query(AssignmentRow).all()}
        for work_order_id, done in site_plan.completions.items():
            row = rows[work_order_id]
            assert row.promised_ship_at == done  # inside working hours: ships when it is done
            assert row.promised_delivery_at is not None
            assert row.promised_delivery_at.date() >= done.date()
            assert uow.session.get(WorkOrderRow, work_order_id).status == "scheduled"  # type: ignore[union-attr]
        assert set(slipped) <= set(site_plan.completions)
        for work_order_id in slipped:
            assert rows[work_order_id].slipped
            trail = [event.to_status for event in audit.history(uow, [work_order_id])]
            assert "promise_slipped" in trail


def test_the_site_plan_keeps_the_promises_routing_made(engine: Engine, examples: Path) -> None:
    """Routing promises from the site's queue laid on its machines; planning the site then finishes
    every work order by its promised ship day, and nothing slips."""
    from microfactory.scheduling.service import plan_and_promise

    colours = ["black", "teal", "white", "red", "black"]
    keypads = [(colours[number % 5], "Desk" if number % 3 == 0 else "") for number in range(16)]
    assert _route_keypads(engine, examples, keypads) == {"berlin"}
    with UnitOfWork.for_engine(engine) as uow:
        promised = {w.id: w.due for w in site_work_orders(uow, local_site(uow, "berlin"), NOW)}
        assert len(set(promised.values())) > 1  # sixteen keypads do not all ship on the first day
        site_plan, slipped = plan_and_promise(uow, "berlin", NOW, SitePlanSettings(time_limit=2))
        uow.commit()
    assert slipped == []
    assert all(site_plan.completions[wid] <= due for wid, due in promised.items())
