"""A fake EasyPost API v2 on loopback, in EasyPost's documented shapes.

Shipments with rates (`POST /v2/shipments`, `GET /v2/shipments/{id}`), buying a rate once per shipment
(a second buy is `422 SHIPMENT.POSTAGE.EXISTS`), refunds (`refund_status`), trackers
(`GET /v2/trackers?tracking_code=`), batches and pickups (`POST /v2/pickups`, `/buy`), HTTP Basic with
the API key, errors as `{"error": {"code", "message", "errors"}}`, and `tracker.updated` events signed
`X-Hmac-Signature: hmac-sha256-hex=...`. The API's base URL is `fake.api_url` (`.../v2`).
"""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from microfactory.logistics.carriers.signing import hex_digest
from tests.fakes.carriers.base import FakeCarrierServer, json_of

SERVICES = (("GroundAdvantage", Decimal("5.20"), 3), ("Express", Decimal("24.90"), 1))
STATUS_WORDS = {"returned": "return_to_sender"}  # portable state -> EasyPost's tracker status


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "errors": []}}, status)


class FakeEasyPost(FakeCarrierServer):
    purchase_marker = "/buy"

    def __init__(
        self, api_key: str = "ep-test-key", webhook_secret: str = "ep-webhook-secret", **kw: Any
    ) -> None:
        self.api_key = api_key
        self.webhook_secret = webhook_secret
        self.shipments: dict[str, dict[str, Any]] = {}
        self.trackers: dict[str, dict[str, Any]] = {}  # by tracking code
        self.pickups: dict[str, dict[str, Any]] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.refunds: list[str] = []  # shipment ids, in the order refunds were asked
        super().__init__(**kw)

    @property
    def api_url(self) -> str:
        return f"{self.url}/v2"

    def partner(self, name: str = "MILPONY") -> tuple[dict[str, Any], dict[str, str]]:
        spec = {
            "kind": "parcel_network",
            "mode": "van",
            "carrier": "easypost",
            "api_key_env": f"{name}_EASYPOST_KEY",
            "webhook_secret_env": f"{name}_EASYPOST_WEBHOOK_SECRET",
            "base_url": self.api_url,
        }
        return spec, {spec["api_key_env"]: self.api_key, spec["webhook_secret_env"]: self.webhook_secret}

    def routes(self, app: FastAPI) -> None:
        app.post("/v2/shipments")(self._create_shipment)
        app.get("/v2/shipments/{sid}")(self._get_shipment)
        app.post("/v2/shipments/{sid}/buy")(self._buy)
        app.post("/v2/shipments/{sid}/refund")(self._refund)
        app.get("/v2/trackers")(self._trackers)
        app.post("/v2/batches")(self._batch)
        app.get("/v2/pickups")(self._list_pickups)
        app.post("/v2/pickups")(self._create_pickup)
        app.post("/v2/pickups/{pid}/buy")(self._buy_pickup)

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return False
        user = base64.b64decode(header[6:]).decode().partition(":")[0]
        return user == self.api_key

    def _refused(self, request: Request) -> JSONResponse | None:
        if self._authorised(request):
            return None
        return error(401, "APIKEY.INACTIVE", "The API key is inactive or does not exist.")

    async def _create_shipment(self, request: Request) -> JSONResponse:
        if refused := self._refused(request):
            return refused
        body = json_of(await request.body()).get("shipment") or {}
        if not body.get("to_address", {}).get("country") or not body.get("parcel", {}).get("weight"):
            return error(422, "SHIPMENT.INVALID_PARAMS", "to_address.country and parcel.weight are required")
        with self.lock:
            sid = self.next_id("shp_")
            ounces = Decimal(str(body["parcel"]["weight"]))
            rates = [
                {
                    "id": self.next_id("rate_"),
                    "object": "Rate",
                    "carrier": "USPS",
                    "service": service,
                    "rate": str((base + ounces * Decimal("0.05")).quantize(Decimal("0.01"))),
                    "currency": "USD",
                    "delivery_days": days,
                    "est_delivery_days": days,
                    "delivery_date": None,
                    "shipment_id": sid,
                    "carrier_account_id": "ca_usps",
                }
                for service, base, days in SERVICES
            ]
            from_address = {**body.get("from_address", {}), "id": self.next_id("adr_"), "object": "Address"}
            shipment = {
                "id": sid,
                "object": "Shipment",
                "mode": "test",
                "from_address": from_address,
                "to_address": {**body["to_address"], "id": self.next_id("adr_"), "object": "Address"},
                "parcel": {**body["parcel"], "id": self.next_id("prcl_"), "object": "Parcel"},
                "options": body.get("options") or {},
                "rates": rates,
                "messages": [],
                "selected_rate": None,
                "postage_label": None,
                "tracking_code": None,
                "tracker": None,
                "refund_status": None,
                "status": "unknown",
                "created_at": self.now(),
            }
            self.shipments[sid] = shipment
        return JSONResponse(shipment, 201)

    async def _get_shipment(self, sid: str, request: Request) -> JSONResponse:
        if refused := self._refused(request):
            return refused
        with self.lock:
            shipment = self.shipments.get(sid)
            if shipment is None:
                return error(404, "NOT_FOUND", "The requested resource could not be found.")
            if shipment["tracking_code"]:
                shipment["tracker"] = self.trackers[shipment["tracking_code"]]
            return JSONResponse(shipment)

    async def _buy(self, sid: str, request: Request) -> JSONResponse:
        if refused := self._refused(request):
            return refused
        rate_id = (json_of(await request.body()).get("rate") or {}).get("id")
        with self.lock:
            shipment = self.shipments.get(sid)
            if shipment is None:
                return error(404, "NOT_FOUND", "The requested resource could not be found.")
            if shipment["postage_label"] is not None:
                return error(422, "SHIPMENT.POSTAGE.EXISTS", "Postage already exists for this shipment.")
            rate = next((r for r in shipment["rates"] if r["id"] == rate_id), None)
            if rate is None:
                return error(
                    422, "SHIPMENT.RATE.INVALID", f"Rate {rate_id} does not belong to this shipment."
                )
            self.purchases += 1
            code = f"9400{self.purchases:018d}"
            label_id = self.next_id("pl_")
            shipment["selected_rate"] = rate
            shipment["tracking_code"] = code
            shipment["postage_label"] = {
                "id": label_id,
                "object": "PostageLabel",
                "label_url": f"{self.url}/labels/{label_id}.png",
                "label_pdf_url": self.label_url(label_id),
                "label_file_type": "application/pdf",
                "label_date": self.now(),
            }
            tracker = {
                "id": self.next_id("trk_"),
                "object": "Tracker",
                "mode": "test",
                "tracking_code": code,
                "status": "pre_transit",
                "status_detail": "label_created",
                "carrier": rate["carrier"],
                "shipment_id": sid,
                "public_url": f"https://track.easypost.com/{code}",
                "tracking_details": [],
                "updated_at": self.now(),
            }
            self.trackers[code] = tracker
            shipment["tracker"] = tracker
            return JSONResponse(shipment)

    async def _refund(self, sid: str, request: Request) -> JSONResponse:
        if refused := self._refused(request):
            return refused
        with self.lock:
            shipment = self.shipments.get(sid)
            if shipment is None:
                return error(404, "NOT_FOUND", "The requested resource could not be found.")
            if shipment["postage_label"] is None:
                return error(422, "SHIPMENT.REFUND.NOT_PURCHASED", "The shipment has no postage to refund.")
            self.refunds.append(sid)
            used = self.trackers[shipment["tracking_code"]]["status"] not in ("pre_transit", "unknown")
            shipment["refund_status"] = "rejected" if used else "submitted"
            return JSONResponse(shipment)

    async def _trackers(self, request: Request) -> JSONResponse:
        if refused := self._refused(request):
            return refused
        code = request.query_params.get("tracking_code")
        with self.lock:
            found = [t for c, t in self.trackers.items() if code in (None, c)]
        return JSONResponse({"trackers": found, "has_more": False})

    async def _batch(self, request: Request) -> JSONResponse:
        if refused := self._refused(request):
            return refused
        listed = (json_of(await request.body()).get("batch") or {}).get("shipments") or []
        with self.lock:
            missing = [s.get("id") for s in listed if s.get("id") not in self.shipments]
            if missing:
                return error(404, "NOT_FOUND", f"No shipment {missing[0]}.")
            batch = {"id": self.next_id("batch_"), "object": "Batch", "state": "created", "shipments": listed}
            self.batches[batch["id"]] = batch
        return JSONResponse(batch, 201)

    async def _list_pickups(self, request: Request) -> JSONResponse:
        """`GET /pickups`: the account's pickups, newest first (one page)."""
        if refused := self._refused(request):
            return refused
        size = int(request.query_params.get("page_size") or 20)
        with self.lock:
            listed = list(reversed(self.pickups.values()))
        return JSONResponse({"pickups": listed[:size], "has_more": len(listed) > size})

    async def _create_pickup(self, request: Request) -> JSONResponse:
        if refused := self._refused(request):
            return refused
        body = json_of(await request.body()).get("pickup") or {}
        if not body.get("min_datetime") or not body.get("max_datetime") or not body.get("address"):
            return error(422, "PICKUP.INVALID_PARAMS", "address, min_datetime and max_datetime are required")
        if not body.get("shipment") and not body.get("batch"):
            return error(422, "PICKUP.INVALID_PARAMS", "a pickup needs a shipment or a batch")
        with self.lock:
            pid = self.next_id("pickup_")
            pickup = {
                **body,
                "id": pid,
                "object": "Pickup",
                "status": "unknown",
                "confirmation": None,
                "messages": [],
                "pickup_rates": [
                    {
                        "id": self.next_id("pickuprate_"),
                        "object": "PickupRate",
                        "carrier": "USPS",
                        "service": "NextDay",
                        "rate": "0.00",
                        "currency": "USD",
                        "pickup_id": pid,
                    },
                ],
            }
            self.pickups[pid] = pickup
        return JSONResponse(pickup, 201)

    async def _buy_pickup(self, pid: str, request: Request) -> JSONResponse:
        if refused := self._refused(request):
            return refused
        body = json_of(await request.body())
        with self.lock:
            pickup = self.pickups.get(pid)
            if pickup is None:
                return error(404, "NOT_FOUND", "The requested resource could not be found.")
            offer = [
                r
                for r in pickup["pickup_rates"]
                if (r["carrier"], r["service"]) == (body.get("carrier"), body.get("service"))
            ]
            if not offer:
                return error(422, "PICKUP.RATE.INVALID", "No pickup rate for that carrier and service.")
            pickup["status"] = "scheduled"
            pickup["confirmation"] = f"WTC{len(self.pickups):06d}"
            return JSONResponse(pickup)

    def tracking_webhook(
        self, tracking_number: str, status: str, url: str
    ) -> tuple[bytes, dict[str, str], str]:
        word = STATUS_WORDS.get(status, status)
        with self.lock:
            tracker = self.trackers[tracking_number]
            previous = tracker["status"]
            tracker["status"], tracker["status_detail"] = word, f"status_{word}"
            tracker["updated_at"] = self.now()
            tracker["tracking_details"].append(
                {
                    "object": "TrackingDetail",
                    "message": f"parcel is {word}",
                    "status": word,
                    "datetime": self.now(),
                }
            )
            event = {
                "id": self.next_id("evt_"),
                "object": "Event",
                "mode": "test",
                "description": "tracker.updated",
                "previous_attributes": {"status": previous},
                "result": dict(tracker),
                "status": "pending",
                "created_at": self.now(),
            }
        body = json.dumps(event).encode()
        return body, {"X-Hmac-Signature": "hmac-sha256-hex=" + hex_digest(self.webhook_secret, body)}, url
