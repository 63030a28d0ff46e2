"""Lists over HTTP: a bare list with the total in headers, or an envelope; and the needs-attention retry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from fastapi.testclient import TestClient


def _order(api: TestClient, external_id: str, **options: Any) -> dict[str, Any]:
    body = {"external_id": external_id, "lines": [{"product": "KP", "options": options}]}
    created = api.post("/api/v1/orders", json=body)
    assert created.status_code == 201, created.text
    result: dict[str, Any] = created.json()
    return result


def test_lists_carry_their_total_and_the_next_page(api: TestClient) -> None:
    ids = [_order(api, f"L-{n}", keys=4)["id"] for n in range(5)]
    first = api.get("/api/v1/orders", params={"limit": 2})
    assert [order["id"] for order in first.json()] == ids[:2]  # oldest first, a bare list as before
    assert first.headers["X-Total-Count"] == "5"
    assert 'rel="next"' in first.headers["Link"] and "offset=2" in first.headers["Link"]
    last = api.get("/api/v1/orders", params={"limit": 2, "offset": 4})
    assert [order["id"] for order in last.json()] == ids[4:]
    assert "Link" not in last.headers
    paged = api.get("/api/v1/orders", params={"limit": 2, "offset": 2, "paged": "true"}).json()
    assert [order["id"] for order in paged["items"]] == ids[2:4]
    assert {k: paged[k] for k in ("total", "limit", "offset", "next")} == {
        "total": 5,
        "limit": 2,
        "offset": 2,
        "next": 4,
    }
    found = api.get("/api/v1/orders", params={"channel": "api", "external_id": "L-3"})
    assert [order["id"] for order in found.json()] == [ids[3]]  # the contract's lookup stays a list
    assert found.headers["X-Total-Count"] == "1"
    assert api.get("/api/v1/orders", params={"channel": "api", "external_id": "nope"}).json() == []
    work_orders = api.get("/api/v1/work-orders", params={"limit": 3, "paged": "true"}).json()
    assert work_orders["total"] == 5 and len(work_orders["items"]) == 3 and work_orders["next"] == 3


def test_needs_attention_is_paged_and_retried_after_a_catalog_fix(api: TestClient, examples: Path) -> None:
    waiting = [_order(api, f"N-{n}", firmware="silent") for n in range(3)]
    unknown = api.post("/api/v1/orders", json={"external_id": "N-X", "lines": [{"product": "KP-XL"}]}).json()
    page = api.get("/api/v1/needs-attention", params={"limit": 2})
    assert page.headers["X-Total-Count"] == "4"
    assert [line["order_id"] for line in page.json()] == [order["id"] for order in waiting[:2]]
    assert api.post("/api/v1/needs-attention/retry").json()["released"] == 0

    document = yaml.safe_load((examples / "catalog-keypad.yaml").read_text())
    document["version"] = 2
    document["products"]["KP"]["options"]["firmware"]["values"].append("silent")
    assert api.post("/api/v1/catalogs", json=document).status_code == 201
    retried = api.post("/api/v1/needs-attention/retry")
    assert retried.status_code == 200, retried.text
    answer = retried.json()
    assert (answer["released"], answer["waiting"]) == (3, 1)
    assert {line["order_id"] for line in answer["released_lines"]} == {order["id"] for order in waiting}
    assert all(line["work_order_id"] for line in answer["released_lines"])
    [still] = answer["waiting_lines"]
    assert still["order_id"] == unknown["id"]
    assert "unknown product 'KP-XL'" in still["problems"][0]["message"]
    assert api.get(f"/api/v1/orders/{waiting[0]['id']}").json()["status"] == "accepted"
    again = api.post("/api/v1/needs-attention/retry").json()
    assert (again["released"], again["waiting"]) == (0, 1)
    assert api.get("/api/v1/needs-attention").headers["X-Total-Count"] == "1"
