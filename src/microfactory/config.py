"""Settings from the environment, in one object (never from code, never logged)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class MissingSetting(RuntimeError):
    """A command needs a setting that is not in the environment; the message names it."""

    def __init__(self, name: str, why: str) -> None:
        super().__init__(f"{name} is not set: {why}")
        self.name = name


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MICROFACTORY_", extra="ignore")

    database_url: str = Field(default="sqlite:///microfactory.db")
    admin_token: SecretStr | None = None
    shopify_webhook_secret: SecretStr | None = None
    shopify_shop_domain: str | None = None
    shopify_admin_token: SecretStr | None = None
    shopify_api_version: str = "2025-07"
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    max_body_bytes: int = 1_048_576
    shopify_inbox_autoprocess: bool = True  # the API process turns stored deliveries into orders
    auto_route: bool = True  # the API process routes released work orders in the background
    route_interval_seconds: float = 2.0

    def require_admin_token(self) -> str:
        if self.admin_token is None or not self.admin_token.get_secret_value():
            raise MissingSetting("MICROFACTORY_ADMIN_TOKEN", "the API needs it to bootstrap an admin token")
        return self.admin_token.get_secret_value()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
