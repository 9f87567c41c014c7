"""ORM of learning progress (migration 20261203_0002): one row per learner per item (the resume
point and the covered span of the current attempt), checkpoint answers, anti-gaming flags, course
completions, the optional points ledger, and the per-tenant settings over stored defaults.

Every tenant table carries tenant_id (the learner's tenant) under row-level security; the
learner's organisation and its path are copied onto the rows so a secretary's subtree is a filter
on the row itself. `progress_rule_defaults` holds platform defaults only (one row, no tenant
data). Items and courses may belong to an ancestor tenant (shared down), so there is no foreign
key to them.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    ARRAY,
    Boolean,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from learning_service.models import Base

FLAG_KINDS = ("too_fast", "parallel_playback")
POINT_SOURCES = ("item", "checkpoint")


class ItemProgress(Base):
    """Where one learner is in one item. Written by every report in one upsert; `revision`
    guards against two concurrent reports of the same learner and item (the loser re-reads)."""

    __tablename__ = "item_progress"
    __table_args__ = (Index("ix_item_progress_course", "tenant_id", "course_id"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    learner_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    item_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    course_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    kind: Mapped[str] = mapped_column(String(16))
    org_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    org_path: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), server_default="{}")
    course_version: Mapped[int] = mapped_column(Integer, server_default="0")
    material_version: Mapped[int] = mapped_column(Integer, server_default="0")
    attempt: Mapped[int] = mapped_column(Integer, server_default="1")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    position: Mapped[int] = mapped_column(Integer, server_default="0")
    furthest: Mapped[int] = mapped_column(Integer, server_default="0")
    covered: Mapped[list[int]] = mapped_column(ARRAY(Integer), server_default="{}")
    session_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    last_report_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_advanced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    prev_session_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    prev_session_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    prev_session_position: Mapped[int] = mapped_column(Integer, server_default="0")
    allowance: Mapped[float] = mapped_column(Float, server_default="0")
    milestone: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    attempt_flags: Mapped[list[str]] = mapped_column(ARRAY(String(32)), server_default="{}")
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completion_flagged: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    revision: Mapped[int] = mapped_column(Integer, server_default="1")


class CheckpointAnswer(Base):
    """A learner's answers to one checkpoint: every attempt counted, the last selection kept;
    `correct` once any attempt was right (retries allowed, wrong answers are not punished)."""

    __tablename__ = "checkpoint_answers"
    __table_args__ = (Index("ix_checkpoint_answers_item", "tenant_id", "learner_id", "item_id"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    learner_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    checkpoint_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    item_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    correct: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    first_try_correct: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    last_selected: Mapped[list[int]] = mapped_column(ARRAY(SmallInteger), server_default="{}")
    first_answered_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    last_answered_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    correct_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ProgressFlag(Base):
    """An anti-gaming observation: what happened, when, in which attempt. Visible to the learner
    and to secretaries of their subtree; it never blocks learning."""

    __tablename__ = "progress_flags"
    __table_args__ = (
        Index("ix_progress_flags_learner", "tenant_id", "learner_id", "created_at"),
        Index("ix_progress_flags_course", "tenant_id", "course_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    learner_id: Mapped[str] = mapped_column(String(64))
    org_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    org_path: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), server_default="{}")
    course_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    item_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, server_default="")
    session_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    attempt: Mapped[int] = mapped_column(Integer, server_default="1")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CourseCompletionRecord(Base):
    """A learner completed a course: every required item completed (every item when none is
    required). Class hours are credited only for an un-flagged completion; a flagged one becomes
    un-flagged when its flagged items are redone cleanly."""

    __tablename__ = "course_completions"

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    learner_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    course_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    org_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    org_path: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), server_default="{}")
    course_version: Mapped[int] = mapped_column(Integer, server_default="0")
    completed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    flagged: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    class_hours_hundredths: Mapped[int] = mapped_column(Integer, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PointsEntry(Base):
    """Points earned (only when the tenant turned points on): one row per un-flagged item
    completion or first-try-correct checkpoint, capped per learner per China day."""

    __tablename__ = "points_entries"
    __table_args__ = (
        UniqueConstraint("tenant_id", "learner_id", "source", "source_id"),
        Index("ix_points_entries_day", "tenant_id", "learner_id", "day"),
        Index("ix_points_entries_org", "tenant_id", "org_id", "learner_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    learner_id: Mapped[str] = mapped_column(String(64))
    org_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    day: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    points: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ProgressRuleDefaults(Base):
    """The platform defaults of the progress and points settings (one row, seeded by the
    migration with its citation). Not tenant data."""

    __tablename__ = "progress_rule_defaults"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    end_tolerance_percent: Mapped[float] = mapped_column(Float)
    end_tolerance_seconds: Mapped[int] = mapped_column(Integer)
    end_tolerance_pages: Mapped[int] = mapped_column(Integer)
    max_playback_rate: Mapped[float] = mapped_column(Float)
    slack_seconds: Mapped[float] = mapped_column(Float)
    burst_seconds: Mapped[float] = mapped_column(Float)
    min_seconds_per_page: Mapped[float] = mapped_column(Float)
    slack_pages: Mapped[float] = mapped_column(Float)
    burst_pages: Mapped[float] = mapped_column(Float)
    parallel_window_seconds: Mapped[float] = mapped_column(Float)
    parallel_min_rate: Mapped[float] = mapped_column(Float)
    points_enabled: Mapped[bool] = mapped_column(Boolean)
    points_per_item: Mapped[int] = mapped_column(Integer)
    points_per_checkpoint: Mapped[int] = mapped_column(Integer)
    points_daily_cap: Mapped[int] = mapped_column(Integer)
    citation: Mapped[str] = mapped_column(Text, server_default="")


class ProgressSettingsRow(Base):
    """A tenant's overrides of the defaults; NULL = use the default. Set by the tenant admin."""

    __tablename__ = "progress_settings"

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    end_tolerance_percent: Mapped[float | None] = mapped_column(Float)
    end_tolerance_seconds: Mapped[int | None] = mapped_column(Integer)
    end_tolerance_pages: Mapped[int | None] = mapped_column(Integer)
    max_playback_rate: Mapped[float | None] = mapped_column(Float)
    slack_seconds: Mapped[float | None] = mapped_column(Float)
    burst_seconds: Mapped[float | None] = mapped_column(Float)
    min_seconds_per_page: Mapped[float | None] = mapped_column(Float)
    slack_pages: Mapped[float | None] = mapped_column(Float)
    burst_pages: Mapped[float | None] = mapped_column(Float)
    parallel_window_seconds: Mapped[float | None] = mapped_column(Float)
    parallel_min_rate: Mapped[float | None] = mapped_column(Float)
    points_enabled: Mapped[bool | None] = mapped_column(Boolean)
    points_per_item: Mapped[int | None] = mapped_column(Integer)
    points_per_checkpoint: Mapped[int | None] = mapped_column(Integer)
    points_daily_cap: Mapped[int | None] = mapped_column(Integer)
    updated_by: Mapped[str] = mapped_column(String(64), server_default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


SETTING_FIELDS = (
    "end_tolerance_percent", "end_tolerance_seconds", "end_tolerance_pages", "max_playback_rate",
    "slack_seconds", "burst_seconds", "min_seconds_per_page", "slack_pages", "burst_pages",
    "parallel_window_seconds", "parallel_min_rate", "points_enabled", "points_per_item",
    "points_per_checkpoint", "points_daily_cap",
)  # fmt: skip
