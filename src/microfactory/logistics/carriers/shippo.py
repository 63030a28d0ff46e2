"""Shippo (`carrier: shippo`): shipments with rates, transactions (labels), refunds, tracks, pickups
and `track_updated` webhooks, through its REST API (`Authorization: ShippoToken <key>`).

| call | Shippo |
|---|---|
| `rates` | `POST /shipments` (`address_from`, `address_to`, `parcels` in cm and kg, `async: false`) -> its `rates` |
| `buy` | `GET /transactions` (find the earlier purchase), then `POST /transactions {"rate", "metadata": key, "label_file_type": "PDF", "async": false}` |
| `track` | `GET /tracks/{carrier}/{tracking_number}` (the carrier token from the label's provider) |
| `cancel` | `POST /refunds {"transaction"}` -> QUEUED / PENDING / SUCCESS (ERROR is a `Conflict`) |
| `book_pickup` | `POST /pickups` (the rate's `carrier_account`, the shipment's `address_from`, the transactions) |
| `read_event` | `{"event": "track_updated", "data": <Track>}`, its URL carrying the secret as `?token=` |

**Never two labels.** A Shippo transaction carries our `metadata`, and we set it to the idempotency
key. Before buying, `buy` lists the account's transactions (newest first, a few pages) and answers
the one whose `metadata` is the key or whose `rate` is the rate being bought, so a purchase whose
answer was lost (a timeout, a 5xx, a worker killed after Shippo's answer) is found again instead of
bought twice. The purchase is sent once; when its outcome is unknown the list is read again, and
when the transaction is not (yet) there a retryable `UpstreamFailure` asks for a later attempt, which
again looks first. Transactions in ERROR are not purchases and are ignored; one still QUEUED or
WAITING is waited for by a later attempt. Keys longer than Shippo's 100-character `metadata` are
sent as their SHA-256.

Shippo does not sign webhooks: the URL registered with Shippo carries the secret as `?token=`, and an
event without it, or with another, is `Forbidden`.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator, Mapping
from datetime import datetime
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
from microfactory.logistics.carriers.signing import require_token
from microfactory.outbound_http import RetryPolicy, Sleep
from microfactory.problems import Problem

DEFAULT_BASE_URL = "https://api.goshippo.com"
UPSTREAM = "shippo"
DEFAULT_DAYS = 5
PAGE_SIZE = 100
PAGES = 5  # how far back `buy` looks for an earlier purchase: the newest 500 transactions
METADATA_LIMIT = 100
PENDING = ("QUEUED", "WAITING")
STATES = {
    "PRE_TRANSIT": TrackingState.PRE_TRANSIT,
    "TRANSIT": TrackingState.IN_TRANSIT,
    "DELIVERED": TrackingState.DELIVERED,
    "RETURNED": TrackingState.RETURNED,
    "FAILURE": TrackingState.FAILURE,
    "UNKNOWN": TrackingState.UNKNOWN,
}
REFUNDED = ("REFUNDPENDING", "REFUNDED")


def error_words(body: Any) -> str:
    """Shippo's errors: `{"detail": "..."}`, or field -> [messages] for a refused request."""
    if isinstance(body, dict):
        if "detail" in body:
            return str(body["detail"])
        return "; ".join(
            f"{field}: {' '.join(map(str, v)) if isinstance(v, list) else v}" for field, v in body.items()
        )
    return str(body)


def metadata_of(key: str) -> str:
    return key if len(key) <= METADATA_LIMIT else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


class ShippoCarrier:
    """One Shippo account; the webhook token is needed only to read events."""

    def __init__(
        self,
        api_key: str,
        *,
        webhook_secret: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        key_env: str = "SHIPPO_API_KEY",
        secret_env: str = "SHIPPO_WEBHOOK_SECRET",
        policy: RetryPolicy = CARRIER_POLICY,
        sleep: Sleep = time.sleep,
        timeout: float = 30.0,
    ) -> None:
        self._http = CarrierHttp(
            UPSTREAM,
            base_url,
            headers={"Authorization": f"ShippoToken {api_key}"},
            key_env=key_env,
            detail=error_words,
            policy=policy,
            sleep=sleep,
            timeout=timeout,
        )
        self._secret = webhook_secret
        self._secret_env = secret_env
        self._bought: dict[str, Label] = {}  # by idempotency key, within this process
        self._providers: dict[str, str] = {}  # tracking number -> provider, learnt from labels
        self._pickups: dict[str, str] = {}  # pickup id by idempotency key, within this process

    def rates(self, parcel: Parcel, origin: Place, destination: Place) -> list[Rate]:
        body = {
            "address_from": _address(origin),
            "address_to": _address(destination),
            "parcels": [_parcel(parcel)],
            "async": False,
        }
        shipment = self._http.json("POST", "/shipments", "create shipment", json=body, idempotent=True)
        rates = [_rate(raw, shipment) for raw in shipment.get("rates") or [] if isinstance(raw, dict)]
        if not rates:
            words = "; ".join(str(m.get("text", m)) for m in shipment.get("messages") or [] if m)
            raise UpstreamFailure(
                UPSTREAM, f"no rates for shipment {shipment.get('object_id')}: {words or 'none given'}"
            )
        return rates

    def buy(self, rate: Rate, idempotency_key: str) -> Label:
        """The rate's label, bought at most once per key (see the module's docstring)."""
        if idempotency_key in self._bought:
            return self._bought[idempotency_key]
        metadata = metadata_of(idempotency_key)
        found = self._earlier(rate, metadata)
        label = self._label(found, rate) if found is not None else self._buy_once(rate, metadata)
        self._bought[idempotency_key] = label
        if label.tracking_number:
            self._providers[label.tracking_number] = label.rate.carrier
        return label

    def _buy_once(self, rate: Rate, metadata: str) -> Label:
        what = f"buy rate {rate.rate_id}"
        body = {"rate": rate.rate_id, "metadata": metadata, "label_file_type": "PDF", "async": False}
        try:
            transaction = self._http.json_once("POST", "/transactions", what, json=body)
        except OutcomeUnknown as failure:
            found = self._earlier(rate, metadata)  # it may have been bought: look before anything else
            if found is not None:
                return self._label(found, rate)
            raise UpstreamFailure(
                UPSTREAM,
                f"{what}: {failure.detail}; no transaction with our key is listed yet, so the next attempt "
                "looks again before buying",
            ) from failure
        return self._label(transaction, rate)

    def _earlier(self, rate: Rate, metadata: str) -> dict[str, Any] | None:
        """The account's transaction for this key or rate that is (or is becoming) a label."""
        for transaction in self._transactions():
            if transaction.get("status") == "ERROR":
                continue
            if transaction.get("metadata") == metadata or _rate_id(transaction) == rate.rate_id:
                return transaction
        return None

    def _transactions(self) -> Iterator[dict[str, Any]]:
        for page in range(1, PAGES + 1):
            params = {"results": PAGE_SIZE, "page": page}
            listed = self._http.json("GET", "/transactions", "list transactions", params=params)
            yield from (t for t in listed.get("results") or [] if isinstance(t, dict))
            if not listed.get("next"):
                return

    def _label(self, transaction: Mapping[str, Any], rate: Rate) -> Label:
        status, what = transaction.get("status"), f"transaction {transaction.get('object_id')}"
        if status in PENDING:
            raise UpstreamFailure(UPSTREAM, f"{what} is {status}: the label is still being made, try again")
        if status != "SUCCESS" and status not in REFUNDED:
            words = "; ".join(str(m.get("text", m)) for m in transaction.get("messages") or [] if m)
            raise UpstreamFailure(
                UPSTREAM, f"{what} is {status}: {words or 'no reason given'}", retryable=False
            )
        if not transaction.get("object_id"):
            raise nonsense(UPSTREAM, what, "a transaction has an object_id")
        return Label(
            str(transaction["object_id"]),
            rate,
            transaction.get("tracking_number") or None,
            transaction.get("label_url") or None,
            transaction.get("tracking_url_provider") or None,
        )

    def track(self, tracking_number: str) -> TrackingStatus:
        token = _carrier_token(self._provider(tracking_number))
        what = f"track {tracking_number}"
        track = self._http.json("GET", f"/tracks/{token}/{tracking_number}", what)
        return _status(track, what)

    def _provider(self, tracking_number: str) -> str:
        """The label's provider (USPS, DHL Express ...): remembered from `buy`, else found in the list."""
        if tracking_number in self._providers:
            return self._providers[tracking_number]
        for transaction in self._transactions():
            rate = transaction.get("rate")
            if transaction.get("tracking_number") == tracking_number and isinstance(rate, dict):
                self._providers[tracking_number] = str(rate.get("provider"))
                return self._providers[tracking_number]
        raise NotFound(
            "tracking number",
            tracking_number,
            f"{UPSTREAM}: no label with tracking number {tracking_number!r}",
        )

    def cancel(self, label: Label) -> None:
        """Refund the label's transaction; a refund already asked for counts as done."""
        what = f"transaction {label.label_id}"
        if self._http.json("GET", f"/transactions/{label.label_id}", what).get("status") in REFUNDED:
            return
        body = {"transaction": label.label_id, "async": False}
        refund = self._http.json("POST", "/refunds", f"refund {what}", json=body, idempotent=True)
        if refund.get("status") == "ERROR":
            raise Conflict(f"{UPSTREAM}: refund {what}: refused by the carrier; the label cannot be voided")

    def book_pickup(
        self, labels: list[Label], ready_at: datetime, until: datetime, idempotency_key: str | None = None
    ) -> str:
        """One pickup of the labels by their carrier account, at the shipment's sender address.

        Shippo lists no pickups to search, so the key is kept in the pickup's `metadata` (for a person
        to find) and answers repeats within this process; after a crash between booking and recording,
        a second request for the same transactions and window is what the carrier merges.
        """
        if not labels:
            raise Invalid("a pickup needs labels", [Problem("labels", "no label to collect")])
        if idempotency_key and idempotency_key in self._pickups:
            return self._pickups[idempotency_key]
        first = labels[0].rate
        if not first.shipment_id:
            raise NotFound(
                "shipment", first.rate_id, f"{UPSTREAM}: rate {first.rate_id} carries no shipment id"
            )
        shipment = self._http.json("GET", f"/shipments/{first.shipment_id}", f"shipment {first.shipment_id}")
        account = next(
            (
                r.get("carrier_account")
                for r in shipment.get("rates") or []
                if r.get("object_id") == first.rate_id
            ),
            None,
        )
        if not account:
            raise Conflict(f"{UPSTREAM}: shipment {first.shipment_id} no longer lists rate {first.rate_id}")
        body = {
            "carrier_account": account,
            "location": {"building_location_type": "Front Door", "address": shipment.get("address_from")},
            "transactions": [label.label_id for label in labels],
            "requested_start_time": iso(ready_at),
            "requested_end_time": iso(until),
            "metadata": (idempotency_key or ",".join(label.label_id for label in labels))[:METADATA_LIMIT],
        }
        pickup = self._http.json("POST", "/pickups", "book pickup", json=body)
        if pickup.get("status") not in ("PENDING", "CONFIRMED"):
            words = "; ".join(str(m.get("text", m)) for m in pickup.get("messages") or [] if m)
            raise Conflict(f"{UPSTREAM}: pickup {pickup.get('object_id')} is {pickup.get('status')}: {words}")
        if idempotency_key:
            self._pickups[idempotency_key] = str(pickup["object_id"])
        return str(pickup["object_id"])

    def read_event(
        self, body: bytes, headers: Mapping[str, str], query: Mapping[str, str]
    ) -> TrackingStatus | None:
        if not self._secret:
            raise MissingSetting(self._secret_env, "Shippo webhooks carry it as ?token= in their URL")
        require_token(query, "token", self._secret, UPSTREAM)
        try:
            event = json.loads(body)
        except ValueError:
            raise Invalid(
                "the webhook body is not JSON", [Problem("body", "expected a JSON object")]
            ) from None
        if not isinstance(event, dict) or not isinstance(event.get("event"), str):
            raise Invalid("not a Shippo webhook", [Problem("event", "a webhook names its event")])
        if event["event"] != "track_updated":
            return None  # transaction_created, batch_purchased ...: not about tracking
        data = event.get("data")
        if not isinstance(data, dict):
            raise Invalid("not a Shippo track_updated webhook", [Problem("data", "must be the Track object")])
        try:
            return _status(data, "webhook")
        except UpstreamFailure as failure:
            raise Invalid("not a Shippo track_updated webhook", [Problem("data", failure.detail)]) from None

    def close(self) -> None:
        self._http.close()


def _address(place: Place) -> dict[str, Any]:
    return {
        "name": place.name or "Microfactory",
        "street1": place.street,
        "city": place.city,
        "zip": place.postcode,
        "country": place.country,
    }


def _parcel(parcel: Parcel) -> dict[str, str]:
    return {
        "length": str(parcel.length_cm),
        "width": str(parcel.width_cm),
        "height": str(parcel.height_cm),
        "distance_unit": "cm",
        "weight": str(parcel.mass_kg),
        "mass_unit": "kg",
    }


def _rate(raw: Mapping[str, Any], shipment: Mapping[str, Any]) -> Rate:
    what = f"rate {raw.get('object_id')}"
    level: Mapping[str, Any] = raw["servicelevel"] if isinstance(raw.get("servicelevel"), dict) else {}
    try:
        return Rate(
            str(raw["object_id"]),
            str(raw["provider"]),
            str(level.get("name") or level.get("token") or "standard"),
            money(raw["amount"], UPSTREAM, what),
            str(raw["currency"]),
            int(raw.get("estimated_days") or raw.get("days") or DEFAULT_DAYS),
            None,
            str(raw.get("shipment") or shipment["object_id"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise nonsense(UPSTREAM, what, f"the rate lacks {error}") from None


def _rate_id(transaction: Mapping[str, Any]) -> object:
    """A transaction's rate: its id (one transaction) or an object with it (in a list)."""
    rate = transaction.get("rate")
    return rate.get("object_id") if isinstance(rate, dict) else rate


def _carrier_token(provider: str) -> str:
    """Shippo's carrier token from a provider's name: `DHL Express` -> `dhl_express`."""
    return "_".join(provider.lower().split())


def _status(track: Mapping[str, Any], what: str) -> TrackingStatus:
    number, status = track.get("tracking_number"), track.get("tracking_status")
    if (
        not isinstance(number, str)
        or not isinstance(status, dict)
        or not isinstance(status.get("status"), str)
    ):
        raise nonsense(UPSTREAM, what, "a track has a tracking_number and a tracking_status with a status")
    state = STATES.get(status["status"], TrackingState.UNKNOWN)
    substatus = status.get("substatus") if isinstance(status.get("substatus"), dict) else {}
    if state is TrackingState.IN_TRANSIT and (substatus or {}).get("code") == "out_for_delivery":
        state = TrackingState.OUT_FOR_DELIVERY
    return TrackingStatus(
        number, state, utc_time(status.get("status_date")), str(status.get("status_details") or "")
    )
