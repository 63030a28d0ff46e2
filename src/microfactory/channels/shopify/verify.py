"""Shopify's signatures: a base64 HMAC-SHA256 keyed with the app's secret, in `X-Shopify-Hmac-Sha256`.

POST requests (webhooks, `fulfillment_order_notification`) sign the raw body. The fulfillment
service's GET callbacks (`fetch_tracking_numbers`, `fetch_stock`) have no body: the same header then
signs the query string (see `verify_query`).

Pure and tiny on purpose: the webhook endpoint, the fulfillment-service callbacks, the benchmark's
bare endpoint and the tests all sign and check with these functions, so they cannot disagree.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def _key(secret: str | bytes) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def sign(secret: str | bytes, body: bytes) -> str:
    """The value Shopify puts in `X-Shopify-Hmac-Sha256` for `body`."""
    digest = hmac.new(_key(secret), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify(secret: str | bytes, body: bytes, signature: str | None) -> bool:
    """True only when `signature` is the HMAC of exactly these bytes (constant-time comparison).

    The raw bytes matter: re-serialised JSON differs in spacing and escapes, and would not verify.
    """
    if not signature:
        return False
    try:
        given = base64.b64decode(signature.strip(), validate=True)
    except (ValueError, TypeError):
        return False
    expected = hmac.new(_key(secret), body, hashlib.sha256).digest()
    return hmac.compare_digest(given, expected)


def query_forms(raw_query: bytes) -> list[bytes]:
    """The forms of a GET callback's query string that Shopify's signature may cover.

    Shopify documents no scheme for its GET callbacks. Developers report the header is the HMAC of
    the query string exactly as sent (not unescaped, not re-sorted), and older reports describe the
    parameters sorted by name; reported requests already come in name order, so both agree. The sorted
    form keeps every pair percent-encoded, so `&` or `=` inside a value cannot fake another pair.
    """
    pairs = [pair for pair in raw_query.split(b"&") if pair]
    by_name: list[bytes] = sorted(pairs, key=_name)
    ordered = b"&".join(by_name)
    return [raw_query] if ordered == raw_query else [raw_query, ordered]


def _name(pair: bytes) -> bytes:
    """A query pair's name, still encoded; sorting by it alone keeps repeated names in sent order."""
    return pair.split(b"=", 1)[0]


def verify_query(secret: str | bytes, raw_query: bytes, signature: str | None) -> bool:
    """True only when `signature` is the HMAC of this query string (constant-time, every form tried).

    An empty query is refused: its HMAC is that of an empty body, a constant that would vouch for
    any request, so it proves nothing.
    """
    if not raw_query:
        return False
    results = [verify(secret, form, signature) for form in query_forms(raw_query)]
    return any(results)
