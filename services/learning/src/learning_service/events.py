"""Event plumbing of the learning service: its stream, subjects, and writing an event to the
outbox in the caller's transaction. Each area builds its own payloads (course_events,
progress_events, exam_events, training_events) and calls `emit`."""

from __future__ import annotations

import uuid

from google.protobuf.message import Message
from hongyun_platform.messaging.envelope import subject_for
from hongyun_platform.messaging.outbox import add_event
from sqlalchemy.ext.asyncio import AsyncSession

from learning_service.models import messaging

STREAM = "LEARNING"
STREAM_SUBJECTS = ["learning.>"]


def subject(tenant_id: uuid.UUID, aggregate: str, event: str) -> str:
    """learning.<tenant>.<aggregate>.<event>, e.g. learning.<t>.training.hours_recorded."""
    return subject_for("learning", tenant_id, aggregate, event)


async def emit(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    aggregate: str,
    event: str,
    payload: Message,
    *,
    event_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Write one event to the outbox; it is published by the relay after the commit."""
    return await add_event(
        session,
        messaging.outbox,
        subject=subject(tenant_id, aggregate, event),
        payload=payload,
        tenant_id=tenant_id,
        event_id=event_id,
    )
