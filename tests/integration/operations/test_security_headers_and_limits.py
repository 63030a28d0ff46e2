"""Security headers on every answer, and rate limits on the public webhooks and on login (issue 16.4)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from microfactory.api.app import create_app
from microfactory.channels.shopify.verify import sign
from microfactory.config import Settings
from tests.conftest import ADMIN_TOKEN

SECRET = "test-webhook-secret"
BASE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
}


def _delivery(secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"id": 1, "name": "#1"}).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Hmac-Sha256": sign(secret, body),
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "X-Shopify-Shop-Domain": "keystone-test.myshopify.com",
    }
    return body, headers


@pytest.fixture
def limited(settings: Settings, engine: Engine) -> Iterator[FastAPI]:
    """An app with small limits; its login route is the web UI's own."""
    changed = settings.with_changes(
        rate_limit_webhook_failures="3/minute", rate_limit_login="2/minute", shopify_inbox_autoprocess=False
    )
    app = create_app(changed, engine)
    with TestClient(app):
        yield app


def test_every_answer_has_the_security_headers(client: TestClient) -> None:
    answers = {
        "ok": client.get("/api/v1/orders"),
        "unauthorized": client.get("/api/v1/orders", headers={"Authorization": "Bearer nope"}),
        "not found": client.get("/api/v1/orders/ord_missing"),
        "invalid": client.post("/api/v1/orders", json={"lines": "x"}),
        "no route": client.get("/nothing-here"),
        "too large": client.post("/api/v1/orders", content=b"x" * 2_000_000),
        "forged webhook": client.post(
            "/webhooks/shopify", content=b"{}", headers={"X-Shopify-Hmac-Sha256": "x"}
        ),
        "health": client.get("/healthz"),
    }
    assert answers["too large"].status_code == 413
    for what, answer in answers.items():
        for name, value in BASE_HEADERS.items():
            assert answer.headers.get(name) == value, (what, name, answer.status_code)
        assert "Strict-Transport-Security" not in answer.headers, what  # plain http: no HSTS


def test_hsts_over_https_only(client: TestClient) -> None:
    secure = TestClient(client.app, base_url="https://testserver", headers=dict(client.headers))
    answer = secure.get("/api/v1/orders")
    assert answer.status_code == 200
    assert answer.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_a_client_forging_webhooks_is_refused_for_a_while(limited: FastAPI) -> None:
    forger = TestClient(limited, client=("203.0.113.9", 4000))
    store = TestClient(limited, client=("198.51.100.7", 4000))
    for _ in range(3):
        body, headers = _delivery(secret="guessed")
        assert forger.post("/webhooks/shopify", content=body, headers=headers).status_code == 401
    body, headers = _delivery()
    refused = forger.post("/webhooks/shopify", content=body, headers=headers)  # even signed, for now
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "too many requests" in refused.json()["error"]
    assert refused.headers["X-Content-Type-Options"] == "nosniff"
    for _ in range(5):  # the store signs: never refused by the failure limit
        body, headers = _delivery()
        assert store.post("/webhooks/shopify", content=body, headers=headers).status_code == 200


def test_forged_fulfillment_callbacks_are_limited_too(limited: FastAPI) -> None:
    forger = TestClient(limited, client=("203.0.113.20", 4000))
    query = {"shop": "keystone-test.myshopify.com", "order_names[]": "#1", "hmac": "00"}
    codes = [forger.get("/shopify/fetch_tracking_numbers", params=query).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]


def test_every_webhook_request_counts_when_a_limit_is_set(settings: Settings, engine: Engine) -> None:
    app = create_app(
        settings.with_changes(rate_limit_webhooks="2/second", shopify_inbox_autoprocess=False), engine
    )
    with TestClient(app) as sender:
        codes = []
        for _ in range(3):
            body, headers = _delivery()
            codes.append(sender.post("/webhooks/shopify", content=body, headers=headers).status_code)
    assert codes == [200, 200, 429]


def test_login_attempts_are_limited_per_client(limited: FastAPI) -> None:
    """Every attempt counts, even one the CSRF check would refuse (403) before the password."""
    first = TestClient(limited, client=("203.0.113.10", 1))
    form = {"username": "nobody", "password": "wrong"}
    # the first two attempts reach the login (refused there: no CSRF token), the third is over the limit
    assert [first.post("/login", data=form).status_code for _ in range(3)] == [403, 403, 429]
    refused = first.post("/login", data=form)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert TestClient(limited, client=("203.0.113.11", 1)).post("/login", data=form).status_code == 403


def test_the_operations_settings_come_from_their_flat_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MICROFACTORY_METRICS_TOKEN", "scrape-do-not-print")
    monkeypatch.setenv("MICROFACTORY_RATE_LIMIT_LOGIN", "5/minute;50/hour")
    monkeypatch.setenv("MICROFACTORY_HSTS_SECONDS", "0")
    operations = Settings().operations
    assert operations.metrics_token is not None
    assert operations.metrics_token.get_secret_value() == "scrape-do-not-print"
    assert "scrape-do-not-print" not in repr(Settings())
    assert operations.rate_limit_login == "5/minute;50/hour" and operations.hsts_seconds == 0


def test_a_rate_limit_setting_is_checked() -> None:
    with pytest.raises(ValueError, match="not a rate limit"):
        Settings(rate_limit_login="ten a minute")
    assert Settings(admin_token=ADMIN_TOKEN, rate_limit_webhooks="").operations.rate_limit_webhooks == ""
