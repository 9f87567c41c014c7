"""ORM model of tenant data exports (docs/adr/0012), on the member schema's `Base`.

The row lives in the exported tenant (row-level security in migration 20261203_0008), so that
tenant's admins can see that, when and by whom their data left the platform. It holds no
personal data: the file itself is in object storage.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, BigInteger, Boolean, DateTime, ForeignKey, String, Text, Uuid, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from member_service.models import Base


class TenantExport(Base):
    __tablename__ = "tenant_exports"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))  # the exported tenant
    include_descendants: Mapped[bool] = mapped_column(Boolean)
    # The tenants whose data the file holds, fixed when the export was started.
    tenant_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid))
    # Who started it, as they were then (the watermark and the audit name them).
    created_by: Mapped[str] = mapped_column(String(64))
    created_by_roles: Mapped[list[str]] = mapped_column(ARRAY(Text))
    created_by_tenant_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # None: platform admin
    revealed: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text, server_default="")
    watermark: Mapped[str] = mapped_column(Text)
    # queued → running → succeeded → expired, or failed
    status: Mapped[str] = mapped_column(String(16), server_default="queued")
    total_rows: Mapped[int] = mapped_column(BigInteger, server_default="0")
    rows_done: Mapped[int] = mapped_column(BigInteger, server_default="0")
    file_name: Mapped[str] = mapped_column(String(255), server_default="")
    object_key: Mapped[str] = mapped_column(String(300), server_default="")
    size: Mapped[int] = mapped_column(BigInteger, server_default="0")
    sha256: Mapped[str] = mapped_column(String(64), server_default="")
    # [{path, rows, size, sha256}] of the files inside the archive, as in its manifest.
    files: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    error_code: Mapped[str] = mapped_column(String(40), server_default="")
    error_message: Mapped[str] = mapped_column(Text, server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
