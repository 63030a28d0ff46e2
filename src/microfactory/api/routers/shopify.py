"""Shopify's calls into microfactory: webhook deliveries and the fulfillment-service callbacks.

Nothing here is under /api/v1 and nothing uses bearer tokens: Shopify signs each request with the
app's client secret (`X-Shopify-Hmac-Sha256`, base64 HMAC-SHA256 of the raw body), and the signature
is checked before anything is parsed or stored. A wrong or missing signature gets 401.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from microfactory.api.errors import error_body
from microfactory.channels.shopify import fulfillment_service, verify
from microfactory.channels.shopify.admin import AdminApiError, ShopifyAdmin
from microfactory.channels.shopify.inbox import RECEIVED, Delivery
from microfactory.channels.shopify.inbox_workers import InboxWorker, InboxWriter
from microfactory.channels.shopify.mapping import PayloadError
from microfactory.config import MissingSetting, Settings
from microfactory.db.unit_of_work import UnitOfWork

router = APIRouter(tags=["shopify"])
log = logging.getLogger(__name__)

SECRET_SETTING = "MICROFACTORY_SHOPIFY_WEBHOOK_SECRET"


def _secret(settings: Settings) -> str | None:
    secret = settings.shopify_webhook_secret
    if secret is None or not secret.get_secret_value():
        return None
    return secret.get_secret_value()


def _no_secret() -> JSONResponse:
    return JSONResponse(
        error_body(f"{SECRET_SETTING} is not set: Shopify requests cannot be verified"), status_code=503
    )


def _refusal(request: Request, body: bytes) -> JSONResponse | None:
    """503 without a configured secret, 401 when the signature is wrong; None when it verifies."""
    secret = _secret(request.app.state.settings)
    if secret is None:
        return _no_secret()
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


@router.post("/webhooks/shopify", responses={400: {}, 401: {}, 403: {}, 413: {}, 503: {}})
async def shopify_webhook(request: Request) -> JSONResponse:
    """Verify, check, store in the inbox, answer: processing happens after the 200 (docs/decisions/0003).

    A delivery without its id headers, or whose body is not a JSON object, gets 400 naming the
    problem and is not stored: no retry could turn it into an order.
    """
    body = await request.body()
    refused = _refusal(request, body)
    if refused is not None:
        return refused
    headers = _shopify_headers(request)
    foreign = _foreign_shop(request.app.state.settings, headers.get("x-shopify-shop-domain"))
    if foreign is not None:
        return foreign
    try:
        delivery = Delivery.read(headers, body)
    except PayloadError as error:
        log.warning("shopify delivery refused: %s", error.summary)
        return JSONResponse(error.as_dict(), status_code=400)
    stored = await _writer(request).store(delivery)
    if stored.status == RECEIVED:
        worker = _worker(request)
        if worker is not None:
            worker.kick()
    return JSONResponse({"status": stored.status, "id": stored.delivery_id}, status_code=200)


def _foreign_shop(settings: Settings, domain: str | None) -> JSONResponse | None:
    """403 when the shop is configured and the delivery names another one (or none).

    The signature proves the app's secret signed the body; an app installed in several shops signs
    all of their deliveries with it, so the shop header is checked too, before anything is stored.
    """
    expected = (settings.shopify_shop_domain or "").strip().lower()
    given = (domain or "").strip().lower()
    if not expected or given == expected:
        return None
    shown = given or "no X-Shopify-Shop-Domain"
    message = f"the delivery is from {shown}, not from the configured shop {expected}"
    return JSONResponse(error_body(message), status_code=403)


def _shopify_headers(request: Request) -> dict[str, str]:
    """Shopify's `x-shopify-*` headers as a plain dict (ASGI gives lower-case names), read once."""
    return {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in request.scope["headers"]
        if name.startswith(b"x-shopify-")
    }


def _writer(request: Request) -> InboxWriter:
    state = request.app.state
    writer: InboxWriter | None = getattr(state, "shopify_inbox_writer", None)
    if writer is None:  # one per app, made on the event loop's thread
        writer = state.shopify_inbox_writer = InboxWriter(state.engine)
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
@router.get("/shopify/fetch_tracking_numbers.json", responses={401: {}, 503: {}}, include_in_schema=False)
async def fetch_tracking_numbers(request: Request) -> JSONResponse:
    """Tracking numbers by fulfillment name (`#1001.1`), in the shape Shopify expects back.

    Both paths are served: the GraphQL docs name `<callback>/fetch_tracking_numbers`, the REST docs'
    example and real requests carry `.json`. The GET has no body, so the signature covers the query.
    """
    refused = _query_refusal(request)
    if refused is not None:
        return refused
    answer = await run_in_threadpool(_tracking, request, _order_names(request))
    return JSONResponse(answer, status_code=status.HTTP_200_OK)


def _query_refusal(request: Request) -> JSONResponse | None:
    """503 without a configured secret, 401 unless the header signs this exact query string."""
    secret = _secret(request.app.state.settings)
    if secret is None:
        return _no_secret()
    raw_query: bytes = request.scope.get("query_string", b"")
    if not verify.verify_query(secret, raw_query, request.headers.get("x-shopify-hmac-sha256")):
        return JSONResponse(
            error_body("invalid or missing X-Shopify-Hmac-Sha256 signature of the query string"),
            status_code=401,
        )
    return None


def _order_names(request: Request) -> list[str]:
    """`order_names[]` (the documented example) and `order_names` (the parameter's name), once each."""
    params = request.query_params
    names = params.getlist("order_names[]") + params.getlist("order_names")
    return [name for name in dict.fromkeys(names) if name]


def _tracking(request: Request, names: list[str]) -> dict[str, Any]:
    with UnitOfWork(request.app.state.session_factory) as uow:
        return fulfillment_service.tracking_numbers(uow, names)
