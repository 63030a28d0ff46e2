"""Shopify's signatures: a base64 HMAC-SHA256 of the raw request body, keyed with the app's secret.

Pure and tiny on purpose: the webhook endpoint, the fulfillment-service callbacks, the benchmark's
bare endpoint and the tests all sign and check with these two functions, so they cannot disagree.
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
