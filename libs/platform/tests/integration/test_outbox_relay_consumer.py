"""Outbox → relay → JetStream → idempotent consumer, against real PostgreSQL and nats-server.

At-least-once delivery is the contract: duplicates (re-publish, redelivery, replay) must be
applied exactly once, and nothing may be lost when the broker dies mid-flow."""

from __future__ import annotations

import asyncio
import uuid

import nats
import pytest
from google.protobuf.wrappers_pb2 import StringValue
from hongyun_platform.db import Database
from hongyun_platform.db.rls import app_role_grants_ddl
from hongyun_platform.messaging.consumer import ConsumerSpec, IdempotentConsumer, replay_dead_letter
from hongyun_platform.messaging.envelope import H_MSG_ID, Envelope
from hongyun_platform.messaging.outbox import add_event
from hongyun_platform.messaging.relay import OutboxRelay
from hongyun_platform.messaging.streams import ensure_stream
from hongyun_platform.messaging.tables import MessagingTables
from hongyun_platform.testing.plugin import APP_ROLE
from sqlalchemy import Column, Integer, MetaData, Table, Text, Uuid, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert

pytestmark = pytest.mark.integration

SCHEMA = "msgtest"
metadata = MetaData(schema=SCHEMA)
tables = MessagingTables(metadata)
applied = Table(
    "applied", metadata,
    Column("event_id", Uuid, primary_key=True),
    Column("body", Text, nullable=False),
    Column("times", Integer, nullable=False),
)  # fmt: skip


@pytest.fixture(scope="module")
async def db(module_database):
    owner = Database(module_database.owner_url)
    async with owner.engine.begin() as conn:
        await conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
        await conn.run_sync(metadata.create_all)
        for stmt in app_role_grants_ddl(SCHEMA, APP_ROLE):
            await conn.execute(text(stmt))
    await owner.dispose()
    app = Database(module_database.app_url)
    yield app
    await app.dispose()


async def apply_handler(uow, env: Envelope, data: bytes) -> None:
    # Counts applications: the inbox must keep this at 1 per event.
    await uow.session.execute(
        pg_insert(applied)
        .values(event_id=env.event_id, body=StringValue.FromString(data).value, times=1)
        .on_conflict_do_update(index_elements=["event_id"], set_={"times": applied.c.times + 1})
    )


async def write_events(db: Database, n: int, prefix: str) -> list[uuid.UUID]:
    ids = []
    for i in range(n):
        async with db.unit_of_work(None) as uow:
            ids.append(
                await add_event(
                    uow.session,
                    tables.outbox,
                    subject=f"test.{prefix}.thing.happened",
                    payload=StringValue(value=f"{prefix}-{i}"),
                    tenant_id=None,
                )
            )
    return ids


async def applied_counts(db: Database) -> dict[uuid.UUID, int]:
    async with db.unit_of_work(None) as uow:
        rows = (await uow.session.execute(select(applied.c.event_id, applied.c.times))).all()
    return {r.event_id: r.times for r in rows}


async def drain(consumer: IdempotentConsumer, sub, *, expect: int, rounds: int = 40) -> list[str]:
    outcomes: list[str] = []
    for _ in range(rounds):
        try:
            msgs = await sub.fetch(100, timeout=0.5)
        except (TimeoutError, nats.errors.TimeoutError):
            msgs = []
        for m in msgs:
            outcomes.append(await consumer.handle(m))
        if outcomes.count("processed") >= expect and not msgs:
            break
    return outcomes


async def relay_until_empty(relay: OutboxRelay, rounds: int = 50) -> None:
    for _ in range(rounds):
        if await relay.run_once() == 0:
            return


@pytest.fixture
async def broker(private_nats):
    nc = await nats.connect(private_nats.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    js = nc.jetstream()
    await ensure_stream(js, "TEST", ["test.>"], duplicate_window_seconds=120)
    yield private_nats, nc, js
    await nc.close()


def spec(name: str, handler=apply_handler, **kw) -> ConsumerSpec:
    return ConsumerSpec(
        name=name, stream="TEST", filter_subject=f"test.{name}.>", handler=handler, **kw
    )


async def test_every_event_arrives_once_even_when_published_twice(db, broker):
    _, _, js = broker
    ids = await write_events(db, 30, "dup")
    relay = OutboxRelay(db, tables.outbox, lambda: js)
    await relay_until_empty(relay)
    # Crash between publish and "mark sent": the relay publishes the same rows again.
    async with db.unit_of_work(None) as uow:
        await uow.session.execute(tables.outbox.update().values(published_at=None))
    await relay_until_empty(relay)
    # Beyond JetStream's duplicate window: same event id, new Nats-Msg-Id.
    async with db.unit_of_work(None) as uow:
        row = (await uow.session.execute(select(tables.outbox).limit(1))).one()
    env = Envelope(row.id, row.event_type, None, row.occurred_at)
    await js.publish(
        row.subject, row.payload, headers={**env.headers(), H_MSG_ID: f"{row.id}-late"}
    )

    consumer = IdempotentConsumer(db, tables, js, spec("dup"))
    outcomes = await drain(consumer, await consumer.subscribe(), expect=30)
    counts = await applied_counts(db)
    assert {i: counts.get(i) for i in ids} == {i: 1 for i in ids}
    assert outcomes.count("processed") == 30 and outcomes.count("duplicate") == 1


async def test_redelivery_after_lost_ack_is_applied_once(db, broker):
    _, _, js = broker
    [event_id] = await write_events(db, 1, "redeliver")
    await relay_until_empty(OutboxRelay(db, tables.outbox, lambda: js))
    consumer = IdempotentConsumer(db, tables, js, spec("redeliver", ack_wait_seconds=1))
    sub = await consumer.subscribe()
    [msg] = await sub.fetch(1, timeout=5)
    # The handler commits but the process dies before acking.
    await consumer._apply(Envelope.from_headers(msg.headers), msg.data)
    [again] = await sub.fetch(1, timeout=10)  # JetStream redelivers after ack_wait
    assert again.metadata.num_delivered == 2
    assert await consumer.handle(again) == "duplicate"
    assert (await applied_counts(db))[event_id] == 1


async def test_failing_handler_is_retried_then_parked_and_replayable(db, broker):
    _, _, js = broker
    [event_id] = await write_events(db, 1, "poison")
    await relay_until_empty(OutboxRelay(db, tables.outbox, lambda: js))
    broken = True

    async def flaky(uow, env, data):
        if broken:
            raise RuntimeError("downstream rule missing")
        await apply_handler(uow, env, data)

    consumer = IdempotentConsumer(db, tables, js, spec("poison", handler=flaky, max_deliver=3))
    sub = await consumer.subscribe()
    outcomes = []
    for _ in range(40):
        try:
            msgs = await sub.fetch(1, timeout=1)
        except (TimeoutError, nats.errors.TimeoutError):
            msgs = []
        for m in msgs:
            outcomes.append(await consumer.handle(m))
        if "dead" in outcomes:
            break
    assert outcomes == ["retry", "retry", "dead"]
    assert event_id not in await applied_counts(db)  # failed attempts rolled back
    async with db.unit_of_work(None) as uow:
        parked = (await uow.session.execute(select(tables.dead_letters))).all()
    [dl] = [p for p in parked if p.event_id == event_id]
    assert dl.deliveries == 3 and "downstream rule missing" in dl.error

    broken = False  # the operator fixed the cause and replays
    await replay_dead_letter(db, tables, js, dl.id)
    outcomes = await drain(consumer, sub, expect=1)
    assert outcomes == ["processed"]
    assert (await applied_counts(db))[event_id] == 1


async def test_relay_resumes_after_broker_killed_and_restarted(db, broker):
    server, nc, js = broker
    consumer = IdempotentConsumer(db, tables, js, spec("chaos"))
    sub = await consumer.subscribe()
    relay = OutboxRelay(db, tables.outbox, lambda: js, publish_timeout=0.5, max_backoff_seconds=0.5)
    before = await write_events(db, 20, "chaos")
    await relay_until_empty(relay)

    server.kill()  # hard crash, mid-flow
    during = await write_events(db, 20, "chaos")
    assert await relay.run_once() == 0  # nothing can be published, nothing marked sent
    async with db.unit_of_work(None) as uow:
        pending = (
            (
                await uow.session.execute(
                    select(tables.outbox.c.attempts).where(tables.outbox.c.id.in_(during))
                )
            )
            .scalars()
            .all()
        )
    assert len(pending) == 20 and all(a >= 1 for a in pending)

    server.restart()
    for _ in range(100):
        if nc.is_connected:
            break
        await asyncio.sleep(0.1)
    for _ in range(50):
        await relay.run_once()
        async with db.unit_of_work(None) as uow:
            left = (
                await uow.session.execute(
                    select(tables.outbox.c.id).where(
                        tables.outbox.c.id.in_(during), tables.outbox.c.published_at.is_(None)
                    )
                )
            ).all()
        if not left:
            break
        await asyncio.sleep(0.2)
    assert not left

    outcomes = await drain(consumer, sub, expect=40)
    counts = await applied_counts(db)
    assert [counts.get(i) for i in before + during] == [1] * 40
    assert outcomes.count("processed") == 40
