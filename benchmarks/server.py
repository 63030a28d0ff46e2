"""Serve an ASGI app in a child process on loopback, and drive it with a light async load generator.

The server gets its own interpreter, as in production; the load generator (aiohttp, which costs the
client far less CPU than httpx) sends a fixed number of requests, a fixed number at a time, to
loopback only, and stops by itself.
"""

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

import aiohttp
import httpx

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"  # the project's own example files
ADMIN_TOKEN = "bench-token"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve(factory: str, database: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """`factory` (module:function returning an ASGI app) served by uvicorn on a free loopback port."""
    port = free_port()
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join((str(ROOT / "src"), str(ROOT))),  # this checkout's code, not the venv's
        "MICROFACTORY_DATABASE_URL": f"sqlite:///{database}",
        "MICROFACTORY_ADMIN_TOKEN": ADMIN_TOKEN,
        **(env or {}),
    }
    command = [sys.executable, "-m", "uvicorn", "--factory", factory, "--port", str(port)]
    process = subprocess.Popen([*command, "--log-level", "warning", "--no-access-log"], env=environment)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the server exited before it answered")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code < 500:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("the server did not answer within 60 s")


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


Send = Callable[[aiohttp.ClientSession, int], Awaitable[int]]  # returns the HTTP status


def generate_load(base: str, count: int, send: Send, concurrency: int = 8, warmup: int = 50) -> Load:
    """Send `warmup` then `count` requests, `concurrency` at a time, and measure the `count`."""
    return asyncio.run(_load(base, count, send, concurrency, warmup))


async def _load(base: str, count: int, send: Send, concurrency: int, warmup: int) -> Load:
    latencies: list[float] = []
    failures = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(base, connector=connector) as session:
        for index in range(warmup):
            await send(session, count + index)
        queue = iter(range(count))

        async def worker() -> None:
            nonlocal failures
            for index in queue:
                started = time.perf_counter()
                status = await send(session, index)
                latencies.append((time.perf_counter() - started) * 1000)
                if status >= 300:
                    failures += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return Load(count, elapsed, latencies, failures)
