"""Settings from the environment, in one object (never from code, never logged).

Settings come in groups (`settings.shopify.webhook_secret`, `settings.routing.interval_seconds`),
but the environment variables keep their flat names (`MICROFACTORY_SHOPIFY_WEBHOOK_SECRET`,
`MICROFACTORY_ROUTE_INTERVAL_SECONDS`): those names are a contract (README, spec/interfaces.md).
`FLAT_NAMES` says where each flat name lands; a settings source reads them from the environment,
and `Settings(...)` accepts them as keywords too, so that both spellings mean the same thing.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any, Self

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from microfactory.errors import MissingSetting

__all__ = [
    "FLAT_NAMES",
    "MissingSetting",
    "RoutingSettings",
    "Settings",
    "ShopifySettings",
    "TelemetrySettings",
    "get_settings",
]

PREFIX = "MICROFACTORY_"


class ShopifySettings(BaseModel):
    """The Shopify channel: webhook verification, Admin API access, and the inbox worker."""

    webhook_secret: SecretStr | None = None
    shop_domain: str | None = None
    admin_token: SecretStr | None = None
    api_version: str = "2025-07"
    inbox_autoprocess: bool = True  # the API process turns stored deliveries into orders

    def require_webhook_secret(self) -> str:
        """The secret Shopify signs with; `MissingSetting` when it is not configured."""
        if self.webhook_secret is None or not self.webhook_secret.get_secret_value():
            raise MissingSetting(f"{PREFIX}SHOPIFY_WEBHOOK_SECRET", "Shopify requests cannot be verified")
        return self.webhook_secret.get_secret_value()


class RoutingSettings(BaseModel):
    """The API process's background router."""

    auto_route: bool = True  # route released work orders in the background
    interval_seconds: float = 2.0


class TelemetrySettings(BaseModel):
    """Machine telemetry over MQTT (the broker itself is `mqtt_url`, MICROFACTORY_MQTT_URL)."""

    listen: bool = False  # the API process runs the subscriber (else `microfactory telemetry listen`)
    client_id: str = "microfactory-telemetry"
    batch_messages: int = Field(default=2000, ge=1)
    flush_ms: int = Field(default=100, ge=1)
    silent_after_seconds: float = Field(default=120.0, gt=0)
    keep_raw_hours: float = Field(default=24.0, gt=0)


# flat name (the environment variable without its prefix, lower case) -> (group, field)
FLAT_NAMES: dict[str, tuple[str, str]] = {
    "shopify_webhook_secret": ("shopify", "webhook_secret"),
    "shopify_shop_domain": ("shopify", "shop_domain"),
    "shopify_admin_token": ("shopify", "admin_token"),
    "shopify_api_version": ("shopify", "api_version"),
    "shopify_inbox_autoprocess": ("shopify", "inbox_autoprocess"),
    "auto_route": ("routing", "auto_route"),
    "route_interval_seconds": ("routing", "interval_seconds"),
    "telemetry_listen": ("telemetry", "listen"),
    "telemetry_client_id": ("telemetry", "client_id"),
    "telemetry_batch_messages": ("telemetry", "batch_messages"),
    "telemetry_flush_ms": ("telemetry", "flush_ms"),
    "telemetry_silent_after_seconds": ("telemetry", "silent_after_seconds"),
    "telemetry_keep_raw_hours": ("telemetry", "keep_raw_hours"),
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="ignore")

    database_url: str = Field(default="sqlite:///microfactory.db")
    admin_token: SecretStr | None = None
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    max_body_bytes: int = 1_048_576
    token_cache_seconds: float = 5.0  # a stored token revoked elsewhere is refused within this (0: off)
    outbox_interval_seconds: float = 5.0  # the API process dispatches the outbox; 0: another process does
    shopify: ShopifySettings = Field(default_factory=ShopifySettings)
    routing: RoutingSettings = Field(default_factory=RoutingSettings)
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        flat = FlatEnvironment(settings_cls)
        return init_settings, env_settings, flat, dotenv_settings, file_secret_settings

    @model_validator(mode="before")
    @classmethod
    def _gather_flat_names(cls, data: Any) -> Any:
        """`Settings(shopify_webhook_secret=...)` means `settings.shopify.webhook_secret`."""
        if not isinstance(data, dict):
            return data
        gathered = dict(data)
        for flat, (group, name) in FLAT_NAMES.items():
            if flat in gathered:
                _group_dict(gathered, group)[name] = gathered.pop(flat)
        return gathered

    def with_changes(self, **changes: Any) -> Self:
        """A copy with some settings changed (flat names or groups), validated like the original."""
        current = self.model_dump()
        for flat, (group, name) in FLAT_NAMES.items():
            if flat in changes:
                current[group][name] = changes.pop(flat)
        return type(self).model_validate({**current, **changes})

    def require_admin_token(self) -> str:
        if self.admin_token is None or not self.admin_token.get_secret_value():
            raise MissingSetting(f"{PREFIX}ADMIN_TOKEN", "the API needs it to bootstrap an admin token")
        return self.admin_token.get_secret_value()


def _group_dict(data: dict[str, Any], group: str) -> dict[str, Any]:
    """The group's values in `data` as a dict we may change (a model instance is dumped first)."""
    value = data.get(group)
    if isinstance(value, BaseModel):
        value = value.model_dump()
    value = dict(value) if isinstance(value, dict) else {}
    data[group] = value
    return value


class FlatEnvironment(PydanticBaseSettingsSource):
    """Reads the grouped settings from their flat environment variables (`FLAT_NAMES`)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # whole groups are read in __call__

    def __call__(self) -> dict[str, Any]:
        environment = {key.upper(): value for key, value in os.environ.items()}
        values: dict[str, Any] = {}
        for flat, (group, name) in FLAT_NAMES.items():
            value = environment.get(PREFIX + flat.upper())
            if value is not None:
                values.setdefault(group, {})[name] = value
        return values


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
