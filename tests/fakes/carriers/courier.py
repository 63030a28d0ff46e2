"""A fake local courier on loopback that speaks our handoff contract (docs/integrations/logistics.md).

`POST {path}/quotes`, `POST {path}` (a booking; a repeated idempotency key answers the first booking,
200, and with another quote 409), `POST {path}/track`, `POST {path}/cancel` (409 once collected),
`POST {path}/collect`; every request must carry `X-Microfactory-Signature: sha256=<hex>` of its body
(else 401), and status callbacks are signed the same way. The handoff URL is `fake.handoff_url`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from microfactory.logistics.carriers.local_courier import sign
from tests.fakes.carriers.base import FakeCarrierServer, json_of

STATUS_WORDS = {"in_transit": "in_transit", "failure": "failed", "pre_transit": "booked"}


def refusal(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status)


class FakeCourier(FakeCarrierServer):
    purchase_marker = "POST /pickups$"

    def __init__(self, secret: str = "courier-secret", path: str = "/pickups", **kw: Any) -> None:
        self.secret = secret
        self.path = path
        self.purchase_marker = f"POST {path}$"
        self.quotes: dict[str, dict[str, Any]] = {}
        self.bookings: dict[str, dict[str, Any]] = {}  # by booking id
        self.by_key: dict[str, str] = {}  # idempotency key -> booking id
        self.collections: dict[str, dict[str, Any]] = {}  # by idempotency key
        super().__init__(**kw)

    @property
    def handoff_url(self) -> str:
        return f"{self.url}{self.path}"

    def partner(self, name: str = "BER_CARGOBIKE") -> tuple[dict[str, Any], dict[str, str]]:
        api = {"kind": "webhook", "url": self.handoff_url, "secret_env": f"{name}_SECRET"}
        spec = {"kind": "local_courier", "mode": "cargo_bike", "radius_km": 25, "api": api}
        return spec, {api["secret_env"]: self.secret}

    def routes(self, app: FastAPI) -> None:
        app.post(f"{self.path}/quotes")(self._quotes)
        app.post(f"{self.path}/track")(self._track)
        app.post(f"{self.path}/cancel")(self._cancel)
        app.post(f"{self.path}/collect")(self._collect)
        app.post(self.path)(self._book)

    async def _body(self, request: Request) -> tuple[dict[str, Any] | None, JSONResponse | None]:
        raw = await request.body()
        if request.headers.get("x-microfactory-signature") != sign(self.secret, raw):
            return None, refusal(401, "the request's X-Microfactory-Signature does not match its body")
        return json_of(raw), None

    async def _quotes(self, request: Request) -> JSONResponse:
        body, refused = await self._body(request)
        if refused or body is None:
            return refused or refusal(400, "no body")
        if not body.get("parcel") or not body.get("pickup") or not body.get("delivery"):
            return refusal(400, "parcel, pickup and delivery are required")
        kg = Decimal(body["parcel"]["mass_kg"])
        now = datetime.now(UTC)
        found = []
        with self.lock:
            for service, base, hours in (("same_day", Decimal("9.50"), 6), ("next_day", Decimal("6.00"), 24)):
                quote = {
                    "quote_id": self.next_id("q_"),
                    "service": service,
                    "price": str(base + kg * Decimal("0.40")),
                    "currency": "EUR",
                    "eta": (now + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "days": 1,
                    "emissions_kg": "0.000",
                    "expires_at": (now + timedelta(hours=12)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "request": body,
                }
                self.quotes[quote["quote_id"]] = quote
                found.append({k: v for k, v in quote.items() if k != "request"})
        return JSONResponse({"quotes": found})

    async def _book(self, request: Request) -> JSONResponse:
        body, refused = await self._body(request)
        if refused or body is None:
            return refused or refusal(400, "no body")
        key, quote_id = body.get("idempotency_key"), body.get("quote_id")
        if not key or request.headers.get("idempotency-key") != key:
            return refusal(400, "idempotency_key is required, in the body and as Idempotency-Key")
        with self.lock:
            if key in self.by_key:
                booking = self.bookings[self.by_key[key]]
                if booking["quote_id"] != quote_id:
                    return refusal(409, f"idempotency key {key} was used for quote {booking['quote_id']}")
                return JSONResponse(booking, 200)
            quote = self.quotes.get(quote_id)
            if quote is None:
                return refusal(404, f"no quote {quote_id}")
            self.purchases += 1
            bid = self.next_id("bk_")
            booking = {
                "booking_id": bid,
                "quote_id": quote_id,
                "tracking_number": f"CB{self.purchases:08d}",
                "price": quote["price"],
                "currency": quote["currency"],
                "eta": quote["eta"],
                "status": "booked",
                "label_url": self.label_url(bid),
                "at": self.now(),
                "message": "",
            }
            self.bookings[bid] = booking
            self.by_key[key] = bid
        return JSONResponse(booking, 201)

    def _find(self, number: str) -> dict[str, Any] | None:
        return next((b for b in self.bookings.values() if b["tracking_number"] == number), None)

    async def _track(self, request: Request) -> JSONResponse:
        body, refused = await self._body(request)
        if refused or body is None:
            return refused or refusal(400, "no body")
        with self.lock:
            booking = self._find(str(body.get("tracking_number")))
            if booking is None:
                return refusal(404, f"no booking with tracking number {body.get('tracking_number')}")
            return JSONResponse(booking)

    async def _cancel(self, request: Request) -> JSONResponse:
        body, refused = await self._body(request)
        if refused or body is None:
            return refused or refusal(400, "no body")
        with self.lock:
            booking = self.bookings.get(str(body.get("booking_id")))
            if booking is None:
                return refusal(404, f"no booking {body.get('booking_id')}")
            if booking["status"] not in ("booked", "cancelled"):
                return refusal(
                    409, f"booking {booking['booking_id']} is {booking['status']}: too late to cancel"
                )
            booking["status"] = "cancelled"
            return JSONResponse({"booking_id": booking["booking_id"], "status": "cancelled"})

    async def _collect(self, request: Request) -> JSONResponse:
        body, refused = await self._body(request)
        if refused or body is None:
            return refused or refusal(400, "no body")
        with self.lock:
            missing = [b for b in body.get("booking_ids") or [] if b not in self.bookings]
            if missing or not body.get("booking_ids"):
                return refusal(404, f"no bookings {missing}")
            key = str(body.get("idempotency_key"))
            if key not in self.collections:
                self.collections[key] = {
                    "collection_id": self.next_id("col_"),
                    "booking_ids": body["booking_ids"],
                    "ready_at": body.get("ready_at"),
                    "until": body.get("until"),
                    "status": "scheduled",
                }
            return JSONResponse(self.collections[key])

    def tracking_webhook(
        self, tracking_number: str, status: str, url: str
    ) -> tuple[bytes, dict[str, str], str]:
        word = STATUS_WORDS.get(status, status)
        with self.lock:
            booking = self._find(tracking_number)
            if booking is None:
                raise KeyError(tracking_number)
            booking.update(status=word, at=self.now(), message=f"parcel is {word}")
            event = {
                "event": "status",
                **{k: booking[k] for k in ("booking_id", "tracking_number", "status", "at", "message")},
            }
        body = json.dumps(event).encode()
        return body, {"X-Microfactory-Signature": sign(self.secret, body)}, url
