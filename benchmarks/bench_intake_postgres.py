"""Webhook intake on PostgreSQL, scaled out: 2 API processes (uvicorn) store signed deliveries,
2 `microfactory worker` processes turn them into orders through the job queue (decision 0018).

Reports deliveries stored per second (both APIs together) with p50/p99, deliveries processed into
orders per second (from the first delivery sent until the last became an order), and checks that
none was lost or doubled (one order per delivery, each external id once). Skipped with a row saying
why when no PostgreSQL answers on 127.0.0.1:5432.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import aiohttp
import httpx
import yaml
from sqlalchemy import create_engine, text

from benchmarks.bench_webhooks import SECRET, _deliveries
from benchmarks.result import Result
from benchmarks.server import ADMIN_TOKEN, EXAMPLES, ROOT, Load, generate_load, serve

COUNT = int(os.environ.get("BENCH_INTAKE_PG_COUNT", "4000"))
CONCURRENCY = 16  # per API process
ADMIN_URL = os.environ.get(
    "MICROFACTORY_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
NAME = "intake on PostgreSQL (2 API + 2 workers)"


@contextmanager
def _database() -> Iterator[str]:
    name = f"mf_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def _worker(url: str) -> Iterator[None]:
    environment = os.environ | {"PYTHONPATH": str(ROOT / "src"), "MICROFACTORY_DATABASE_URL": url}
    command = [sys.executable, "-c", "from microfactory.cli.main import app; app()", "worker"]
    process = subprocess.Popen(command, env=environment, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        process.terminate()
        process.wait(30)


def _counts(url: str) -> tuple[int, int, int]:
    engine = create_engine(url)
    with engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT (SELECT count(*) FROM orders), (SELECT count(DISTINCT external_id) FROM orders), "
                "(SELECT count(*) FROM shopify_webhook_deliveries WHERE status NOT IN ('processed', 'duplicate'))"
            )
        ).one()
    engine.dispose()
    return int(row[0]), int(row[1]), int(row[2])


def _send_half(base: str, deliveries: list[tuple[bytes, dict[str, str]]], out: list[Load]) -> None:
    async def send(session: aiohttp.ClientSession, index: int) -> int:
        body, headers = deliveries[index]
        async with session.post("/webhooks/shopify", data=body, headers=headers) as response:
            await response.read()
            return response.status

    out.append(generate_load(base, len(deliveries), send, CONCURRENCY, warmup=0))


def _available() -> str | None:
    try:
        probe = create_engine(ADMIN_URL, connect_args={"connect_timeout": 3})
        with probe.connect() as connection:
            connection.execute(text("SELECT 1"))
        probe.dispose()
    except Exception as error:
        return f"{type(error).__name__}"
    return None


def run() -> list[Result]:
    why = _available()
    if why is not None:
        return [Result(NAME, f"skipped: no PostgreSQL at {ADMIN_URL} ({why})", 0, "")]
    deliveries = _deliveries(COUNT)
    halves = [deliveries[: COUNT // 2], deliveries[COUNT // 2 :]]
    env = {
        "MICROFACTORY_SHOPIFY_WEBHOOK_SECRET": SECRET,
        "MICROFACTORY_JOBS_IN_PROCESS": "false",
        "PYTHONPATH": os.pathsep.join((str(ROOT), str(ROOT / "src"))),  # this tree's package first
    }
    with _database() as url, tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        env["MICROFACTORY_DATABASE_URL"] = url
        bases = [
            stack.enter_context(serve("microfactory.api.app:create_app", Path(folder) / "x.db", env))
            for _ in range(2)
        ]
        catalog = yaml.safe_load((EXAMPLES / "catalog-keypad.yaml").read_text(encoding="utf-8"))
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        httpx.post(
            f"{bases[0]}/api/v1/catalogs", json=catalog, headers=headers, timeout=60
        ).raise_for_status()
        for _ in range(2):
            stack.enter_context(_worker(url))
        loads: list[Load] = []
        started = time.perf_counter()
        senders = [
            threading.Thread(target=_send_half, args=(base, half, loads))
            for base, half in zip(bases, halves, strict=True)
        ]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
        stored_in = max(load.seconds for load in loads)
        deadline = time.perf_counter() + 600
        orders, distinct, waiting = _counts(url)
        while (waiting or orders < COUNT) and time.perf_counter() < deadline:
            time.sleep(0.2)
            orders, distinct, waiting = _counts(url)
        processed_in = time.perf_counter() - started
    latencies = sorted(latency for load in loads for latency in load.latencies_ms)
    failures = sum(load.failures for load in loads)
    stored_rate, processed_rate = COUNT / stored_in, orders / processed_in
    whole = Load(COUNT, stored_in, latencies, failures)
    return [
        Result(
            NAME,
            f"deliveries stored ({COUNT}, {2 * CONCURRENCY} clients)",
            stored_rate,
            "/s",
            ">= 1000",
            stored_rate >= 1000,
        ),
        Result(NAME, "store latency p50", whole.median_ms, "ms"),
        Result(NAME, "store latency p99", whole.percentile(0.99), "ms"),
        Result(NAME, "non-200 answers", failures, "", "0", failures == 0),
        Result(
            NAME, "deliveries processed into orders", processed_rate, "/s", ">= 1000", processed_rate >= 1000
        ),
        Result(NAME, "orders (one per delivery)", orders, "", str(COUNT), orders == COUNT == distinct),
        Result(NAME, "left waiting", waiting, "", "0", waiting == 0),
    ]
