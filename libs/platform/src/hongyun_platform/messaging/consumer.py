"""Idempotent JetStream consumer.

For each message: BEGIN → set tenant → INSERT inbox(consumer, event_id) ON CONFLICT DO NOTHING →
handler (same transaction) → COMMIT → ack. A duplicate finds its inbox row and is acked without
running the handler. A failing handler rolls back and is nak'ed with backoff; after max_deliver
deliveries the message is kept in dead_letters for an operator and terminated.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from opentelemetry import trace
from sqlalchemy import insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from hongyun_platform.db import Database, UnitOfWork
from hongyun_platform.ids import new_id
from hongyun_platform.logging import get_logger
from hongyun_platform.messaging.envelope import H_MSG_ID, Envelope
from hongyun_platform.messaging.tables import MessagingTables
from hongyun_platform.telemetry import context_from_traceparent

log = get_logger(__name__)
_tracer = trace.get_tracer(__name__)

Handler = Callable[[UnitOfWork, Envelope, bytes], Awaitable[None]]


@dataclass(frozen=True)
class ConsumerSpec:
    name: str  # durable name: <consumer>__<purpose>
    stream: str
    filter_subject: str
    handler: Handler
    max_deliver: int = 8
    ack_wait_seconds: float = 30
    batch: int = 50


class IdempotentConsumer:
    def __init__(
        self, db: Database, tables: MessagingTables, js: JetStreamContext, spec: ConsumerSpec
    ):
        self.db = db
        self.tables = tables
        self.js = js
        self.spec = spec

    async def subscribe(self):
        s = self.spec
        return await self.js.pull_subscribe(
            s.filter_subject,
            durable=s.name,
            stream=s.stream,
            config=ConsumerConfig(
                durable_name=s.name,
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                max_deliver=s.max_deliver,
                ack_wait=s.ack_wait_seconds,
                filter_subject=s.filter_subject,
            ),
        )

    async def run(self, stop: asyncio.Event) -> None:
        sub = None
        try:
            while not stop.is_set():
                try:
                    if sub is None:
                        sub = await self.subscribe()
                    msgs = await sub.fetch(self.spec.batch, timeout=1)
                except (TimeoutError, nats.errors.TimeoutError):
                    continue
                except Exception as exc:
                    log.warning("consumer fetch failed", consumer=self.spec.name, error=str(exc))
                    sub = None
                    await _sleep_unless(stop, 1.0)
                    continue
                for msg in msgs:
                    await self.handle(msg)
        finally:
            if sub is not None:
                with contextlib.suppress(Exception):  # the connection may be gone already
                    await sub.unsubscribe()

    async def handle(self, msg: Msg) -> str:
        """Process one message; returns "processed", "duplicate", "retry" or "dead"."""
        try:
            env = Envelope.from_headers(msg.headers)
        except ValueError as exc:
            await self._dead_letter(msg, None, f"bad envelope: {exc}")
            await msg.term()
            return "dead"
        with _tracer.start_as_current_span(
            f"consume {env.event_type}",
            context=context_from_traceparent(env.traceparent),
            kind=trace.SpanKind.CONSUMER,
            attributes={"messaging.consumer.group.name": self.spec.name},
        ):
            try:
                outcome = await self._apply(env, msg.data)
            except Exception as exc:
                deliveries = msg.metadata.num_delivered
                if deliveries >= self.spec.max_deliver:
                    await self._dead_letter(msg, env, f"{type(exc).__name__}: {exc}")
                    await msg.term()
                    log.error(
                        "event parked as dead letter",
                        consumer=self.spec.name,
                        event_id=str(env.event_id),
                        deliveries=deliveries,
                    )
                    return "dead"
                await msg.nak(delay=min(30.0, 0.5 * 2**deliveries))
                log.warning(
                    "event handler failed; will retry",
                    consumer=self.spec.name,
                    event_id=str(env.event_id),
                    error=str(exc),
                )
                return "retry"
            await msg.ack()
            return outcome

    async def _apply(self, env: Envelope, data: bytes) -> str:
        inbox = self.tables.inbox
        async with self.db.unit_of_work(env.tenant_id) as uow:
            fresh = (
                await uow.session.execute(
                    pg_insert(inbox)
                    .values(consumer=self.spec.name, event_id=env.event_id)
                    .on_conflict_do_nothing()
                    .returning(inbox.c.event_id)
                )
            ).scalar_one_or_none()
            if fresh is None:
                return "duplicate"
            await self.spec.handler(uow, env, data)
        return "processed"

    async def _dead_letter(self, msg: Msg, env: Envelope | None, error: str) -> None:
        async with self.db.unit_of_work(None) as uow:
            await uow.session.execute(
                insert(self.tables.dead_letters).values(
                    id=new_id(),
                    consumer=self.spec.name,
                    subject=msg.subject,
                    event_id=env.event_id if env else None,
                    headers=dict(msg.headers or {}),
                    payload=msg.data,
                    error=error[:2000],
                    deliveries=msg.metadata.num_delivered,
                )
            )


async def replay_dead_letter(
    db: Database, tables: MessagingTables, js: JetStreamContext, dead_letter_id
) -> None:
    """Operator action: publish a parked message again. A fresh Nats-Msg-Id gets it past the
    stream's duplicate window; consumers that already processed the event skip it by inbox."""
    dl = tables.dead_letters
    async with db.unit_of_work(None) as uow:
        row = (
            await uow.session.execute(select(dl).where(dl.c.id == dead_letter_id).with_for_update())
        ).one()
        headers = dict(row.headers)
        headers[H_MSG_ID] = f"{headers.get(H_MSG_ID, '')}:replay:{new_id()}"
        await js.publish(row.subject, row.payload, headers=headers)
        await uow.session.execute(
            update(dl).where(dl.c.id == dead_letter_id).values(replayed_at=datetime.now(UTC))
        )


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


__all__ = ["ConsumerSpec", "Handler", "IdempotentConsumer", "replay_dead_letter"]
