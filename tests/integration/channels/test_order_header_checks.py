"""One header check for every channel, and warnings that never block an order.

`ZZ`, `XYZ` and a malformed email are refused by the API's schema; an ERP file is refused the same
way, and a Shopify order (which cannot be refused) keeps them as problems in needs attention. A
city the offline list does not know is placed at the country's capital, and the order says so.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import CommandLine
from tests.integration.channels.conftest import Deliver

CSV_HEADER = (
    "order_id,line_id,product,qty,option:keys,option:color,email,currency,ship_to_city,ship_to_country\n"
)


def _shopify_order(api: TestClient, external_id: object) -> dict[str, Any]:
    found = api.get("/api/v1/orders", params={"channel": "shopify", "external_id": str(external_id)}).json()
    assert len(found) == 1, found
    return dict(found[0])


def test_a_shopify_order_with_bad_header_values_waits_in_needs_attention(
    api: TestClient, deliver: Deliver, process: Any, order_create: dict[str, Any]
) -> None:
    payload = copy.deepcopy(order_create)
    payload.update(id=8100, email="mira at example", currency="XYZ")
    payload["shipping_address"]["country_code"] = "ZZ"
    deliver(payload)
    assert process().processed == 1
    order = _shopify_order(api, 8100)  # kept, never dropped
    assert order["status"] == "needs_attention"
    assert (order["email"], order["currency"], order["ship_to"]["country"]) == (
        "mira at example",
        "XYZ",
        "ZZ",
    )
    for line in order["lines"]:
        assert line["status"] == "needs_attention"
        paths = {problem["path"] for problem in line["problems"]}
        assert paths >= {"ship_to.country", "currency", "email"}
    attention = api.get("/api/v1/needs-attention").json()
    assert {line["order_id"] for line in attention} == {order["id"]}
    retried = api.post("/api/v1/needs-attention/retry").json()
    assert retried["released"] == 0  # no catalog fix mends a country: a person must


def test_an_erp_file_with_bad_header_values_is_refused_naming_each(api: TestClient) -> None:
    csv = (
        CSV_HEADER
        + "PO-9,1,KP,1,8,teal,buyer@example.com,EUR,Lyon,ZZ\nPO-10,1,KP,1,8,teal,nobody,XYZ,Lyon,FR\n"
    )
    refused = api.post("/api/v1/orders/import", content=csv.encode(), headers={"Content-Type": "text/csv"})
    assert refused.status_code == 422, refused.text
    paths = {problem["path"] for problem in refused.json()["problems"]}
    assert paths == {"row 2.ship_to_country", "row 3.currency", "row 3.email"}
    document = {
        "orders": [
            {
                "order_id": "SO-9",
                "currency": "XYZ",
                "ship_to": {"city": "Lyon", "country": "FR"},
                "lines": [{"product": "KP", "qty": 1, "options": {"keys": 8, "color": "teal"}}],
            }
        ]
    }
    refused_json = api.post("/api/v1/orders/import", json=document)
    assert refused_json.status_code == 422
    assert [p["path"] for p in refused_json.json()["problems"]] == ["orders[0].currency"]
    assert api.get("/api/v1/orders", params={"channel": "erp"}).json() == []  # nothing imported


def test_an_unknown_city_is_placed_at_the_capital_and_the_order_says_so(
    api: TestClient,
    deliver: Deliver,
    process: Any,
    order_create: dict[str, Any],
    database_url: str,
    command_line: CommandLine,
) -> None:
    payload = copy.deepcopy(order_create)
    payload["id"] = 8200
    payload["shipping_address"].update(city="Xyzzyhausen", latitude=None, longitude=None)
    deliver(payload)
    process()
    order = _shopify_order(api, 8200)
    assert order["status"] == "accepted"  # a warning, not a problem: the order still routes
    assert all(line["status"] == "released" for line in order["lines"])
    (note,) = order["notes"]
    assert note["severity"] == "warning" and note["path"] == "ship_to.city"
    assert "Xyzzyhausen" in note["message"] and "Berlin" in note["message"]

    csv = CSV_HEADER + "PO-11,1,KP,1,8,teal,buyer@example.com,EUR,Lyon,FR\n"
    assert api.post(
        "/api/v1/orders/import", content=csv.encode(), headers={"Content-Type": "text/csv"}
    ).is_success
    (known,) = api.get("/api/v1/orders", params={"channel": "erp"}).json()
    assert known["notes"] == []  # Lyon is in the list: nothing to say

    warned = api.get("/api/v1/needs-attention/warnings").json()
    assert [(entry["order_id"], entry["warnings"]) for entry in warned] == [(order["id"], [note])]
    assert api.get("/api/v1/needs-attention").json() == []  # nothing blocks

    command_line.use_database(database_url)
    listed = command_line("orders", "needs-attention", "--warnings", "--json")
    table = command_line("orders", "needs-attention", "--warnings")
    assert listed.exit_code == 0, listed.output
    assert [entry["order_id"] for entry in json.loads(listed.stdout)["items"]] == [order["id"]]
    assert table.exit_code == 0 and "Xyzzyhausen" in table.stdout
