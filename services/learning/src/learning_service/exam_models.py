"""ORM models of question banks and exams (在线评估, issue 5), on the learning schema's `Base`.

Question bank → questions. An exam has either a fixed paper (paper items) or draw rules, and
audiences (same kinds as courses: tenant, org subtree, role, learner). An attempt freezes its
paper as JSON when it starts (domain.exams.PaperQuestion, in display order with each option
permutation), so edits of the bank never change a running attempt. Answers are one row per
attempt and paper position: saved while the attempt runs (versioned), graded once at submission.

Banks and exams carry the organisation they belong to (`org_path`, empty = the whole tenant):
a secretary manages those inside their subtree. Every table has tenant_id under row-level
security (migration 20261203_0003).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    Boolean,
    DateTime,
    ForeignKey,
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
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from learning_service.models import Base


class QuestionBank(Base):
    __tablename__ = "question_banks"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, server_default="")
    # The organisation whose secretaries manage it; None = the tenant (tenant admins).
    org_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    org_path: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), server_default="{}")
    created_by: Mapped[str] = mapped_column(String(64), server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Question(Base):
    __tablename__ = "questions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    bank_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("question_banks.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    prompt: Mapped[str] = mapped_column(Text)
    options: Mapped[list[str]] = mapped_column(JSONB, server_default="[]")
    answer: Mapped[list[int]] = mapped_column(ARRAY(SmallInteger), server_default="{}")
    blanks: Mapped[list[list[str]]] = mapped_column(JSONB, server_default="[]")
    reference_answer: Mapped[str] = mapped_column(Text, server_default="")
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    difficulty: Mapped[int] = mapped_column(SmallInteger, server_default="3")
    explanation: Mapped[str] = mapped_column(Text, server_default="")
    version: Mapped[int] = mapped_column(Integer, server_default="1")  # bumped on each edit
    created_by: Mapped[str] = mapped_column(String(64), server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Exam(Base):
    __tablename__ = "exams"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, server_default="")
    org_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    org_path: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), server_default="{}")
    status: Mapped[str] = mapped_column(String(16), server_default="draft")
    paper_mode: Mapped[str] = mapped_column(String(16), server_default="fixed")
    time_limit_minutes: Mapped[int] = mapped_column(Integer)
    max_attempts: Mapped[int] = mapped_column(Integer, server_default="1")
    opens_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closes_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    pass_score: Mapped[int] = mapped_column(Integer, server_default="0")  # centipoints
    total_score: Mapped[int] = mapped_column(Integer, server_default="0")  # centipoints
    shuffle_questions: Mapped[bool] = mapped_column(Boolean, server_default="false")
    shuffle_options: Mapped[bool] = mapped_column(Boolean, server_default="false")
    results_visibility: Mapped[str] = mapped_column(String(16), server_default="after_submit")
    multiple_rule: Mapped[str] = mapped_column(String(16), server_default="all_or_nothing")
    created_by: Mapped[str] = mapped_column(String(64), server_default="")
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ExamPaperItem(Base):
    """A question of a fixed paper and its points. The question cannot be deleted while here."""

    __tablename__ = "exam_paper_items"

    exam_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("exams.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    question_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("questions.id", ondelete="RESTRICT"), index=True
    )
    points: Mapped[int] = mapped_column(SmallInteger)


class ExamDrawRule(Base):
    """A rule of a random paper: `count` questions worth `points` each from the banks, of the
    kinds (empty = any), with any of the tags (empty = any), in the difficulty range."""

    __tablename__ = "exam_draw_rules"

    exam_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("exams.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    bank_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid))
    kinds: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    difficulty_min: Mapped[int] = mapped_column(SmallInteger, server_default="1")
    difficulty_max: Mapped[int] = mapped_column(SmallInteger, server_default="5")
    count: Mapped[int] = mapped_column(SmallInteger)
    points: Mapped[int] = mapped_column(SmallInteger)


class ExamAudience(Base):
    """Who may take a published exam; the same kinds as course audiences."""

    __tablename__ = "exam_audiences"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    exam_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("exams.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    org_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    role: Mapped[str | None] = mapped_column(String(32))
    learner_id: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(64), server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ExamAttempt(Base):
    __tablename__ = "exam_attempts"
    __table_args__ = (
        UniqueConstraint("exam_id", "learner_id", "number"),
        # One running attempt per learner and exam: a second start finds it.
        Index(
            "uq_exam_attempts_open",
            "exam_id",
            "learner_id",
            unique=True,
            postgresql_where=text("status = 'in_progress'"),
        ),
        # The deadline job's scan.
        Index(
            "ix_exam_attempts_due", "deadline_at", postgresql_where=text("status = 'in_progress'")
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    exam_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("exams.id", ondelete="RESTRICT"), index=True
    )
    learner_id: Mapped[str] = mapped_column(String(64))
    # Where the learner sat when starting: graders see attempts of their subtree only.
    learner_org_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    learner_org_path: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), server_default="{}")
    number: Mapped[int] = mapped_column(SmallInteger)
    status: Mapped[str] = mapped_column(String(16), server_default="in_progress")
    paper: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)  # PaperQuestion.to_json, shown order
    multiple_rule: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deadline_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    submitted_by: Mapped[str | None] = mapped_column(String(16))  # learner | deadline
    auto_score: Mapped[int] = mapped_column(Integer, server_default="0")
    score: Mapped[int | None] = mapped_column(Integer)  # final, once every answer is graded
    max_score: Mapped[int] = mapped_column(Integer)
    pass_score: Mapped[int] = mapped_column(Integer)
    pending_grades: Mapped[int] = mapped_column(Integer, server_default="0")
    passed: Mapped[bool | None] = mapped_column(Boolean)
    graded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ExamAnswer(Base):
    """One answer of an attempt at a paper position: saved while it runs (each save carries the
    client's version; an older or equal one changes nothing), graded once at submission."""

    __tablename__ = "exam_answers"
    __table_args__ = (
        Index(
            "ix_exam_answers_stats", "exam_id", "question_id", postgresql_where=text("finalised")
        ),
        Index("ix_exam_answers_grading", "exam_id", postgresql_where=text("needs_grading")),
    )

    attempt_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("exam_attempts.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    exam_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    question_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    kind: Mapped[str] = mapped_column(String(16))
    response: Mapped[dict[str, Any] | None] = mapped_column(JSONB)  # Response.to_json, shown terms
    version: Mapped[int] = mapped_column(Integer, server_default="0")
    saved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set at submission.
    finalised: Mapped[bool] = mapped_column(Boolean, server_default="false")
    points: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    score: Mapped[int | None] = mapped_column(Integer)  # centipoints; None = waiting for a grader
    correct: Mapped[bool | None] = mapped_column(Boolean)
    selected: Mapped[list[int]] = mapped_column(ARRAY(SmallInteger), server_default="{}")
    needs_grading: Mapped[bool] = mapped_column(Boolean, server_default="false")
    graded_by: Mapped[str] = mapped_column(String(64), server_default="")
    grade_comment: Mapped[str] = mapped_column(Text, server_default="")
    graded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
