"""ORM models of the member schema. Personal data columns hold ciphertext only."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from hongyun_platform.db.base import make_base
from hongyun_platform.messaging.tables import MessagingTables
from sqlalchemy import (
    ARRAY,
    Boolean,
    ColumnElement,
    Computed,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    Uuid,
    and_,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import UserDefinedType

SCHEMA = "member"
Base = make_base(SCHEMA)
messaging = MessagingTables(Base.metadata)
CHINA_TODAY_SQL = "((now() AT TIME ZONE 'Asia/Shanghai'))::date"


class Ltree(UserDefinedType):
    """PostgreSQL ltree: materialised path of UUID-hex labels (docs/adr/0002)."""

    cache_ok = True

    def get_col_spec(self, **_kw) -> str:
        return "ltree"


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tenants.id"))
    name: Mapped[str] = mapped_column(String(100))
    code: Mapped[str] = mapped_column(String(40), unique=True)
    path: Mapped[str] = mapped_column(Ltree)
    status: Mapped[str] = mapped_column(String(16), server_default="active")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organizations.id"))
    name: Mapped[str] = mapped_column(String(100))
    type: Mapped[int] = mapped_column(SmallInteger)
    path: Mapped[str] = mapped_column(Ltree)
    depth: Mapped[int] = mapped_column(SmallInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[str] = mapped_column(String(64), server_default="")
    # Lifecycle and history (docs/adr/0007): dissolved and merged organisations keep their row.
    status: Mapped[str] = mapped_column(String(16), server_default="active")
    established_on: Mapped[date] = mapped_column(Date, server_default=text(CHINA_TODAY_SQL))
    dissolved_on: Mapped[date | None] = mapped_column(Date)
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # The path as text in byte order, kept by PostgreSQL: subtree queries are a btree range on
    # it, usable under row-level security, where ltree's <@ is not (not leakproof).
    path_key: Mapped[str] = mapped_column(
        Text(collation="C"), Computed("(path)::text", persisted=True)
    )

    @classmethod
    def in_subtree(cls, root_path: str) -> ColumnElement[bool]:
        """The organisation at root_path and all below it. Labels are 32 hex digits joined by
        ".", and "." < "/" < "0": the subtree is exactly the keys in [root_path, root_path + "/")."""
        return and_(cls.path_key >= root_path, cls.path_key < root_path + "/")


class Member(Base):
    __tablename__ = "members"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    name: Mapped[str] = mapped_column(String(50))
    gender: Mapped[int] = mapped_column(SmallInteger)
    ethnicity: Mapped[str] = mapped_column(String(20), server_default="")
    birth_date: Mapped[date] = mapped_column(Date)
    education: Mapped[str] = mapped_column(String(30), server_default="")
    category: Mapped[int] = mapped_column(SmallInteger)
    joined_on: Mapped[date | None] = mapped_column(Date)
    converted_on: Mapped[date | None] = mapped_column(Date)
    job_post: Mapped[str] = mapped_column(String(100), server_default="")
    party_status: Mapped[int] = mapped_column(SmallInteger)
    lost_contact: Mapped[bool] = mapped_column(Boolean, server_default="false")
    lost_contact_since: Mapped[date | None] = mapped_column(Date)
    floating: Mapped[bool] = mapped_column(Boolean, server_default="false")
    floating_destination: Mapped[str] = mapped_column(String(200), server_default="")
    # Personal data: AES-GCM/SM4-GCM ciphertext bound to (member id, column) by AAD.
    id_number_enc: Mapped[bytes] = mapped_column(LargeBinary)
    id_number_index: Mapped[str] = mapped_column(String(64))  # keyed HMAC, for duplicates
    mobile_phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    landline_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    home_address_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    key_id: Mapped[str] = mapped_column(String(32))  # key of the newest ciphertexts (rotation)
    # Search keys (docs/adr/0008, member_service.search_keys); NULL = not indexed yet.
    name_pinyin: Mapped[str | None] = mapped_column(Text)  # "zengxiaoming cengxiaoming"
    name_initials: Mapped[str | None] = mapped_column(Text)  # "zxm cxm"
    id_number_suffix_index: Mapped[str | None] = mapped_column(String(64))  # HMAC of last 4
    mobile_phone_suffix_index: Mapped[str | None] = mapped_column(String(64))  # HMAC of last 4
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[str] = mapped_column(String(64), server_default="")
    updated_by: Mapped[str] = mapped_column(String(64), server_default="")
    # Left through a completed relationship transfer (docs/adr/0016): kept as archive, no longer
    # listed, searched or counted here.
    departed_on: Mapped[date | None] = mapped_column(Date)
    departed_reason: Mapped[str] = mapped_column(String(30), server_default="")
    departed_letter_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("letters.id", use_alter=True)  # letters reference members too: a cycle
    )


class AuditEntry(Base):
    """Append-only: the runtime role may insert and read, never update or delete."""

    __tablename__ = "audit_log"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    actor: Mapped[str] = mapped_column(String(64))
    actor_roles: Mapped[list[str]] = mapped_column(ARRAY(Text))
    action: Mapped[str] = mapped_column(String(40))
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    fields: Mapped[list[str]] = mapped_column(ARRAY(Text))
    reason: Mapped[str] = mapped_column(Text, server_default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


# Models kept in their own modules register on the same metadata (migrations compare it all).
from member_service import (  # noqa: E402
    archive_models,  # noqa: F401  (docs/adr/0009)
    count_models,  # noqa: F401  (docs/adr/0013)
    development_models,  # noqa: F401  (docs/adr/0015)
    dues_models,  # noqa: F401  (docs/adr/0017)
    letter_models,  # noqa: F401  (docs/adr/0016)
    org_models,  # noqa: F401
    search_models,  # noqa: F401  (docs/adr/0008)
    tenant_export_models,  # noqa: F401  (docs/adr/0012)
    transfer_models,  # noqa: F401  (docs/adr/0010)
)
