"""Issue 10: an order id is an idempotency key: same content answers the first record, other content 409."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

CSV = """order_id,line_id,product,qty,option:keys,option:color
PO-1,1,KP,2,12,white
"""


def _body(qty: int = 1, **changes: Any) -> dict[str, Any]:
    return {
        "external_id": "PO-1",
        "lines": [{"product": "KP", "qty": qty, "options": {"keys": 12, "color": "white"}}],
        **changes,
    }


def test_the_same_id_with_other_lines_is_a_conflict_naming_the_difference(api: TestClient) -> None:
    first = api.post("/api/v1/orders", json=_body())
    assert first.status_code == 201, first.text
    same = api.post("/api/v1/orders", json=_body())
    assert same.status_code == 200 and same.json()["id"] == first.json()["id"]
    other = api.post("/api/v1/orders", json=_body(qty=3))
    assert other.status_code == 409, other.text
    assert "lines[0].qty: 1 before, 3 now" in other.json()["error"]
    more = api.post("/api/v1/orders", json={**_body(), "lines": [*_body()["lines"], {"product": "KP"}]})
    assert more.status_code == 409 and "lines: 1 before, 2 now" in more.json()["error"]
    stored = api.get(f"/api/v1/orders/{first.json()['id']}").json()
    assert [line["qty"] for line in stored["lines"]] == [1]


def test_an_erp_row_with_other_content_is_refused_with_the_same_message(api: TestClient) -> None:
    headers = {"Content-Type": "text/csv"}
    assert api.post("/api/v1/orders/import", content=CSV.encode(), headers=headers).json()["imported"] == 1
    again = api.post("/api/v1/orders/import", content=CSV.encode(), headers=headers).json()
    assert again["imported"] == 0 and "refused" not in again["orders"][0]
    changed = api.post("/api/v1/orders/import", content=CSV.replace(",2,", ",5,").encode(), headers=headers)
    refused = changed.json()["orders"][0]
    assert refused["created"] is False
    assert "other content" in refused["refused"] and "lines[0].qty: 2 before, 5 now" in refused["refused"]
    lines = api.get(f"/api/v1/orders/{refused['id']}").json()["lines"]
    assert [line["qty"] for line in lines] == [2]
