"""Writing events: a row in the outbox, in the same transaction as the business write."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from google.protobuf.message import Message
from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from hongyun_platform.ids import new_id
from hongyun_platform.telemetry import current_traceparent


async def add_event(
    session: AsyncSession,
    outbox: Table,
    *,
    subject: str,
    payload: Message,
    tenant_id: uuid.UUID | None,
    event_id: uuid.UUID | None = None,
) -> uuid.UUID:
    event_id = event_id or new_id()
    await session.execute(
        insert(outbox).values(
            id=event_id,
            tenant_id=tenant_id,
            subject=subject,
            event_type=payload.DESCRIPTOR.full_name,
            payload=payload.SerializeToString(),
            traceparent=current_traceparent(),
            occurred_at=datetime.now(UTC),
        )
    )
    return event_id
