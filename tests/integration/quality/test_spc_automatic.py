"""SPC runs by itself where the data arrives: after an inspection is recorded (the p-chart of the
machines that made the unit) and after telemetry batches (individuals charts, throttled)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from microfactory.db.base import new_id
from microfactory.db.engine import make_session_factory
from microfactory.db.tables.orders import WorkOrderRow
from microfactory.db.tables.quality import InspectionRow, MachineHoldRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.production.progress import live_operations
from microfactory.production.telemetry.ingest import Housekeeping, Ingest
from microfactory.production.telemetry.model import topic_for
from microfactory.production.telemetry.store import ReadingWriter
from microfactory.production.telemetry.subscriber import spc_check
from microfactory.production.trace import get_unit
from tests.integration.production.berlin_work import NOW
from tests.integration.quality.scripted import png
from tests.integration.quality.test_inspection_api import _made_unit

NOISE = [0.0, 0.2, -0.1, 0.15, -0.2, 0.05, -0.05, 0.1]


def _holds(engine: Engine) -> list[MachineHoldRow]:
    with UnitOfWork.for_engine(engine) as uow:
        return list(uow.session.scalars(select(MachineHoldRow).order_by(MachineHoldRow.machine)))


def _history(engine: Engine, serial: str) -> list[str]:
    """Six quiet days (1 failure in 40) and a bad morning (8 failures) on the unit's machines."""
    with UnitOfWork.for_engine(engine) as uow:
        unit = get_unit(uow, serial)
        work_order = uow.session.get(WorkOrderRow, unit.work_order_id)
        assert work_order is not None
        machines = sorted({s.machine for s in live_operations(uow, work_order.id) if s.started_at})
        days = [(NOW - timedelta(days=d), 40, 1) for d in range(6, 0, -1)] + [(NOW, 8, 8)]
        for day, count, failed in days:
            uow.session.add_all(
                InspectionRow(
                    id=new_id("insp"),
                    serial=serial,
                    work_order_id=work_order.id,
                    site=unit.site,
                    product=work_order.product,
                    verdict="fail" if i < failed else "pass",
                    manual=False,
                    checks=[],
                    machines=machines,
                    station=None,
                    actor="history",
                    created_at=day + timedelta(minutes=i),
                )
                for i in range(count)
            )
        uow.commit()
    return machines


def test_a_recorded_failure_charts_the_machines_that_made_the_unit(
    client: TestClient, engine: Engine, examples: Path
) -> None:
    serial = _made_unit(engine, examples)
    machines = _history(engine, serial)
    assert machines and _holds(engine) == []
    response = client.post(
        f"/api/v1/units/{serial}/inspections", files={"image": ("u.png", png(True), "image/png")}
    )
    assert response.status_code == 201, response.text
    held = response.json()["holds"]
    assert {hold["machine"] for hold in held} == set(machines)
    assert all(hold["chart"] == "p:defects" for hold in held)
    assert {row.machine for row in _holds(engine)} == set(machines)


def _message(machine: str, minute: int, value: float) -> tuple[str, bytes]:
    ts = NOW + timedelta(minutes=minute)
    return topic_for("berlin", machine), orjson.dumps({"ts": ts.isoformat(), "readings": {"torque": value}})


def test_telemetry_batches_are_charted_after_ingestion_and_throttled(engine: Engine) -> None:
    rules = Housekeeping(spc_every=3600.0)
    ingest = Ingest(
        ReadingWriter(engine), dict, rules, lambda: NOW, spc=spc_check(make_session_factory(engine))
    )
    steady = [_message("ber-bench-1", i, 10 + NOISE[i % 8]) for i in range(22)]
    ingest.accept(steady)
    ingest.chores()  # charted: in control, nothing held
    assert _holds(engine) == []
    ingest.accept([_message("ber-bench-1", 22, 25.0)])
    ingest.chores()  # within the hour: not charted again yet
    assert _holds(engine) == []
    assert ingest.check_spc() == 1  # when it is due, the out-of-control reading holds the machine
    (hold,) = _holds(engine)
    assert (hold.site, hold.machine, hold.chart) == ("berlin", "ber-bench-1", "x:torque")
    assert "3" in hold.explanation
    ingest.writer.close()
