"""Outbox payloads of training classes, on learning.<tenant>.training.<event>, written in the
caller's transaction. The member service consumes hours_recorded
(learning.*.training.hours_recorded) to count the hours toward a development case."""

from __future__ import annotations

import uuid
from datetime import date

from hongyun.learning.v1 import learning_events_pb2 as epb
from sqlalchemy.ext.asyncio import AsyncSession

from learning_service import events

AGGREGATE = "training"


async def hours_recorded(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    completion_id: uuid.UUID,
    member_id: uuid.UUID | None,
    development_case_id: uuid.UUID | None,
    class_hours_hundredths: int,
    days: int,
    title: str,
    completed_on: date,
) -> uuid.UUID:
    """One TrainingHoursRecorded per completion record (record_id = the completion's id)."""
    return await events.emit(
        session,
        tenant_id,
        AGGREGATE,
        "hours_recorded",
        epb.TrainingHoursRecorded(
            tenant_id=str(tenant_id),
            development_case_id=str(development_case_id or ""),
            member_id=str(member_id or ""),
            class_hours_hundredths=class_hours_hundredths,
            days=days,
            course_title=title,
            completed_on=completed_on.isoformat(),
            record_id=str(completion_id),
        ),
    )
