"""Shopify's calls into microfactory: webhook deliveries and the fulfillment-service callbacks.

Nothing here is under /api/v1 and nothing uses bearer tokens: Shopify signs each request with the
app's client secret (`X-Shopify-Hmac-Sha256`, base64 HMAC-SHA256 of the raw body), and the signature
is checked before anything is parsed or stored. A wrong or missing signature gets 401.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from microfactory.api.errors import error_body
from microfactory.channels.shopify import fulfillment_service, verify
from microfactory.channels.shopify.admin import AdminApiError, ShopifyAdmin
from microfactory.channels.shopify.inbox import Delivery
from microfactory.channels.shopify.inbox_workers import InboxWorker, InboxWriter
from microfactory.config import MissingSetting, Settings
from microfactory.db.unit_of_work import UnitOfWork

router = APIRouter(tags=["shopify"])

SECRET_SETTING = "MICROFACTORY_SHOPIFY_WEBHOOK_SECRET"


def _secret(settings: Settings) -> str | None:
    secret = settings.shopify_webhook_secret
    if secret is None or not secret.get_secret_value():
        return None
    return secret.get_secret_value()


def _refusal(request: Request, body: bytes) -> JSONResponse | None:
    """503 without a configured secret, 401 when the signature is wrong; None when it verifies."""
    secret = _secret(request.app.state.settings)
    if secret is None:
        return JSONResponse(
            error_body(f"{SECRET_SETTING} is not set: Shopify requests cannot be verified"), status_code=503
        )
    if not verify.verify(secret, body, request.headers.get("x-shopify-hmac-sha256")):
        return JSONResponse(error_body("invalid or missing X-Shopify-Hmac-Sha256 signature"), status_code=401)
    return None


def _worker(request: Request) -> InboxWorker | None:
    state = request.app.state
    if not state.settings.shopify_inbox_autoprocess:
        return None
    worker: InboxWorker | None = getattr(state, "shopify_inbox_worker", None)
    if worker is None:
        worker = InboxWorker(state.session_factory)
        state.shopify_inbox_worker = worker
    return worker


@router.post("/webhooks/shopify", responses={401: {}, 413: {}, 503: {}})
async def shopify_webhook(request: Request) -> JSONResponse:
    """Verify, store in the inbox, answer: processing happens after the 200 (see docs/decisions/0003)."""
    body = await request.body()
    refused = _refusal(request, body)
    if refused is not None:
        return refused
    delivery = Delivery.from_headers(request.headers, body)
    if not delivery.webhook_id or not delivery.topic:
        return JSONResponse(
            error_body("X-Shopify-Webhook-Id and X-Shopify-Topic headers are required"), status_code=400
        )
    stored = await _writer(request).store(delivery)
    if stored.status == "received":
        worker = _worker(request)
        if worker is not None:
            worker.kick()
    content: dict[str, Any] = {"status": stored.status, "id": stored.delivery_id}
    if stored.reason:
        content["reason"] = stored.reason
    return JSONResponse(content, status_code=200)


def _writer(request: Request) -> InboxWriter:
    state = request.app.state
    writer: InboxWriter | None = getattr(state, "shopify_inbox_writer", None)
    if writer is None:  # one per app, made on the event loop's thread
        writer = state.shopify_inbox_writer = InboxWriter(state.session_factory)
    return writer


def _admin(settings: Settings) -> ShopifyAdmin:
    return ShopifyAdmin.from_settings(settings)


@router.post("/shopify/fulfillment_order_notification", responses={401: {}, 503: {}})
async def fulfillment_order_notification(request: Request) -> JSONResponse:
    """Shopify tells its fulfillment service (us) about fulfillment or cancellation requests."""
    body = await request.body()
    refused = _refusal(request, body)
    if refused is not None:
        return refused
    kind = fulfillment_service.notification_kind(body)
    if kind is None:
        return JSONResponse(error_body("the body has no known `kind`"), status_code=400)
    try:
        admin = _admin(request.app.state.settings)
    except MissingSetting as error:
        return JSONResponse(error_body(str(error)), status_code=503)
    try:
        with admin:
            decisions = await run_in_threadpool(
                fulfillment_service.handle_notification, request.app.state.session_factory, admin, kind
            )
    except AdminApiError as error:
        return JSONResponse(error_body(f"Shopify Admin API: {error}"), status_code=502)
    return JSONResponse({"kind": kind, "decisions": [d.as_dict() for d in decisions]})


@router.get("/shopify/fetch_tracking_numbers", responses={401: {}, 503: {}})
async def fetch_tracking_numbers(request: Request) -> JSONResponse:
    """Tracking numbers by fulfillment name (`#1001.1`), in the shape Shopify expects back."""
    body = await request.body()
    refused = _refusal(request, body)
    if refused is not None:
        return refused
    names = request.query_params.getlist("order_names[]") or request.query_params.getlist("order_names")
    answer = await run_in_threadpool(_tracking, request, names)
    return JSONResponse(answer, status_code=status.HTTP_200_OK)


def _tracking(request: Request, names: list[str]) -> dict[str, Any]:
    with UnitOfWork(request.app.state.session_factory) as uow:
        return fulfillment_service.tracking_numbers(uow, names)
