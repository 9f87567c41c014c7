"""ORM models of party dues (docs/adr/0017), on the member schema's `Base`. Created by migration
20261203_0014; every table carries tenant_id under row-level security.

Money is integer fen. Months are the date of their first day. The declared monthly base is
personal data: `base_enc` holds FieldCipher ciphertext bound by AAD to (standard id, column);
only the computed monthly amount is kept in clear.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

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
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from member_service.models import Base


class DuesAccount(Base):
    """Where a member's dues stand: one row per member with a declared standard. `paid_through`
    is the last month settled without a gap since `start_month` (the month before it when
    nothing is settled); it is kept in the transaction of every payment and waiver, and indexed
    with the tenant so arrears are a range scan."""

    __tablename__ = "dues_accounts"

    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    # The member's organisation and whether they pay (党籍 normal or restored), kept by a trigger
    # on members, so arrears never need the members table.
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    paying: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    start_month: Mapped[date] = mapped_column(Date)
    paid_through: Mapped[date] = mapped_column(Date)
    # Months settled beyond paid_through exist (a waiver after an unpaid month): only then is the
    # exact count of months owed needed.
    settled_ahead: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    opening_paid_through: Mapped[date | None] = mapped_column(Date)  # 期初已交至
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class DuesStandard(Base):
    """A member's standard from `effective_month`, with the rules it was computed by."""

    __tablename__ = "dues_standards"
    __table_args__ = (UniqueConstraint("member_id", "effective_month"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    effective_month: Mapped[date] = mapped_column(Date)
    dues_group: Mapped[str] = mapped_column(String(16))
    base_enc: Mapped[bytes | None] = mapped_column(LargeBinary)  # None for fixed groups
    key_id: Mapped[str] = mapped_column(String(32), server_default="")
    monthly_fen: Mapped[int] = mapped_column(Integer)
    rate_per_mille: Mapped[int | None] = mapped_column(SmallInteger)
    rule_key: Mapped[str] = mapped_column(String(100))
    rule_value: Mapped[Any] = mapped_column(JSONB)
    rule_citation: Mapped[str] = mapped_column(Text)
    rule_source: Mapped[str] = mapped_column(String(16))
    rounding_value: Mapped[Any] = mapped_column(JSONB)
    rounding_citation: Mapped[str] = mapped_column(Text, server_default="")
    rounding_source: Mapped[str] = mapped_column(String(16), server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[str] = mapped_column(String(64), server_default="")


class DuesHardship(Base):
    """A hardship decision: requested (decided by the branch), then approved or rejected by the
    next level. The reason is personal data (ciphertext)."""

    __tablename__ = "dues_hardships"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    first_month: Mapped[date] = mapped_column(Date)
    last_month: Mapped[date] = mapped_column(Date)
    waived: Mapped[bool] = mapped_column(Boolean)
    reduced_fen: Mapped[int | None] = mapped_column(Integer)
    reason_enc: Mapped[bytes] = mapped_column(LargeBinary)
    key_id: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(10))  # requested | approved | rejected
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_scope_org_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # None = whole tenant
    requested_org_id: Mapped[uuid.UUID] = mapped_column(Uuid)  # the member's organisation then
    requested_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    decided_by: Mapped[str] = mapped_column(String(64), server_default="")
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DuesPayment(Base):
    """A recorded payment of consecutive months (no payment gateway: recorded by a secretary)."""

    __tablename__ = "dues_payments"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    first_month: Mapped[date] = mapped_column(Date)
    last_month: Mapped[date] = mapped_column(Date)
    months: Mapped[int] = mapped_column(SmallInteger)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    due_fen: Mapped[int] = mapped_column(BigInteger)
    paid_on: Mapped[date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(40), server_default="")
    receipt_number: Mapped[str] = mapped_column(String(60), server_default="")
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class DuesMonth(Base):
    """A settled month: by a payment or by an approved waiver. The primary key is the rule that
    a month is never paid twice, whatever the concurrency."""

    __tablename__ = "dues_months"

    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    due_fen: Mapped[int] = mapped_column(Integer)
    payment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("dues_payments.id"))
    hardship_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("dues_hardships.id"))
    settled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class DuesArrearsFlag(Base):
    """An arrears flag raised (or overtaken and skipped) for a member. At most one open row per
    member and threshold (a partial unique index): the episode ends, and the rows close, when the
    member owes fewer months than the smallest threshold."""

    __tablename__ = "dues_arrears_flags"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    flag_months: Mapped[int] = mapped_column(SmallInteger)
    months_owed: Mapped[int] = mapped_column(SmallInteger)
    paid_through: Mapped[date] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(String(10))  # sent | skipped
    event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    flagged_on: Mapped[date] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
