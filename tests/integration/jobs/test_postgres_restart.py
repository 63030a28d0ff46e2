"""PostgreSQL restarted under load (issue 16.3): a private cluster (never the machine's shared server),
an API process and a worker process on it, deliveries posted while `pg_ctl restart -m fast` cuts every
session. Clients reconnect; each delivery answered 200 is stored and becomes exactly one order; the
others were answered 503 with Retry-After, and are taken when sent again, as Shopify would."""

from __future__ import annotations

import copy
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from microfactory.catalog.load import read_catalog_file
from microfactory.catalog.service import load_catalog
from microfactory.db.engine import make_engine
from microfactory.db.migrate import upgrade
from microfactory.db.tables.channels import WebhookDeliveryRow
from microfactory.db.unit_of_work import UnitOfWork
from tests.integration.channels.conftest import signed_headers
from tests.integration.jobs.conftest import counts
from tests.integration.jobs.processes import api_process, private_cluster, worker_process

pytestmark = pytest.mark.postgres
COUNT = 400
QUIET = {"MICROFACTORY_AUTO_ROUTE": "false"}


def _deliveries(order: dict[str, Any]) -> list[tuple[str, bytes, dict[str, str]]]:
    prepared = []
    for n in range(COUNT):
        body = json.dumps(copy.deepcopy(order) | {"id": 610_000 + n, "name": f"#X{n}"}).encode()
        headers = signed_headers(body, "orders/create", webhook_id=f"restart-{n}")
        prepared.append((f"restart-{n}", body, headers))
    return prepared


def _prepare(url: str, examples: Path) -> Engine:
    engine = make_engine(url)
    upgrade(engine)
    with UnitOfWork.for_engine(engine) as uow:
        load_catalog(uow, read_catalog_file(examples / "catalog-keypad.yaml"))
        uow.commit()
    return engine


class Answers:
    """What each delivery was answered, in order, with the time it was sent."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_id: dict[str, list[tuple[float, int, str | None]]] = {}

    def post(self, client: httpx.Client, webhook_id: str, body: bytes, headers: dict[str, str]) -> int:
        sent = time.monotonic()
        try:
            response = client.post("/webhooks/shopify", content=body, headers=headers)
            status, retry_after = response.status_code, response.headers.get("retry-after")
        except httpx.TransportError as error:
            status, retry_after = 0, type(error).__name__
        with self.lock:
            self.by_id.setdefault(webhook_id, []).append((sent, status, retry_after))
        return status


def test_postgresql_restarted_under_load_loses_and_doubles_nothing(
    examples: Path, order_json: dict[str, Any]
) -> None:
    deliveries = _deliveries(order_json)
    answers = Answers()
    with private_cluster() as cluster:
        engine = _prepare(cluster.url, examples)
        settings = QUIET | {"MICROFACTORY_JOBS_IN_PROCESS": "false"}
        with api_process(cluster.url, settings) as base, worker_process(cluster.url, QUIET) as worker:
            with httpx.Client(base_url=base, timeout=30) as client, ThreadPoolExecutor(8) as pool:
                futures = [pool.submit(answers.post, client, *delivery) for delivery in deliveries]
                while sum(future.done() for future in futures) < COUNT // 4:
                    time.sleep(0.01)
                restart_began = time.monotonic()
                cluster.restart()
                restart_ended = time.monotonic()
                for future in futures:
                    future.result()
                first = {webhook_id: tries[0] for webhook_id, tries in answers.by_id.items()}
                refused = [d for d in deliveries if first[d[0]][1] != 200]
                for delivery in refused:  # sent again, as Shopify does after Retry-After
                    deadline = time.monotonic() + 60
                    while answers.post(client, *delivery) != 200 and time.monotonic() < deadline:
                        time.sleep(0.2)
            deadline = time.monotonic() + 180
            while counts(engine)[0:3:2] != (COUNT, 0) and time.monotonic() < deadline:
                time.sleep(0.25)
            assert worker.poll() is None, "the worker must survive the restart"
        statuses = {status for _, status, _ in first.values()}
        assert statuses <= {200, 503}, f"answers other than 200 and 503: {statuses}"
        assert all(retry for _, status, retry in first.values() if status == 503), "503 without Retry-After"
        assert any(sent > restart_ended and status == 200 for sent, status, _ in first.values())
        assert any(sent < restart_began and status == 200 for sent, status, _ in first.values())
        with UnitOfWork.for_engine(engine) as uow:
            stored = set(uow.session.scalars(select(WebhookDeliveryRow.webhook_id)))
        accepted = {webhook_id for webhook_id, (_, status, _) in first.items() if status == 200}
        assert accepted <= stored  # every 200 was durable before it was sent
        assert counts(engine) == (COUNT, COUNT, 0)  # one order per delivery, none waiting
        engine.dispose()
        print(f"first answers: {sum(1 for s in first.values() if s[1] == 200)} x 200, {len(refused)} x 503")
