"""Writing events: a row in the outbox, in the same transaction as the business write."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
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


async def add_events(
    session: AsyncSession,
    outbox: Table,
    events: Iterable[tuple[str, Message, uuid.UUID | None]],
) -> list[uuid.UUID]:
    """Many events at once (bulk writes such as imports), the same rows as add_event, in the
    session's transaction: COPY when the driver is asyncpg, else one executemany.
    `events` holds (subject, payload, tenant_id) triples; returns the event ids in order."""
    now = datetime.now(UTC)
    traceparent = current_traceparent()
    rows = [
        {
            "id": new_id(),
            "tenant_id": tenant_id,
            "subject": subject,
            "event_type": payload.DESCRIPTOR.full_name,
            "payload": payload.SerializeToString(),
            "traceparent": traceparent,
            "occurred_at": now,
        }
        for subject, payload, tenant_id in events
    ]
    if not rows:
        return []
    conn = await session.connection()
    driver = (await conn.get_raw_connection()).driver_connection
    if hasattr(driver, "copy_records_to_table"):
        columns = list(rows[0])
        await driver.copy_records_to_table(
            outbox.name,
            schema_name=outbox.schema,
            columns=columns,
            records=[tuple(r[c] for c in columns) for r in rows],
        )
    else:
        await session.execute(insert(outbox), rows)
    return [r["id"] for r in rows]
