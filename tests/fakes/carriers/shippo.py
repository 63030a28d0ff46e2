"""A fake Shippo API on loopback, in Shippo's documented shapes.

Shipments with rates (`POST /shipments`, `async: false`), transactions (labels) carrying our
`metadata`, listed newest first with paging (`GET /transactions?page=&results=`, each `rate` an object
there and an id in a single transaction), refunds, tracks (`GET /tracks/{carrier}/{number}`), pickups,
`Authorization: ShippoToken <key>`, errors as `{"detail": "..."}`, and `track_updated` webhooks whose
URL carries the token as `?token=`. Like Shippo, it does not stop a rate from being bought twice: the
adapter must. The API's base URL is `fake.api_url`.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.fakes.carriers.base import FakeCarrierServer, json_of

SERVICES = (
    ("dhl_express_domestic", "Domestic Express", Decimal("11.40"), 1),
    ("dhl_express_economy", "Economy Select", Decimal("7.10"), 3),
)
STATUS_WORDS = {  # portable state -> Shippo's tracking status (and substatus code)
    "pre_transit": ("PRE_TRANSIT", None),
    "in_transit": ("TRANSIT", None),
    "out_for_delivery": ("TRANSIT", "out_for_delivery"),
    "delivered": ("DELIVERED", None),
    "returned": ("RETURNED", None),
    "failure": ("FAILURE", None),
    "unknown": ("UNKNOWN", None),
}


def detail(status: int, message: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status)


class FakeShippo(FakeCarrierServer):
    purchase_marker = "POST /transactions"

    def __init__(
        self, api_key: str = "shippo_test_key", webhook_secret: str = "shippo-token", **kw: Any
    ) -> None:
        self.api_key = api_key
        self.webhook_secret = webhook_secret
        self.shipments: dict[str, dict[str, Any]] = {}
        self.rates: dict[str, dict[str, Any]] = {}
        self.transactions: dict[str, dict[str, Any]] = {}  # in purchase order
        self.tracks: dict[str, dict[str, Any]] = {}  # by tracking number
        self.pickups: dict[str, dict[str, Any]] = {}
        self.refunds: list[dict[str, Any]] = []
        super().__init__(**kw)

    @property
    def api_url(self) -> str:
        return self.url

    def partner(self, name: str = "AIR") -> tuple[dict[str, Any], dict[str, str]]:
        spec = {
            "kind": "parcel_network",
            "mode": "air",
            "carrier": "shippo",
            "api_key_env": f"{name}_SHIPPO_TOKEN",
            "webhook_secret_env": f"{name}_SHIPPO_WEBHOOK_TOKEN",
            "base_url": self.api_url,
        }
        return spec, {spec["api_key_env"]: self.api_key, spec["webhook_secret_env"]: self.webhook_secret}

    def routes(self, app: FastAPI) -> None:
        app.post("/shipments")(self._create_shipment)
        app.get("/shipments/{sid}")(self._get_shipment)
        app.post("/transactions")(self._buy)
        app.get("/transactions")(self._list_transactions)
        app.get("/transactions/{tid}")(self._get_transaction)
        app.post("/refunds")(self._refund)
        app.get("/tracks/{carrier}/{number}")(self._track)
        app.post("/pickups")(self._pickup)

    def _refused(self, request: Request) -> JSONResponse | None:
        if request.headers.get("authorization") == f"ShippoToken {self.api_key}":
            return None
        return detail(401, "Invalid token.")

    async def _create_shipment(self, request: Request) -> JSONResponse:
        if refused := self._refused(request):
            return refused
        body = json_of(await request.body())
        problems = {
            k: ["This field is required."]
            for k in ("address_from", "address_to", "parcels")
            if not body.get(k)
        }
        if problems:
            return JSONResponse(problems, 400)
        with self.lock:
            sid = self.next_id("shp")
            kg = Decimal(str(body["parcels"][0].get("weight", "1")))
            rates = []
            for token, name, base, days in SERVICES:
                rate = {
                    "object_id": self.next_id("rate"),
                    "amount": str((base + kg * Decimal("1.30")).quantize(Decimal("0.01"))),
                    "currency": "EUR",
                    "provider": "DHL Express",
                    "servicelevel": {"name": name, "token": token},
                    "estimated_days": days,
                    "duration_terms": f"{days} business days",
                    "shipment": sid,
                    "carrier_account": "ca_dhl_express",
                    "attributes": [],
                }
                self.rates[rate["object_id"]] = rate
                rates.append(rate)
            shipment = {
                "object_id": sid,
                "status": "SUCCESS",
                "address_from": {**body["address_from"], "object_id": self.next_id("adr")},
                "address_to": {**body["address_to"], "object_id": self.next_id("adr")},
                "parcels": body["parcels"],
                "rates": rates,
                "messages": [],
                "object_created": self.now(),
            }
            self.shipments[sid] = shipment
        return JSONResponse(shipment, 201)

    async def _get_shipment(self, sid: str, request: Request) -> JSONResponse:
        if refused := self._refused(request):
            return refused
        with self.lock:
            if sid not in self.shipments:
                return detail(404, "Not found.")
            return JSONResponse(self.shipments[sid])

    async def _buy(self, request: Request) -> JSONResponse:
        if refused := self._refused(request):
            return refused
        body = json_of(await request.body())
        with self.lock:
            rate = self.rates.get(body.get("rate"))
            if rate is None:
                return JSONResponse({"rate": [f"Rate {body.get('rate')} not found."]}, 400)
            self.purchases += 1
            tid = self.next_id("txn")
            number = f"JD{self.purchases:016d}"
            self.transactions[tid] = {
                "object_id": tid,
                "object_state": "VALID",
                "status": "SUCCESS",
                "object_created": self.now(),
                "rate": rate["object_id"],
                "tracking_number": number,
                "tracking_status": "UNKNOWN",
                "tracking_url_provider": f"https://www.dhl.com/track?id={number}",
                "label_url": self.label_url(tid),
                "metadata": body.get("metadata", ""),
                "messages": [],
                "test": True,
            }
            self.tracks[number] = {
                "carrier": "dhl_express",
                "tracking_number": number,
                "tracking_status": {
                    "status": "PRE_TRANSIT",
                    "status_details": "label created",
                    "status_date": self.now(),
                    "substatus": None,
                },
                "tracking_history": [],
                "transaction": tid,
                "metadata": None,
            }
            return JSONResponse(self.transactions[tid], 201)

    async def _list_transactions(self, request: Request) -> JSONResponse:
        if refused := self._refused(request):
            return refused
        page = int(request.query_params.get("page", 1))
        size = int(request.query_params.get("results", 25))
        with self.lock:
            newest = list(reversed(self.transactions.values()))
            chunk = newest[(page - 1) * size : page * size]
            results = [{**t, "rate": self._rate_summary(t["rate"])} for t in chunk]
            more = page * size < len(newest)
        base = f"{self.url}/transactions"
        return JSONResponse(
            {
                "next": f"{base}?page={page + 1}&results={size}" if more else None,
                "previous": f"{base}?page={page - 1}&results={size}" if page > 1 else None,
                "results": results,
            }
        )

    def _rate_summary(self, rate_id: str) -> dict[str, Any]:
        rate = self.rates[rate_id]
        return {
            "object_id": rate_id,
            "amount": rate["amount"],
            "currency": rate["currency"],
            "provider": rate["provider"],
            "carrier_account": rate["carrier_account"],
            "servicelevel_name": rate["servicelevel"]["name"],
            "servicelevel_token": rate["servicelevel"]["token"],
        }

    async def _get_transaction(self, tid: str, request: Request) -> JSONResponse:
        if refused := self._refused(request):
            return refused
        with self.lock:
            if tid not in self.transactions:
                return detail(404, "Not found.")
            return JSONResponse(self.transactions[tid])

    async def _refund(self, request: Request) -> JSONResponse:
        if refused := self._refused(request):
            return refused
        tid = json_of(await request.body()).get("transaction")
        with self.lock:
            transaction = self.transactions.get(tid)
            if transaction is None:
                return JSONResponse({"transaction": [f"Transaction {tid} not found."]}, 400)
            used = self.tracks[transaction["tracking_number"]]["tracking_status"]["status"] != "PRE_TRANSIT"
            refund = {
                "object_id": self.next_id("rfnd"),
                "status": "ERROR" if used else "QUEUED",
                "transaction": tid,
                "object_created": self.now(),
                "test": True,
            }
            if not used:
                transaction["status"] = "REFUNDPENDING"
            self.refunds.append(refund)
            return JSONResponse(refund, 201)

    async def _track(self, carrier: str, number: str, request: Request) -> JSONResponse:
        if refused := self._refused(request):
            return refused
        with self.lock:
            track = self.tracks.get(number)
            if track is None or track["carrier"] != carrier:
                return detail(404, "Not found.")
            return JSONResponse(track)

    async def _pickup(self, request: Request) -> JSONResponse:
        if refused := self._refused(request):
            return refused
        body = json_of(await request.body())
        with self.lock:
            missing = [t for t in body.get("transactions") or [] if t not in self.transactions]
            if missing or not body.get("transactions"):
                return JSONResponse({"transactions": [f"unknown transactions {missing}"]}, 400)
            if not (body.get("location") or {}).get("address") or not body.get("carrier_account"):
                return JSONResponse({"location": ["location.address and carrier_account are required"]}, 400)
            pickup = {
                **body,
                "object_id": self.next_id("pickup"),
                "status": "CONFIRMED",
                "confirmation_code": f"PRC{len(self.pickups) + 1:06d}",
                "messages": [],
            }
            self.pickups[pickup["object_id"]] = pickup
        return JSONResponse(pickup, 201)

    def tracking_webhook(
        self, tracking_number: str, status: str, url: str
    ) -> tuple[bytes, dict[str, str], str]:
        word, substatus = STATUS_WORDS.get(status, (status, None))
        with self.lock:
            track = self.tracks[tracking_number]
            track["tracking_status"] = {
                "status": word,
                "status_details": f"parcel is {status}",
                "status_date": self.now(),
                "substatus": {"code": substatus, "text": substatus, "action_required": False}
                if substatus
                else None,
            }
            track["tracking_history"].append(track["tracking_status"])
            body = json.dumps({"event": "track_updated", "test": True, "data": dict(track)}).encode()
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        query.setdefault("token", self.webhook_secret)
        return body, {}, urlunsplit(parts._replace(query=urlencode(query)))
