"""What the OctoPrint and Moonraker connectors share: one HTTP client per printer, sent through the
house retry policy, and one reading of the answers a printer gives.

Every call goes through `outbound_http.send`, so a read is retried while a mutation whose outcome is
unknown (an upload or a start that got no answer) is never sent twice: a printer that received a
start twice could print twice. The printers' refusals become our error kinds once, here:

| the printer answers | we raise |
|---|---|
| 401, 403 (the key is wrong or missing) | `UpstreamFailure`, not retryable: the operator fixes the key |
| 404 | `NotFound` (the file or job is not on the printer) |
| 409 (busy, not operational) | `Conflict`: try again when the printer is free |
| another 4xx, a body that is not JSON | `UpstreamFailure`, not retryable |
"""

from __future__ import annotations

import time
import uuid
from pathlib import PurePosixPath
from typing import Any, ClassVar

import httpx

from microfactory.errors import Conflict, NotFound, UpstreamFailure
from microfactory.outbound_http import RetryPolicy, Sleep, json_object, send

KEY_HEADER = "X-Api-Key"  # both OctoPrint and Moonraker take the key in this header
PRINTER_POLICY = RetryPolicy(attempts=3, base_delay=0.5, max_delay=5.0)  # a printer sits on the LAN


class PrinterHttp:
    """One printer's HTTP endpoint: its base URL, its key header and the retry policy."""

    def __init__(
        self,
        upstream: str,
        base_url: str,
        api_key: str | None = None,
        *,
        policy: RetryPolicy = PRINTER_POLICY,
        sleep: Sleep = time.sleep,
        timeout: float = 10.0,
    ) -> None:
        headers = {KEY_HEADER: api_key} if api_key else {}
        self.upstream = upstream
        self._client = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout)
        self._policy = policy
        self._sleep = sleep

    def call(self, method: str, path: str, what: str, **request: Any) -> httpx.Response:
        """Send one request and return a successful answer; a refusal raises its error kind."""
        response = self.call_raw(method, path, **request)
        self.raise_for_refusal(response, what)
        return response

    def call_raw(self, method: str, path: str, **request: Any) -> httpx.Response:
        """Send one request under the retry policy; the answer comes back whatever its status."""
        built = self._client.build_request(method, path, **request)
        return send(self._client, built, upstream=self.upstream, policy=self._policy, sleep=self._sleep)

    def json(self, method: str, path: str, what: str, **request: Any) -> dict[str, Any]:
        """`call`, then the answer's JSON object; anything else is an upstream answering nonsense."""
        return json_object(self.call(method, path, what, **request), self.upstream, what)

    def raise_for_refusal(self, response: httpx.Response, what: str) -> None:
        code = response.status_code
        if code < 400:
            return
        detail = error_detail(response)
        if code in (401, 403):
            raise UpstreamFailure(
                self.upstream,
                f"{what}: the printer refused our API key (HTTP {code}); check the key in the variable "
                "the connector's api_key_env names",
                retryable=False,
            )
        if code == 404:
            raise NotFound("printer file", what, f"{self.upstream}: {what}: not on the printer ({detail})")
        if code == 409:
            raise Conflict(f"{self.upstream}: {what}: the printer is busy or not ready ({detail})")
        raise UpstreamFailure(self.upstream, f"{what}: HTTP {code} ({detail})", retryable=False)

    def close(self) -> None:
        self._client.close()


def error_detail(response: httpx.Response) -> str:
    """The printer's own words: OctoPrint's `error`, Moonraker's `error.message`, else the text."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200] or response.reason_phrase
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            return str(error.get("message", error))
        if error:
            return str(error)
    return str(body)[:200]


def upload_name(program_name: str) -> str:
    """A file name of its own for each submission, so two jobs never share (or overwrite) a file.

    The program's name stays readable at the front: `KEYCAP-PLA-TEAL-3f9c2a1b.gcode`.
    """
    path = PurePosixPath(program_name.replace("\\", "/")).name or "program"
    stem, suffix = PurePosixPath(path).stem, PurePosixPath(path).suffix or ".gcode"
    return f"{stem}-{uuid.uuid4().hex[:8]}{suffix}"


def progress_share(value: object, scale: float = 1.0) -> float:
    """A printer's progress as a share from 0 to 1 (OctoPrint counts percent: `scale=100`)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return 0.0
    return min(1.0, max(0.0, float(value) / scale))


class HttpPrinter:
    """What both printer connectors hold: the printer's endpoint, and the jobs cancelled before they ran
    (a printer keeps no record of a file it never started)."""

    upstream: ClassVar[str]

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        *,
        policy: RetryPolicy = PRINTER_POLICY,
        sleep: Sleep = time.sleep,
    ) -> None:
        self._http = PrinterHttp(self.upstream, url, api_key, policy=policy, sleep=sleep)
        self._cancelled: set[str] = set()
