"""`GET /readyz` (database, schema at head) and `GET /metrics` (Prometheus text; who may read it)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy import Engine

from microfactory.api.app import create_app
from microfactory.config import Settings
from microfactory.db.engine import make_engine
from microfactory.db.migrate import upgrade
from tests.integration.operations.conftest import Issue

SHIP_TO = {"city": "Berlin", "country": "DE", "latitude": 52.52, "longitude": 13.4}


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_ready_when_the_database_answers_at_head(client: TestClient) -> None:
    answer = client.get("/readyz", headers={"Authorization": ""})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "ready"
    assert [check["name"] for check in body["checks"]] == ["database", "migrations"]
    assert client.get("/healthz").status_code == 200


def test_not_ready_while_the_schema_is_behind(settings: Settings, tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'behind.db'}")
    upgrade(engine, "0008")
    with TestClient(create_app(settings, engine, migrate=False)) as behind:
        answer = behind.get("/readyz")
        assert answer.status_code == 503
        migrations = {c["name"]: c for c in answer.json()["checks"]}["migrations"]
        assert migrations["ok"] is False and "run the migrations" in migrations["detail"]
        assert "0008" in migrations["detail"]
    engine.dispose()


def test_not_ready_without_a_database(settings: Settings) -> None:
    engine = make_engine(
        "postgresql+psycopg://postgres@127.0.0.1:1/none", connect_args={"connect_timeout": 1}
    )
    with TestClient(create_app(settings, engine, migrate=False)) as lost:
        answer = lost.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["checks"] == [
        {"name": "database", "ok": False, "detail": "unreachable: OperationalError"}
    ]


def test_metrics_count_requests_by_route_and_the_database_by_state(
    client: TestClient, engine: Engine
) -> None:
    order = {"external_id": "M-1", "ship_to": SHIP_TO, "lines": [{"product": "nothing"}]}
    order_id = client.post("/api/v1/orders", json=order).json()["id"]
    client.get(f"/api/v1/orders/{order_id}")
    client.get("/api/v1/orders/ord_missing")
    client.get("/no-such-page")
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    samples = _samples(answer.text)
    route = "/api/v1/orders/{order_id}"
    requests = "microfactory_http_requests_total"
    assert samples[(requests, frozenset({("method", "GET"), ("route", route), ("status", "200")}))] == 1
    assert samples[(requests, frozenset({("method", "GET"), ("route", route), ("status", "404")}))] == 1
    assert samples[(requests, frozenset({("method", "GET"), ("route", "unmatched"), ("status", "404")}))] == 1
    assert order_id not in answer.text  # templates, never ids
    latency = "microfactory_http_request_duration_seconds_count"
    assert samples[(latency, frozenset({("method", "POST"), ("route", "/api/v1/orders")}))] == 1
    assert samples[("microfactory_orders", frozenset({("status", "needs_attention")}))] == 1
    assert samples[("microfactory_order_lines", frozenset({("status", "needs_attention")}))] == 1
    for family in (
        "microfactory_outbox_messages",
        "microfactory_shopify_inbox_deliveries",
        "microfactory_work_orders",
    ):
        assert f"# TYPE {family} gauge" in answer.text


def test_who_may_read_the_metrics(
    client: TestClient, issue: Issue, settings: Settings, engine: Engine
) -> None:
    assert client.get("/metrics", headers={"Authorization": ""}).status_code == 401
    for role, expected in (("planner", 200), ("inspector", 200), ("integration", 403), ("site", 403)):
        caller, _ = issue(f"{role}-metrics", role, "berlin" if role == "site" else None)
        assert caller.get("/metrics").status_code == expected, role
    scraping = settings.with_changes(metrics_token=SecretStr("scrape-secret"))
    with TestClient(create_app(scraping, engine)) as scraper:
        assert scraper.get("/metrics", headers={"Authorization": "Bearer scrape-secret"}).status_code == 200
        assert scraper.get("/metrics", headers={"Authorization": "Bearer scrape-wrong"}).status_code == 401
    with TestClient(create_app(settings.with_changes(metrics_public=True), engine)) as anyone:
        assert anyone.get("/metrics").status_code == 200
