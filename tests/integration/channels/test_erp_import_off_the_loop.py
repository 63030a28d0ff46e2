"""The ERP import neither stalls intake nor the event loop (issue 11.4): the body is read before the
write turn is taken, and parsing and writing happen in a worker thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import Engine

from microfactory.api.app import create_app
from microfactory.config import Settings
from tests.conftest import ADMIN_TOKEN
from tests.integration.live_server import live_server

HEADER = "order_id,line_id,product,sku,qty,option:keys,option:color\n"
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def base(shop_settings: Settings, channel_engine: Engine) -> Iterator[str]:
    with live_server(create_app(shop_settings, channel_engine)) as url:
        yield url


def _trickle(base: str, body: bytes, seconds: float, done: threading.Event) -> None:
    """A client that sends its import body slowly, as a slow link would."""
    parts = urlsplit(base)
    with socket.create_connection((parts.hostname or "", parts.port or 80)) as connection:
        head = (
            f"POST /api/v1/orders/import HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Authorization: Bearer {ADMIN_TOKEN}\r\nContent-Type: text/csv\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        connection.sendall(head.encode())
        step = max(1, len(body) // 10)
        for start in range(0, len(body), step):
            connection.sendall(body[start : start + step])
            time.sleep(seconds / 10)
        connection.settimeout(30)
        answer = connection.recv(65536)
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    done.set()


def test_a_slow_import_body_does_not_hold_up_other_writes(base: str) -> None:
    with httpx.Client(base_url=base, headers=AUTH, timeout=10) as client:
        order = client.post(
            "/api/v1/orders", json={"external_id": "x-1", "lines": [{"product": "KP"}]}
        ).json()
        assert client.post(f"/api/v1/orders/{order['id']}/cancel", json={"reason": "warm"}).is_success
        other = client.post(
            "/api/v1/orders", json={"external_id": "x-2", "lines": [{"product": "KP"}]}
        ).json()
        done = threading.Event()
        body = (HEADER + "PO-slow,1,,KM-RED,1,,\n").encode()
        sender = threading.Thread(target=_trickle, args=(base, body, 4.0, done), daemon=True)
        sender.start()
        time.sleep(0.5)  # the import's headers are in; its body is still coming
        started = time.perf_counter()
        cancel = client.post(f"/api/v1/orders/{other['id']}/cancel", json={"reason": "not waiting"})
        took = time.perf_counter() - started
        sender.join(20)
    assert cancel.status_code == 200, cancel.text
    assert took < 2.0, f"a cancel waited {took:.1f} s behind a trickling import"
    assert done.is_set()


def test_a_large_import_leaves_the_loop_answering(base: str) -> None:
    rows = "".join(f"PO-{index},1,,KM-RED,1,,\n" for index in range(400))
    worst = 0.0
    polls = 0
    with httpx.Client(base_url=base, headers=AUTH, timeout=120) as client:
        assert client.get("/healthz").is_success
        result: list[httpx.Response] = []
        importer = threading.Thread(
            target=lambda: result.append(
                client.post(
                    "/api/v1/orders/import",
                    content=(HEADER + rows).encode(),
                    headers={"Content-Type": "text/csv"},
                )
            )
        )
        importer.start()
        with httpx.Client(base_url=base, timeout=30) as probe:
            while importer.is_alive():
                started = time.perf_counter()
                assert probe.get("/healthz").status_code == 200
                worst = max(worst, time.perf_counter() - started)
                polls += 1
                time.sleep(0.05)
        importer.join()
    assert result and result[0].status_code == 200, result
    assert result[0].json()["imported"] == 400
    assert polls >= 5, "the import was too quick to tell"
    assert worst < 1.0, f"/healthz took {worst:.1f} s during the import"
