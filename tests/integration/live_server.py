"""A real uvicorn server on a loopback port, in a thread of the test: for what TestClient hides
(the thread pool, concurrent connections, a server that stops answering), and for the fake servers
of services that cannot run here (Shopify, printers, the agent's server)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LoopbackServer:
    """An app served on one fixed loopback port, which a test may stop and start again (a cut link)."""

    def __init__(self, app: Any, *, lifespan: str = "auto", port: int | None = None) -> None:
        self.app = app
        self.lifespan = lifespan
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan=self.lifespan
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"the server on port {self.port} did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        """Close the port: the next call finds nobody listening. A hung server is left to its thread."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)
        self._server = self._thread = None


@contextmanager
def live_server(app: Any, *, lifespan: str = "auto") -> Iterator[str]:
    """Serve `app` until the block ends; the base URL. Fakes pass `lifespan="off"`."""
    server = LoopbackServer(app, lifespan=lifespan)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()
