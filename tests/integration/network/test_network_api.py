"""The network API: load, inspect sites and load, route, explain, accept and decline, site events."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from microfactory.api.app import create_app
from microfactory.catalog.load import read_catalog_file
from microfactory.config import Settings
from microfactory.db.engine import make_engine
from microfactory.network.document import read_network_file

from .conftest import EXAMPLES


@pytest.fixture
def api(tmp_path: Path) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path}/api.db"
    app = create_app(
        Settings(database_url=url, admin_token=SecretStr("t"), auto_route=False), make_engine(url)
    )
    with TestClient(app) as client:
        client.headers["Authorization"] = "Bearer t"
        catalog = read_catalog_file(EXAMPLES / "catalog-keypad.yaml")
        assert client.post("/api/v1/catalogs", json=catalog).status_code == 201
        yield client


@pytest.fixture
def network_document() -> dict[str, Any]:
    return read_network_file(EXAMPLES / "network.yaml")


def _order(client: TestClient, external_id: str, **options: Any) -> str:
    body = {
        "external_id": external_id,
        "ship_to": {"city": "Berlin", "country": "DE", "latitude": 52.52, "longitude": 13.4},
        "lines": [{"product": "KP", "options": {"keys": 4, **options}}],
    }
    response = client.post("/api/v1/orders", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["lines"][0]["work_order_id"])


def test_network_endpoints_end_to_end(api: TestClient, network_document: dict[str, Any]) -> None:
    assert api.get("/api/v1/network/sites").status_code == 404  # nothing loaded yet
    loaded = api.post("/api/v1/network", json=network_document)
    assert loaded.status_code == 201
    assert loaded.json()["sites"] == ["berlin", "lyon", "milano", "central"]
    assert api.post("/api/v1/network", json=network_document).status_code == 200

    sites = api.get("/api/v1/network/sites").json()
    assert [s["id"] for s in sites] == ["berlin", "lyon", "milano", "central"]
    assert sites[0]["stock"]["NAMEPLATE"] == {"on_hand": 120, "available": 120}
    printers = {m["id"]: m["connector"] for m in sites[0]["machines"]}
    assert printers["ber-fdm-1"] == {"kind": "octoprint", "url": "http://127.0.0.1:5001", "api_key_env": None}
    assert printers["ber-fdm-3"] is None  # no connector: a manual station for the agent

    work_order = _order(api, "A-1", engraving="Mira")
    routed = api.post(f"/api/v1/work-orders/{work_order}/route")
    assert routed.status_code == 200, routed.text
    assert routed.json()["site"] == "berlin"
    assignment = routed.json()["assignments"][0]
    assert assignment["promised_delivery_date"]

    berlin = api.get("/api/v1/network/sites/berlin").json()
    assert berlin["stock"]["NAMEPLATE"]["available"] == 119
    assert [a["work_order_id"] for a in berlin["assignments"]] == [work_order]
    assert berlin["load"]["by_capability"]["fdm_print"]["queued_minutes"] > 0
    assert api.get("/api/v1/network/sites/berlin/load").json() == berlin["load"]

    routing = api.get(f"/api/v1/work-orders/{work_order}/routing").json()
    assert routing["explanation"]["deciding_factor"]
    assert routing["site"] == "berlin"

    declined = api.post(f"/api/v1/assignments/{assignment['id']}/decline", json={"reason": "laser busy"})
    assert declined.status_code == 200, declined.text
    assert declined.json()["rerouted"][0]["site"] == "milano"
    again = api.post(f"/api/v1/assignments/{assignment['id']}/accept")
    assert again.status_code == 409
    new_id = declined.json()["rerouted"][0]["assignments"][0]["id"]
    assert api.post(f"/api/v1/assignments/{new_id}/accept").json()["status"] == "accepted"

    event = {"kind": "machine_down", "site": "milano", "machine": "mil-laser-1", "reason": "fire"}
    changed = api.post("/api/v1/network/events", json=event)
    assert changed.status_code == 200, changed.text
    assert changed.json()["rerouted"][0]["site"] == "central"  # berlin declined, lyon has no laser
    unknown = api.post(
        "/api/v1/network/events", json={"kind": "machine_down", "site": "oslo", "machine": "x"}
    )
    assert unknown.status_code == 422


def test_weights_and_bulk_routing(api: TestClient, network_document: dict[str, Any]) -> None:
    api.post("/api/v1/network", json=network_document)
    weights = api.put("/api/v1/network/weights", json={"distance": 0, "load": 1, "cost": 5, "promise": 0})
    assert weights.json() == {"distance": 0.0, "load": 1.0, "cost": 5.0, "promise": 0.0}
    assert api.get("/api/v1/network").json()["weights"]["cost"] == 5.0
    for number in range(3):
        _order(api, f"B-{number}")
    outcomes = api.post("/api/v1/work-orders/route").json()
    assert len(outcomes) == 3
    assert {o["deciding_factor"] for o in outcomes} == {"cost"}
    assert {o["site"] for o in outcomes} == {"milano"}  # the cheapest labour
    assert api.put("/api/v1/network/weights", json={"distance": -1}).status_code == 422


def test_an_invalid_network_is_refused_with_every_problem(
    api: TestClient, network_document: dict[str, Any]
) -> None:
    network_document["sites"]["berlin"]["timezone"] = "Mars/Olympus"
    network_document["sites"]["lyon"]["fulfilment_partner"] = "pigeon"
    response = api.post("/api/v1/network", json=network_document)
    assert response.status_code == 422
    paths = {p["path"] for p in response.json()["problems"]}
    assert paths == {"sites.berlin.timezone", "sites.lyon.fulfilment_partner"}


def test_the_server_routes_released_work_orders_in_the_background(
    tmp_path: Path, network_document: dict[str, Any]
) -> None:
    import time

    url = f"sqlite:///{tmp_path}/auto.db"
    settings = Settings(database_url=url, admin_token=SecretStr("t"), route_interval_seconds=0.1)
    with TestClient(create_app(settings, make_engine(url))) as client:
        client.headers["Authorization"] = "Bearer t"
        client.post("/api/v1/catalogs", json=read_catalog_file(EXAMPLES / "catalog-keypad.yaml"))
        before_network = _order(client, "B-1")
        time.sleep(0.4)  # no network yet: the work order waits, released, and nothing fails
        assert client.get(f"/api/v1/work-orders/{before_network}").json()["status"] == "released"
        assert client.post("/api/v1/network", json=network_document).status_code == 201
        for _ in range(100):
            order = client.get("/api/v1/orders", params={"external_id": "B-1"}).json()[0]
            if order["lines"][0]["site"] is not None:
                break
            time.sleep(0.05)
        line = order["lines"][0]
        assert line["site"] == "berlin"
        assert line["status"] == "routed"
        assert line["promised_ship_date"] is not None
        assert line["routing"]["deciding_factor"]


def test_a_changed_network_is_a_new_version(api: TestClient, network_document: dict[str, Any]) -> None:
    assert api.post("/api/v1/network", json=network_document).status_code == 201
    changed = copy.deepcopy(network_document)
    changed["sites"]["berlin"]["labour_rate_per_hour"] = 40.0
    del changed["sites"]["lyon"]
    loaded = api.post("/api/v1/network", json=changed)
    assert loaded.status_code == 201, loaded.text
    body = loaded.json()
    assert (body["version"], body["removed_sites"], body["added_sites"]) == (2, ["lyon"], [])
    assert body["rerouted"] == []
    assert api.get("/api/v1/network").json()["sites"] == ["berlin", "milano", "central"]
