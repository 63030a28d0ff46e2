"""Readings that name no operation are charged to the step their machine runs, read from storage."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import orjson
from sqlalchemy import Engine, select

from microfactory.db.tables.telemetry import AlertRow, TelemetryReadingRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.production.telemetry import service
from microfactory.production.telemetry.ingest import Ingest
from microfactory.production.telemetry.model import topic_for
from microfactory.production.telemetry.store import ReadingWriter, running_operations
from tests.integration.production.berlin_work import NOW, operations, release, report, route_keypads, send

PRINTER = "ber-fdm-1"  # PLA-BLACK, nozzle_temp limits [180, 260] in the example network


def _reading(minutes: int, operation: str | None = None, **readings: float) -> tuple[str, bytes]:
    payload: dict[str, object] = {"ts": (NOW + timedelta(minutes=minutes)).isoformat(), "readings": readings}
    if operation is not None:
        payload["operation"] = operation
    return topic_for("berlin", PRINTER), orjson.dumps(payload)


def _limits(engine: Engine) -> Ingest:
    def limits() -> service.MachineLimits:
        with UnitOfWork.for_engine(engine) as uow:
            return service.machine_limits(uow)

    ingest = Ingest(ReadingWriter(engine), limits, clock=lambda: NOW + timedelta(hours=1))
    ingest.start()
    return ingest


def _readings(engine: Engine) -> list[tuple[float, str | None]]:
    with engine.connect() as connection:
        query = select(TelemetryReadingRow.value, TelemetryReadingRow.operation_id)
        return [(value, op) for value, op in connection.execute(query.order_by(TelemetryReadingRow.ts))]


def test_readings_and_alerts_name_the_running_step_until_it_finishes(engine: Engine, examples: Path) -> None:
    route_keypads(engine, examples, ["black"])
    release(engine)
    step = next(
        op for op in operations(engine, "released") if op["ready"] and op["capability"] == "fdm_print"
    )
    ingest = _limits(engine)
    assert ingest.accept([_reading(0, bed_temp=25.0)]) == 1  # idle: nobody to charge

    send(engine, report(step, "started", NOW + timedelta(minutes=1), machine=PRINTER))
    with UnitOfWork.for_engine(engine) as uow:
        assert service.running_operation(uow, PRINTER) == step["id"]
        assert service.running_operation(uow, "ber-fdm-2") is None
    ingest.accept([_reading(2, nozzle_temp=215.0), _reading(3, nozzle_temp=290.0)])  # too hot
    ingest.accept([_reading(4, "opr_named", nozzle_temp=200.0)])  # a payload's own operation wins
    send(engine, report(step, "finished", NOW + timedelta(minutes=30), machine=PRINTER))
    ingest.accept([_reading(31, bed_temp=30.0)])
    ingest.writer.close()

    assert _readings(engine) == [
        (25.0, None),
        (215.0, step["id"]),
        (290.0, step["id"]),
        (200.0, "opr_named"),
        (30.0, None),
    ]
    with engine.connect() as connection:
        alert = connection.execute(select(AlertRow.kind, AlertRow.operation_id)).one()
    assert tuple(alert) == ("limit", step["id"])
    with UnitOfWork.for_engine(engine) as uow:
        assert service.running_operation(uow, PRINTER) is None


def test_one_query_answers_a_batch_of_machines_by_site(engine: Engine, examples: Path) -> None:
    route_keypads(engine, examples, ["black"])
    release(engine)
    step = next(
        op for op in operations(engine, "released") if op["ready"] and op["capability"] == "fdm_print"
    )
    send(engine, report(step, "started", NOW + timedelta(minutes=1), machine=PRINTER))
    with engine.connect() as connection:
        found = running_operations(connection, {("berlin", PRINTER), ("berlin", "ber-fdm-2")})
        elsewhere = running_operations(connection, {("lyon", PRINTER)})  # another site's machine
    assert found == {PRINTER: step["id"]}
    assert elsewhere == {}
