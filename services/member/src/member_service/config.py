"""Member service settings: HONGYUN_MEMBER_<NAME>, falling back to HONGYUN_<NAME>."""

from __future__ import annotations

import os
from typing import ClassVar

from hongyun_platform.settings import ServiceSettings
from pydantic import Field


class MemberSettings(ServiceSettings):
    service_name: ClassVar[str] = "member"

    grpc_port: int = 50051
    # Migrations run as the schema owner; the service runs as a role that owns nothing.
    migration_database_url: str = ""
    db_app_role: str = "hongyun_app"
    # Field encryption keyring "k1:<base64>,k2:<base64>", the active key id, and the algorithm.
    field_keys: str = ""
    field_key_active: str = ""
    field_algorithm: str = "AES-GCM"
    blind_index_key: str = ""
    # Member attachments (docs/adr/0009); the object store itself is HONGYUN_STORAGE_*.
    attachment_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1)
    attachment_upload_url_seconds: int = Field(default=900, ge=1, le=7 * 24 * 3600)
    attachment_download_url_seconds: int = Field(default=300, ge=1, le=7 * 24 * 3600)
    # Member imports (docs/adr/0010): upload size and row limits, stale-job detection.
    import_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1)
    import_max_rows: int = Field(default=200_000, ge=1)
    import_stale_seconds: float = Field(default=120, gt=0)
    import_concurrency: int = Field(default=2, ge=1)
    # Processes validating and encrypting import rows (0 = a thread of the service process).
    import_workers: int = Field(
        default_factory=lambda: min(4, max(0, (os.cpu_count() or 1) - 1)), ge=0
    )
    # 换届 reminders (docs/adr/0007): how often the job looks for terms to remind of.
    term_reminders_enabled: bool = True
    term_reminder_interval_seconds: float = Field(default=3600.0, gt=0)
    # Development deadlines, letter expiry and dues arrears jobs (docs/adr/0014).
    lifecycle_jobs_enabled: bool = True
    lifecycle_job_interval_seconds: float = Field(default=3600.0, gt=0)
    stream_duplicate_window_seconds: float = 600
    stream_replicas: int = 1
