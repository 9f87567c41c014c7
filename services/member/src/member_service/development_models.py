"""ORM models of the development pipeline (发展党员, docs/adr/0015), on the member schema's `Base`.

Every table carries tenant_id (row-level security in migration 20261203_0012). The case keeps a
few denormalised columns so that lists and the "what is due" view need no step rows: the latest
step and its date, the application date, and the deadline it waits for as (due_step, due_anchor)
— the deadline itself is computed from the anchor and the *current* rule values, so a tenant's
override applies at once (development_due.py).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
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
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from member_service.models import Base


class DevelopmentCase(Base):
    __tablename__ = "development_cases"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    name: Mapped[str] = mapped_column(String(50))
    gender: Mapped[int] = mapped_column(SmallInteger)
    birth_date: Mapped[date] = mapped_column(Date)
    ethnicity: Mapped[str] = mapped_column(String(20), server_default="")
    education: Mapped[str] = mapped_column(String(30), server_default="")
    # The ID number: ciphertext bound to (case id, column) by AAD, and the members' blind index
    # (same context), so a person already a member or with an open case is found.
    id_number_enc: Mapped[bytes] = mapped_column(LargeBinary)
    id_number_index: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), server_default="open")
    current_step: Mapped[int] = mapped_column(SmallInteger)
    current_step_on: Mapped[date] = mapped_column(Date)
    application_on: Mapped[date] = mapped_column(Date)
    due_step: Mapped[int] = mapped_column(SmallInteger, server_default="0")  # DueStep
    due_anchor: Mapped[date | None] = mapped_column(Date)
    extension_months: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    member_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("members.id"))
    closed_on: Mapped[date | None] = mapped_column(Date)
    closed_reason: Mapped[str] = mapped_column(Text, server_default="")
    rejected_at_step: Mapped[int | None] = mapped_column(SmallInteger)
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[str] = mapped_column(String(64), server_default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_by: Mapped[str] = mapped_column(String(64), server_default="")


class DevelopmentStepRow(Base):
    """A recorded step. Never updated: a correction is a new case or a note on the next step."""

    __tablename__ = "development_steps"
    __table_args__ = (UniqueConstraint("case_id", "number", "occurrence"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("development_cases.id"))
    number: Mapped[int] = mapped_column(SmallInteger)
    occurrence: Mapped[int] = mapped_column(SmallInteger, server_default="1")
    occurred_on: Mapped[date] = mapped_column(Date)
    acting: Mapped[str] = mapped_column(String(100), server_default="")
    votes: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    member_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), server_default="{}")
    decision: Mapped[str] = mapped_column(String(10), server_default="")
    publicity_from: Mapped[date | None] = mapped_column(Date)
    publicity_to: Mapped[date | None] = mapped_column(Date)
    training_days: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    training_hours_centi: Mapped[int] = mapped_column(Integer, server_default="0")
    note: Mapped[str] = mapped_column(Text, server_default="")
    late: Mapped[bool] = mapped_column(Boolean, server_default="false")
    late_reason: Mapped[str] = mapped_column(Text, server_default="")
    recorded_by: Mapped[str] = mapped_column(String(64), server_default="")
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class DevelopmentTrainingRow(Base):
    """Training outside step 11's record: by hand, or a TrainingHoursRecorded event (counted
    once: source_event_id is unique)."""

    __tablename__ = "development_training"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("development_cases.id"))
    completed_on: Mapped[date] = mapped_column(Date)
    days: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    hours_centi: Mapped[int] = mapped_column(Integer, server_default="0")
    title: Mapped[str] = mapped_column(String(200), server_default="")
    source: Mapped[str] = mapped_column(String(16))  # manual | learning
    source_event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, unique=True)
    source_record_id: Mapped[str] = mapped_column(String(64), server_default="")
    recorded_by: Mapped[str] = mapped_column(String(64), server_default="")
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class DevelopmentExtensionRow(Base):
    __tablename__ = "development_extensions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("development_cases.id"))
    decided_on: Mapped[date] = mapped_column(Date)
    months: Mapped[int] = mapped_column(SmallInteger)
    reason: Mapped[str] = mapped_column(Text, server_default="")
    recorded_by: Mapped[str] = mapped_column(String(64), server_default="")
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class DevelopmentMaterial(Base):
    """A scan of a step's material in the object store (the bytes are not in the database)."""

    __tablename__ = "development_materials"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("development_cases.id"))
    step_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("development_steps.id"))
    object_key: Mapped[str] = mapped_column(String(300), unique=True)
    file_name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    uploaded_by: Mapped[str] = mapped_column(String(64), server_default="")
    uploaded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class DevelopmentReminder(Base):
    """One row per reminder sent (or overtaken and skipped): the key makes each happen once."""

    __tablename__ = "development_reminders"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("development_cases.id"), primary_key=True)
    step: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    due_on: Mapped[date] = mapped_column(Date, primary_key=True)
    days_before: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    remind_on: Mapped[date] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(String(8))  # sent | skipped
    event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
