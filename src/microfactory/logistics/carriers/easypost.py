"""EasyPost (`carrier: easypost`): shipments with rates, buying a rate, refunds, trackers, pickups and
signed `tracker.updated` events, through its REST API (v2, HTTP Basic with the API key as user).

| call | EasyPost |
|---|---|
| `rates` | `POST /shipments` (`to_address`, `from_address`, `parcel` in inches and ounces, label as PDF) -> its `rates` |
| `buy` | `GET /shipments/{id}`, then `POST /shipments/{id}/buy {"rate": {"id"}}` -> `postage_label`, `tracking_code` |
| `track` | `GET /trackers?tracking_code=...` (a bought label gets its tracker by itself) |
| `cancel` | `POST /shipments/{id}/refund` -> `refund_status` submitted / refunded (else `Conflict`) |
| `book_pickup` | `POST /pickups` (one shipment, or a `POST /batches` of several), then `POST /pickups/{id}/buy` |
| `read_event` | an `Event` whose `description` is `tracker.updated`, its `result` the `Tracker` |

**Never two labels.** An EasyPost shipment holds at most one postage label: a second buy of a bought
shipment is refused (`SHIPMENT.POSTAGE.EXISTS`). So the shipment is the purchase's idempotency key:
`buy` first retrieves the rate's shipment and answers its `postage_label` when it has one, whatever
happened to the first answer (a timeout, a 5xx, a worker killed after the carrier's answer and before
our record). The buy itself is sent once; when its outcome is unknown the shipment is read again:
a label there is the answer, none raises a retryable `UpstreamFailure` and the next attempt starts
by reading the shipment again. The caller must therefore keep the rate it chose (its `shipment_id`)
and buy that same rate on every retry; a fresh quote is a new shipment that knows nothing of the
first. The `idempotency_key` also answers repeats within one process without a call.

Signed events: `X-Hmac-Signature: hmac-sha256-hex=<hex>`, the HMAC-SHA256 of the raw body under the
webhook secret (NFKD-normalised), as EasyPost's own libraries check it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import datetime
from decimal import ROUND_CEILING, Decimal
from typing import Any

from microfactory.errors import Conflict, Invalid, MissingSetting, NotFound, UpstreamFailure
from microfactory.logistics.carriers import Label, Parcel, Place, Rate, TrackingState, TrackingStatus
from microfactory.logistics.carriers.http import (
    CARRIER_POLICY,
    CarrierHttp,
    OutcomeUnknown,
    iso,
    money,
    nonsense,
    utc_time,
)
from microfactory.logistics.carriers.signing import require_signature
from microfactory.outbound_http import RetryPolicy, Sleep
from microfactory.problems import Problem

DEFAULT_BASE_URL = "https://api.easypost.com/v2"
UPSTREAM = "easypost"
SIGNATURE_HEADER = "X-Hmac-Signature"
SIGNATURE_PREFIX = "hmac-sha256-hex="
DEFAULT_DAYS = 5  # a rate without delivery_days is planned as slow, never as fast
OUNCES_PER_KG = Decimal("35.27396195")
CM_PER_INCH = Decimal("2.54")
TENTH = Decimal("0.1")

STATES = {
    "unknown": TrackingState.UNKNOWN,
    "pre_transit": TrackingState.PRE_TRANSIT,
    "in_transit": TrackingState.IN_TRANSIT,
    "out_for_delivery": TrackingState.OUT_FOR_DELIVERY,
    "available_for_pickup": TrackingState.OUT_FOR_DELIVERY,  # waiting at a pickup point
    "delivered": TrackingState.DELIVERED,
    "return_to_sender": TrackingState.RETURNED,
    "failure": TrackingState.FAILURE,
    "cancelled": TrackingState.CANCELLED,
    "error": TrackingState.UNKNOWN,  # EasyPost could not read the carrier's tracking
}
REFUND_ACCEPTED = ("submitted", "refunded")


def error_words(body: Any) -> str:
    """EasyPost's error object: `{"error": {"code", "message", "errors": [{field, message}] | [str]}}`."""
    error = body["error"]
    parts = [f"{error.get('code', '')}: {error.get('message', '')}".strip(": ")]
    for item in error.get("errors") or []:
        parts.append(f"{item.get('field')}: {item.get('message')}" if isinstance(item, dict) else str(item))
    return "; ".join(part for part in parts if part)


class EasyPostCarrier:
    """One EasyPost account; the webhook secret is needed only to read events."""

    def __init__(
        self,
        api_key: str,
        *,
        webhook_secret: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        key_env: str = "EASYPOST_API_KEY",
        secret_env: str = "EASYPOST_WEBHOOK_SECRET",
        policy: RetryPolicy = CARRIER_POLICY,
        sleep: Sleep = time.sleep,
        timeout: float = 20.0,
    ) -> None:
        self._http = CarrierHttp(
            UPSTREAM,
            base_url,
            auth=(api_key, ""),
            key_env=key_env,
            detail=error_words,
            policy=policy,
            sleep=sleep,
            timeout=timeout,
        )
        self._secret = webhook_secret
        self._secret_env = secret_env
        self._bought: dict[str, Label] = {}  # by idempotency key, within this process

    def rates(self, parcel: Parcel, origin: Place, destination: Place) -> list[Rate]:
        body = {
            "shipment": {
                "from_address": _address(origin),
                "to_address": _address(destination),
                "parcel": _parcel(parcel),
                "options": {"label_format": "PDF"},
            }
        }
        # creating a shipment buys nothing: resending one after a lost answer is harmless
        shipment = self._http.json("POST", "/shipments", "create shipment", json=body, idempotent=True)
        rates = [_rate(raw, shipment) for raw in shipment.get("rates") or []]
        if not rates:
            words = "; ".join(str(m.get("message", m)) for m in shipment.get("messages") or [] if m)
            raise UpstreamFailure(
                UPSTREAM, f"no rates for shipment {shipment.get('id')}: {words or 'none given'}"
            )
        return rates

    def buy(self, rate: Rate, idempotency_key: str) -> Label:
        """The rate's label; bought at most once per shipment (see the module's docstring)."""
        if idempotency_key in self._bought:
            return self._bought[idempotency_key]
        shipment_id = _shipment_id(rate)
        label = self._label_on(shipment_id, rate)
        if label is None:
            label = self._buy_once(shipment_id, rate)
        self._bought[idempotency_key] = label
        return label

    def _buy_once(self, shipment_id: str, rate: Rate) -> Label:
        what = f"buy rate {rate.rate_id} of shipment {shipment_id}"
        try:
            shipment = self._http.json_once(
                "POST", f"/shipments/{shipment_id}/buy", what, json={"rate": {"id": rate.rate_id}}
            )
        except OutcomeUnknown as failure:
            found = self._label_on(shipment_id, rate)  # it may have been bought: look before anything else
            if found is not None:
                return found
            raise UpstreamFailure(
                UPSTREAM,
                f"{what}: {failure.detail}; the shipment shows no label yet, so the next attempt reads it "
                "again before buying",
            ) from failure
        except Conflict:
            found = self._label_on(shipment_id, rate)  # bought meanwhile (postage exists): that label
            if found is not None:
                return found
            raise
        label = _label(shipment, rate)
        if label is None:
            raise nonsense(UPSTREAM, what, "the bought shipment has no postage_label")
        return label

    def _label_on(self, shipment_id: str, rate: Rate) -> Label | None:
        shipment = self._shipment(shipment_id)
        return _label(shipment, rate)

    def _shipment(self, shipment_id: str) -> dict[str, Any]:
        return self._http.json("GET", f"/shipments/{shipment_id}", f"shipment {shipment_id}")

    def track(self, tracking_number: str) -> TrackingStatus:
        what = f"tracker of {tracking_number}"
        found = self._http.json("GET", "/trackers", what, params={"tracking_code": tracking_number})
        trackers = [t for t in found.get("trackers") or [] if isinstance(t, dict)]
        if not trackers:
            raise NotFound(
                "tracking number", tracking_number, f"{UPSTREAM}: no tracker for {tracking_number!r}"
            )
        return _status(trackers[0], what)

    def cancel(self, label: Label) -> None:
        """Refund the label's shipment; refunds already asked for count as done (a retry is harmless)."""
        shipment_id = _shipment_id(label.rate)
        if self._shipment(shipment_id).get("refund_status") in REFUND_ACCEPTED:
            return
        what = f"refund shipment {shipment_id}"
        try:
            shipment = self._http.json("POST", f"/shipments/{shipment_id}/refund", what, idempotent=True)
        except Conflict:
            if self._shipment(shipment_id).get("refund_status") in REFUND_ACCEPTED:
                return
            raise
        status = shipment.get("refund_status")
        if status not in REFUND_ACCEPTED:
            raise Conflict(f"{UPSTREAM}: {what}: refund_status is {status!r}; the label cannot be voided")

    def book_pickup(
        self, labels: list[Label], ready_at: datetime, until: datetime, idempotency_key: str | None = None
    ) -> str:
        """Schedule one pickup for the labels (a batch when several); the pickup's id comes back.

        With a key, the pickup carries it as its `reference`, and the account's pickups are read
        first (`GET /pickups`): one made under the key before is bought if it is not yet, and answered.
        """
        if not labels:
            raise Invalid("a pickup needs labels", [Problem("labels", "no label to collect")])
        earlier = self._pickup_by_reference(idempotency_key) if idempotency_key else None
        if earlier is not None:
            if earlier.get("status") == "scheduled":
                return str(earlier["id"])
            return self._buy_pickup(earlier, labels[0].rate.carrier)
        shipment_ids = [_shipment_id(label.rate) for label in labels]
        origin = self._shipment(shipment_ids[0]).get("from_address") or {}
        pickup: dict[str, Any] = {
            "address": {"id": origin["id"]} if origin.get("id") else origin,
            "min_datetime": iso(ready_at),
            "max_datetime": iso(until),
            "is_account_address": False,
            "instructions": "parcels at the microfactory's packing station",
        }
        if idempotency_key:
            pickup["reference"] = idempotency_key
        if len(shipment_ids) == 1:
            pickup["shipment"] = {"id": shipment_ids[0]}
        else:
            body = {"batch": {"shipments": [{"id": sid} for sid in shipment_ids]}}
            batch = self._http.json("POST", "/batches", "create batch", json=body)
            pickup["batch"] = {"id": batch["id"]}
        created = self._http.json("POST", "/pickups", "create pickup", json={"pickup": pickup})
        return self._buy_pickup(created, labels[0].rate.carrier)

    def _buy_pickup(self, created: Mapping[str, Any], carrier: str) -> str:
        offer = _cheapest_pickup_rate(created, carrier)
        what = f"buy pickup {created.get('id')}"
        body = {"carrier": offer["carrier"], "service": offer["service"]}
        bought = self._http.json("POST", f"/pickups/{created['id']}/buy", what, json=body)
        if bought.get("status") != "scheduled":
            raise Conflict(f"{UPSTREAM}: {what}: the pickup is {bought.get('status')!r}, not scheduled")
        return str(bought["id"])

    def _pickup_by_reference(self, reference: str) -> dict[str, Any] | None:
        """The newest page of the account's pickups, searched for one made under `reference`."""
        listed = self._http.json("GET", "/pickups", "list pickups", params={"page_size": 100})
        for pickup in listed.get("pickups") or []:
            if (
                isinstance(pickup, dict)
                and pickup.get("reference") == reference
                and pickup.get("status") not in ("canceled", "cancelled")
            ):
                return pickup
        return None

    def read_event(
        self, body: bytes, headers: Mapping[str, str], query: Mapping[str, str]
    ) -> TrackingStatus | None:
        if not self._secret:
            raise MissingSetting(self._secret_env, "EasyPost events are verified with the webhook secret")
        require_signature(headers, SIGNATURE_HEADER, SIGNATURE_PREFIX, self._secret, body, UPSTREAM)
        event = _json_body(body)
        description = event.get("description")
        if event.get("object") != "Event" or not isinstance(description, str):
            raise Invalid("not an EasyPost event", [Problem("description", "an Event names what happened")])
        if not description.startswith("tracker."):
            return None  # batch, refund, payment ... events: not about tracking
        result = event.get("result")
        if not isinstance(result, dict):
            raise Invalid("not an EasyPost tracker event", [Problem("result", "must be the Tracker")])
        try:
            return _status(result, "event")
        except UpstreamFailure as failure:
            raise Invalid("not an EasyPost tracker event", [Problem("result", failure.detail)]) from None

    def close(self) -> None:
        self._http.close()


def _json_body(body: bytes) -> dict[str, Any]:
    try:
        event = json.loads(body)
    except ValueError:
        raise Invalid("the webhook body is not JSON", [Problem("body", "expected a JSON object")]) from None
    if not isinstance(event, dict):
        raise Invalid("the webhook body is not a JSON object", [Problem("body", "expected a JSON object")])
    return event


def _shipment_id(rate: Rate) -> str:
    if not rate.shipment_id:
        raise NotFound("shipment", rate.rate_id, f"{UPSTREAM}: rate {rate.rate_id} carries no shipment id")
    return rate.shipment_id


def _address(place: Place) -> dict[str, Any]:
    return {
        "name": place.name or None,
        "street1": place.street or None,
        "city": place.city or None,
        "zip": place.postcode or None,
        "country": place.country,
    }


def _up(value: Decimal) -> str:
    return str(max(value, TENTH).quantize(TENTH, ROUND_CEILING))


def _parcel(parcel: Parcel) -> dict[str, str]:
    """EasyPost wants inches and ounces; rounded up, so a parcel is never declared smaller."""
    return {
        "length": _up(parcel.length_cm / CM_PER_INCH),
        "width": _up(parcel.width_cm / CM_PER_INCH),
        "height": _up(parcel.height_cm / CM_PER_INCH),
        "weight": _up(parcel.mass_kg * OUNCES_PER_KG),
    }


def _rate(raw: Mapping[str, Any], shipment: Mapping[str, Any]) -> Rate:
    what = f"rate {raw.get('id')}"
    days = raw.get("delivery_days") or raw.get("est_delivery_days") or DEFAULT_DAYS
    try:
        return Rate(
            str(raw["id"]),
            str(raw["carrier"]),
            str(raw["service"]),
            money(raw["rate"], UPSTREAM, what),
            str(raw.get("currency") or "USD"),
            int(days),
            None,
            str(raw.get("shipment_id") or shipment["id"]),
            utc_time(raw.get("delivery_date")),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise nonsense(UPSTREAM, what, f"the rate lacks {error}") from None


def _label(shipment: Mapping[str, Any], rate: Rate) -> Label | None:
    postage = shipment.get("postage_label")
    if not isinstance(postage, dict):
        return None
    selected = shipment.get("selected_rate")
    bought = _rate(selected, shipment) if isinstance(selected, dict) else rate
    tracker = shipment.get("tracker") if isinstance(shipment.get("tracker"), dict) else {}
    return Label(
        str(postage.get("id") or shipment["id"]),
        bought,
        shipment.get("tracking_code"),
        postage.get("label_pdf_url") or postage.get("label_url"),
        (tracker or {}).get("public_url"),
    )


def _status(tracker: Mapping[str, Any], what: str) -> TrackingStatus:
    number, status = tracker.get("tracking_code"), tracker.get("status")
    if not isinstance(number, str) or not isinstance(status, str):
        raise nonsense(UPSTREAM, what, "a tracker has a tracking_code and a status")
    details = [d for d in tracker.get("tracking_details") or [] if isinstance(d, dict)]
    last = details[-1] if details else {}
    at = utc_time(last.get("datetime")) or utc_time(tracker.get("updated_at"))
    message = tracker.get("status_detail") or last.get("message") or ""
    return TrackingStatus(number, STATES.get(status, TrackingState.UNKNOWN), at, str(message))


def _cheapest_pickup_rate(pickup: Mapping[str, Any], carrier: str) -> Mapping[str, Any]:
    offers = [r for r in pickup.get("pickup_rates") or [] if isinstance(r, dict)]
    own = [r for r in offers if r.get("carrier") == carrier] or offers
    if not own:
        words = "; ".join(str(m.get("message", m)) for m in pickup.get("messages") or [] if m)
        raise Conflict(
            f"{UPSTREAM}: pickup {pickup.get('id')}: no carrier offers a pickup ({words or 'no reason'})"
        )
    return min(own, key=lambda r: money(r.get("rate"), UPSTREAM, "pickup rate"))
