"""`microfactory outbox list|retry` and `GET /api/v1/outbox`: the operator's view of the outbox."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from microfactory.access.tokens import issue_token
from microfactory.db.engine import make_session_factory
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import UpstreamFailure
from microfactory.outbox import store
from microfactory.outbox.claim import Message
from microfactory.outbox.dispatcher import Handler, Handlers, dispatch_due
from tests.conftest import CommandLine


def _stuck_and_waiting(engine: Engine) -> tuple[str, str]:
    """One message parked as unknown_outcome, one still pending."""
    with UnitOfWork.for_engine(engine) as uow:
        unsure = store.enqueue(uow, "carrier.label", "parcel-1", {"weight_g": 900})
        uow.commit()

    def refuse(message: Message) -> None:
        raise UpstreamFailure("carrier", "timed out after paying", retryable=False)

    dispatch_due(make_session_factory(engine), Handlers({"carrier.label": Handler(refuse)}))
    with UnitOfWork.for_engine(engine) as uow:
        waiting = store.enqueue(uow, "store.notice", "order-1", {"text": "shipped"})
        uow.commit()
    return unsure, waiting


@pytest.fixture
def cli(database_url: str, command_line: CommandLine) -> Callable[..., Any]:
    command_line.use_database(database_url)
    return lambda *args: command_line("outbox", *args)


def test_list_and_retry_commands(cli: Callable[..., Any], engine: Engine) -> None:
    unsure, waiting = _stuck_and_waiting(engine)
    listed = cli("list", "--json")
    assert listed.exit_code == 0, listed.output
    assert [m["id"] for m in json.loads(listed.stdout)] == [waiting, unsure]
    parked = json.loads(cli("list", "--status", "unknown_outcome", "--json").stdout)
    assert [(m["id"], m["last_error"]) for m in parked] == [(unsure, "carrier: timed out after paying")]
    table = cli("list")
    assert table.exit_code == 0 and "carrier.label" in table.stdout and "unknown_outcome" in table.stdout
    bad = cli("list", "--status", "lost")
    assert bad.exit_code == 2 and "'lost' is not one of" in bad.stderr

    retried = cli("retry", unsure)
    assert retried.exit_code == 0, retried.output
    assert json.loads(retried.stdout)["status"] == "pending" and "pending again" in retried.stderr
    assert cli("retry", unsure).exit_code == 4  # pending already: nothing to retry
    assert cli("retry", "obx_nope").exit_code == 3


def test_the_outbox_endpoint_is_for_the_admin(client: TestClient, engine: Engine) -> None:
    unsure, waiting = _stuck_and_waiting(engine)
    everything = client.get("/api/v1/outbox")
    assert everything.status_code == 200, everything.text
    assert [m["id"] for m in everything.json()] == [waiting, unsure]
    parked = client.get("/api/v1/outbox", params={"status": "unknown_outcome"}).json()
    assert [(m["id"], m["attempts"], m["payload"]) for m in parked] == [(unsure, 1, {"weight_g": 900})]
    by_kind = client.get("/api/v1/outbox", params={"kind": "store.notice"}).json()
    assert [m["id"] for m in by_kind] == [waiting]
    refused = client.get("/api/v1/outbox", params={"status": "lost"})
    assert refused.status_code == 422 and refused.json()["problems"][0]["path"] == "status"
    with UnitOfWork.for_engine(engine) as uow:
        token = issue_token(uow, "erp", role="integration").secret
    other = client.get("/api/v1/outbox", headers={"Authorization": f"Bearer {token}"})
    assert other.status_code == 403
    assert client.get("/api/v1/outbox", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.post("/api/v1/outbox").status_code == 405  # read only
