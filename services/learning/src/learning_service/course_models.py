"""ORM models of courses and their materials (docs/adr/0018), on the learning schema's `Base`.

Course → chapters → items. An item of kind video, audio or document points at its current
material version; a republished file is a new `MaterialVersion` row (the old object stays), so
progress recorded against an earlier version stays meaningful. Checkpoints are the questions an
author embeds in an item: completion needs them answered, not time spent (domain.md §8).

Every table carries tenant_id (row-level security in migration 20261203_0002); the course's
owner tenant may share it down (`shared_down`), and descendant tenants then read these rows
through a SELECT-only policy.
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
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from learning_service.models import Base

# Enumerations stored as short strings (check constraints in the migration).
COURSE_STATUSES = ("draft", "in_review", "published", "archived")
SHARE_MODES = ("none", "optional", "required")  # how descendant tenants receive a shared course
ITEM_KINDS = ("video", "audio", "document", "rich_text", "link")
MATERIAL_KINDS = ("video", "audio", "document")  # item kinds whose content is an uploaded file
MATERIAL_STATUSES = ("uploading", "ready", "failed")
AUDIENCE_KINDS = ("tenant", "org_subtree", "role", "learner")
CHECKPOINT_KINDS = ("single", "multiple", "true_false")


class Course(Base):
    __tablename__ = "courses"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, server_default="")
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    status: Mapped[str] = mapped_column(String(16), server_default="draft")
    # Bumped each time the course is published; progress rows remember the version they saw.
    version: Mapped[int] = mapped_column(Integer, server_default="0")
    shared_down: Mapped[str] = mapped_column(String(16), server_default="none")
    # Class hours (学时) credited when a learner completes the course, in hundredths (150 = 1.5 h).
    class_hours_hundredths: Mapped[int] = mapped_column(Integer, server_default="0")
    # jieba-segmented title, tags and summary (config 'simple'): Chinese search by words.
    search_terms: Mapped[Any] = mapped_column(TSVECTOR, server_default="")
    created_by: Mapped[str] = mapped_column(String(64), server_default="")
    submitted_by: Mapped[str] = mapped_column(String(64), server_default="")
    reviewed_by: Mapped[str] = mapped_column(String(64), server_default="")
    review_note: Mapped[str] = mapped_column(Text, server_default="")
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CourseAudience(Base):
    """Who a published course is for: the whole tenant, an org subtree, a role, or one learner;
    `required` = assigned (必学), else optional (选学). `due_on` is the optional deadline."""

    __tablename__ = "course_audiences"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    course_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("courses.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    org_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    role: Mapped[str | None] = mapped_column(String(32))
    learner_id: Mapped[str | None] = mapped_column(String(64))
    required: Mapped[bool] = mapped_column(Boolean, server_default="false")
    due_on: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(64), server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Chapter(Base):
    __tablename__ = "chapters"
    # Deferred: reordering swaps positions inside one transaction.
    __table_args__ = (
        UniqueConstraint("course_id", "position", name="uq_chapters_course_position",
                         deferrable=True, initially="DEFERRED"),
    )  # fmt: skip

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    course_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("courses.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("chapter_id", "position", name="uq_items_chapter_position",
                         deferrable=True, initially="DEFERRED"),
    )  # fmt: skip

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    course_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("courses.id", ondelete="CASCADE"), index=True
    )
    chapter_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("chapters.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, server_default="")  # rich text (sanitised HTML)
    url: Mapped[str] = mapped_column(Text, server_default="")  # external link
    # Length of the content: seconds of a video/audio, pages of a document (from the author or
    # the uploaded file); progress positions are in the same unit.
    length: Mapped[int] = mapped_column(Integer, server_default="0")
    required: Mapped[bool] = mapped_column(Boolean, server_default="true")
    current_material_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class MaterialVersion(Base):
    """One uploaded file of an item. Versions are never overwritten: the object key includes the
    version, and `Item.current_material_id` moves to the new one when it is ready."""

    __tablename__ = "material_versions"
    __table_args__ = (UniqueConstraint("item_id", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    item_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    object_key: Mapped[str] = mapped_column(Text)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(127))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(
        String(64), server_default=""
    )  # hex, recorded when complete
    status: Mapped[str] = mapped_column(String(16), server_default="uploading")
    upload_id: Mapped[str] = mapped_column(Text, server_default="")  # multipart upload, if any
    part_bytes: Mapped[int] = mapped_column(Integer, server_default="0")
    length: Mapped[int] = mapped_column(Integer, server_default="0")  # seconds or pages
    created_by: Mapped[str] = mapped_column(String(64), server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Checkpoint(Base):
    """A question embedded in an item at `position` (seconds or page). Completion of the item
    needs every checkpoint answered correctly (retries allowed), not time spent."""

    __tablename__ = "checkpoints"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    item_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    prompt: Mapped[str] = mapped_column(Text)
    options: Mapped[list[str]] = mapped_column(JSONB)
    answer: Mapped[list[int]] = mapped_column(ARRAY(SmallInteger))  # indexes of correct options
    explanation: Mapped[str] = mapped_column(Text, server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
