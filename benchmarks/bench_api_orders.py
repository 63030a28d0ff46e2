"""Order creation through the API on SQLite (target: >= 500 orders/s with p99 < 50 ms).

With the admin token from the environment, and again with a stored integration token (what an ERP
bridge sends), which the API verifies once and then keeps for a few seconds (`access.token_cache`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import aiohttp
import httpx
import yaml

from benchmarks.result import Result
from benchmarks.server import ADMIN_TOKEN, EXAMPLES, generate_load, serve
from microfactory.simulation.order_generator import generate_orders

COUNT = 3000
STORED_COUNT = 1000
WARMUP = 50
CONCURRENCY = 8


def run() -> list[Result]:
    orders = [
        {
            "channel": "bench",
            "external_id": new.external_id,
            "ship_to": {k: v for k, v in new.ship_to.as_dict().items() if v not in ("", None)},
            "lines": [
                {"product": line.product, "qty": line.qty, "options": dict(line.options)}
                for line in new.lines
            ],
        }
        for new in generate_orders(COUNT + WARMUP, seed=5, channel="bench")
    ]
    catalog = yaml.safe_load((EXAMPLES / "catalog-keypad.yaml").read_text())
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    stored: dict[str, str] = {}

    async def send(session: aiohttp.ClientSession, index: int) -> int:
        async with session.post("/api/v1/orders", json=orders[index], headers=headers) as response:
            await response.read()
            return response.status

    async def send_stored(session: aiohttp.ClientSession, index: int) -> int:
        order = {**orders[index], "external_id": f"S-{index}"}
        async with session.post("/api/v1/orders", json=order, headers=stored) as response:
            await response.read()
            return response.status

    async def health(session: aiohttp.ClientSession, index: int) -> int:
        async with session.get("/healthz") as response:
            await response.read()
            return response.status

    with (
        tempfile.TemporaryDirectory() as folder,
        serve("microfactory.api.app:create_app", Path(folder) / "b.db") as base,
    ):
        httpx.post(f"{base}/api/v1/catalogs", json=catalog, headers=headers).raise_for_status()
        load = generate_load(base, COUNT, send, CONCURRENCY, WARMUP)
        issued = httpx.post(
            f"{base}/api/v1/tokens", json={"name": "erp", "role": "integration"}, headers=headers
        )
        stored["Authorization"] = f"Bearer {issued.raise_for_status().json()['token']}"
        with_stored = generate_load(base, STORED_COUNT, send_stored, CONCURRENCY, WARMUP)
        floor = generate_load(base, COUNT, health, CONCURRENCY, WARMUP)
    p99 = load.percentile(0.99)
    name = "api orders"
    return [
        Result(
            name,
            f"orders created ({COUNT}, {CONCURRENCY} clients)",
            load.per_second,
            "orders/s",
            ">= 500",
            load.per_second >= 500,
        ),
        Result(name, "p50 latency", load.median_ms, "ms"),
        Result(name, "p99 latency", p99, "ms", "< 50", p99 < 50),
        Result(name, "failed requests", load.failures, "count", "0", load.failures == 0),
        Result(
            name,
            f"orders created with a stored token ({STORED_COUNT})",
            with_stored.per_second,
            "orders/s",
            ">= 500",
            with_stored.per_second >= 500,
        ),
        Result(
            name, "failed with a stored token", with_stored.failures, "count", "0", with_stored.failures == 0
        ),
        Result(name, "same harness, GET /healthz", floor.per_second, "requests/s"),
    ]
