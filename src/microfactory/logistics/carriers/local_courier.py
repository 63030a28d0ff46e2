"""A local courier (`kind: local_courier`, `api: {kind: webhook, url, secret_env}`): a cargo-bike or
van service reached by a plain HTTP handoff whose JSON contract is ours (docs/integrations/logistics.md).

Every request is a POST of a JSON body to the partner's `url` (U), signed both ways with HMAC-SHA256
of the exact body bytes under the shared secret: `X-Microfactory-Signature: sha256=<hex>`.

| call | the courier |
|---|---|
| `rates` | `POST U/quotes {parcel, pickup, delivery, ready_at}` -> `{"quotes": [{quote_id, service, price, currency, eta, days, emissions_kg}]}` |
| `buy` | `POST U {quote_id, idempotency_key}` (+ `Idempotency-Key`) -> `{booking_id, tracking_number, price, currency, eta, status, label_url}` |
| `track` | `POST U/track {tracking_number}` -> `{booking_id, tracking_number, status, at, message}` |
| `cancel` | `POST U/cancel {booking_id}` -> `{booking_id, status: "cancelled"}`; 409 once collected |
| `book_pickup` | `POST U/collect {booking_ids, ready_at, until, idempotency_key}` -> `{collection_id, status}` |
| `read_event` | status callbacks to `POST /webhooks/courier/{partner}`: `{event: "status", booking_id, tracking_number, status, at, message}` |

**Never two bookings.** The booking carries our idempotency key (in the body and as
`Idempotency-Key`), and the contract obliges the courier to answer a repeated key with the first
booking. That makes the booking safe to resend: timeouts and 5xx are retried with backoff, and a
retry after a crash between the courier's answer and our record gets the same booking back. A key
repeated with another quote is the courier's 409 (`Conflict`).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from microfactory.errors import Invalid, NotFound, UpstreamFailure
from microfactory.logistics.carriers import Label, Parcel, Place, Rate, TrackingState, TrackingStatus
from microfactory.logistics.carriers.http import CARRIER_POLICY, CarrierHttp, iso, money, nonsense, utc_time
from microfactory.logistics.carriers.signing import hex_digest, require_signature
from microfactory.outbound_http import RetryPolicy, Sleep
from microfactory.problems import Problem

UPSTREAM = "local_courier"
SIGNATURE_HEADER = "X-Microfactory-Signature"
SIGNATURE_PREFIX = "sha256="
STATES = {
    "booked": TrackingState.PRE_TRANSIT,
    "picked_up": TrackingState.IN_TRANSIT,
    "in_transit": TrackingState.IN_TRANSIT,
    "out_for_delivery": TrackingState.OUT_FOR_DELIVERY,
    "delivered": TrackingState.DELIVERED,
    "failed": TrackingState.FAILURE,
    "returned": TrackingState.RETURNED,
    "cancelled": TrackingState.CANCELLED,
}


def sign(secret: str, body: bytes) -> str:
    """The `X-Microfactory-Signature` value of a body: what we send, and what the courier sends us."""
    return SIGNATURE_PREFIX + hex_digest(secret, body)


def error_words(body: Any) -> str:
    """The contract's error body: `{"error": "..."}`."""
    return str(body["error"]) if isinstance(body, dict) and "error" in body else str(body)


class LocalCourier:
    """One courier's handoff endpoint and shared secret."""

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        name: str = UPSTREAM,
        secret_env: str = "",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        policy: RetryPolicy = CARRIER_POLICY,
        sleep: Sleep = time.sleep,
        timeout: float = 15.0,
    ) -> None:
        self._url = url.rstrip("/")
        self._secret = secret
        self._name = name
        self._clock = clock
        self._http = CarrierHttp(
            name,
            self._url,
            key_env=secret_env,
            detail=error_words,
            policy=policy,
            sleep=sleep,
            timeout=timeout,
        )

    def _post(self, path: str, what: str, body: Mapping[str, Any], key: str | None = None) -> dict[str, Any]:
        """POST a signed JSON body; a read or a keyed booking is resent on timeouts and 5xx."""
        content = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(self._secret, content)}
        if key is not None:
            headers["Idempotency-Key"] = key
        return self._http.json(
            "POST", f"{self._url}{path}", what, content=content, headers=headers, idempotent=True
        )

    def rates(self, parcel: Parcel, origin: Place, destination: Place) -> list[Rate]:
        body = {
            "parcel": {
                "mass_kg": str(parcel.mass_kg),
                "length_cm": str(parcel.length_cm),
                "width_cm": str(parcel.width_cm),
                "height_cm": str(parcel.height_cm),
            },
            "pickup": _place(origin),
            "delivery": _place(destination),
            "ready_at": iso(self._clock()),
        }
        answer = self._post("/quotes", "quote", body)
        return [self._rate(raw) for raw in answer.get("quotes") or [] if isinstance(raw, dict)]

    def _rate(self, raw: Mapping[str, Any]) -> Rate:
        what = f"quote {raw.get('quote_id')}"
        eta = utc_time(raw.get("eta"))
        days = raw.get("days")
        if days is None and eta is not None:
            days = max(0, -(-(eta - self._clock()) // timedelta(days=1)))
        emissions = raw.get("emissions_kg")
        try:
            return Rate(
                str(raw["quote_id"]),
                str(raw.get("carrier") or self._name),
                str(raw.get("service") or "courier"),
                money(raw["price"], self._name, what),
                str(raw["currency"]),
                int(days if days is not None else 1),
                money(emissions, self._name, what) if emissions is not None else None,
                None,
                eta,
            )
        except (KeyError, TypeError, ValueError) as error:
            raise nonsense(self._name, what, f"the quote lacks {error}") from None

    def buy(self, rate: Rate, idempotency_key: str) -> Label:
        """Book the quote; the courier answers a repeated key with the first booking."""
        body = {"quote_id": rate.rate_id, "idempotency_key": idempotency_key}
        booking = self._post("", f"book quote {rate.rate_id}", body, key=idempotency_key)
        if not booking.get("booking_id"):
            raise nonsense(self._name, f"book quote {rate.rate_id}", "the answer has no booking_id")
        return Label(
            str(booking["booking_id"]),
            rate,
            booking.get("tracking_number") or None,
            booking.get("label_url") or None,
            booking.get("tracking_url") or None,
        )

    def track(self, tracking_number: str) -> TrackingStatus:
        what = f"track {tracking_number}"
        try:
            answer = self._post("/track", what, {"tracking_number": tracking_number})
        except NotFound:
            raise NotFound(
                "tracking number", tracking_number, f"{self._name}: no booking {tracking_number!r}"
            ) from None
        return _status(answer, self._name, what)

    def cancel(self, label: Label) -> None:
        """Call the booking off; the courier refuses (409, `Conflict`) once it has collected it."""
        answer = self._post("/cancel", f"cancel booking {label.label_id}", {"booking_id": label.label_id})
        if answer.get("status") != "cancelled":
            raise nonsense(
                self._name, f"cancel booking {label.label_id}", f"status is {answer.get('status')!r}"
            )

    def book_pickup(
        self, labels: list[Label], ready_at: datetime, until: datetime, idempotency_key: str | None = None
    ) -> str:
        """Ask the courier to collect the bookings in the window; the same key (by default: the same
        bookings and window) is one collection, as the contract obliges the courier to answer."""
        if not labels:
            raise Invalid("a pickup needs labels", [Problem("labels", "no booking to collect")])
        ids = sorted(label.label_id for label in labels)
        key = (
            idempotency_key
            or hashlib.sha256(json.dumps([ids, iso(ready_at), iso(until)]).encode()).hexdigest()
        )
        body = {"booking_ids": ids, "ready_at": iso(ready_at), "until": iso(until), "idempotency_key": key}
        answer = self._post("/collect", "book collection", body, key=key)
        if not answer.get("collection_id"):
            raise nonsense(self._name, "book collection", "the answer has no collection_id")
        return str(answer["collection_id"])

    def read_event(
        self, body: bytes, headers: Mapping[str, str], query: Mapping[str, str]
    ) -> TrackingStatus | None:
        require_signature(headers, SIGNATURE_HEADER, SIGNATURE_PREFIX, self._secret, body, self._name)
        try:
            event = json.loads(body)
        except ValueError:
            raise Invalid(
                "the callback body is not JSON", [Problem("body", "expected a JSON object")]
            ) from None
        if not isinstance(event, dict) or not isinstance(event.get("event"), str):
            raise Invalid("not a courier callback", [Problem("event", "a callback names its event")])
        if event["event"] != "status":
            return None
        try:
            return _status(event, self._name, "callback")
        except UpstreamFailure as failure:
            raise Invalid("not a courier status callback", [Problem("body", failure.detail)]) from None

    def close(self) -> None:
        self._http.close()


def _place(place: Place) -> dict[str, Any]:
    return {
        "name": place.name,
        "street": place.street,
        "postcode": place.postcode,
        "city": place.city,
        "country": place.country,
        "lat": place.lat,
        "lon": place.lon,
    }


def _status(answer: Mapping[str, Any], upstream: str, what: str) -> TrackingStatus:
    number, status = answer.get("tracking_number"), answer.get("status")
    if not isinstance(number, str) or not isinstance(status, str):
        raise nonsense(upstream, what, "a status has a tracking_number and a status")
    state = STATES.get(status, TrackingState.UNKNOWN)
    return TrackingStatus(number, state, utc_time(answer.get("at")), str(answer.get("message") or ""))
