"""Issue 13 end to end: a unit fails inspection -> NCR -> rework work order -> made again through the
agent's reports -> passes -> ships through `POST /api/v1/orders/{id}/shipments`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.integration.production.berlin_work import NOW, make_work_order, operations, release
from tests.integration.quality.scripted import LATER, ordered_and_accepted, png


def _token(admin: TestClient, role: str, site: str | None = None) -> TestClient:
    body: dict[str, Any] = {"name": f"{role}-{site}", "role": role}
    if site:
        body["site"] = site
    issued = admin.post("/api/v1/tokens", json=body)
    assert issued.status_code == 201, issued.text
    return TestClient(admin.app, headers={"Authorization": f"Bearer {issued.json()['token']}"})


def _inspect(api: TestClient, serial: str, bright: bool, station: str = "ber-qa-1") -> Any:
    files = {"image": ("unit.png", png(bright), "image/png")}
    return api.post(f"/api/v1/units/{serial}/inspections", files=files, data={"station": station})


def test_a_failed_unit_is_reworked_made_again_passes_and_ships(
    client: TestClient, engine: Engine, examples: Path
) -> None:
    order_id, work_order = ordered_and_accepted(engine, examples)
    release(engine, NOW)
    make_work_order(engine, work_order, NOW)
    made = client.get(f"/api/v1/work-orders/{work_order}").json()
    assert made["status"] == "made"
    (serial,) = made["units"]
    inspector = _token(client, "inspector")
    station = _token(client, "site", "berlin")

    failed = _inspect(station, serial, bright=True)
    assert failed.status_code == 201, failed.text
    verdict = failed.json()
    assert (verdict["verdict"], verdict["work_order_status"]) == ("fail", "held")
    assert verdict["checks"][0]["inspector"] == "scripted" and verdict["checks"][0]["version"] == "scripted-2"
    assert verdict["regions"] == [[4, 4, 8, 8]] and verdict["station"] == "ber-qa-1"
    assert verdict["actor"] == "site-berlin" and verdict["image_id"]
    image = client.get(f"/api/v1/inspections/{verdict['id']}/image")
    assert image.status_code == 200 and image.content == png(True)  # the evidence, as uploaded
    shipments = f"/api/v1/orders/{order_id}/shipments"
    refused = client.post(shipments, json={"tracking_number": "T-1"})
    assert refused.status_code == 409 and "held" in refused.json()["error"]

    (ncr,) = client.get("/api/v1/ncrs", params={"status": "open"}).json()
    assert (
        ncr["id"] == verdict["ncr_id"] and ncr["serial"] == serial and "scripted scored 0.9" in ncr["summary"]
    )
    reworked = inspector.post(
        f"/api/v1/ncrs/{ncr['id']}/dispose", json={"disposition": "rework", "reason": "glare: repolish"}
    )
    assert reworked.status_code == 200, reworked.text
    assert reworked.json()["work_order_status"] == "rework" and reworked.json()["status"] == "disposed"
    again = inspector.post(
        f"/api/v1/ncrs/{ncr['id']}/dispose", json={"disposition": "scrap", "reason": "too late"}
    )
    assert again.status_code == 409 and "already disposed: rework" in again.json()["error"]

    planned = release(engine, LATER)  # the rework is planned like any other work at the site
    assert planned.released == len(made["operations"])
    assert {op["work_order_id"] for op in operations(engine, "released")} == {work_order}
    make_work_order(engine, work_order, LATER)
    remade = client.get(f"/api/v1/work-orders/{work_order}").json()
    assert remade["status"] == "made" and remade["units"] == [serial]  # it keeps its unit
    still = client.post(shipments, json={"tracking_number": "T-1"})
    assert still.status_code == 409 and f"unit {serial}" in still.json()["error"]  # not inspected again yet

    passed = _inspect(station, serial, bright=False)
    assert passed.status_code == 201 and passed.json()["verdict"] == "pass"
    shipped = client.post(shipments, json={"tracking_number": "T-1"})
    assert shipped.status_code == 201, shipped.text
    order = client.get(f"/api/v1/orders/{order_id}").json()
    assert [line["status"] for line in order["lines"]] == ["shipped"]
    trace = client.get(f"/api/v1/units/{serial}").json()
    assert [i["verdict"] for i in trace["inspections"]] == ["fail", "pass"]
    assert trace["shipment"] is not None
    history = client.get(f"/api/v1/orders/{order_id}/history").json()
    assert any("rework: glare: repolish" in event["reason"] for event in history)


def test_use_as_is_ships_and_scrap_makes_a_replacement(
    client: TestClient, engine: Engine, examples: Path
) -> None:
    order_id, work_order = ordered_and_accepted(engine, examples)
    release(engine, NOW)
    make_work_order(engine, work_order, NOW)
    (serial,) = client.get(f"/api/v1/work-orders/{work_order}").json()["units"]
    failed = _inspect(client, serial, bright=True).json()
    accepted = client.post(
        f"/api/v1/ncrs/{failed['ncr_id']}/dispose",
        json={"disposition": "use_as_is", "reason": "customer agreed"},
    )
    assert accepted.json()["work_order_status"] == "made"
    failed_again = _inspect(client, serial, bright=True).json()  # a later look finds it again
    scrapped = client.post(
        f"/api/v1/ncrs/{failed_again['ncr_id']}/dispose", json={"disposition": "scrap", "reason": "cracked"}
    )
    assert scrapped.status_code == 200, scrapped.text
    work = client.get(f"/api/v1/work-orders/{work_order}").json()
    assert work["status"] == "released"  # made again, routed and planned like new work
    route = client.post(f"/api/v1/work-orders/{work_order}/route")
    assert route.status_code == 200 and route.json()["site"] == "berlin", route.text
    assert (
        client.post(f"/api/v1/assignments/{route.json()['assignments'][-1]['id']}/accept").status_code == 200
    )
    release(engine, LATER)
    make_work_order(engine, work_order, LATER)
    units = client.get(f"/api/v1/work-orders/{work_order}").json()["units"]
    assert serial in units and len(units) == 2 and units[-1].endswith("-002")  # the replacement's serial
    ship = client.post(f"/api/v1/orders/{order_id}/shipments", json={"tracking_number": "T-9"})
    assert ship.status_code == 201, ship.text
