"""No secret or token in any log line (issue 16.4): every logger at DEBUG, across a request cycle
that issues, uses, rotates and revokes tokens, takes signed and forged webhooks and reads /metrics."""

from __future__ import annotations

import json
import logging
import uuid

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine

from microfactory.api.app import create_app
from microfactory.channels.shopify.verify import sign
from microfactory.config import Settings
from tests.conftest import ADMIN_TOKEN

WEBHOOK_SECRET = "test-webhook-secret"
METRICS_TOKEN = "scrape-only-secret-0123456789"
SHIP_TO = {"city": "Berlin", "country": "DE", "latitude": 52.52, "longitude": 13.4}


def test_no_log_line_holds_a_secret(
    settings: Settings, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # the root logger: every library's records too
    app = create_app(settings.with_changes(operations={"metrics_token": SecretStr(METRICS_TOKEN)}), engine)
    secrets = [ADMIN_TOKEN, WEBHOOK_SECRET, METRICS_TOKEN]
    with TestClient(app) as admin:
        admin.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        issued = admin.post("/api/v1/tokens", json={"name": "erp", "role": "integration"}).json()
        secrets.append(issued["token"])
        erp = TestClient(app, headers={"Authorization": f"Bearer {issued['token']}"})
        order = {"external_id": "L-1", "ship_to": SHIP_TO, "lines": [{"product": "nothing"}]}
        assert erp.post("/api/v1/orders", json=order).status_code == 201
        assert erp.get("/api/v1/tokens").status_code == 403
        rotated = admin.post(f"/api/v1/tokens/{issued['id']}/rotate").json()
        secrets.append(rotated["token"])
        assert erp.get("/api/v1/orders").status_code == 401  # the old secret, refused
        body = json.dumps({"id": 5, "name": "#5", "line_items": []}).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Hmac-Sha256": sign(WEBHOOK_SECRET, body),
            "X-Shopify-Webhook-Id": str(uuid.uuid4()),
            "X-Shopify-Shop-Domain": "keystone-test.myshopify.com",
        }
        assert admin.post("/webhooks/shopify", content=body, headers=headers).status_code == 200
        forged = {**headers, "X-Shopify-Hmac-Sha256": sign("guess", body)}
        assert admin.post("/webhooks/shopify", content=body, headers=forged).status_code == 401
        scrape = admin.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert scrape.status_code == 200
        assert admin.delete(f"/api/v1/tokens/{issued['id']}").status_code == 200
    assert caplog.records, "the test should see some log records"
    lines = [record.getMessage() for record in caplog.records] + [caplog.text]
    leaked = [(secret, line) for secret in secrets for line in lines if secret in line]
    assert leaked == []
    assert all(secret not in repr(app.state.container) for secret in secrets)
