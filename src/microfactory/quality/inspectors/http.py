"""The external hook: a site's own model judges the image, over HTTP.

We POST one JSON document (the contract, docs/quality.md):

```json
{"unit": {"serial": "KP-000123", "sku": "KP", "options": {"color": "teal"}, "station": "berlin-qa"},
 "image": {"content_type": "image/png", "width": 1024, "height": 768, "data": "<base64 PNG>"},
 "sent_at": "2025-05-01T10:00:00Z"}
```

with `X-Microfactory-Signature: sha256=<hex HMAC-SHA256 of the raw body>` keyed by the secret in
the environment variable `secret_env` (when the check names one), and read back

```json
{"verdict": "pass" | "fail" | "review", "version": "acme-scratch-7",
 "findings": [{"label": "scratch", "score": 0.92, "region": [x, y, w, h]}]}
```

Judging has no side effect, so the request is sent again on a lost connection or a 5xx
(`outbound_http`, `attempts`, each attempt bounded by `timeout_s`). Whatever goes wrong (no answer,
an error status, an answer that breaks the contract) the unit is not passed or failed by guess:
the verdict is `review`, with a finding that says why.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from microfactory.errors import MissingSetting, UpstreamFailure
from microfactory.outbound_http import RetryPolicy, Sleep, send
from microfactory.quality.inspectors import Finding, Image, Inspection, InspectionContext, Region, Verdict
from microfactory.quality.inspectors.images import encode_png

KIND = "http"
SIGNATURE_HEADER = "X-Microfactory-Signature"


def signature(secret: bytes, body: bytes) -> str:
    """The header's value for `body`: `sha256=` and the hex HMAC-SHA256 (what a hook checks)."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


class MalformedAnswer(ValueError):
    """The hook answered, but not with the contract's JSON."""


class HttpInspector:
    def __init__(
        self,
        url: str,
        secret: bytes | None = None,
        timeout_s: float = 10.0,
        attempts: int = 3,
        sleep: Sleep | None = None,
    ) -> None:
        self._url, self._secret, self._timeout = url, secret, timeout_s
        self._policy = RetryPolicy(attempts=attempts, base_delay=0.2, max_delay=2.0, jitter=0.1)
        self._sleep = sleep

    def inspect(self, image: Image, context: InspectionContext) -> Inspection:
        body = self.body(image, context)
        headers = {"Content-Type": "application/json"}
        if self._secret is not None:
            headers[SIGNATURE_HEADER] = signature(self._secret, body)
        try:
            with httpx.Client(timeout=self._timeout) as client:
                request = client.build_request("POST", self._url, content=body, headers=headers)
                extra = {} if self._sleep is None else {"sleep": self._sleep}
                response = send(
                    client, request, upstream="inspection hook", policy=self._policy, idempotent=True, **extra
                )
        except UpstreamFailure as error:
            return _review(f"hook failed: {error.message}")
        if response.status_code != 200:
            return _review(f"hook answered HTTP {response.status_code}")
        try:
            return parse_answer(response.content)
        except MalformedAnswer as error:
            return _review(f"hook answer malformed: {error}")

    @staticmethod
    def body(image: Image, context: InspectionContext) -> bytes:
        """The request's JSON body (the exact bytes that are signed)."""
        document = {
            "unit": {
                "serial": context.serial,
                "sku": context.sku,
                "options": dict(context.options),
                "station": context.station,
            },
            "image": {
                "content_type": "image/png",
                "width": int(image.shape[1]),
                "height": int(image.shape[0]),
                "data": base64.b64encode(encode_png(image)).decode("ascii"),
            },
            "sent_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        }
        return json.dumps(document, separators=(",", ":")).encode()


def parse_answer(content: bytes) -> Inspection:
    """The hook's answer as an Inspection; `MalformedAnswer` naming what breaks the contract."""
    try:
        answer = json.loads(content)
    except ValueError:
        raise MalformedAnswer("not JSON") from None
    if not isinstance(answer, dict):
        raise MalformedAnswer("not a JSON object")
    try:
        verdict = Verdict(str(answer.get("verdict")))
    except ValueError:
        raise MalformedAnswer(f"verdict {answer.get('verdict')!r} is not pass, fail or review") from None
    version = answer.get("version", "")
    raw = answer.get("findings", [])
    if not isinstance(version, str) or not isinstance(raw, list):
        raise MalformedAnswer("version must be text and findings a list")
    findings = tuple(_finding(item, index) for index, item in enumerate(raw))
    return Inspection(verdict, findings, KIND, f"http/{version}" if version else "http")


def _finding(item: object, index: int) -> Finding:
    where = f"findings[{index}]"
    if not isinstance(item, dict):
        raise MalformedAnswer(f"{where} is not an object")
    label, score, region = item.get("label"), item.get("score"), item.get("region")
    if not isinstance(label, str) or not label:
        raise MalformedAnswer(f"{where}.label must be non-empty text")
    if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1:
        raise MalformedAnswer(f"{where}.score must be a number from 0 to 1")
    return Finding(label, float(score), None if region is None else _region(region, where))


def _region(region: object, where: str) -> Region:
    values = region if isinstance(region, list) else []
    whole = [v for v in values if isinstance(v, int) and not isinstance(v, bool) and v >= 0]
    if len(values) != 4 or len(whole) != 4:
        raise MalformedAnswer(f"{where}.region must be [x, y, w, h] in whole pixels")
    return Region(whole[0], whole[1], whole[2], whole[3])


def _review(why: str) -> Inspection:
    return Inspection(Verdict.REVIEW, (Finding(why, 0.5),), KIND, "http")


def from_settings(settings: Mapping[str, Any]) -> HttpInspector:
    """A catalog check's settings: `url`, `secret_env`, `timeout_s` (10), `attempts` (3)."""
    secret = None
    name = settings.get("secret_env")
    if name:
        value = os.environ.get(str(name))
        if not value:
            raise MissingSetting(str(name), "the inspection hook's secret signs every request")
        secret = value.encode()
    return HttpInspector(
        str(settings["url"]),
        secret,
        float(settings.get("timeout_s", 10.0)),
        int(settings.get("attempts", 3)),
    )
