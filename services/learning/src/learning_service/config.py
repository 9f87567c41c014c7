"""Learning service settings: HONGYUN_LEARNING_<NAME>, falling back to HONGYUN_<NAME>."""

from __future__ import annotations

from typing import ClassVar

from hongyun_platform.settings import ServiceSettings
from pydantic import Field


class LearningSettings(ServiceSettings):
    service_name: ClassVar[str] = "learning"

    grpc_port: int = 50052
    # Migrations run as the schema owner; the service runs as a role that owns nothing.
    migration_database_url: str = ""
    db_app_role: str = "hongyun_app"
    # Study materials (docs/adr/0018): upload limits and how long presigned URLs live.
    material_max_bytes: int = Field(default=2 * 1024 * 1024 * 1024, ge=1)
    material_part_bytes: int = Field(default=16 * 1024 * 1024, ge=5 * 1024 * 1024)
    material_upload_url_seconds: int = Field(default=3600, ge=1, le=7 * 24 * 3600)
    material_download_url_seconds: int = Field(default=900, ge=1, le=7 * 24 * 3600)
    # Multipart uploads untouched this long are removed (filesystem store; S3 uses a lifecycle rule).
    material_abandoned_upload_hours: float = Field(default=48.0, gt=0)
    # Question imports (.xlsx, carried in the gRPC call): size and row limits.
    question_import_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1)
    question_import_max_rows: int = Field(default=2000, ge=1)
    # The member service's events (org tree and tenant tree for audiences and sharing).
    directory_projection_enabled: bool = True
    directory_retry_seconds: float = Field(default=5.0, gt=0)
    # Background jobs (exam time limits, class completion) look for work this often.
    jobs_enabled: bool = True
    job_interval_seconds: float = Field(default=5.0, gt=0)
    stream_duplicate_window_seconds: float = 600
    stream_replicas: int = 1
