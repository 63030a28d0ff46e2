"""Webhook intake: signed Shopify deliveries per second into the inbox, on SQLite, over loopback.

The app runs with uvicorn in its own process; the load generator sends a fixed number of signed
`orders/create` deliveries, each a distinct order, while the inbox worker processes them in the
background. The same load against a bare endpoint that only verifies the signature gives the ratio:
what the durable inbox costs over the least any correct endpoint must do. Then the benchmark waits
for the inbox to drain and checks that every delivery became an order.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import httpx

from benchmarks.result import Result
from benchmarks.server import ADMIN_TOKEN, EXAMPLES, Load, generate_load, serve
from microfactory.channels.shopify.verify import sign

COUNT = int(os.environ.get("BENCH_WEBHOOKS_COUNT", "3000"))
WARMUP = 50
CONCURRENCY = 16
SECRET = "bench-webhook-secret"


def _deliveries(count: int) -> list[tuple[bytes, dict[str, str]]]:
    template = json.loads((EXAMPLES / "shopify" / "orders-create.json").read_text(encoding="utf-8"))
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


@dataclass(frozen=True)
class Drain:
    """How the inbox worker caught up after the burst."""

    seconds: float
    processed: int  # in all, during the burst and after it
    processed_after: int
    failed: int

    @property
    def per_second(self) -> float:
        return self.processed_after / self.seconds if self.seconds else 0.0


def _drain(base: str, limit: float = 300.0) -> Drain:
    """Wait until nothing waits in the inbox (or `limit` seconds pass) and read the counts."""
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    started = time.perf_counter()
    before: int | None = None
    while True:
        status = httpx.get(f"{base}/api/v1/shopify/inbox", headers=headers, params={"failed": 0}).json()
        before = status["counts"]["processed"] if before is None else before
        if status["pending"] == 0 or time.perf_counter() - started > limit:
            break
        time.sleep(0.25)
    processed = status["counts"]["processed"]
    failed = status["counts"]["failed"] + status["pending"]
    return Drain(time.perf_counter() - started, processed, processed - before, failed)


def _measure(
    factory: str, database: Path, deliveries: list[tuple[bytes, dict[str, str]]]
) -> tuple[Load, Drain | None]:
    async def send(session: aiohttp.ClientSession, index: int) -> int:
        body, headers = deliveries[index]
        async with session.post("/webhooks/shopify", data=body, headers=headers) as response:
            await response.read()
            return response.status

    with serve(factory, database, {"MICROFACTORY_SHOPIFY_WEBHOOK_SECRET": SECRET}) as base:
        catalog = (EXAMPLES / "catalog-keypad.yaml").read_text(encoding="utf-8")
        if factory.startswith("microfactory"):
            import yaml

            headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
            httpx.post(
                f"{base}/api/v1/catalogs", json=yaml.safe_load(catalog), headers=headers
            ).raise_for_status()
            return generate_load(base, COUNT, send, CONCURRENCY, WARMUP), _drain(base)
        return generate_load(base, COUNT, send, CONCURRENCY, WARMUP), None


def run() -> list[Result]:
    deliveries = _deliveries(COUNT + WARMUP)
    with tempfile.TemporaryDirectory() as folder:
        app, drain = _measure("microfactory.api.app:create_app", Path(folder) / "app.db", deliveries)
        bare, _ = _measure("benchmarks.apps:bare_webhook_app", Path(folder) / "bare.db", deliveries)
    assert drain is not None
    rate, p99 = app.per_second, app.percentile(0.99)
    ratio = rate / bare.per_second
    name = "webhooks"
    return [
        Result(
            name,
            f"signed deliveries stored ({COUNT}, {CONCURRENCY} clients)",
            rate,
            "/s",
            ">= 300",
            rate >= 300,
        ),
        Result(name, "latency p50", app.median_ms, "ms"),
        Result(name, "latency p99", p99, "ms", "< 100", p99 < 100),
        Result(name, "non-200 answers", app.failures, "", "0", app.failures == 0),
        Result(name, "bare signature-only endpoint", bare.per_second, "/s"),
        Result(name, "bare endpoint latency p99", bare.percentile(0.99), "ms"),
        Result(name, "ratio to bare endpoint", ratio, "", ">= 0.3", ratio >= 0.3),
        Result(name, "inbox drained after the burst", drain.seconds, "s"),
        Result(
            name,
            "processed into orders",
            drain.processed,
            "",
            str(COUNT + WARMUP),
            drain.processed == COUNT + WARMUP,
        ),
        Result(name, "processing after the burst", drain.per_second, "/s"),
        Result(name, "failed or left waiting", drain.failed, "", "0", drain.failed == 0),
    ]
