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

from limits import parse_many
from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from microfactory.errors import MissingSetting

__all__ = [
    "FLAT_NAMES",
    "JobsSettings",
    "LogisticsSettings",
    "MissingSetting",
    "OperationsSettings",
    "QualitySettings",
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


class LogisticsSettings(BaseModel):
    """Parcels: the tracking poller of the API process and each partner's circuit breaker."""

    tracking_interval_seconds: float = Field(default=300.0, ge=0)  # 0: `shipments track` does it
    tracking_stale_minutes: float = Field(default=60.0, gt=0)  # poll parcels not heard of for this long
    carrier_failures_to_pause: int = Field(default=3, ge=1)
    carrier_pause_seconds: float = Field(default=300.0, gt=0)


class QualitySettings(BaseModel):
    """Inspection evidence: where images are kept (a directory, else the database) and how large."""

    image_dir: str | None = None  # MICROFACTORY_QUALITY_IMAGE_DIR; unset: images live in the database
    image_max_bytes: int = Field(default=8_388_608, ge=1024)  # an upload over it is refused with 413
    image_max_pixels: int = Field(default=40_000_000, ge=1)  # decompression bombs are refused with 422
    # MICROFACTORY_QUALITY_MODEL_DIR: where a check's relative `model:` path is looked up (the
    # working directory when unset); a missing model file is a 409 naming it.
    model_dir: str | None = None


class OperationsSettings(BaseModel):
    """Rate limits, security headers and who may read /metrics (docs/deploy.md, decision 0016).

    A rate limit is a `limits` string such as `10/minute` or `5/second;100/hour`, counted per client
    address and route; an empty one is off. Counters live in `rate_limit_storage` (`memory://`: one
    process's own; `redis://HOST:6379` shares them between processes, with the `redis` package).
    """

    rate_limit_storage: str = "memory://"
    rate_limit_webhooks: str = ""  # every request to POST /webhooks/*: off, signed deliveries pass
    rate_limit_webhook_failures: str = "20/minute"  # deliveries refused (bad signature) per client
    rate_limit_login: str = "10/minute"  # login attempts per client (the web UI's POST /login)
    hsts_seconds: int = Field(default=31_536_000, ge=0)  # Strict-Transport-Security on https; 0: none
    metrics_token: SecretStr | None = None  # a scrape-only bearer token for GET /metrics
    metrics_public: bool = False  # GET /metrics without a token (a proxy shields it)

    @field_validator("rate_limit_webhooks", "rate_limit_webhook_failures", "rate_limit_login")
    @classmethod
    def _a_rate_limit(cls, value: str) -> str:
        if value.strip():
            try:
                parse_many(value)
            except ValueError as error:
                raise ValueError(
                    f"{value!r} is not a rate limit such as 10/minute or 5/second;100/hour"
                ) from error
        return value.strip()


class JobsSettings(BaseModel):
    """The job queue (decision 0018): who runs background work, and how a dead worker is noticed."""

    in_process: bool = True  # the API process runs a job worker (on SQLite: its background threads)
    concurrency: int = Field(default=2, ge=1, le=32)  # jobs one worker process runs at once
    stalled_seconds: float = Field(default=30.0, ge=1)  # a worker silent this long is dead: its jobs rerun


# flat name (the environment variable without its prefix, lower case) -> (group, field)
FLAT_NAMES: dict[str, tuple[str, str]] = {
    "shopify_webhook_secret": ("shopify", "webhook_secret"),
    "shopify_shop_domain": ("shopify", "shop_domain"),
    "shopify_admin_token": ("shopify", "admin_token"),
    "shopify_api_version": ("shopify", "api_version"),
    "shopify_inbox_autoprocess": ("shopify", "inbox_autoprocess"),
    "auto_route": ("routing", "auto_route"),
    "route_interval_seconds": ("routing", "interval_seconds"),
    "jobs_in_process": ("jobs", "in_process"),
    "jobs_concurrency": ("jobs", "concurrency"),
    "jobs_stalled_seconds": ("jobs", "stalled_seconds"),
    "telemetry_listen": ("telemetry", "listen"),
    "telemetry_client_id": ("telemetry", "client_id"),
    "telemetry_batch_messages": ("telemetry", "batch_messages"),
    "telemetry_flush_ms": ("telemetry", "flush_ms"),
    "telemetry_silent_after_seconds": ("telemetry", "silent_after_seconds"),
    "telemetry_keep_raw_hours": ("telemetry", "keep_raw_hours"),
    "tracking_interval_seconds": ("logistics", "tracking_interval_seconds"),
    "tracking_stale_minutes": ("logistics", "tracking_stale_minutes"),
    "carrier_failures_to_pause": ("logistics", "carrier_failures_to_pause"),
    "carrier_pause_seconds": ("logistics", "carrier_pause_seconds"),
    "quality_image_dir": ("quality", "image_dir"),
    "quality_image_max_bytes": ("quality", "image_max_bytes"),
    "quality_image_max_pixels": ("quality", "image_max_pixels"),
    "quality_model_dir": ("quality", "model_dir"),
    "rate_limit_storage": ("operations", "rate_limit_storage"),
    "rate_limit_webhooks": ("operations", "rate_limit_webhooks"),
    "rate_limit_webhook_failures": ("operations", "rate_limit_webhook_failures"),
    "rate_limit_login": ("operations", "rate_limit_login"),
    "hsts_seconds": ("operations", "hsts_seconds"),
    "metrics_token": ("operations", "metrics_token"),
    "metrics_public": ("operations", "metrics_public"),
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="ignore")

    database_url: str = Field(default="sqlite:///microfactory.db")
    admin_token: SecretStr | None = None
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    max_body_bytes: int = 1_048_576
    token_cache_seconds: float = 5.0  # a stored token revoked elsewhere is refused within this (0: off)
    outbox_interval_seconds: float = 5.0  # the API process dispatches the outbox; 0: another process does
    # The web UI's signed session cookies: a missing secret is made per process (web.sessions), and
    # the cookie is Secure over https or when `session_secure` says so (behind a TLS proxy).
    session_secret: SecretStr | None = None
    session_secure: bool = False
    session_max_age_seconds: int = Field(default=12 * 3600, ge=60)
    shopify: ShopifySettings = Field(default_factory=ShopifySettings)
    routing: RoutingSettings = Field(default_factory=RoutingSettings)
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)
    logistics: LogisticsSettings = Field(default_factory=LogisticsSettings)
    quality: QualitySettings = Field(default_factory=QualitySettings)
    operations: OperationsSettings = Field(default_factory=OperationsSettings)
    jobs: JobsSettings = Field(default_factory=JobsSettings)

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
