"""Gateway configuration: HONGYUN_GATEWAY_<NAME>, falling back to the shared HONGYUN_<NAME>
(the platform's ServiceSettings base; e.g. HONGYUN_DATABASE_URL, HONGYUN_JWT_SECRET,
HONGYUN_MEMBER_GRPC_TARGET, HONGYUN_ENV, HONGYUN_LOG_LEVEL, HONGYUN_OTLP_ENDPOINT)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Any, ClassVar

from hongyun_platform.settings import ServiceSettings
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode

DEV_ENVIRONMENTS = frozenset({"dev", "test"})
MIN_JWT_SECRET_BYTES = 32
_DEV_JWT_SECRET = "hongyun-dev-only-jwt-secret-not-for-production"


class ConfigurationError(RuntimeError):
    """The settings cannot be used for what was asked (e.g. serving without a JWT secret)."""


class GatewaySettings(ServiceSettings):
    service_name: ClassVar[str] = "gateway"

    # Inherited and used: env, database_url (runtime role), db_pool_size, log_level, log_json,
    # otlp_endpoint, shutdown_grace_seconds.
    db_pool_size: int = Field(default=5, ge=1, le=100)
    # Migrations run as the owner of the identity schema; the gateway runs as a role owning nothing.
    migration_database_url: str = ""
    db_app_role: str = "hongyun_app"
    member_grpc_target: str = "127.0.0.1:50051"
    learning_grpc_target: str = "127.0.0.1:50052"
    # Question bank imports (.xlsx template): upload limit.
    question_import_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1)
    grpc_deadline_seconds: float = Field(default=5.0, gt=0, le=120)
    # Member imports and exports (docs/adr/0010): upload limit, and the deadline of file calls.
    member_import_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1)
    member_transfer_deadline_seconds: float = Field(default=300.0, gt=0, le=3600)
    readiness_timeout_seconds: float = Field(default=2.0, gt=0, le=30)
    jwt_secret: SecretStr | None = None
    access_token_ttl: timedelta = timedelta(minutes=15)
    refresh_token_ttl: timedelta = timedelta(days=14)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    shutdown_grace_seconds: float = Field(default=20.0, ge=0)
    # argon2id cost (RFC 9106 "low memory" profile by default); lower it only in tests.
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_cost_kib: int = Field(default=65536, ge=8)
    argon2_parallelism: int = Field(default=4, ge=1)

    @field_validator("env")
    @classmethod
    def _lower_env(cls, value: str) -> str:
        return value.strip().lower()

    @field_validator("access_token_ttl", "refresh_token_ttl", mode="before")
    @classmethod
    def _seconds(cls, value: Any) -> Any:
        """Plain numbers are seconds ("900"); ISO 8601 ("PT15M") and "HH:MM:SS" work too."""
        if isinstance(value, str) and value.strip().isdigit():
            return int(value.strip())
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        """Comma-separated ("https://a, https://b") or a JSON list."""
        if isinstance(value, str):
            value = value.strip()
            if value.startswith("["):
                return json.loads(value)
            return [o.strip() for o in value.split(",") if o.strip()]
        return value

    @property
    def is_dev(self) -> bool:
        return self.env in DEV_ENVIRONMENTS

    @property
    def migrations_url(self) -> str:
        return self.migration_database_url or self.database_url

    def jwt_signing_key(self) -> str:
        """The HS256 key. Required (≥32 bytes) outside dev/test; checked when the app is built."""
        key = self.jwt_secret.get_secret_value() if self.jwt_secret else ""
        if key and (len(key.encode()) >= MIN_JWT_SECRET_BYTES or self.is_dev):
            return key
        if key:
            raise ConfigurationError(
                f"HONGYUN_GATEWAY_JWT_SECRET / HONGYUN_JWT_SECRET must be at least "
                f"{MIN_JWT_SECRET_BYTES} bytes"
            )
        if self.is_dev:
            return _DEV_JWT_SECRET
        raise ConfigurationError(
            "HONGYUN_GATEWAY_JWT_SECRET (or HONGYUN_JWT_SECRET) is required "
            f"when HONGYUN_ENV={self.env!r}; only dev and test have a built-in default"
        )
