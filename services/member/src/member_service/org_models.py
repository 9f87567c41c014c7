"""ORM models of rules, organisation history and committee terms (docs/adr/0007), on the member
schema's `Base`. Created by migration 20261128_0002; every table has row-level security."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from member_service.models import Base, Ltree


class Rule(Base):
    """A rule's value from a date: tenant_id NULL is the national default, otherwise the tenant's
    override. Tenants read national rows, their own and their ancestors'; they write their own."""

    __tablename__ = "rules"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    key: Mapped[str] = mapped_column(String(100))
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tenants.id"))
    value: Mapped[Any] = mapped_column(JSONB)
    citation: Mapped[str] = mapped_column(Text)
    effective_from: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[str] = mapped_column(String(64), server_default="")


class OrganizationHistory(Base):
    """One version of an organisation, valid from valid_from (inclusive) to valid_to (exclusive,
    NULL = current). Organisations that never changed have no rows (domain/org_history.py)."""

    __tablename__ = "organization_history"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(100))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    path: Mapped[str] = mapped_column(Ltree)
    type: Mapped[int] = mapped_column(SmallInteger)
    status: Mapped[str] = mapped_column(String(16))
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    change: Mapped[str] = mapped_column(String(20))
    changed_by: Mapped[str] = mapped_column(String(64), server_default="")
    reason: Mapped[str] = mapped_column(Text, server_default="")
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class CommitteeTerm(Base):
    """A committee's term (届). term_years is the rule's value when the term was recorded."""

    __tablename__ = "committee_terms"
    __table_args__ = (UniqueConstraint("organization_id", "started_on"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    unit_kind: Mapped[str] = mapped_column(String(20))
    started_on: Mapped[date] = mapped_column(Date)
    term_years: Mapped[int] = mapped_column(SmallInteger)
    ends_on: Mapped[date] = mapped_column(Date)
    committee_members: Mapped[int | None] = mapped_column(SmallInteger)
    rule_citation: Mapped[str] = mapped_column(Text, server_default="")
    note: Mapped[str] = mapped_column(Text, server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[str] = mapped_column(String(64), server_default="")


class CommitteeTermReminder(Base):
    """A reminder sent (or skipped, when a nearer one overtook it) for a term. The unique key
    makes each reminder happen once, across reruns, restarts and replicas."""

    __tablename__ = "committee_term_reminders"
    __table_args__ = (UniqueConstraint("term_id", "months_before"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    term_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("committee_terms.id"))
    months_before: Mapped[int] = mapped_column(SmallInteger)
    remind_on: Mapped[date] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(String(10))  # sent | skipped
    event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
