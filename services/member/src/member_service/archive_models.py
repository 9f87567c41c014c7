"""ORM models of the electronic member archive (docs/adr/0009), on the member schema's `Base`.

Every table carries tenant_id (row-level security in migration 20261128_0004). Columns named
`*_enc` hold FieldCipher ciphertext bound by AAD to (table, row id, column).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    Uuid,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from member_service.models import Base


class _Stamped:
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[str] = mapped_column(String(64), server_default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_by: Mapped[str] = mapped_column(String(64), server_default="")


class MemberExtension(_Stamped, Base):
    """扩展信息, one row per member (kept off `members` so that row stays narrow)."""

    __tablename__ = "member_profiles_ext"

    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    native_place: Mapped[str] = mapped_column(String(100), server_default="")
    degree: Mapped[str] = mapped_column(String(30), server_default="")
    school: Mapped[str] = mapped_column(String(100), server_default="")
    major: Mapped[str] = mapped_column(String(100), server_default="")
    work_unit: Mapped[str] = mapped_column(String(200), server_default="")
    position: Mapped[str] = mapped_column(String(100), server_default="")
    professional_title: Mapped[str] = mapped_column(String(100), server_default="")
    party_post: Mapped[str] = mapped_column(String(100), server_default="")
    photo_attachment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("member_attachments.id")
    )
    version: Mapped[int] = mapped_column(Integer, server_default="1")


class FamilyMember(_Stamped, Base):
    __tablename__ = "member_family_members"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    name: Mapped[str] = mapped_column(String(50))
    relation: Mapped[str] = mapped_column(String(20))
    work_unit: Mapped[str] = mapped_column(String(200), server_default="")
    political_status: Mapped[str] = mapped_column(String(30), server_default="")
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    key_id: Mapped[str] = mapped_column(String(32))


class Award(_Stamped, Base):
    """奖惩. The content is ciphertext for every row; punishments are shown redacted."""

    __tablename__ = "member_awards"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    kind: Mapped[int] = mapped_column(SmallInteger)
    decided_on: Mapped[date] = mapped_column(Date)
    title_enc: Mapped[bytes] = mapped_column(LargeBinary)
    issuing_body_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    document_number_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    note_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    key_id: Mapped[str] = mapped_column(String(32))


class Travel(_Stamped, Base):
    """出国出境."""

    __tablename__ = "member_travels"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    destination: Mapped[str] = mapped_column(String(100))
    departed_on: Mapped[date] = mapped_column(Date)
    returned_on: Mapped[date | None] = mapped_column(Date)
    purpose: Mapped[str] = mapped_column(String(200), server_default="")
    approval: Mapped[str] = mapped_column(String(200), server_default="")


class Hardship(_Stamped, Base):
    """困难情况. Description and assistance are ciphertext (they may describe health)."""

    __tablename__ = "member_hardships"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    kind: Mapped[int] = mapped_column(SmallInteger)
    since: Mapped[date] = mapped_column(Date)
    resolved_on: Mapped[date | None] = mapped_column(Date)
    description_enc: Mapped[bytes] = mapped_column(LargeBinary)
    assistance_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    key_id: Mapped[str] = mapped_column(String(32))


class MemberTag(Base):
    """Free tags per tenant: the tenant's vocabulary is the set of tags in use."""

    __tablename__ = "member_tags"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    tag: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[str] = mapped_column(String(64), server_default="")


class StatusChange(Base):
    """党籍 status history; append-only for the runtime role. members.party_status is the
    latest entry effective today or earlier."""

    __tablename__ = "member_status_changes"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    status: Mapped[int] = mapped_column(SmallInteger)
    effective_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text, server_default="")
    document: Mapped[str] = mapped_column(String(200), server_default="")
    recorded_by: Mapped[str] = mapped_column(String(64), server_default="")
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class FlagChange(Base):
    """失联 / 流动 set and cleared, append-only; members.lost_contact*/floating* follow it."""

    __tablename__ = "member_flag_changes"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    flag: Mapped[int] = mapped_column(SmallInteger)
    active: Mapped[bool] = mapped_column(Boolean)
    effective_on: Mapped[date] = mapped_column(Date)
    destination: Mapped[str] = mapped_column(String(200), server_default="")
    reason: Mapped[str] = mapped_column(Text, server_default="")
    recorded_by: Mapped[str] = mapped_column(String(64), server_default="")
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class Attachment(Base):
    """A file in object storage under `tenant/member/attachment-id`; bytes never pass here."""

    __tablename__ = "member_attachments"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    kind: Mapped[int] = mapped_column(SmallInteger)
    file_name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), server_default="")
    object_key: Mapped[str] = mapped_column(String(300))
    status: Mapped[int] = mapped_column(SmallInteger)
    reject_reason: Mapped[str] = mapped_column(String(40), server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[str] = mapped_column(String(64), server_default="")
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class FieldChangeRecord(Base):
    """Field-level history of a member (append-only). Personal values are ciphertext in
    old_enc/new_enc (AAD: member_field_changes:<id>:old|new); others are plain text."""

    __tablename__ = "member_field_changes"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    changed_by: Mapped[str] = mapped_column(String(64), server_default="")
    source: Mapped[str] = mapped_column(String(30))
    record_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    field: Mapped[str] = mapped_column(String(60))
    personal: Mapped[bool] = mapped_column(Boolean, server_default="false")
    old_value: Mapped[str] = mapped_column(Text, server_default="")
    new_value: Mapped[str] = mapped_column(Text, server_default="")
    old_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    new_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    key_id: Mapped[str] = mapped_column(String(32), server_default="")
