"""The external hook against a fake hook server on loopback: signed requests, findings read back,
and every failure (timeout, error status, malformed answer) a verdict of review, never a crash."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from microfactory.quality import synthetic
from microfactory.quality.inspectors import InspectionContext, Region, Verdict
from microfactory.quality.inspectors.http import SIGNATURE_HEADER, HttpInspector
from microfactory.quality.inspectors.images import decode_image
from microfactory.quality.inspectors.kinds import build_inspector
from tests.integration.live_server import live_server

SECRET = b"hook-secret"
UNIT = InspectionContext("KP-000123", "KP", {"color": "teal"}, station="berlin-qa")


def _hook() -> tuple[FastAPI, dict[str, Any]]:
    seen: dict[str, Any] = {"calls": 0}
    app = FastAPI()

    @app.post("/judge/{mode}")
    async def judge(mode: str, request: Request) -> Response:
        body = await request.body()
        seen["calls"] += 1
        expected = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(request.headers.get(SIGNATURE_HEADER, ""), expected):
            return JSONResponse({"error": "bad signature"}, status_code=401)
        document = json.loads(body)
        seen["unit"] = document["unit"]
        seen["image"] = decode_image(base64.b64decode(document["image"]["data"]))
        if mode == "slow":
            time.sleep(1.5)
        if mode == "flaky" and seen["calls"] == 1:
            return JSONResponse({"error": "busy"}, status_code=503)
        if mode == "garbage":
            return Response("<html>oops</html>", media_type="text/html")
        if mode == "bad-region":
            return JSONResponse(
                {"verdict": "fail", "findings": [{"label": "x", "score": 0.9, "region": [1, 2]}]}
            )
        return JSONResponse(
            {
                "verdict": "fail",
                "version": "acme-7",
                "findings": [{"label": "scratch", "score": 0.92, "region": [10, 20, 30, 40]}],
            }
        )

    return app, seen


@pytest.fixture(scope="module")
def hook() -> Iterator[tuple[str, dict[str, Any]]]:
    app, seen = _hook()
    with live_server(app) as base:
        yield base, seen


def _inspector(url: str, secret: bytes | None = SECRET, timeout: float = 5.0) -> HttpInspector:
    return HttpInspector(url, secret, timeout_s=timeout, attempts=2, sleep=lambda _s: None)


def test_a_signed_image_and_the_units_context_go_out_and_findings_come_back(
    hook: tuple[str, dict[str, Any]],
) -> None:
    base, seen = hook
    image = synthetic.sample("scratch", 1, size=(320, 240)).image
    inspection = _inspector(f"{base}/judge/ok").inspect(image, UNIT)
    assert inspection.verdict is Verdict.FAIL and inspection.version == "http/acme-7"
    assert inspection.findings[0].region == Region(10, 20, 30, 40) and inspection.score == 0.92
    assert seen["unit"] == {
        "serial": "KP-000123",
        "sku": "KP",
        "options": {"color": "teal"},
        "station": "berlin-qa",
    }
    assert (seen["image"] == image).all()  # PNG: the hook sees exactly our pixels


def test_the_secret_comes_from_the_environment(
    hook: tuple[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, _ = hook
    monkeypatch.setenv("QA_HOOK_SECRET", SECRET.decode())
    inspector = build_inspector(
        {"inspector": "http", "url": f"{base}/judge/ok", "secret_env": "QA_HOOK_SECRET"}
    )
    image = synthetic.sample("good", 1, size=(160, 120)).image
    assert inspector.inspect(image, UNIT).verdict is Verdict.FAIL
    unsigned = _inspector(f"{base}/judge/ok", secret=b"wrong").inspect(image, UNIT)
    assert unsigned.verdict is Verdict.REVIEW and "HTTP 401" in unsigned.findings[0].label


@pytest.mark.parametrize(
    ("mode", "why"),
    [
        ("garbage", "malformed: not JSON"),
        ("bad-region", "region must be [x, y, w, h]"),
        ("slow", "hook failed"),
    ],
)
def test_a_broken_hook_asks_for_review_saying_why(
    hook: tuple[str, dict[str, Any]], mode: str, why: str
) -> None:
    base, _ = hook
    image = synthetic.sample("good", 2, size=(160, 120)).image
    inspection = _inspector(f"{base}/judge/{mode}", timeout=0.5).inspect(image, UNIT)
    assert inspection.verdict is Verdict.REVIEW
    assert why in inspection.findings[0].label


def test_a_busy_hook_is_asked_again(hook: tuple[str, dict[str, Any]]) -> None:
    base, seen = hook
    seen["calls"] = 0
    image = synthetic.sample("good", 3, size=(160, 120)).image
    assert _inspector(f"{base}/judge/flaky").inspect(image, UNIT).verdict is Verdict.FAIL
    assert seen["calls"] == 2


def test_no_server_at_all_asks_for_review() -> None:
    image = synthetic.sample("good", 3, size=(160, 120)).image
    inspection = _inspector("http://127.0.0.1:9/judge").inspect(image, UNIT)
    assert inspection.verdict is Verdict.REVIEW and "could not connect" in inspection.findings[0].label
