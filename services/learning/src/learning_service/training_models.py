"""ORM of training classes (培训班): the default completion rule per kind (seeded data with its
citation), classes with their own copy of the rule, enrolments, offline and online sessions,
attendance records (append-only: a correction is a new record) and completions (one per
enrolment, the source of exactly one TrainingHoursRecorded event).

Every tenant table carries tenant_id under row-level security (migration 20261203_0004);
`training_kind_defaults` holds national/platform defaults only, no tenant data.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time

from sqlalchemy import (
    ARRAY,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    Time,
    UniqueConstraint,
    Uuid,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from learning_service.models import Base


class TrainingKindDefault(Base):
    """The default completion rule of a kind of class (seeded by the migration), copied onto a
    class when it is created without its own rule."""

    __tablename__ = "training_kind_defaults"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(SmallInteger)
    label: Mapped[str] = mapped_column(String(100))
    min_attendance_percent: Mapped[int | None] = mapped_column(SmallInteger)
    min_class_hours_hundredths: Mapped[int | None] = mapped_column(Integer)
    min_days: Mapped[int | None] = mapped_column(Integer)
    duration_mode: Mapped[str] = mapped_column(String(8))
    require_online_courses: Mapped[bool] = mapped_column(Boolean)
    citation: Mapped[str] = mapped_column(Text, server_default="")
    note: Mapped[str] = mapped_column(Text, server_default="")


class TrainingClass(Base):
    __tablename__ = "training_classes"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), server_default="planned")
    organizer_org_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    # The organisation's path (root first) when the class was created; the directory projection's
    # current path wins when it knows the organisation (moves).
    org_path: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid))
    organizer_name: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    # The completion rule, copied from the kind's default or given by the organiser.
    min_attendance_percent: Mapped[int | None] = mapped_column(SmallInteger)
    min_class_hours_hundredths: Mapped[int | None] = mapped_column(Integer)
    min_days: Mapped[int | None] = mapped_column(Integer)
    duration_mode: Mapped[str] = mapped_column(String(8))
    require_online_courses: Mapped[bool] = mapped_column(Boolean)
    rule_citation: Mapped[str] = mapped_column(Text, server_default="")
    rule_note: Mapped[str] = mapped_column(Text, server_default="")
    auto_close_after_days: Mapped[int] = mapped_column(Integer, server_default="0")
    created_by: Mapped[str] = mapped_column(String(64), server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    closed_by: Mapped[str] = mapped_column(String(64), server_default="")
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class TrainingEnrolment(Base):
    """A person in a class: a member record and/or a development case of the member service (ids
    only: learning holds no personal data beyond the name to print), and optionally the account
    whose online progress counts."""

    __tablename__ = "training_enrolments"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    class_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("training_classes.id", ondelete="CASCADE"), index=True
    )
    member_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    development_case_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    learner_account_id: Mapped[str | None] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(100))
    enrolled_by: Mapped[str] = mapped_column(String(64), server_default="")
    enrolled_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class TrainingSession(Base):
    __tablename__ = "training_sessions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    class_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("training_classes.id", ondelete="CASCADE"), index=True
    )
    mode: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(200), server_default="")
    held_on: Mapped[date | None] = mapped_column(Date)
    starts_at: Mapped[time | None] = mapped_column(Time)
    ends_at: Mapped[time | None] = mapped_column(Time)
    place: Mapped[str] = mapped_column(String(200), server_default="")
    class_hours_hundredths: Mapped[int] = mapped_column(Integer)
    course_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("courses.id", ondelete="RESTRICT"), index=True
    )
    created_by: Mapped[str] = mapped_column(String(64), server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class TrainingAttendance(Base):
    """One attendance record of an offline session (append-only; the latest per session and
    enrolment is the current one, `supersedes_id` links a correction to what it corrects)."""

    __tablename__ = "training_attendance"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    class_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("training_classes.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("training_sessions.id", ondelete="CASCADE"), index=True
    )
    enrolment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("training_enrolments.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(8))
    note: Mapped[str] = mapped_column(String(200), server_default="")
    supersedes_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class TrainingCompletion(Base):
    """A completed enrolment: unique per enrolment, so closing again or a concurrent close never
    records (nor announces) it twice."""

    __tablename__ = "training_completions"
    __table_args__ = (UniqueConstraint("tenant_id", "certificate_number"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    class_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("training_classes.id", ondelete="CASCADE"), index=True
    )
    enrolment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("training_enrolments.id", ondelete="CASCADE"), unique=True
    )
    class_hours_hundredths: Mapped[int] = mapped_column(Integer)
    days: Mapped[int] = mapped_column(Integer)
    completed_on: Mapped[date] = mapped_column(Date)
    certificate_number: Mapped[str] = mapped_column(String(32))
    verification_code: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # the TrainingHoursRecorded event
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
