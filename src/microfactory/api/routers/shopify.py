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

from microfactory.api.deps import container_of
from microfactory.api.errors import error_body
from microfactory.channels.shopify import fulfillment_notifications, fulfillment_service, verify
from microfactory.channels.shopify.admin import ShopifyAdmin
from microfactory.channels.shopify.inbox import RECEIVED, Delivery
from microfactory.channels.shopify.mapping import PayloadError
from microfactory.config import Settings

router = APIRouter(tags=["shopify"])
log = logging.getLogger(__name__)


def _refusal(request: Request, body: bytes) -> JSONResponse | None:
    """401 when the signature is wrong, None when it verifies; `MissingSetting` (503) without a secret."""
    secret = container_of(request).settings.shopify.require_webhook_secret()
    if not verify.verify(secret, body, request.headers.get("x-shopify-hmac-sha256")):
        return JSONResponse(error_body("invalid or missing X-Shopify-Hmac-Sha256 signature"), status_code=401)
    return None


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
    foreign = _foreign_shop(container_of(request).settings, headers.get("x-shopify-shop-domain"))
    if foreign is not None:
        return foreign
    try:
        delivery = Delivery.read(headers, body)
    except PayloadError as error:
        log.warning("shopify delivery refused: %s", error.summary)
        return JSONResponse(error.as_dict(), status_code=400)
    workers = container_of(request).workers
    stored = await workers.shopify_inbox_writer.store(delivery)
    if stored.status == RECEIVED and workers.shopify_inbox is not None:
        workers.shopify_inbox.kick()
    return JSONResponse({"status": stored.status, "id": stored.delivery_id}, status_code=200)


def _foreign_shop(settings: Settings, domain: str | None) -> JSONResponse | None:
    """403 when the shop is configured and the delivery names another one (or none).

    The signature proves the app's secret signed the body; an app installed in several shops signs
    all of their deliveries with it, so the shop header is checked too, before anything is stored.
    """
    expected = (settings.shopify.shop_domain or "").strip().lower()
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


@router.post("/shopify/fulfillment_order_notification", responses={400: {}, 401: {}, 503: {}})
async def fulfillment_order_notification(request: Request) -> JSONResponse:
    """Shopify tells its fulfillment service (us) that fulfillment or cancellation requests wait.

    Verified, recorded and answered at once: the Admin API pass that answers the requests runs in
    the outbox dispatcher (`fulfillment_notifications`), and notifications that overlap, replays
    included, merge into one pending pass.
    """
    body = await request.body()
    refused = _refusal(request, body)
    if refused is not None:
        return refused
    kind = fulfillment_service.notification_kind(body)
    if kind is None:
        return JSONResponse(error_body("the body has no known `kind`"), status_code=400)
    container = container_of(request)
    ShopifyAdmin.check_settings(container.settings)  # MissingSetting (503): no pass could ever run
    message_id, merged = await run_in_threadpool(_note, request, kind)
    answer = {"kind": kind, "status": "merged" if merged else "queued", "message_id": message_id}
    return JSONResponse(answer, status_code=200)


def _note(request: Request, kind: str) -> tuple[str, bool]:
    with container_of(request).unit_of_work() as uow, uow.write_turn():
        noted = fulfillment_notifications.note_notification(uow, kind)
        uow.commit()
    return noted


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
    """401 unless the header signs this exact query string; `MissingSetting` (503) without a secret."""
    secret = container_of(request).settings.shopify.require_webhook_secret()
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
    with container_of(request).unit_of_work() as uow:
        return fulfillment_service.tracking_numbers(uow, names)
