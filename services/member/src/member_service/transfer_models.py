"""ORM models of member imports and exports (docs/adr/0010), on the member schema's `Base`.

Both tables carry tenant_id (row-level security in migration 20261128_0005). An import job's
rejected rows echo the uploaded cells, which hold personal data: they are stored only as one
FieldCipher ciphertext (`errors_enc`, AAD bound to the job). `member_exports` is append-only for
the runtime role, like the audit log.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from member_service.models import Base


class ImportJob(Base):
    __tablename__ = "member_import_jobs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    # Who started it, as they were then: the job runs later with exactly these rights.
    created_by: Mapped[str] = mapped_column(String(64))
    created_by_roles: Mapped[list[str]] = mapped_column(ARRAY(Text))
    scope_org_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    file_name: Mapped[str] = mapped_column(String(255))
    file_format: Mapped[str] = mapped_column(String(8))  # xlsx | csv
    file_size: Mapped[int] = mapped_column(BigInteger)
    file_sha256: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(20))  # all_or_nothing | valid_rows_only
    default_org_path: Mapped[str] = mapped_column(Text, server_default="")
    # queued → running → succeeded | rejected | failed
    status: Mapped[str] = mapped_column(String(16), server_default="queued")
    total_rows: Mapped[int] = mapped_column(Integer, server_default="0")
    rows_done: Mapped[int] = mapped_column(Integer, server_default="0")
    accepted: Mapped[int] = mapped_column(Integer, server_default="0")
    rejected: Mapped[int] = mapped_column(Integer, server_default="0")
    skipped: Mapped[int] = mapped_column(Integer, server_default="0")
    reasons: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")  # code → count
    error_code: Mapped[str] = mapped_column(String(40), server_default="")
    error_message: Mapped[str] = mapped_column(Text, server_default="")
    errors_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class MemberExport(Base):
    """One export of personal data: who, what (filter), how many rows, masked or revealed."""

    __tablename__ = "member_exports"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    actor: Mapped[str] = mapped_column(String(64))
    actor_roles: Mapped[list[str]] = mapped_column(ARRAY(Text))
    kind: Mapped[str] = mapped_column(String(16))  # member_list | archive
    file_format: Mapped[str] = mapped_column(String(8))  # xlsx | csv | pdf
    filters: Mapped[dict[str, Any]] = mapped_column(JSONB)
    row_count: Mapped[int] = mapped_column(Integer)
    revealed: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text, server_default="")
    watermark: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
