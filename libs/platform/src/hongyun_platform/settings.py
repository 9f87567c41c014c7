"""Settings shared by every service; each service subclasses with its own env prefix.

A value is looked up as HONGYUN_<SERVICE>_<NAME> first, then the shared HONGYUN_<NAME>.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.sources import EnvSettingsSource


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HONGYUN_", extra="ignore")
    service_name: ClassVar[str] = "service"

    env: str = "production"  # "dev" enables dev-only defaults
    database_url: str = "postgresql+asyncpg://hongyun@127.0.0.1:5432/hongyun"
    db_pool_size: int = 10
    nats_url: str = "nats://127.0.0.1:4222"
    grpc_host: str = "0.0.0.0"
    grpc_port: int = 50051
    grpc_reflection: bool = False
    log_level: str = "INFO"
    log_json: bool = True
    otlp_endpoint: str = ""  # empty = no export
    shutdown_grace_seconds: float = 10.0
    health_check_seconds: float = 2.0
    outbox_batch_size: int = 200
    outbox_poll_seconds: float = 0.5
    outbox_max_backoff_seconds: float = 60.0
    consumer_max_deliver: int = 8

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Service-specific prefix wins over the shared one.
        specific = EnvSettingsSource(
            settings_cls, env_prefix=f"HONGYUN_{cls.service_name.upper()}_", case_sensitive=False
        )
        return (init_settings, specific, env_settings, file_secret_settings)
