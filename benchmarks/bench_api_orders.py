"""Order creation through the API on SQLite (target: >= 500 orders/s with p99 < 50 ms)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import httpx
import yaml

from benchmarks.result import Result
from benchmarks.server import api_server, generate_load
from microfactory.simulation.order_generator import generate_orders

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
COUNT = 3000


def run() -> list[Result]:
    orders = [
        {
            "channel": "bench",
            "external_id": new.external_id,
            "ship_to": {k: v for k, v in new.ship_to.as_dict().items() if v not in ("", None)},
            "lines": [{"product": line.product, "qty": line.qty, "options": dict(line.options)} for line in new.lines],
        }
        for new in generate_orders(COUNT, seed=5, channel="bench")
    ]
    catalog = yaml.safe_load((SHARED / "examples/catalog-keypad.yaml").read_text())
    headers = {"Authorization": "Bearer bench-token"}
    with tempfile.TemporaryDirectory() as folder, api_server(Path(folder) / "bench.db") as base:
        httpx.post(f"{base}/api/v1/catalogs", json=catalog, headers=headers).raise_for_status()

        async def send(client: httpx.AsyncClient, index: int) -> httpx.Response:
            return await client.post("/api/v1/orders", json=orders[index], headers=headers)

        load = generate_load(base, COUNT, send, concurrency=8)
    p99 = load.percentile(0.99)
    return [
        Result("api orders", "orders created", load.per_second, "orders/s", ">= 500", load.per_second >= 500),
        Result("api orders", "p50 latency", load.median_ms, "ms"),
        Result("api orders", "p99 latency", p99, "ms", "< 50", p99 < 50),
        Result("api orders", "failed requests", load.failures, "count", "0", load.failures == 0),
    ]
