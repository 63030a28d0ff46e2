"""ERP import: CSV and JSON through the API and the CLI, with the same needs-attention path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

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
    tmp_path: Path, database_url: str, channel_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from microfactory.cli import context
    from microfactory.cli.main import app
    from microfactory.config import get_settings

    monkeypatch.setenv("MICROFACTORY_DATABASE_URL", database_url)
    get_settings.cache_clear()
    context.container.cache_clear()
    try:
        path = tmp_path / "orders.csv"
        path.write_text(CSV, encoding="utf-8")
        runner = CliRunner()
        result = runner.invoke(app, ["orders", "import", str(path)])
        assert result.exit_code == 0, result.output
        assert "PO-2" in result.output
        attention = runner.invoke(app, ["orders", "needs-attention"])
        assert "KX-404" in attention.output
        listed = runner.invoke(app, ["orders", "list", "--channel", "erp"])
        assert "PO-3" in listed.output
        from microfactory.db.unit_of_work import UnitOfWork
        from microfactory.orders import service

        with UnitOfWork.for_engine(channel_engine) as uow:
            found = service.find_order(uow, "erp", "PO-3")
            assert found is not None
            order_id = found.id
        shown = runner.invoke(app, ["orders", "show", order_id])
        assert json.loads(shown.output)["channel"] == "erp"
        bad = tmp_path / "bad.json"
        bad.write_text('{"orders": 3}', encoding="utf-8")
        refused = runner.invoke(app, ["orders", "import", str(bad)])
        assert refused.exit_code == 2
        processed = runner.invoke(app, ["shopify", "process-inbox"])
        assert processed.exit_code == 0 and "0 processed" in processed.output
    finally:
        get_settings.cache_clear()
        context.container.cache_clear()
