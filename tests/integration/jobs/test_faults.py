"""Faults of the background work on PostgreSQL: a worker process killed with SIGKILL mid-job (its job
runs again once, nothing is lost or doubled), and a second server process on the same database
(no delivery synced twice, no work order routed twice)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from microfactory.bootstrap import bootstrap
from microfactory.config import Settings
from microfactory.jobs.worker import JobThread
from microfactory.network import service as network_service
from microfactory.network.document import read_network_file
from tests.integration.jobs.conftest import counts, store

pytestmark = pytest.mark.postgres
SRC = Path(__file__).resolve().parents[3] / "src"
COUNT = 400


def _worker(url: str) -> subprocess.Popen[bytes]:
    environment = os.environ | {
        "PYTHONPATH": str(SRC),
        "MICROFACTORY_DATABASE_URL": url,
        "MICROFACTORY_AUTO_ROUTE": "false",
        "MICROFACTORY_JOBS_STALLED_SECONDS": "2",
    }
    command = [sys.executable, "-c", "from microfactory.cli.main import app; app()", "worker"]
    return subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _doing(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        query = text("SELECT id FROM procrastinate_jobs WHERE status = 'doing' AND task_name = 'mf:inbox'")
        return [int(row[0]) for row in connection.execute(query)]


def test_a_worker_killed_mid_job_has_its_job_done_again_once(
    postgres_url: str, queue_engine: Engine, order_json: dict[str, Any]
) -> None:
    store(queue_engine, order_json, COUNT)
    victim = _worker(postgres_url)
    deadline = time.monotonic() + 60
    while counts(queue_engine)[0] < 20 and time.monotonic() < deadline:  # mid-job: some orders made
        time.sleep(0.05)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(10)
    orders_at_kill = counts(queue_engine)[0]
    assert 0 < orders_at_kill < COUNT, f"not mid-job: {orders_at_kill} orders when killed"
    killed_jobs = _doing(queue_engine)
    assert killed_jobs, "the killed worker's job should still be marked doing"
    survivor = _worker(postgres_url)
    try:
        deadline = time.monotonic() + 120
        while counts(queue_engine)[2] and time.monotonic() < deadline:
            time.sleep(0.25)
        # the survivor may finish the deliveries through a job of its own before its `mf:stalled`
        # job notices the dead worker (no heartbeat for 2 s): wait for that too
        while set(killed_jobs) & set(_doing(queue_engine)) and time.monotonic() < deadline:
            time.sleep(0.25)
    finally:
        survivor.send_signal(signal.SIGTERM)
        survivor.wait(20)
    orders, distinct, waiting = counts(queue_engine)
    assert (orders, distinct, waiting) == (COUNT, COUNT, 0)  # nothing lost, nothing doubled
    assert not set(killed_jobs) & set(_doing(queue_engine))  # taken up again, and finished


def test_a_second_server_process_on_the_same_database_doubles_nothing(
    queue_settings: Settings, queue_engine: Engine, order_json: dict[str, Any], examples: Path
) -> None:
    settings = queue_settings.with_changes(auto_route=True, route_interval_seconds=1)
    container = bootstrap(settings, engine=queue_engine)
    with container.unit_of_work() as uow:
        network_service.load_network(uow, read_network_file(examples / "network.yaml"))
        uow.commit()
    servers = [JobThread(bootstrap(settings, engine=queue_engine)) for _ in range(2)]
    for server in servers:
        server.start()
    try:
        store(queue_engine, order_json, 100)
        deadline = time.monotonic() + 90
        while (counts(queue_engine)[2] or _released(queue_engine)) and time.monotonic() < deadline:
            time.sleep(0.25)
    finally:
        for server in servers:
            server.stop()
    assert counts(queue_engine) == (100, 100, 0)
    with queue_engine.connect() as connection:
        doubled = connection.execute(
            text(
                "SELECT work_order_id FROM assignments WHERE status IN ('offered', 'accepted') "
                "GROUP BY work_order_id HAVING count(*) > 1"
            )
        ).all()
        routed = connection.execute(
            text("SELECT count(DISTINCT work_order_id) FROM assignments")
        ).scalar_one()
    assert doubled == []
    assert routed > 0 and _released(queue_engine) == 0


def _released(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                text("SELECT count(*) FROM work_orders WHERE status = 'released'")
            ).scalar_one()
        )
