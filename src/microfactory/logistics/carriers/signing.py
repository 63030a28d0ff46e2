"""HMAC-SHA256 signatures of webhook bodies: computed once, compared in constant time.

EasyPost signs an event as `X-Hmac-Signature: hmac-sha256-hex=<hex>` with its webhook secret
(NFKD-normalised, as its own client libraries do); the local courier contract signs both ways as
`X-Microfactory-Signature: sha256=<hex>`. Shippo does not sign: its webhook URL carries a token.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from collections.abc import Mapping

from microfactory.errors import Forbidden


def hex_digest(secret: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of `body` under `secret` (NFKD-normalised, UTF-8)."""
    key = unicodedata.normalize("NFKD", secret).encode()
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value, whatever the case of its name (a plain dict is not case-blind)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def require_signature(
    headers: Mapping[str, str], name: str, prefix: str, secret: str, body: bytes, who: str
) -> None:
    """Raise `Forbidden` unless header `name` is `prefix` + the body's HMAC under `secret`."""
    given = header(headers, name)
    if not given:
        raise Forbidden(f"{who}: the webhook has no {name} header; it is not signed by the carrier")
    expected = prefix + hex_digest(secret, body)
    if not hmac.compare_digest(given.strip().lower().encode(), expected.encode()):
        raise Forbidden(f"{who}: the webhook's {name} does not match its body; refused")


def require_token(query: Mapping[str, str], name: str, secret: str, who: str) -> None:
    """Raise `Forbidden` unless the query carries `name` equal to `secret` (Shippo's `?token=`)."""
    given = query.get(name)
    if not given:
        raise Forbidden(f"{who}: the webhook URL has no ?{name}=; it is not from our carrier account")
    if not hmac.compare_digest(given.encode(), secret.encode()):
        raise Forbidden(f"{who}: the webhook's ?{name}= is wrong; refused")
