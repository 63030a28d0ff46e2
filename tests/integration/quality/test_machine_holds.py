"""SPC holds a machine for new jobs: telemetry out of control -> hold + `spc` alert; the plan uses
the other machines, a start reported on the held machine is refused, the site view shows it, and
only a person releases it (once)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from microfactory.db.tables.telemetry import TelemetryReadingRow
from microfactory.db.unit_of_work import UnitOfWork
from tests.integration.production.berlin_work import NOW, operations, release, report, send
from tests.integration.quality.scripted import ordered_and_accepted

NOISE = [0.0, 0.2, -0.1, 0.15, -0.2, 0.05, -0.05, 0.1]


def _readings(engine: Engine, machine: str, values: list[float]) -> None:
    with UnitOfWork.for_engine(engine) as uow:
        uow.session.add_all(
            TelemetryReadingRow(
                site="berlin", machine=machine, metric="torque", ts=NOW + timedelta(minutes=i), value=value
            )
            for i, value in enumerate(values)
        )
        uow.commit()


def test_a_machine_out_of_control_gets_no_new_jobs_until_released(
    client: TestClient, engine: Engine, examples: Path
) -> None:
    ordered_and_accepted(engine, examples)
    _readings(engine, "ber-bench-1", [10 + NOISE[i % 8] for i in range(22)] + [25.0])
    looked = client.get("/api/v1/quality/spc", params={"machine": "ber-bench-1", "metric": "torque"}).json()
    (_, torque) = looked["charts"]
    assert torque["kind"] == "individuals" and torque["signals"][-1]["rule"] == "beyond_3_sigma"
    assert looked["holds"] == []  # a GET only looks
    png = client.get("/api/v1/quality/spc.png", params={"machine": "ber-bench-1", "metric": "torque"})
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")

    acted = client.post("/api/v1/quality/spc", params={"machine": "ber-bench-1", "metric": "torque"}).json()
    (hold,) = acted["holds"]
    assert (
        hold["machine"] == "ber-bench-1"
        and hold["chart"] == "x:torque"
        and "above the 3σ limit" in hold["explanation"]
    )
    alerts = client.get("/api/v1/alerts").json()
    assert [a["kind"] for a in alerts if a["machine"] == "ber-bench-1"] == ["spc"]
    again = client.post("/api/v1/quality/spc", params={"machine": "ber-bench-1", "metric": "torque"}).json()
    assert again["holds"] == []  # one hold in force per machine

    site = client.get("/api/v1/network/sites/berlin").json()
    assert {m["id"]: m["held"] for m in site["machines"]}["ber-bench-1"] is True
    release(engine, NOW)
    ops = operations(engine, "released")
    assert ops and "ber-bench-1" not in {op["machine"] for op in ops}
    assembly = next(op for op in ops if op["capability"] == "assembly")
    (refused,) = send(engine, report(assembly, "started", NOW + timedelta(hours=1), machine="ber-bench-1"))
    assert refused.outcome == "refused" and "on hold for new jobs" in (refused.reason or "")

    released = client.post("/api/v1/quality/holds/ber-bench-1/release", json={"reason": "gearbox replaced"})
    assert released.status_code == 200 and released.json()["release_reason"] == "gearbox replaced"
    twice = client.post("/api/v1/quality/holds/ber-bench-1/release", json={"reason": "again"})
    assert twice.status_code == 409 and "not on hold" in twice.json()["error"]
    unknown = client.post("/api/v1/quality/holds/ber-nothing-9/release", json={"reason": "typo"})
    assert unknown.status_code == 404 and "ber-nothing-9" in unknown.json()["error"]
    assert client.get("/api/v1/quality/holds").json() == []
    assert len(client.get("/api/v1/quality/holds", params={"all": "true"}).json()) == 1
