"""The `dead-letters [--replay ID]` command every service has: list the events its consumers
parked after max_deliver failures, or publish one again."""

from __future__ import annotations

import uuid

import nats
from sqlalchemy import select

from hongyun_platform.db import Database
from hongyun_platform.messaging.consumer import replay_dead_letter
from hongyun_platform.messaging.tables import MessagingTables


async def dead_letters(
    database_url: str, nats_url: str, tables: MessagingTables, replay: str | None
) -> None:
    db = Database(database_url, pool_size=1)
    try:
        if replay:
            nc = await nats.connect(nats_url, connect_timeout=5)
            try:
                await replay_dead_letter(db, tables, nc.jetstream(), uuid.UUID(replay))
            finally:
                await nc.close()
            print(f"replayed {replay}")
            return
        dl = tables.dead_letters
        async with db.unit_of_work(None) as uow:
            rows = (await uow.session.execute(select(dl).order_by(dl.c.created_at))).all()
        for r in rows:
            state = f"replayed {r.replayed_at:%Y-%m-%d %H:%M}" if r.replayed_at else "parked"
            print(
                f"{r.id}  {r.consumer}  {r.subject}  deliveries={r.deliveries}  {state}  {r.error}"
            )
    finally:
        await db.dispose()
