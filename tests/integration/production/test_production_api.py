"""The agent API and the production JSON (spec "Production"): release, operations, reports, units."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from microfactory.catalog.load import read_catalog_file
from microfactory.network.document import read_network_file

BERLIN = {"city": "Berlin", "country": "DE", "latitude": 52.52, "longitude": 13.4}


def _site_client(admin: TestClient, site: str) -> TestClient:
    issued = admin.post("/api/v1/tokens", json={"name": f"{site}-agent", "role": "site", "site": site})
    assert issued.status_code == 201, issued.text
    return TestClient(admin.app, headers={"Authorization": f"Bearer {issued.json()['token']}"})


@pytest.fixture
def released(client: TestClient, examples: Path) -> str:
    """One keypad ordered from Berlin, routed there, accepted and released: its work order."""
    assert (
        client.post("/api/v1/catalogs", json=read_catalog_file(examples / "catalog-keypad.yaml")).status_code
        == 201
    )
    assert (
        client.post("/api/v1/network", json=read_network_file(examples / "network.yaml")).status_code == 201
    )
    body = {"external_id": "A-1", "ship_to": BERLIN, "lines": [{"product": "KP", "options": {"keys": 4}}]}
    work_order = client.post("/api/v1/orders", json=body).json()["lines"][0]["work_order_id"]
    routed = client.post(f"/api/v1/work-orders/{work_order}/route").json()
    assert routed["site"] == "berlin"
    assert client.post(f"/api/v1/assignments/{routed['assignments'][0]['id']}/accept").status_code == 200
    answer = client.post("/api/v1/sites/berlin/plan", params={"time_limit": 1})
    assert answer.status_code == 200, answer.text
    assert answer.json()["released"] == 8 and answer.json()["plan_id"].startswith("plan_")
    return str(work_order)


def _reports(*items: tuple[dict[str, Any], str, datetime]) -> dict[str, Any]:
    return {
        "reports": [
            {
                "id": str(uuid.uuid4()),
                "operation_id": op["id"],
                "event": event,
                "machine": op["machine"],
                "at": at.isoformat(),
                "operator": "Ana",
                "message": None,
                "program": None,
            }
            for op, event, at in items
        ]
    }


def test_the_agent_makes_a_work_order_through_the_api(client: TestClient, released: str) -> None:
    agent = _site_client(client, "berlin")
    listed = agent.get("/api/v1/sites/berlin/operations", params={"status": "released"})
    assert listed.status_code == 200, listed.text
    ops = listed.json()
    assert set(ops[0]) >= {"id", "work_order_id", "op", "capability", "machine", "start", "end", "qty"}
    assert set(ops[0]) >= {"params", "after", "status", "ready"}
    at = datetime.now(UTC)
    while ops:
        ready = [op for op in ops if op["ready"]]
        assert ready, "released steps with none ready"
        for op in ready:
            at += timedelta(minutes=3)
            body = _reports((op, "started", at), (op, "finished", at + timedelta(minutes=2)))
            answer = agent.post("/api/v1/sites/berlin/reports", json=body)
            assert answer.status_code == 200, answer.text
            assert [r["outcome"] for r in answer.json()["results"]] == ["applied", "applied"]
            again = agent.post("/api/v1/sites/berlin/reports", json=body).json()["results"]
            assert [r["outcome"] for r in again] == ["duplicate", "duplicate"]
        ops = agent.get("/api/v1/sites/berlin/operations", params={"status": "released"}).json()
    work_order = agent.get(f"/api/v1/work-orders/{released}").json()
    assert work_order["status"] == "made"
    assert {op["status"] for op in work_order["operations"]} == {"done"}
    assert all(
        set(op) >= {"id", "op", "status", "machine", "started_at", "finished_at"}
        for op in work_order["operations"]
    )
    (serial,) = work_order["units"]
    trace = agent.get(f"/api/v1/units/{serial}")
    assert trace.status_code == 200, trace.text
    shown = trace.json()
    assert set(shown) >= {
        "serial",
        "order_id",
        "work_order_id",
        "site",
        "operations",
        "inspections",
        "shipment",
    }
    assert shown["work_order_id"] == released and shown["site"] == "berlin" and shown["operators"] == ["Ana"]
    assert client.get("/api/v1/units/MF-NOPE").status_code == 404


def test_a_site_token_reaches_its_own_site_only(client: TestClient, released: str) -> None:
    lyon = _site_client(client, "lyon")
    berlin = _site_client(client, "berlin")
    assert lyon.get("/api/v1/sites/berlin/operations").status_code == 403
    assert lyon.post("/api/v1/sites/berlin/plan").status_code == 403
    op = berlin.get("/api/v1/sites/berlin/operations").json()[0]
    body = _reports((op, "started", datetime.now(UTC)))
    assert lyon.post("/api/v1/sites/berlin/reports", json=body).status_code == 403
    # a report of Berlin's operation sent to Lyon's endpoint: the whole request is refused
    assert client.post("/api/v1/sites/lyon/reports", json=body).status_code == 403
    assert berlin.get("/api/v1/sites/berlin/operations").json()[0]["status"] == "released"
    assert lyon.get("/api/v1/sites/lyon/operations").json() == []
    assert berlin.get("/api/v1/sites/berlin/operations", params={"status": "nope"}).status_code == 422


def test_the_work_order_shows_its_planned_steps_before_and_after_release(
    client: TestClient, released: str
) -> None:
    work_order = client.get(f"/api/v1/work-orders/{released}").json()
    assert work_order["status"] == "scheduled" and work_order["units"] == []
    assert any(op["id"] == "KP:assemble" for op in work_order["operations"])
    assert {op["status"] for op in work_order["operations"]} == {"released"}
    assert all(op["machine"].startswith("ber-") and op["operation_id"] for op in work_order["operations"])


def _token_client(admin: TestClient, role: str) -> TestClient:
    issued = admin.post("/api/v1/tokens", json={"name": f"a-{role}", "role": role})
    assert issued.status_code == 201, issued.text
    return TestClient(admin.app, headers={"Authorization": f"Bearer {issued.json()['token']}"})


def test_a_step_is_held_and_given_back_by_api_and_the_agent_sees_it(
    client: TestClient, released: str
) -> None:
    berlin = _site_client(client, "berlin")
    step = berlin.get("/api/v1/sites/berlin/operations", params={"status": "released"}).json()[0]
    held = berlin.post(f"/api/v1/operations/{step['id']}/hold", json={"reason": "nozzle to check"})
    assert held.status_code == 200, held.text
    assert (held.json()["status"], held.json()["hold_reason"]) == ("held", "nozzle to check")
    released_ids = [op["id"] for op in berlin.get("/api/v1/sites/berlin/operations?status=released").json()]
    assert step["id"] not in released_ids  # the agent leaves it alone
    again = berlin.post(f"/api/v1/operations/{step['id']}/hold", json={"reason": "twice"})
    assert again.status_code == 409 and "held" in again.json()["error"]
    back = client.post(f"/api/v1/operations/{step['id']}/unhold")  # the admin may too
    assert back.status_code == 200 and back.json()["status"] == "released"
    assert back.json()["hold_reason"] == "nozzle to check"  # kept in the trace until it runs
    twice = client.post(f"/api/v1/operations/{step['id']}/unhold")
    assert twice.status_code == 409 and "not held" in twice.json()["error"]


def test_holds_are_refused_to_other_sites_readers_and_bad_requests(client: TestClient, released: str) -> None:
    step = client.get("/api/v1/sites/berlin/operations").json()[0]
    hold, unhold = f"/api/v1/operations/{step['id']}/hold", f"/api/v1/operations/{step['id']}/unhold"
    lyon = _site_client(client, "lyon")
    refused = lyon.post(hold, json={"reason": "not ours"})
    assert refused.status_code == 403 and "lyon" in refused.json()["error"]
    assert lyon.post(unhold).status_code == 403
    inspector = _token_client(client, "inspector")
    assert inspector.post(hold, json={"reason": "reads only"}).status_code == 403
    integration = _token_client(client, "integration")
    assert integration.post(hold, json={"reason": "orders only"}).status_code == 403
    assert client.post("/api/v1/operations/opr_nothing/hold", json={"reason": "x"}).status_code == 404
    for body in ({}, {"reason": ""}, {"reason": "   "}, {"reason": "x", "extra": 1}):
        answer = client.post(hold, json=body)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["problems"], answer.text
    planner = _token_client(client, "planner")
    assert planner.post(hold, json={"reason": "replanning"}).status_code == 200
    assert lyon.post(unhold).status_code == 403  # still not Lyon's
    assert (
        client.get("/api/v1/sites/berlin/operations", params={"status": "held"}).json()[0]["id"] == step["id"]
    )


def test_a_person_starts_and_finishes_a_bench_step_by_api(client: TestClient, released: str) -> None:
    berlin = _site_client(client, "berlin")
    steps = client.get("/api/v1/sites/berlin/operations").json()
    bench = next(op for op in steps if op["capability"] == "assembly")
    early = berlin.post(f"/api/v1/operations/{bench['id']}/start", json={"operator": "Ana"})
    assert early.status_code == 409 and "waits for" in early.json()["error"]  # its parts are not made
    finish_first = berlin.post(f"/api/v1/operations/{bench['id']}/finish")
    assert finish_first.status_code == 409 and "released" in finish_first.json()["error"]
    ready = next(op for op in steps if op["ready"])
    started = berlin.post(f"/api/v1/operations/{ready['id']}/start", json={"operator": "Ana"})
    assert started.status_code == 200, started.text
    assert (started.json()["status"], started.json()["operator"]) == ("running", "Ana")
    moved = berlin.post(f"/api/v1/operations/{ready['id']}/fail", json={"machine": "ber-fdm-2"})
    assert moved.status_code == 422 and moved.json()["problems"][0]["path"] == "body.machine"
    failed = berlin.post(f"/api/v1/operations/{ready['id']}/fail")
    assert failed.status_code == 200 and failed.json()["status"] == "failed"
    again = client.post(f"/api/v1/operations/{ready['id']}/start")  # no body: the planned station
    assert again.status_code == 200 and again.json()["attempts"] == 2
    done = berlin.post(f"/api/v1/operations/{ready['id']}/finish", json={"operator": "Ana"})
    assert done.status_code == 200 and done.json()["status"] == "done"


def test_station_reports_are_refused_to_other_sites_and_readers(client: TestClient, released: str) -> None:
    step = next(op for op in client.get("/api/v1/sites/berlin/operations").json() if op["ready"])
    lyon = _site_client(client, "lyon")
    for event in ("start", "finish", "fail"):
        assert lyon.post(f"/api/v1/operations/{step['id']}/{event}").status_code == 403
    assert (
        _token_client(client, "inspector").post(f"/api/v1/operations/{step['id']}/start").status_code == 403
    )
    assert client.post("/api/v1/operations/opr_nothing/start").status_code == 404
    bad = client.post(f"/api/v1/operations/{step['id']}/start", json={"who": "Ana"})
    assert bad.status_code == 422
    elsewhere = client.post(f"/api/v1/operations/{step['id']}/start", json={"machine": "lyo-fdm-1"})
    assert elsewhere.status_code == 409 and "lyo-fdm-1" in elsewhere.json()["error"]
    assert client.get("/api/v1/sites/berlin/operations", params={"status": "running"}).json() == []
