"""Material lots in the unit trace (issue 12, item 5): the reported lot, else the site's lot in the
network at the start, else null; never guessed. Server side, API and CLI manual paths."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from microfactory.catalog.load import read_catalog_file
from microfactory.db.engine import make_engine
from microfactory.db.migrate import upgrade
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import Invalid
from microfactory.network import service as network_service
from microfactory.network.document import build_network, read_network_file
from microfactory.production.trace import unit_trace
from microfactory.production.units import serials_of
from tests.conftest import CommandLine

from .berlin_work import NOW, make_work_order, operations, release, report, route_keypads, send

BERLIN = {"city": "Berlin", "country": "DE", "latitude": 52.52, "longitude": 13.4}


def _with_lots(examples: Path, lots: dict[str, str]) -> dict[str, Any]:
    """The example network with Berlin's current lot of some materials (our `materials:` extension)."""
    document = copy.deepcopy(read_network_file(examples / "network.yaml"))
    document["sites"]["berlin"]["materials"] = {material: {"lot": lot} for material, lot in lots.items()}
    return document


def _trace(engine: Engine, work_order_id: str) -> dict[str, Any]:
    with UnitOfWork.for_engine(engine) as uow:
        (serial,) = serials_of(uow, work_order_id)
        return unit_trace(uow, serial)


def test_the_network_gives_each_site_material_its_lot_and_refuses_a_bad_one(examples: Path) -> None:
    network = build_network(_with_lots(examples, {"PLA-TEAL": "L-2611"}))
    assert network.sites["berlin"].material_lots == {"PLA-TEAL": "L-2611"}
    assert network.sites["lyon"].material_lots == {}
    bad = _with_lots(examples, {})
    bad["sites"]["berlin"]["materials"] = {"PLA-TEAL": {"lot": 7}}
    with pytest.raises(Invalid) as refused:
        build_network(bad)
    assert [p.path for p in refused.value.problems] == ["sites.berlin.materials.PLA-TEAL.lot"]


def test_a_reported_lot_wins_a_site_lot_fills_in_and_else_the_lot_is_unknown(
    engine: Engine, examples: Path
) -> None:
    (work_order,) = route_keypads(engine, examples, ["teal"])
    with UnitOfWork.for_engine(engine) as uow:
        network_service.load_network(uow, _with_lots(examples, {"PLA-TEAL": "SITE-TEAL-7"}))
        uow.commit()
    release(engine)
    top = next(op for op in operations(engine) if op["op"] == "make:HSG-TOP")
    assert top["params"]["material"] == "PLA-TEAL"
    started = send(engine, report(top, "started", NOW, material_lot="REPORTED-1"))
    finished = send(engine, report(top, "finished", NOW + timedelta(minutes=5)))
    assert [r.outcome for r in started + finished] == ["applied", "applied"]
    make_work_order(engine, work_order, NOW + timedelta(minutes=10))
    materials = _trace(engine, work_order)["materials"]
    lots = {m["part"]: (m["material"], m["lot"]) for m in materials}
    assert lots["HSG-TOP"] == ("PLA-TEAL", "REPORTED-1")  # the report's lot, kept through the finish
    teal = [m for m in materials if m["material"] == "PLA-TEAL" and m["part"] != "HSG-TOP"]
    assert teal and all(m["lot"] == "SITE-TEAL-7" for m in teal)  # the site's lot, from the network


def test_without_lots_anywhere_the_trace_says_null(engine: Engine, examples: Path) -> None:
    (work_order,) = route_keypads(engine, examples, ["black"])
    release(engine)
    make_work_order(engine, work_order)
    materials = _trace(engine, work_order)["materials"]
    assert materials and {m["lot"] for m in materials} == {None}


def test_a_resend_with_another_lot_is_refused_naming_it(engine: Engine, examples: Path) -> None:
    route_keypads(engine, examples, ["black"])
    release(engine)
    top = next(op for op in operations(engine) if op["op"] == "make:HSG-TOP")
    assert send(engine, report(top, "started", NOW, "r-lot", material_lot="A"))[0].outcome == "applied"
    assert send(engine, report(top, "started", NOW, "r-lot", material_lot="A"))[0].outcome == "duplicate"
    changed = send(engine, report(top, "started", NOW, "r-lot", material_lot="B"))[0]
    assert changed.outcome == "refused" and "material_lot: 'A' before, 'B' now" in str(changed.reason)


def _release_by_api(client: TestClient, examples: Path, colour: str) -> str:
    catalog = read_catalog_file(examples / "catalog-keypad.yaml")
    assert client.post("/api/v1/catalogs", json=catalog).status_code == 201
    network = _with_lots(examples, {"PLA-BLACK": "SITE-BLACK-3"})
    assert client.post("/api/v1/network", json=network).status_code == 201
    line = {"product": "KP", "options": {"keys": 4, "color": colour}}
    body = {"external_id": "L-1", "ship_to": BERLIN, "lines": [line]}
    work_order = client.post("/api/v1/orders", json=body).json()["lines"][0]["work_order_id"]
    routed = client.post(f"/api/v1/work-orders/{work_order}/route").json()
    assert client.post(f"/api/v1/assignments/{routed['assignments'][0]['id']}/accept").status_code == 200
    assert client.post("/api/v1/sites/berlin/plan", params={"time_limit": 1}).status_code == 200
    return str(work_order)


def test_lots_by_api_station_and_agent_reports_reach_the_unit(client: TestClient, examples: Path) -> None:
    work_order = _release_by_api(client, examples, "black")
    at = NOW
    for _ in range(10):
        ready = [
            op
            for op in client.get("/api/v1/sites/berlin/operations", params={"status": "released"}).json()
            if op["ready"]
        ]
        for op in ready:
            at += timedelta(minutes=5)
            if op["op"] == "make:HSG-TOP":  # the agent's report names the lot
                body = {
                    "reports": [
                        {
                            "id": f"agent-{op['id']}",
                            "operation_id": op["id"],
                            "event": "started",
                            "machine": op["machine"],
                            "at": at.isoformat(),
                            "material_lot": "AGENT-9",
                        }
                    ]
                }
                answer = client.post("/api/v1/sites/berlin/reports", json=body).json()
                assert answer["results"][0]["outcome"] == "applied", answer
            elif op["op"] == "make:HSG-BOTTOM":  # a person names it at the station
                started = client.post(
                    f"/api/v1/operations/{op['id']}/start", json={"material_lot": "BENCH-2"}
                )
                assert started.status_code == 200 and started.json()["material_lot"] == "BENCH-2"
            else:
                assert client.post(f"/api/v1/operations/{op['id']}/start").status_code == 200
            assert client.post(f"/api/v1/operations/{op['id']}/finish").status_code == 200
    shown = client.get(f"/api/v1/work-orders/{work_order}").json()
    assert shown["status"] == "made"
    by_step = {step["id"]: step["material_lot"] for step in shown["operations"]}
    assert by_step["make:HSG-TOP"] == "AGENT-9"
    empty = client.post(
        f"/api/v1/operations/{shown['operations'][0]['operation_id']}/finish", json={"material_lot": ""}
    )
    assert empty.status_code == 422
    trace = client.get(f"/api/v1/units/{shown['units'][0]}").json()
    lots = {m["part"]: m["lot"] for m in trace["materials"]}
    assert lots == {"HSG-TOP": "AGENT-9", "HSG-BOTTOM": "BENCH-2", "KEYCAP": "SITE-BLACK-3"}


def test_operations_start_with_a_lot_and_units_show_it(
    sqlite_url: str, examples: Path, command_line: CommandLine
) -> None:
    from microfactory.cli.main import app

    engine = make_engine(sqlite_url)
    upgrade(engine)
    (work_order,) = route_keypads(engine, examples, ["teal"])
    engine.dispose()
    command_line.use_database(sqlite_url)
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, list(args))
        return result.exit_code, result.output

    assert run("schedule", "site", "berlin", "--release", "--time-limit", "1")[0] == 0
    ops = json.loads(run("operations", "list", "--site", "berlin", "--status", "released", "--json")[1])
    assert run("operations", "start", ops[0]["id"], "--lot", "  ")[0] == 2
    while ops:
        for op in [op for op in ops if op["ready"]]:
            lot = ["--lot", "CLI-5"] if op["op"] == "make:HSG-TOP" else []
            assert run("operations", "start", op["id"], *lot)[0] == 0
            assert run("operations", "finish", op["id"])[0] == 0
        ops = json.loads(run("operations", "list", "--site", "berlin", "--status", "released", "--json")[1])
    shown = json.loads(run("work-orders", "show", work_order, "--json")[1])
    serial = shown["units"][0]
    code, output = run("units", "show", serial, "--json")
    lots = {m["part"]: m["lot"] for m in json.loads(output)["materials"]}
    assert code == 0 and lots["HSG-TOP"] == "CLI-5"
    code, output = run("units", "show", serial)
    assert code == 0 and "PLA-TEAL lot CLI-5" in output and "lot unknown" in output
