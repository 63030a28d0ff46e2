"""What the fake EasyPost, Shippo and courier servers share: a real HTTP server on loopback, state
behind one lock, failures on demand, a purchase counter, a label PDF and signed webhooks.

```python
with FakeEasyPost(api_key="ep-key", webhook_secret="ep-secret") as fake:   # or fake.start() / fake.stop()
    carrier = EasyPostCarrier("ep-key", webhook_secret="ep-secret", base_url=fake.api_url)
    fake.fail_next(2, "500")                        # the next two requests answer 500, nothing done
    fake.fail_next(1, "crash_after_buy")            # the next purchase happens, its answer is lost
    ... carrier.buy(rate, "parcel-1") ...
    assert fake.purchases == 1
    fake.send_tracking(label.tracking_number, "delivered", "http://127.0.0.1:8000/webhooks/easypost")
```

Failure kinds for `fail_next(n, kind, on=None)`, each taken by the next matching request (`on` is a
substring of `"METHOD /path"`, or its end when it ends in `$`; purchases match by default for the `*_after_buy` kinds):

| kind | what the client sees | done at the carrier? |
|---|---|---|
| `"500"`, `"502"`, `"503"`, `"429"` | that status (429 with `Retry-After: 0`) | no |
| `"timeout"` | no answer within `hang_seconds` (then a 504) | no |
| `"crash_after_buy"` | a 500 | yes: the label is bought, the answer lost |
| `"timeout_after_buy"` | no answer within `hang_seconds` | yes |
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from tests.integration.live_server import live_server

AFTER = ("crash_after_buy", "timeout_after_buy")
KINDS = ("500", "502", "503", "429", "timeout", *AFTER)
# the portable states (TrackingState values) a test may send; each fake adds its own vocabulary
PORTABLE = (
    "pre_transit",
    "in_transit",
    "out_for_delivery",
    "delivered",
    "returned",
    "failure",
    "cancelled",
    "unknown",
)


def tiny_pdf(text: str = "LABEL") -> bytes:
    """A small valid one-page PDF (its xref offsets computed), with `text` on the page."""
    stream = f"BT /F1 24 Tf 36 100 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 288 432] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


@dataclass
class Failure:
    kind: str
    on: str | None


class FakeCarrierServer:
    """Base of the fakes: subclasses add their routes in `routes(app)` and say what a purchase is."""

    purchase_marker = "/buy"  # a substring of "METHOD /path" that names a purchase request

    def __init__(self, hang_seconds: float = 1.5) -> None:
        self.lock = threading.RLock()
        self.hang_seconds = hang_seconds
        self.failures: list[Failure] = []
        self.purchases = 0  # labels bought (or bookings made), a repeat answered from memory not counted
        self.requests: list[str] = []  # "METHOD /path" of every request, in order
        self.webhooks: list[tuple[str, int]] = []  # (url, status) of every webhook sent
        self.url = ""
        self._ids = itertools.count(1)
        self._stack: ExitStack | None = None
        self.app = FastAPI()
        self.app.middleware("http")(self._gate)
        self.app.get("/labels/{label}.pdf")(self._label_pdf)
        self.routes(self.app)

    # --- the API a test uses -------------------------------------------------------------------
    def start(self) -> str:
        """Serve on a loopback port; the server's root URL."""
        if self._stack is None:
            self._stack = ExitStack()
            self.url = self._stack.enter_context(live_server(self.app))
        return self.url

    def stop(self) -> None:
        if self._stack is not None:
            self._stack.close()
            self._stack = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def fail_next(self, n: int = 1, kind: str = "500", on: str | None = None) -> None:
        """The next `n` matching requests fail as `kind` (see the module's table)."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        with self.lock:
            self.failures.extend(Failure(kind, on) for _ in range(n))

    def send_tracking(self, tracking_number: str, status: str, url: str) -> int:
        """Move the parcel to `status` and POST the carrier's signed webhook about it to `url`.

        `status` is a portable state (`delivered`, `in_transit` ...) or the carrier's own word; the
        answer's HTTP status comes back (and is kept in `webhooks`).
        """
        body, headers, target = self.tracking_webhook(tracking_number, status, url)
        response = httpx.post(target, content=body, headers={"Content-Type": "application/json", **headers})
        with self.lock:
            self.webhooks.append((target, response.status_code))
        return response.status_code

    def partner(self, name: str = "partner") -> tuple[dict[str, Any], dict[str, str]]:
        """A network `fulfilment_partners` entry pointing at this fake, and the environment it needs:
        `carrier_for(spec, environ)` builds the adapter (`name` prefixes the variables)."""
        raise NotImplementedError

    # --- for subclasses ------------------------------------------------------------------------
    def routes(self, app: FastAPI) -> None:
        raise NotImplementedError

    def tracking_webhook(
        self, tracking_number: str, status: str, url: str
    ) -> tuple[bytes, dict[str, str], str]:
        """The webhook's body, headers and final URL; the parcel's state changed in the fake.

        Public so a test may post it through FastAPI's TestClient instead of over the network.
        """
        raise NotImplementedError

    def next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08d}"

    def label_url(self, label_id: str) -> str:
        return f"{self.url}/labels/{label_id}.pdf"

    @staticmethod
    def now() -> str:
        return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    # --- the machinery -------------------------------------------------------------------------
    def _take(self, what: str) -> Failure | None:
        with self.lock:
            for index, failure in enumerate(self.failures):
                on = failure.on or (self.purchase_marker if failure.kind in AFTER else None)
                if on is None or matches(on, what):
                    return self.failures.pop(index)
        return None

    async def _gate(self, request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        what = f"{request.method} {request.url.path}"
        with self.lock:
            self.requests.append(what)
        failure = None if request.url.path.startswith("/labels/") else self._take(what)
        if failure is None:
            return await call_next(request)
        if failure.kind in AFTER:
            await call_next(request)  # it happens at the carrier ...
            if failure.kind == "timeout_after_buy":
                await asyncio.sleep(self.hang_seconds)
            return JSONResponse({"error": "the answer was lost"}, 500)  # ... and the answer is lost
        if failure.kind == "timeout":
            await asyncio.sleep(self.hang_seconds)
            return JSONResponse({"error": "gateway timeout"}, 504)
        headers = {"Retry-After": "0"} if failure.kind == "429" else {}
        return JSONResponse({"error": f"HTTP {failure.kind} on demand"}, int(failure.kind), headers=headers)

    async def _label_pdf(self, label: str) -> Response:
        return Response(tiny_pdf(label), media_type="application/pdf")


def matches(on: str, what: str) -> bool:
    """`on` found in "METHOD /path"; ending in `$`, the request must end with it."""
    return what.endswith(on[:-1]) if on.endswith("$") else on in what


def json_of(raw: bytes) -> Any:
    import json

    return json.loads(raw or b"{}")
