"""Pick the object-store backend from settings (env-driven in production)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from .base import ObjectStore
from .filesystem import FilesystemObjectStore
from .s3 import S3ObjectStore


class StorageSettings(BaseSettings):
    """Read from HONGYUN_STORAGE_* and HONGYUN_S3_* environment variables."""

    model_config = SettingsConfigDict(env_prefix="HONGYUN_", extra="ignore")

    storage_kind: Literal["filesystem", "s3"] = "filesystem"
    # filesystem backend
    storage_root: Path = Path("var/storage")
    storage_public_url: str = "http://127.0.0.1:8000/files"  # where make_fs_download_app is mounted
    storage_signing_key: SecretStr | None = None  # None: a key is generated inside storage_root
    storage_max_upload_bytes: int = 100 * 1024 * 1024
    # s3 backend
    s3_endpoint: str = "127.0.0.1:9000"
    s3_public_endpoint: str | None = None  # what browsers reach, if not s3_endpoint
    s3_access_key: str = ""
    s3_secret_key: SecretStr = SecretStr("")
    s3_bucket: str = "hongyun"
    s3_secure: bool = True
    s3_region: str = "us-east-1"

    @field_validator("storage_kind", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _credentials(self) -> StorageSettings:
        if self.storage_kind == "s3" and not (
            self.s3_access_key and self.s3_secret_key.get_secret_value()
        ):
            raise ValueError(
                "storage_kind 's3' needs HONGYUN_S3_ACCESS_KEY and HONGYUN_S3_SECRET_KEY"
            )
        return self


class _ExplicitStorageSettings(StorageSettings):
    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        **_: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def storage_from_settings(
    settings: StorageSettings | Mapping[str, Any] | None = None,
) -> ObjectStore:
    """Build the configured backend. A mapping uses StorageSettings field names and, unlike
    `None` (= read the environment), ignores the environment so tests see only what they pass."""
    if settings is None:
        settings = StorageSettings()
    elif isinstance(settings, Mapping):
        settings = _ExplicitStorageSettings(**settings)
    if settings.storage_kind == "s3":
        return S3ObjectStore(
            settings.s3_endpoint,
            settings.s3_access_key,
            settings.s3_secret_key.get_secret_value(),
            settings.s3_bucket,
            secure=settings.s3_secure,
            region=settings.s3_region,
            public_endpoint=settings.s3_public_endpoint,
        )
    key = settings.storage_signing_key
    return FilesystemObjectStore(
        settings.storage_root,
        base_url=settings.storage_public_url,
        signing_key=key.get_secret_value() if key else None,
    )
