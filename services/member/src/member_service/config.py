"""Member service settings: HONGYUN_MEMBER_<NAME>, falling back to HONGYUN_<NAME>."""

from __future__ import annotations

from typing import ClassVar

from hongyun_platform.settings import ServiceSettings


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
    stream_duplicate_window_seconds: float = 600
    stream_replicas: int = 1
