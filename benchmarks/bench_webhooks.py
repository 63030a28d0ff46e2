"""Webhook intake: signed Shopify deliveries per second into the inbox, on SQLite, over loopback.

The app runs with uvicorn in its own process (as in production: the load generator must not share
its interpreter); 16 client threads send a fixed number of signed `orders/create` deliveries, each
a distinct order, and the inbox worker processes them in the background meanwhile. The same load
against a bare endpoint that only verifies the signature gives the ratio: what the durable inbox
costs over the least any correct endpoint must do.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from benchmarks.result import Result

COUNT = int(os.environ.get("BENCH_WEBHOOKS_COUNT", "3000"))
CONCURRENCY = 16
SECRET = "bench-webhook-secret"
SHARED = Path(os.environ.get("MICROFACTORY_SHARED", Path(__file__).resolve().parents[2] / "shared"))
TIME_LIMIT = 120.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve(kind: str, database_url: str, port: int) -> None:  # runs in the server process
    import uvicorn
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse
    from pydantic import SecretStr

    from microfactory.channels.shopify.verify import verify

    if kind == "bare":
        app = FastAPI()

        @app.post("/webhooks/shopify")
        async def bare(request: Request) -> JSONResponse:
            body = await request.body()
            if not verify(SECRET, body, request.headers.get("x-shopify-hmac-sha256")):
                return JSONResponse({"error": "invalid signature"}, status_code=401)
            return JSONResponse({"status": "received"})

        @app.get("/healthz")
        def healthz() -> dict[str, str]:
            return {"status": "ok"}

    else:
        from microfactory.api.app import create_app
        from microfactory.catalog.load import read_catalog_file
        from microfactory.catalog.service import load_catalog
        from microfactory.config import Settings
        from microfactory.db.engine import make_engine
        from microfactory.db.migrate import upgrade
        from microfactory.db.unit_of_work import UnitOfWork

        engine = make_engine(database_url)
        upgrade(engine)
        with UnitOfWork.for_engine(engine) as uow:
            load_catalog(uow, read_catalog_file(SHARED / "examples" / "catalog-keypad.yaml"))
            uow.commit()
        settings = Settings(database_url=database_url, shopify_webhook_secret=SecretStr(SECRET))
        app = create_app(settings, engine, migrate=False)
        app.state.shopify_inbox_autoprocess = os.environ.get("BENCH_WORKER", "1") == "1"
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _deliveries(count: int) -> list[tuple[bytes, dict[str, str]]]:
    from microfactory.channels.shopify.verify import sign

    template = json.loads(
        (SHARED / "examples" / "shopify" / "orders-create.json").read_text(encoding="utf-8")
    )
    prepared = []
    for n in range(count):
        template["id"] = 9_000_000 + n
        template["name"] = f"#B{n}"
        body = json.dumps(template).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Hmac-Sha256": sign(SECRET, body),
            "X-Shopify-Webhook-Id": f"bench-{n}",
            "X-Shopify-Event-Id": f"bench-event-{n}",
            "X-Shopify-Shop-Domain": "bench.myshopify.com",
        }
        prepared.append((body, headers))
    return prepared


def _load(url: str, deliveries: list[tuple[bytes, dict[str, str]]]) -> tuple[float, list[float], int]:
    """(wall seconds, latencies in ms, non-200 answers) for all deliveries at CONCURRENCY."""
    local = threading.local()
    failures = 0
    lock = threading.Lock()

    def client() -> httpx.Client:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=url, timeout=10)
        return local.client  # type: ignore[no-any-return]

    def send(delivery: tuple[bytes, dict[str, str]]) -> float:
        nonlocal failures
        started = time.perf_counter()
        response = client().post("/webhooks/shopify", content=delivery[0], headers=delivery[1])
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            with lock:
                failures += 1
        return elapsed

    warm = deliveries[: CONCURRENCY * 2]
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(send, warm))
        started = time.perf_counter()
        latencies = list(pool.map(send, deliveries[len(warm) :]))
        wall = time.perf_counter() - started
    return wall, latencies, failures


def _run_server(kind: str, database_url: str, measure: Callable[[str], Any]) -> Any:
    port = _free_port()
    process = multiprocessing.get_context("spawn").Process(target=_serve, args=(kind, database_url, port))
    process.start()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or not process.is_alive():
                raise RuntimeError(f"the {kind} server did not start")
            time.sleep(0.1)
        return measure(url)
    finally:
        process.terminate()
        process.join(10)


def _percentile(values: list[float], q: float) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]
    )


def run() -> list[Result]:
    deliveries = _deliveries(COUNT)
    with tempfile.TemporaryDirectory() as folder:
        database_url = f"sqlite:///{Path(folder) / 'bench.db'}"
        wall, latencies, failures = _run_server("app", database_url, lambda url: _load(url, deliveries))
        bare_wall, bare_latencies, _ = _run_server("bare", database_url, lambda url: _load(url, deliveries))
    rate = len(latencies) / wall
    bare_rate = len(bare_latencies) / bare_wall
    p50, p99 = _percentile(latencies, 50), _percentile(latencies, 99)
    ratio = rate / bare_rate
    name = "webhooks"
    return [
        Result(
            name,
            f"signed deliveries stored ({len(latencies)}, {CONCURRENCY} clients)",
            rate,
            "/s",
            ">= 300",
            rate >= 300,
        ),
        Result(name, "latency p50", p50, "ms"),
        Result(name, "latency p99", p99, "ms", "< 100", p99 < 100),
        Result(name, "non-200 answers", failures, "", "0", failures == 0),
        Result(name, "bare signature-only endpoint", bare_rate, "/s"),
        Result(name, "bare endpoint latency p99", _percentile(bare_latencies, 99), "ms"),
        Result(name, "ratio to bare endpoint", ratio, "", ">= 0.3", ratio >= 0.3),
    ]
