"""Background work on the PostgreSQL job queue: jobs commit with the change that needs them, a
worker runs them, several workers share them with nothing done twice, and they are visible."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from microfactory.api.app import create_app
from microfactory.bootstrap import bootstrap
from microfactory.config import Settings
from microfactory.jobs.defer import INBOX, defer_in_session
from microfactory.jobs.worker import JobThread
from tests.integration.jobs.conftest import counts, store

pytestmark = pytest.mark.postgres


def _wait(engine: Engine, orders: int, seconds: float = 60) -> tuple[int, int, int]:
    deadline = time.monotonic() + seconds
    seen = counts(engine)
    while (seen[0] < orders or seen[2]) and time.monotonic() < deadline:
        time.sleep(0.2)
        seen = counts(engine)
    return seen


def _todo(engine: Engine, task: str) -> int:
    with engine.connect() as connection:
        query = text("SELECT count(*) FROM procrastinate_jobs WHERE task_name = :t AND status = 'todo'")
        return int(connection.execute(query, {"t": task}).scalar_one())


def test_a_job_exists_only_if_its_transaction_commits(queue_settings: Settings, queue_engine: Engine) -> None:
    container = bootstrap(queue_settings, engine=queue_engine)
    with container.unit_of_work() as uow:
        defer_in_session(uow.session, INBOX)
        uow.rollback()
    assert _todo(queue_engine, INBOX) == 0
    with container.unit_of_work() as uow:
        defer_in_session(uow.session, INBOX)
        defer_in_session(uow.session, INBOX)  # once per transaction
        uow.commit()
    with container.unit_of_work() as uow:
        defer_in_session(uow.session, INBOX)  # one already waits: this transaction goes on
        uow.session.execute(text("SELECT 1"))
        uow.commit()
    assert _todo(queue_engine, INBOX) == 1


def test_two_workers_share_the_inbox_and_make_each_order_once(
    queue_settings: Settings, queue_engine: Engine, order_json: dict[str, Any]
) -> None:
    store(queue_engine, order_json, 300)
    first = JobThread(bootstrap(queue_settings, engine=queue_engine))
    second = JobThread(bootstrap(queue_settings, engine=queue_engine))
    first.start()
    second.start()
    try:
        orders, distinct, waiting = _wait(queue_engine, 300)
    finally:
        first.stop()
        second.stop()
    assert (orders, distinct, waiting) == (300, 300, 0)


def test_the_api_process_runs_jobs_and_lists_them(
    queue_settings: Settings, queue_engine: Engine, order_json: dict[str, Any]
) -> None:
    with TestClient(create_app(queue_settings, queue_engine)) as client:
        client.headers["Authorization"] = "Bearer test-admin-token"
        store(queue_engine, order_json, 5)
        assert _wait(queue_engine, 5)[:2] == (5, 5)
        listing = client.get("/api/v1/jobs")
    assert listing.status_code == 200, listing.text
    view = listing.json()
    assert view["queue"] == "procrastinate (PostgreSQL)"
    assert len(view["workers"]) == 1  # the API process's own worker, alive
    assert all(job["status"] != "failed" for job in view["jobs"])  # succeeded jobs are deleted
