"""The exam deadline job (issue 5): submits, at their deadline, attempts the learner did not
submit, with whatever answers were saved — also those that expired while the service was down
(it looks at the database, not at timers).

Each run finds expired running attempts of every tenant (ids only, through the sweep policy of
migration 20261203_0003, in a read-only transaction) and finalises them in batches, one
transaction of the attempt's tenant per batch. Attempts are locked FOR UPDATE SKIP LOCKED: one a
learner is submitting right now is left to them; finalise changes only running attempts, so a
rerun, a restart or a second replica never submits twice.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

from hongyun_platform.db import Database
from hongyun_platform.logging import get_logger
from hongyun_platform.periodic import run_periodically

from learning_service.exam_grading import finalise
from learning_service.exam_repository import ExamRepository
from learning_service.questions import now_utc

log = get_logger(__name__)


class ExamDeadlineJob:
    def __init__(
        self,
        db: Database,
        *,
        interval_seconds: float,
        after_commit: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = now_utc,
        batch_size: int = 100,
        max_batches: int = 50,  # per run; the next run picks up the rest
    ):
        self.db = db
        self.interval_seconds = interval_seconds
        self.after_commit = after_commit
        self.clock = clock
        self.batch_size = batch_size
        self.max_batches = max_batches

    async def run(self, stop: asyncio.Event) -> None:
        await run_periodically(
            stop, self.interval_seconds, self.run_once, label="exam deadline job"
        )

    async def run_once(self) -> int:
        """Submits every expired attempt found now; returns how many it submitted."""
        now = self.clock()
        async with self.db.unit_of_work(None, read_only=True) as uow:
            found = await ExamRepository(uow.session).expired_ids(
                now, self.batch_size * self.max_batches
            )
        by_tenant: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
        for tenant_id, attempt_id in found:
            by_tenant[tenant_id].append(attempt_id)
        done = 0
        for tenant_id, ids in by_tenant.items():
            for i in range(0, len(ids), self.batch_size):
                try:
                    done += await self._submit(tenant_id, ids[i : i + self.batch_size], now)
                except Exception:
                    log.exception("exam deadline batch failed", tenant_id=str(tenant_id))
        if done:
            self.after_commit()
            log.info("exam attempts submitted at their deadline", count=done)
        return done

    async def _submit(self, tenant_id: uuid.UUID, ids: list[uuid.UUID], now: datetime) -> int:
        async with self.db.unit_of_work(tenant_id) as uow:
            attempts = await ExamRepository(uow.session).lock_expired(tenant_id, ids, now)
            await finalise(uow.session, attempts, reason="deadline", now=now)
        return len(attempts)
