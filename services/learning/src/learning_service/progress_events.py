"""Outbox payloads of learning progress, written in the report's transaction on subjects
learning.<tenant>.progress.<event>. Coarse on purpose: a milestone crossing (25/50/75 %), an item
completion, a course completion — never one event per report."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp
from hongyun.learning.v1 import learning_progress_pb2 as pb
from sqlalchemy.ext.asyncio import AsyncSession

from learning_service import events
from learning_service.domain.progress import china_day

AGGREGATE = "progress"


def _ts(at: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(at.astimezone(UTC))
    return ts


def _s(value: uuid.UUID | None) -> str:
    return str(value) if value else ""


async def learning_progressed(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    learner_id: str,
    org_id: uuid.UUID | None,
    course_id: uuid.UUID,
    item_id: uuid.UUID,
    percent: int,
    attempt: int,
    at: datetime,
) -> uuid.UUID:
    return await events.emit(
        session, tenant_id, AGGREGATE, "learning_progressed",
        pb.LearningProgressed(
            tenant_id=str(tenant_id), learner_id=learner_id, org_id=_s(org_id),
            course_id=str(course_id), item_id=str(item_id), percent=percent, attempt=attempt,
            occurred_at=_ts(at),
        ),
    )  # fmt: skip


async def item_completed(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    learner_id: str,
    org_id: uuid.UUID | None,
    course_id: uuid.UUID,
    item_id: uuid.UUID,
    flagged: bool,
    course_version: int,
    material_version: int,
    at: datetime,
) -> uuid.UUID:
    return await events.emit(
        session, tenant_id, AGGREGATE, "item_completed",
        pb.ItemCompleted(
            tenant_id=str(tenant_id), learner_id=learner_id, org_id=_s(org_id),
            course_id=str(course_id), item_id=str(item_id), flagged=flagged,
            course_version=course_version, material_version=material_version,
            completed_at=_ts(at),
        ),
    )  # fmt: skip


async def course_completed(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    learner_id: str,
    org_id: uuid.UUID | None,
    course_id: uuid.UUID,
    course_title: str,
    flagged: bool,
    class_hours_hundredths: int,
    course_version: int,
    at: datetime,
) -> uuid.UUID:
    return await events.emit(
        session, tenant_id, AGGREGATE, "course_completed",
        pb.CourseCompleted(
            tenant_id=str(tenant_id), learner_id=learner_id, org_id=_s(org_id),
            course_id=str(course_id), course_title=course_title, flagged=flagged,
            class_hours_hundredths=class_hours_hundredths, course_version=course_version,
            completed_on=china_day(at).isoformat(), completed_at=_ts(at),
        ),
    )  # fmt: skip
