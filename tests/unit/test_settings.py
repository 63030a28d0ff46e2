"""Settings come in groups, read from the flat environment names of the contract; secrets never show."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from microfactory.config import Settings
from microfactory.errors import MissingSetting

SECRET = "whsec-do-not-print"


def test_flat_environment_names_fill_the_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MICROFACTORY_SHOPIFY_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("MICROFACTORY_SHOPIFY_SHOP_DOMAIN", "keystone.myshopify.com")
    monkeypatch.setenv("MICROFACTORY_SHOPIFY_ADMIN_TOKEN", "shpat_x")
    monkeypatch.setenv("MICROFACTORY_SHOPIFY_API_VERSION", "2026-01")
    monkeypatch.setenv("MICROFACTORY_SHOPIFY_INBOX_AUTOPROCESS", "false")
    monkeypatch.setenv("MICROFACTORY_AUTO_ROUTE", "0")
    monkeypatch.setenv("MICROFACTORY_ROUTE_INTERVAL_SECONDS", "0.5")
    monkeypatch.setenv("MICROFACTORY_MAX_BODY_BYTES", "1000")
    settings = Settings()
    assert settings.shopify.require_webhook_secret() == SECRET
    assert settings.shopify.shop_domain == "keystone.myshopify.com"
    assert settings.shopify.admin_token == SecretStr("shpat_x")
    assert settings.shopify.api_version == "2026-01"
    assert settings.shopify.inbox_autoprocess is False
    assert settings.routing.auto_route is False and settings.routing.interval_seconds == 0.5
    assert settings.max_body_bytes == 1000


def test_defaults_without_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "SHOPIFY_WEBHOOK_SECRET",
        "SHOPIFY_INBOX_AUTOPROCESS",
        "AUTO_ROUTE",
        "ROUTE_INTERVAL_SECONDS",
    ):
        monkeypatch.delenv(f"MICROFACTORY_{name}", raising=False)
    settings = Settings()
    assert settings.shopify.webhook_secret is None and settings.shopify.inbox_autoprocess is True
    assert settings.routing.auto_route is True and settings.routing.interval_seconds == 2.0
    with pytest.raises(MissingSetting, match="MICROFACTORY_SHOPIFY_WEBHOOK_SECRET"):
        settings.shopify.require_webhook_secret()


def test_keywords_beat_the_environment_in_either_spelling(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MICROFACTORY_ROUTE_INTERVAL_SECONDS", "9")
    monkeypatch.setenv("MICROFACTORY_SHOPIFY_API_VERSION", "2026-01")
    flat = Settings(route_interval_seconds=1.5)
    grouped = Settings(routing={"interval_seconds": 1.5})
    assert flat.routing.interval_seconds == grouped.routing.interval_seconds == 1.5
    assert flat.routing.auto_route is True and flat.shopify.api_version == "2026-01"


def test_with_changes_validates_and_leaves_the_original(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(shopify_webhook_secret=SecretStr(SECRET), auto_route=False)
    changed = settings.with_changes(shopify_webhook_secret=None, route_interval_seconds="0.25")
    assert changed.shopify.webhook_secret is None and changed.routing.interval_seconds == 0.25
    assert changed.routing.auto_route is False
    assert settings.shopify.require_webhook_secret() == SECRET


def test_no_secret_shows_in_repr_str_or_dump(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MICROFACTORY_SHOPIFY_ADMIN_TOKEN", "shpat_secret_token")
    settings = Settings(admin_token=SecretStr("admin-secret"), shopify_webhook_secret=SecretStr(SECRET))
    shown = " ".join([repr(settings), str(settings), repr(settings.shopify), settings.model_dump_json()])
    for secret in (SECRET, "admin-secret", "shpat_secret_token"):
        assert secret not in shown
