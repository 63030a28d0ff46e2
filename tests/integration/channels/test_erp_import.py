"""ERP import: CSV and JSON through the API and the CLI, with the same needs-attention path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from microfactory.catalog.bridge import MAX_LINE_QTY, TranslationError, translate
from microfactory.catalog.service import CatalogSet
from microfactory.channels import erp
from tests.conftest import CommandLine

CSV = """order_id,line_id,product,sku,qty,option:keys,option:color,option:engraving,email,ship_to_name,ship_to_city,ship_to_country
PO-1,1,KP,,2,12,white,Łódź Lab,buyer@example.com,Zoë Øster,Lyon,fr
PO-1,2,,KM-RED,3,,,,,,,
PO-2,1,,KX-404,1,,,,ops@example.com,Ana,Milano,IT
PO-2,2,KP,,abc,8,teal,,,,,
PO-3,1,KP,,1,7,teal,,,,,
"""


def test_csv_import_through_the_api_keeps_bad_lines_in_needs_attention(api: TestClient) -> None:
    response = api.post("/api/v1/orders/import", content=CSV.encode(), headers={"Content-Type": "text/csv"})
    assert response.status_code == 200, response.text
    assert response.json()["imported"] == 3
    by_id = {o["external_id"]: o for o in api.get("/api/v1/orders", params={"channel": "erp"}).json()}
    first = by_id["PO-1"]
    assert first["email"] == "buyer@example.com" and first["ship_to"]["country"] == "FR"
    assert first["lines"][0]["status"] == "needs_attention"  # "Łódź Lab" is not a valid engraving
    assert first["lines"][0]["problems"][0]["path"] == "options.engraving"
    assert first["lines"][1]["product"] == "KEY-MODULE-R" and first["lines"][1]["status"] == "released"
    unknown, bad_qty = by_id["PO-2"]["lines"]
    assert "KX-404" in unknown["problems"][0]["message"]
    assert "'abc'" in bad_qty["problems"][0]["message"]
    assert by_id["PO-3"]["lines"][0]["problems"][0]["path"] == "options.keys"
    again = api.post("/api/v1/orders/import", content=CSV.encode(), headers={"Content-Type": "text/csv"})
    assert again.json()["imported"] == 0  # importing twice changes nothing


def test_json_import_and_refusals(api: TestClient) -> None:
    document = {
        "orders": [
            {
                "order_id": "SO-77",
                "email": "a@example.com",
                "ship_to": {
                    "name": "Jörg",
                    "city": "Berlin",
                    "country": "DE",
                    "latitude": 52.5,
                    "longitude": 13.4,
                },
                "lines": [
                    {"line_id": "10", "product": "KP", "qty": 1, "options": {"keys": 4, "color": "red"}}
                ],
            }
        ]
    }
    response = api.post("/api/v1/orders/import", json=document)
    assert response.status_code == 200
    assert response.json()["orders"][0]["status"] == "accepted"
    refused = api.post("/api/v1/orders/import", json={"orders": [{"lines": []}]})
    assert refused.status_code == 422
    assert refused.json()["problems"][0]["path"] == "orders[0].order_id"
    not_csv = api.post("/api/v1/orders/import", content=b"a,b\n1,2\n", headers={"Content-Type": "text/csv"})
    assert not_csv.status_code == 422
    assert {p["message"] for p in not_csv.json()["problems"]} >= {"the column order_id is required"}
    assert (
        api.post(
            "/api/v1/orders/import", content=b"{", headers={"Content-Type": "application/json"}
        ).status_code
        == 422
    )
    unauthenticated = api.post("/api/v1/orders/import", json=document, headers={"Authorization": ""})
    assert unauthenticated.status_code == 401


def test_cli_import_list_show_and_needs_attention(
    tmp_path: Path, database_url: str, channel_engine: Engine, command_line: CommandLine
) -> None:
    command_line.use_database(database_url)
    path = tmp_path / "orders.csv"
    path.write_text(CSV, encoding="utf-8")
    result = command_line("orders", "import", str(path))
    assert result.exit_code == 0, result.output
    assert "PO-2" in result.output
    attention = command_line("orders", "needs-attention")
    assert "KX-404" in attention.output
    listed = command_line("orders", "list", "--channel", "erp")
    assert "PO-3" in listed.output
    from microfactory.db.unit_of_work import UnitOfWork
    from microfactory.orders import service

    with UnitOfWork.for_engine(channel_engine) as uow:
        found = service.find_order(uow, "erp", "PO-3")
        assert found is not None
        order_id = found.id
    shown = command_line("orders", "show", order_id)
    assert json.loads(shown.output)["channel"] == "erp"
    bad = tmp_path / "bad.json"
    bad.write_text('{"orders": 3}', encoding="utf-8")
    refused = command_line("orders", "import", str(bad))
    assert refused.exit_code == 2
    processed = command_line("shopify", "process-inbox")
    assert processed.exit_code == 0 and "0 processed" in processed.output


HEADER = "order_id,line_id,product,qty,option:keys\n"


@pytest.mark.parametrize(
    ("content", "where", "says"),
    [
        (HEADER + "PO-9,1,KP,1,4,surplus\n", "row 2", "column 6"),
        (HEADER.replace("qty,", "qty,colour,") + "PO-9,1,KP,1,red,4\n", "columns.colour", "unknown column"),
        (HEADER + 'PO-9,1,"KP,1,4\nPO-10,1,KP,1,4\n', "row 2", "quote"),
    ],
    ids=["extra-cell", "unknown-column", "unclosed-quote"],
)
def test_a_csv_that_would_lose_fields_is_refused_naming_row_and_column(
    content: str, where: str, says: str
) -> None:
    with pytest.raises(erp.OrderFileError) as refused:
        erp.parse_csv(content, CatalogSet(()))
    said = [str(problem) for problem in refused.value.problems]
    assert any(where in text and says in text for text in said), said


@pytest.mark.parametrize("qty", [MAX_LINE_QTY, MAX_LINE_QTY + 1])
def test_one_quantity_limit_for_translate_the_api_and_erp(api: TestClient, keypad: Any, qty: int) -> None:
    allowed = qty <= MAX_LINE_QTY
    csv_text = HEADER + f"PO-Q,1,KP,{qty},4\n"
    [order] = erp.parse_csv(csv_text, CatalogSet((keypad,)))
    assert (not order.lines[0].problems) is allowed
    body = {"external_id": f"q{qty}", "lines": [{"product": "KP", "qty": qty}]}
    assert (api.post("/api/v1/orders", json=body).status_code == 201) is allowed
    if allowed:
        assert translate(keypad, "KP", {}, qty).qty == qty
    else:
        with pytest.raises(TranslationError):
            translate(keypad, "KP", {}, qty)
