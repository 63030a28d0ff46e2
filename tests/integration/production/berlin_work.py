"""Work routed to Berlin and accepted there: what production releases and makes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select

from microfactory.catalog import service as catalog_service
from microfactory.catalog.load import read_catalog_file
from microfactory.db.tables.network import AssignmentRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.network import service as network_service
from microfactory.network.document import read_network_file
from microfactory.orders import service as order_service
from microfactory.orders.model import Address, NewOrder, NewOrderLine
from microfactory.production.model import Event, Report
from microfactory.production.release import Release, release_plan
from microfactory.production.reports import ReportResult, apply_reports
from microfactory.production.views import site_operations
from microfactory.scheduling.site_plan import SitePlanSettings

NOW = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # Monday, 08:00 in Berlin
KREUZBERG = Address(name="Jonas Weber", city="Berlin", country="DE", latitude=52.50, longitude=13.42)
FAST = SitePlanSettings(time_limit=1, workers=1)


def route_keypads(engine: Engine, examples: Path, colours: list[str], accept: int | None = None) -> list[str]:
    """One order of a keypad per colour, routed to Berlin; the first `accept` (default all) accepted."""
    with UnitOfWork.for_engine(engine) as uow:
        catalog_service.load_catalog(uow, read_catalog_file(examples / "catalog-keypad.yaml"))
        network_service.load_network(uow, read_network_file(examples / "network.yaml"))
        for number, colour in enumerate(colours):
            line = NewOrderLine(qty=1, product="KP", options={"keys": 4, "color": colour})
            order = NewOrder(channel="test", external_id=f"P-{number}", lines=(line,), ship_to=KREUZBERG)
            order_service.intake(uow, order)
        uow.commit()
    with UnitOfWork.for_engine(engine) as uow:
        outcomes = network_service.route_work_orders(uow, now=NOW)
        uow.commit()
    assert {outcome.site for outcome in outcomes} == {"berlin"}
    with UnitOfWork.for_engine(engine) as uow:
        rows = uow.session.scalars(select(AssignmentRow).order_by(AssignmentRow.created_at)).all()
        work_orders = [row.work_order_id for row in rows]
        for row in rows[: len(rows) if accept is None else accept]:
            network_service.accept(uow, row.id, actor="berlin")
        uow.commit()
    return work_orders


def release(engine: Engine, now: datetime = NOW) -> Release:
    with UnitOfWork.for_engine(engine) as uow:
        done = release_plan(uow, "berlin", now, FAST, actor="planner")
        uow.commit()
    return done


def operations(engine: Engine, *statuses: str) -> list[dict[str, object]]:
    with UnitOfWork.for_engine(engine) as uow:
        return site_operations(uow, "berlin", statuses or None)


def report(
    operation: dict[str, object], event: str, at: datetime, report_id: str | None = None, **extra: object
) -> Report:
    return Report(
        id=report_id or f"r-{operation['id']}-{event}",
        operation_id=str(operation["id"]),
        event=Event(event),
        machine=str(extra.pop("machine", operation["machine"])),
        at=at,
        operator=str(extra.pop("operator", "Ana")),
        program=extra.pop("program", None),  # type: ignore[arg-type]
        material_lot=extra.pop("material_lot", None),  # type: ignore[arg-type]
    )


def send(engine: Engine, *reports: Report, site: str = "berlin") -> list[ReportResult]:
    with UnitOfWork.for_engine(engine) as uow:
        results = apply_reports(uow, site, list(reports), actor="berlin-agent")
        uow.commit()
    return results


def make_work_order(engine: Engine, work_order_id: str, start: datetime = NOW) -> datetime:
    """Run every step of one work order as an agent would: ready steps first, each started then finished."""
    at = start
    while True:
        ready = [
            op
            for op in operations(engine, "released")
            if op["work_order_id"] == work_order_id and op["ready"]
        ]
        if not ready:
            return at
        for op in ready:
            at += timedelta(minutes=1)
            started = send(engine, report(op, "started", at, program="p.gcode"))
            at += timedelta(minutes=5)
            finished = send(engine, report(op, "finished", at))
            assert [r.outcome for r in started + finished] == ["applied", "applied"], started + finished
