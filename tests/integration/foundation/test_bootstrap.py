"""The composition root builds the whole process from settings: what it holds and what it runs."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, text

from microfactory.api.app import create_app
from microfactory.bootstrap import bootstrap
from microfactory.config import Settings
from microfactory.errors import MissingSetting
from microfactory.orders import events


def test_the_container_holds_engine_sessions_and_workers_chosen_by_settings(
    settings: Settings, engine: Engine
) -> None:
    container = bootstrap(settings.with_changes(shopify_inbox_autoprocess=False), engine=engine)
    assert container.engine is engine
    with container.unit_of_work() as uow:
        assert uow.session.execute(text("SELECT 1")).scalar() == 1
    assert container.workers.shopify_inbox is None  # process-inbox does the work
    assert container.workers.routing_interval is None  # the fixture turns auto routing off
    routed = bootstrap(settings.with_changes(auto_route=True, route_interval_seconds=60), engine=engine)
    if engine.dialect.name == "postgresql":  # the job queue carries the work (decision 0018)
        assert routed.workers.routing_interval is None and routed.workers.shopify_inbox is None
        assert routed.workers.job_worker is not None
        elsewhere = bootstrap(settings.with_changes(jobs_in_process=False), engine=engine)
        assert elsewhere.workers.job_worker is None  # `microfactory worker` processes do it
        return
    assert routed.workers.routing_interval == 60 and routed.workers.shopify_inbox is not None
    routed.workers.start()
    try:
        assert routed.workers.routing is not None
    finally:
        routed.workers.stop()
    assert routed.workers.routing is None


def test_the_shopify_admin_client_only_when_configured(settings: Settings, engine: Engine) -> None:
    unset = bootstrap(settings, engine=engine)
    assert unset.shopify_admin is None
    with pytest.raises(MissingSetting, match="MICROFACTORY_SHOPIFY_SHOP_DOMAIN"):
        unset.require_shopify_admin()
    configured = bootstrap(
        settings.with_changes(
            shopify_shop_domain="keystone.myshopify.com", shopify_admin_token=SecretStr("t")
        ),
        engine=engine,
    )
    with configured.require_shopify_admin() as admin:
        assert admin.base_url.startswith("https://keystone.myshopify.com/admin/api/")


def test_subscriptions_are_registered_once(settings: Settings, engine: Engine) -> None:
    bootstrap(settings, engine=engine)
    bootstrap(settings, engine=engine)
    handlers = events._handlers[events.WorkOrderCancelled]
    assert len(handlers) == len(set(handlers)) >= 1


def test_the_app_takes_the_container_and_its_repr_shows_no_secret(settings: Settings, engine: Engine) -> None:
    container = bootstrap(settings, engine=engine)
    app = create_app(container=container)
    assert app.state.container is container
    with TestClient(app) as client:
        assert client.get("/healthz").json()["status"] == "ok"
    assert "test-webhook-secret" not in repr(container) and "test-admin-token" not in repr(container)
