"""The HMAC check: exactly Shopify's base64 HMAC-SHA256 of the raw body."""

from __future__ import annotations

import base64
import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from microfactory.channels.shopify.verify import sign, verify


def test_known_vector() -> None:
    body = b'{"id":1}'
    expected = base64.b64encode(hmac.new(b"secret", body, hashlib.sha256).digest()).decode()
    assert sign("secret", body) == expected
    assert verify("secret", body, expected)


def test_refuses_missing_malformed_and_other_keys() -> None:
    body = b"{}"
    assert not verify("secret", body, None)
    assert not verify("secret", body, "")
    assert not verify("secret", body, "not base64!!")
    assert not verify("secret", body, sign("other", body))
    assert not verify("secret", body + b" ", sign("secret", body))


@given(st.binary(max_size=2048), st.text(min_size=1, max_size=64))
def test_round_trip(body: bytes, secret: str) -> None:
    assert verify(secret, body, sign(secret, body))
