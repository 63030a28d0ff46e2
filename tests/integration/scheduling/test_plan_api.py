"""A site's plan over HTTP: the JSON `schedule export` writes, and the Gantt chart as a PNG."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from microfactory.catalog.load import read_catalog_file
from microfactory.network.document import read_network_file

BERLIN = {"city": "Berlin", "country": "DE", "latitude": 52.52, "longitude": 13.4}


@pytest.fixture
def planned(client: TestClient, examples: Path) -> list[str]:
    """The example catalog and network, three keypads ordered from Berlin and routed: their work orders."""
    assert client.get("/api/v1/sites/berlin/plan").status_code == 404  # no network loaded yet
    catalog = read_catalog_file(examples / "catalog-keypad.yaml")
    assert client.post("/api/v1/catalogs", json=catalog).status_code == 201
    assert (
        client.post("/api/v1/network", json=read_network_file(examples / "network.yaml")).status_code == 201
    )
    work_orders = []
    for number, color in enumerate(("black", "red", "black")):
        body = {
            "external_id": f"P-{number}",
            "ship_to": BERLIN,
            "lines": [{"product": "KP", "options": {"color": color}}],
        }
        created = client.post("/api/v1/orders", json=body)
        assert created.status_code == 201, created.text
        work_orders.append(created.json()["lines"][0]["work_order_id"])
    routed = client.post("/api/v1/work-orders/route")
    assert routed.status_code == 200, routed.text
    assert {outcome["site"] for outcome in routed.json()} == {"berlin"}
    return work_orders


def test_the_plan_of_a_site_as_json(client: TestClient, planned: list[str]) -> None:
    response = client.get("/api/v1/sites/berlin/plan", params={"time_limit": 1})
    assert response.status_code == 200, response.text
    plan = response.json()
    assert plan["site"] == "berlin"
    assert sorted(order["id"] for order in plan["orders"]) == sorted(planned)
    assert plan["figures"]["orders"] == 3
    members = {member["work_order"] for run in plan["runs"] for member in run["members"]}
    assert members == set(planned)
    assert all(run["start"] < run["end"] for run in plan["runs"])


def test_the_plan_of_a_site_as_a_gantt_chart(client: TestClient, planned: list[str]) -> None:
    response = client.get("/api/v1/sites/berlin/plan.png", params={"time_limit": 1})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    assert response.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(response.content) > 5_000


def test_unknown_sites_empty_sites_and_time_limits(client: TestClient, planned: list[str]) -> None:
    unknown = client.get("/api/v1/sites/atlantis/plan")
    assert unknown.status_code == 404
    assert "atlantis" in unknown.json()["error"]
    assert client.get("/api/v1/sites/atlantis/plan.png").status_code == 404
    empty = client.get("/api/v1/sites/lyon/plan", params={"time_limit": 1})
    assert empty.status_code == 200
    assert empty.json()["runs"] == [] and empty.json()["orders"] == []
    assert client.get("/api/v1/sites/lyon/plan.png", params={"time_limit": 1}).status_code == 200
    for bad in (0, 61, "soon"):
        refused = client.get("/api/v1/sites/berlin/plan", params={"time_limit": bad})
        assert refused.status_code == 422
        assert refused.json()["problems"][0]["path"] == "query.time_limit"
