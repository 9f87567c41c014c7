"""The learning schema's declarative base, the messaging tables and the directory projection.

Each area keeps its ORM classes in its own module (course_models, progress_models, exam_models,
training_models); all of them share this Base so Alembic sees one metadata.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from hongyun_platform.db.base import make_base
from hongyun_platform.messaging.tables import MessagingTables
from sqlalchemy import ARRAY, DateTime, String, Uuid, func
from sqlalchemy.orm import Mapped, mapped_column

SCHEMA = "learning"
Base = make_base(SCHEMA)
messaging = MessagingTables(Base.metadata)


class TenantAncestry(Base):
    """Projection of the member service's tenant tree (TenantProvisioned events): the ancestors of
    each nested tenant, root first. Read by row-level security to let a descendant tenant read
    courses its ancestors share down. Holds ids only, so it is not tenant-isolated."""

    __tablename__ = "tenant_ancestry"

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    ancestors: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class OrgPath(Base):
    """Projection of the member service's organisation tree (OrganizationCreated/Moved/Merged/
    Dissolved): each organisation's path of ids, root first, for audiences by org subtree."""

    __tablename__ = "org_paths"

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    org_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    path: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid))
    status: Mapped[str] = mapped_column(String(16), server_default="active")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
