"""Plans are stored and released; reports are applied once; work orders are made with serials."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from microfactory.db.tables.orders import WorkOrderRow
from microfactory.db.tables.production import OperationRow, SitePlanRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.orders import audit
from microfactory.production.trace import unit_trace

from .berlin_work import NOW, make_work_order, operations, release, report, route_keypads, send


def _status(engine: Engine, work_order_id: str) -> tuple[str, str, str]:
    with UnitOfWork.for_engine(engine) as uow:
        wo = uow.session.get(WorkOrderRow, work_order_id)
        assert wo is not None
        return wo.status, wo.line.status, wo.line.order.status


def test_a_release_stores_the_plan_and_releases_accepted_work(engine: Engine, examples: Path) -> None:
    work_orders = route_keypads(engine, examples, ["black", "red", "teal"], accept=2)
    done = release(engine)
    assert done.superseded == 0 and done.kept == 0
    ops = operations(engine)
    steps = 8  # a 4-key keypad: three prints, module assembly, flash, assembly, inspection, packing
    assert len(ops) == 3 * steps == done.released + done.planned
    by_order = {wo: [op for op in ops if op["work_order_id"] == wo] for wo in work_orders}
    assert {op["status"] for wo in work_orders[:2] for op in by_order[wo]} == {"released"}
    assert {op["status"] for op in by_order[work_orders[2]]} == {"planned"}  # only offered
    starts = [str(op["start"]) for op in ops]
    assert starts == sorted(starts)
    make = next(op for op in by_order[work_orders[0]] if op["op"] == "make:HSG-TOP")
    assert make["params"] == {"part": "HSG-TOP", "material": "PLA-BLACK"} and make["ready"] is True
    assemble = next(op for op in by_order[work_orders[0]] if op["op"] == "KP:assemble")
    ids = {op["op"]: op["id"] for op in by_order[work_orders[0]]}
    assert ids["make:HSG-TOP"] in assemble["after"] and assemble["ready"] is False
    with UnitOfWork.for_engine(engine) as uow:
        plan = uow.session.get(SitePlanRow, done.plan_id)
        assert plan is not None and plan.site == "berlin" and plan.figures["orders"] == 3
    assert _status(engine, work_orders[0])[0] == "scheduled"


def test_a_new_release_replans_what_has_not_started_and_keeps_started_work(
    engine: Engine, examples: Path
) -> None:
    first, second = route_keypads(engine, examples, ["black", "red"])
    release(engine)
    make = next(op for op in operations(engine) if op["work_order_id"] == first and op["ready"])
    result = send(engine, report(make, "started", NOW))[0]
    assert result.outcome == "applied", result.reason
    again = release(engine, NOW + timedelta(minutes=10))
    assert again.kept == 8 and again.superseded == 8  # the first keypad is started; the second replanned
    live = operations(engine)
    assert {op["id"] for op in live if op["work_order_id"] == first} >= {make["id"]}
    assert next(op for op in live if op["id"] == make["id"])["status"] == "running"
    assert len([op for op in live if op["work_order_id"] == second]) == 8
    with UnitOfWork.for_engine(engine) as uow:
        total = uow.session.scalar(select(func.count()).select_from(OperationRow))
        assert total == 24  # the superseded eight stay as history
    late = send(engine, report(make, "finished", NOW + timedelta(minutes=20)))
    assert late[0].outcome == "applied"  # the kept operation still takes its reports


def test_reports_are_applied_once_and_out_of_order_ones_are_refused(engine: Engine, examples: Path) -> None:
    (work_order,) = route_keypads(engine, examples, ["black"])
    release(engine)
    make = next(op for op in operations(engine) if op["op"] == "make:HSG-TOP")
    early = send(engine, report(make, "finished", NOW, "r-early"))
    assert early[0].outcome == "refused" and "released; finished does not apply" in str(early[0].reason)
    started = report(make, "started", NOW, "r-1")
    assert [r.outcome for r in send(engine, started, started)] == ["applied", "duplicate"]
    assert send(engine, started)[0].outcome == "duplicate"
    changed = report(make, "started", NOW + timedelta(minutes=1), "r-1")
    refusal = send(engine, changed)[0]
    assert refusal.outcome == "refused" and "at:" in str(refusal.reason) and "before" in str(refusal.reason)
    with UnitOfWork.for_engine(engine) as uow:
        row = uow.session.get(OperationRow, str(make["id"]))
        assert row is not None and row.attempts == 1 and row.status == "running" and row.operator == "Ana"
    assert _status(engine, work_order) == ("in_progress", "in_production", "in_production")
    # the early report was not kept: sent again once it fits, it applies
    assert (
        send(engine, report(make, "finished", NOW + timedelta(minutes=9), "r-early"))[0].outcome == "applied"
    )


def test_a_failed_operation_starts_again_on_an_equivalent_machine(engine: Engine, examples: Path) -> None:
    route_keypads(engine, examples, ["black"])
    release(engine)
    make = next(op for op in operations(engine) if op["op"] == "make:HSG-TOP")
    other = "ber-fdm-2" if make["machine"] == "ber-fdm-1" else "ber-fdm-1"
    wrong = send(engine, report(make, "started", NOW, "r-0", machine="ber-fdm-3"))  # no black filament
    assert wrong[0].outcome == "refused" and "PLA-BLACK" in str(wrong[0].reason)
    outcomes = send(
        engine,
        report(make, "started", NOW, "r-1"),
        report(make, "failed", NOW + timedelta(minutes=3), "r-2"),
        report(make, "started", NOW + timedelta(minutes=5), "r-3", machine=other),
    )
    assert [r.outcome for r in outcomes] == ["applied"] * 3
    (row,) = [op for op in operations(engine) if op["id"] == make["id"]]
    assert row["status"] == "running" and row["machine"] == other and row["attempts"] == 2


def test_the_last_finished_step_makes_the_work_order_and_its_units(engine: Engine, examples: Path) -> None:
    first, second = route_keypads(engine, examples, ["black", "red"])
    release(engine)
    make_work_order(engine, first)
    assert _status(engine, first) == ("made", "made", "in_production")  # fulfilled once shipped
    assert _status(engine, second)[0] == "scheduled"
    with UnitOfWork.for_engine(engine) as uow:
        trail = [event.to_status for event in audit.history(uow, [first])]
        assert trail.count("in_progress") == 1 and trail.count("made") == 1
        wo = uow.session.get(WorkOrderRow, first)
        assert wo is not None
        from microfactory.production.units import serials_of

        (serial,) = serials_of(uow, first)
        assert serial.startswith("MF-BERLIN-260302-")
        trace = unit_trace(uow, serial)
    assert trace["work_order_id"] == first and trace["order_id"] == wo.line.order_id
    assert trace["site"] == "berlin" and len(trace["operations"]) == 8
    assert {op["status"] for op in trace["operations"]} == {"done"}
    assert trace["operators"] == ["Ana"] and trace["programs"] == ["p.gcode"]
    assert {m["material"] for m in trace["materials"]} == {"PLA-BLACK"}
    assert trace["telemetry_window"]["from"] < trace["telemetry_window"]["to"]
    assert trace["inspections"] == [] and trace["shipment"] is None


def test_a_held_step_takes_no_reports_until_its_hold_is_released(engine: Engine, examples: Path) -> None:
    from microfactory.errors import Conflict
    from microfactory.production import stations

    route_keypads(engine, examples, ["black"])
    release(engine)
    make = next(op for op in operations(engine) if op["op"] == "make:HSG-TOP")
    with UnitOfWork.for_engine(engine) as uow:
        stations.hold(uow, str(make["id"]), "nozzle to check")
        uow.commit()
    refused = send(engine, report(make, "started", NOW, "r-1"))[0]
    assert refused.outcome == "refused" and "nozzle to check" in str(refused.reason)
    assert release(engine, NOW + timedelta(minutes=1)).kept == 8  # a hold survives a new release
    with UnitOfWork.for_engine(engine) as uow:
        stations.release_hold(uow, str(make["id"]))
        uow.commit()
        with pytest.raises(Conflict, match="not held"):
            stations.release_hold(uow, str(make["id"]))
    assert send(engine, report(make, "started", NOW, "r-1"))[0].outcome == "applied"
