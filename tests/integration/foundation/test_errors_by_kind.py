"""Errors by kind: each kind of the tree has its HTTP status and exit code; a bug is a 500, never a 404."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from typer.testing import CliRunner

from microfactory.channels.shopify.admin import AdminApiError
from microfactory.cli.main import app as cli_app
from microfactory.errors import Invalid, MissingSetting, NotFound
from microfactory.problems import Problem
from tests.integration.foundation.test_api import order_body

runner = CliRunner()


def _route(app: FastAPI, path: str, error: Exception) -> None:
    """A route that raises `error`: what a service bug or an upstream failure looks like to the API."""

    def raising() -> Any:
        raise error

    app.add_api_route(path, raising, methods=["GET"])


def test_an_unknown_order_is_404_with_the_error_body(api: TestClient) -> None:
    response = api.get("/api/v1/orders/ord_nope")
    assert response.status_code == 404
    assert response.json() == {"error": "no order ord_nope", "problems": []}
    assert api.get("/api/v1/work-orders/wo_nope").json() == {"error": "no work order wo_nope", "problems": []}


def test_an_illegal_move_is_409_with_the_rule(api: TestClient) -> None:
    created = api.post("/api/v1/orders", json=order_body("K-1", options={"keys": 8, "color": "teal"})).json()
    assert created["lines"][0]["status"] == "released"
    path = f"/api/v1/orders/{created['id']}/lines/{created['lines'][0]['id']}"
    response = api.patch(path, json={"options": {"color": "red"}})
    assert response.status_code == 409
    assert "only lines in needs_attention" in response.json()["error"] and response.json()["problems"] == []


def test_invalid_input_is_422_with_every_problem(api: TestClient) -> None:
    response = api.post("/api/v1/catalogs", json={"catalog": "x", "version": 1, "products": {"P": {}}})
    assert response.status_code == 422
    assert response.json()["problems"] and all(
        set(p) == {"path", "message"} for p in response.json()["problems"]
    )


def test_upstream_failure_is_502_and_a_missing_setting_503(client: TestClient) -> None:
    _route(client.app, "/test/upstream", AdminApiError("HTTP 500: try again"))  # type: ignore[arg-type]
    _route(client.app, "/test/unset", MissingSetting("MICROFACTORY_X", "needed here"))  # type: ignore[arg-type]
    upstream = client.get("/test/upstream")
    assert upstream.status_code == 502
    assert upstream.json() == {"error": "Shopify: HTTP 500: try again", "problems": []}
    unset = client.get("/test/unset")
    assert unset.status_code == 503 and "MICROFACTORY_X" in unset.json()["error"]


def test_the_most_specific_kind_wins(client: TestClient) -> None:
    _route(client.app, "/test/invalid", Invalid("bad", [Problem("a.b", "wrong")]))  # type: ignore[arg-type]
    _route(client.app, "/test/missing", NotFound("site", "atlantis"))  # type: ignore[arg-type]
    assert client.get("/test/invalid").json() == {
        "error": "bad",
        "problems": [{"path": "a.b", "message": "wrong"}],
    }
    assert client.get("/test/missing").json() == {"error": "no site 'atlantis'", "problems": []}


@pytest.mark.parametrize("bug", [KeyError("postgres://user:hunter2@db"), IndexError("x"), LookupError("y")])
def test_a_bug_is_500_with_the_traceback_logged_and_nothing_leaked(
    client: TestClient, bug: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    _route(client.app, "/test/bug", bug)  # type: ignore[arg-type]
    quiet = TestClient(client.app, raise_server_exceptions=False, headers=client.headers)
    with caplog.at_level(logging.ERROR, logger="microfactory.api"):
        response = quiet.get("/test/bug")
    assert response.status_code == 500
    body = response.json()
    assert body["error"] == "internal error" and body["problems"] == []
    assert "hunter2" not in response.text and type(bug).__name__ not in response.text
    logged = [r for r in caplog.records if r.name == "microfactory.api"]
    assert logged and logged[0].exc_info is not None and logged[0].exc_info[1] is bug
    assert body["reference"] in logged[0].getMessage()


@pytest.fixture
def configured(cli_database: Path) -> Path:
    """The CLI on a database of its own."""
    return cli_database


def test_cli_unknown_order_exits_3_with_a_message_and_no_traceback(configured: Path) -> None:
    result = runner.invoke(cli_app, ["orders", "show", "ord_nope"])
    assert result.exit_code == 3
    assert "no order ord_nope" in result.stderr
    assert "Traceback" not in result.output and result.stdout == ""


def test_cli_invalid_exits_2_with_every_problem(configured: Path, examples: Path) -> None:
    document = yaml.safe_load((examples / "catalog-keypad.yaml").read_text())
    document["products"]["KP"]["bom"][0]["part"] = "HSG-TOPP"
    bad = configured / "bad.yaml"
    bad.write_text(yaml.safe_dump(document))
    result = runner.invoke(cli_app, ["catalog", "load", str(bad)])
    assert result.exit_code == 2
    assert "products.KP.bom[0].part: unknown part 'HSG-TOPP'" in result.stderr
    assert "Traceback" not in result.output


def test_cli_conflict_exits_4(configured: Path, examples: Path) -> None:
    """Accepting an assignment that was declined: the rule refuses it."""
    network = examples / "network.yaml"
    catalog = examples / "catalog-keypad.yaml"
    assert runner.invoke(cli_app, ["catalog", "load", str(catalog)]).exit_code == 0
    assert runner.invoke(cli_app, ["network", "load", str(network)]).exit_code == 0
    from microfactory.cli.context import unit_of_work
    from microfactory.db.tables.network import AssignmentRow
    from microfactory.orders import service
    from microfactory.orders.model import Address, NewOrder, NewOrderLine

    line = NewOrderLine(qty=1, product="KP", options={"keys": 8, "color": "teal"})
    berlin = Address(city="Berlin", country="DE", latitude=52.5, longitude=13.4)
    with unit_of_work() as uow:
        new = NewOrder(channel="api", external_id="C-1", lines=(line,), ship_to=berlin)
        service.intake(uow, new)
        uow.commit()
    assert runner.invoke(cli_app, ["network", "route", "--all"]).exit_code == 0
    with unit_of_work() as uow:
        assignment = uow.session.scalar(select(AssignmentRow).where(AssignmentRow.status == "offered"))
        assert assignment is not None
        assignment_id = assignment.id
    assert runner.invoke(cli_app, ["network", "decline", assignment_id, "--reason", "full"]).exit_code == 0
    refused = runner.invoke(cli_app, ["network", "accept", assignment_id])
    assert refused.exit_code == 4
    assert "only an offered one can be accepted" in refused.stderr


def test_cli_help_documents_the_exit_codes() -> None:
    result = runner.invoke(cli_app, ["--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())  # the help is wrapped to the terminal
    for words in ("2 invalid input", "3 not found", "4 conflict", "5 an upstream"):
        assert words in text


def test_a_database_gone_for_a_moment_is_503_with_retry_after_and_other_database_errors_500(
    client: TestClient,
) -> None:
    gone = OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))
    _route(client.app, "/test/db-gone", gone)  # type: ignore[arg-type]
    _route(client.app, "/test/db-bug", IntegrityError("INSERT", {}, Exception("duplicate key")))  # type: ignore[arg-type]
    response = client.get("/test/db-gone")
    assert response.status_code == 503 and response.headers["retry-after"] == "2"
    assert "database is unavailable" in response.json()["error"]
    assert "server closed" not in response.text  # the driver's text never reaches the client
    bug = client.get("/test/db-bug")
    assert bug.status_code == 500 and bug.json()["error"] == "internal error"
