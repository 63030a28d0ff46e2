"""Run the API in a child process on loopback for load benchmarks, and a small async load generator."""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def api_server(database: Path, env: dict[str, str] | None = None, app: str | None = None) -> Iterator[str]:
    """The microfactory API (or another ASGI factory) served by uvicorn on a free loopback port."""
    port = free_port()
    environment = {
        **os.environ,
        "MICROFACTORY_DATABASE_URL": f"sqlite:///{database}",
        "MICROFACTORY_ADMIN_TOKEN": "bench-token",
        **(env or {}),
    }
    target = app or "microfactory.api.app:create_app"
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", target, "--port", str(port), "--log-level", "warning"],
        env=environment,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the server exited before it answered")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code < 500:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("the server did not answer within 30 s")


@dataclass(frozen=True)
class Load:
    requests: int
    seconds: float
    latencies_ms: list[float]
    failures: int

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.latencies_ms)


Send = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


def generate_load(base: str, count: int, send: Send, concurrency: int = 8) -> Load:
    """Send `count` requests, `concurrency` at a time; bounded in count, loopback only."""
    return asyncio.run(_load(base, count, send, concurrency))


async def _load(base: str, count: int, send: Send, concurrency: int) -> Load:
    latencies: list[float] = []
    failures = 0
    queue = iter(range(count))

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal failures
        for index in queue:
            started = time.perf_counter()
            response = await send(client, index)
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code >= 300:
                failures += 1

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return Load(count, elapsed, latencies, failures)
