"""A second API process on the same database (issue 16.3), as two real uvicorn processes, each running
its job worker in a thread and routing in the background: every delivery is sent to both, and each
becomes one order, each work order is routed once, and nothing waits at the end."""

from __future__ import annotations

import copy
import json
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from microfactory.bootstrap import bootstrap
from microfactory.config import Settings
from microfactory.network import service as network_service
from microfactory.network.document import read_network_file
from tests.integration.channels.conftest import signed_headers
from tests.integration.jobs.conftest import counts
from tests.integration.jobs.processes import api_process

pytestmark = pytest.mark.postgres
COUNT = 120
BACKGROUND = {
    "MICROFACTORY_JOBS_IN_PROCESS": "true",
    "MICROFACTORY_AUTO_ROUTE": "true",
    "MICROFACTORY_ROUTE_INTERVAL_SECONDS": "1",
}


def _scalar(engine: Engine, query: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(query)).scalar_one())


def test_two_api_processes_on_one_database_double_no_sync_and_no_routing(
    postgres_url: str,
    queue_engine: Engine,
    queue_settings: Settings,
    order_json: dict[str, Any],
    examples: Path,
) -> None:
    with bootstrap(queue_settings, engine=queue_engine).unit_of_work() as uow:
        network_service.load_network(uow, read_network_file(examples / "network.yaml"))
        uow.commit()
    deliveries = []
    for n in range(COUNT):
        body = json.dumps(copy.deepcopy(order_json) | {"id": 620_000 + n, "name": f"#T{n}"}).encode()
        deliveries.append((body, signed_headers(body, "orders/create", webhook_id=f"two-{n}")))
    with ExitStack() as stack:
        bases = [stack.enter_context(api_process(postgres_url, BACKGROUND)) for _ in range(2)]
        clients = [stack.enter_context(httpx.Client(base_url=base, timeout=30)) for base in bases]

        def post(index: int) -> list[int]:  # each delivery to both processes, in turn first to one
            body, headers = deliveries[index]
            order = clients if index % 2 else clients[::-1]
            return [c.post("/webhooks/shopify", content=body, headers=headers).status_code for c in order]

        with ThreadPoolExecutor(8) as pool:
            answers = [status for pair in pool.map(post, range(COUNT)) for status in pair]
        assert set(answers) == {200}
        deadline = time.monotonic() + 120
        released = "SELECT count(*) FROM work_orders WHERE status = 'released'"
        while (counts(queue_engine)[2] or _scalar(queue_engine, released)) and time.monotonic() < deadline:
            time.sleep(0.25)
    assert counts(queue_engine) == (COUNT, COUNT, 0)  # one sync per order, whichever process took it
    assert _scalar(queue_engine, "SELECT count(*) FROM shopify_webhook_deliveries") == COUNT
    assert _scalar(queue_engine, released) == 0
    doubled = _scalar(
        queue_engine,
        "SELECT count(*) FROM (SELECT work_order_id FROM assignments GROUP BY work_order_id "
        "HAVING count(*) FILTER (WHERE status IN ('offered', 'accepted')) > 1) AS twice",
    )
    routed = _scalar(queue_engine, "SELECT count(DISTINCT work_order_id) FROM assignments")
    assert doubled == 0 and routed == _scalar(queue_engine, "SELECT count(*) FROM work_orders")
