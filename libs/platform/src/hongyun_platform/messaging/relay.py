"""Outbox relay: moves committed outbox rows to JetStream.

SELECT … FOR UPDATE SKIP LOCKED lets several replicas share the work; a row is marked published
only after JetStream acknowledged it; failures back off exponentially. The event id is the
Nats-Msg-Id, so a re-publish after a crash between ack and mark is dropped by JetStream's
duplicate window (and by consumers' inboxes beyond it).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from nats.js import JetStreamContext
from opentelemetry import trace
from sqlalchemy import Table, select, update

from hongyun_platform.db import Database
from hongyun_platform.logging import get_logger
from hongyun_platform.messaging.envelope import Envelope
from hongyun_platform.telemetry import context_from_traceparent, current_traceparent

log = get_logger(__name__)
_tracer = trace.get_tracer(__name__)


class OutboxRelay:
    def __init__(
        self,
        db: Database,
        outbox: Table,
        jetstream: Callable[[], JetStreamContext],
        *,
        batch_size: int = 200,
        poll_seconds: float = 0.5,
        max_backoff_seconds: float = 60.0,
        publish_timeout: float = 5.0,
    ):
        self.db = db
        self.outbox = outbox
        self.jetstream = jetstream
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.max_backoff = max_backoff_seconds
        self.publish_timeout = publish_timeout
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Hint that new rows were committed (saves waiting for the next poll)."""
        self._wake.set()

    def _backoff(self, attempts: int) -> timedelta:
        base = min(self.max_backoff, 0.2 * 2**attempts)
        return timedelta(seconds=base * random.uniform(0.5, 1.0))

    async def run_once(self) -> int:
        """Publish one batch; returns how many rows were marked published."""
        o = self.outbox
        published = 0
        async with self.db.unit_of_work(None) as uow:
            rows = (
                await uow.session.execute(
                    select(o)
                    .where(o.c.published_at.is_(None), o.c.next_attempt_at <= datetime.now(UTC))
                    .order_by(o.c.id)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            js = self.jetstream()
            results = await asyncio.gather(
                *(self._publish(js, row) for row in rows), return_exceptions=True
            )
            now = datetime.now(UTC)
            ok_ids = [row.id for row, res in zip(rows, results, strict=True) if res is None]
            if ok_ids:
                await uow.session.execute(
                    update(o).where(o.c.id.in_(ok_ids)).values(published_at=now, last_error=None)
                )
                published = len(ok_ids)
            for row, res in zip(rows, results, strict=True):
                if res is not None:
                    await uow.session.execute(
                        update(o)
                        .where(o.c.id == row.id)
                        .values(
                            attempts=row.attempts + 1,
                            next_attempt_at=now + self._backoff(row.attempts + 1),
                            last_error=f"{type(res).__name__}: {res}"[:500],
                        )
                    )
            failed = len(rows) - published
            if failed:
                log.warning("outbox publish failed", failed=failed, published=published)
        return published

    async def _publish(self, js: JetStreamContext, row) -> None:
        with _tracer.start_as_current_span(
            f"publish {row.event_type}",
            context=context_from_traceparent(row.traceparent),
            kind=trace.SpanKind.PRODUCER,
            attributes={"messaging.system": "nats", "messaging.destination.name": row.subject},
        ):
            env = Envelope(
                event_id=row.id,
                event_type=row.event_type,
                tenant_id=row.tenant_id,
                occurred_at=row.occurred_at,
                traceparent=current_traceparent(),
            )
            await js.publish(
                row.subject, row.payload, timeout=self.publish_timeout, headers=env.headers()
            )

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                n = await self.run_once()
            except Exception:
                log.exception("outbox relay iteration failed")
                n = 0
            if n >= self.batch_size:
                continue  # more waiting: don't sleep
            self._wake.clear()
            waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
            await asyncio.wait(
                waits, timeout=self.poll_seconds, return_when=asyncio.FIRST_COMPLETED
            )
            for w in waits:
                w.cancel()
