"""The training job: closes classes the organiser set to close themselves
(`auto_close_after_days` after their end date; 0, the default, means by hand only), exactly as a
close by hand does — completions and their events once per enrolment (the class row is locked and
a completion is unique per enrolment, so several replicas or a rerun never send an event twice).
"Today" is injectable for tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date

from hongyun_platform.db import Database
from hongyun_platform.logging import get_logger
from hongyun_platform.periodic import run_periodically

from learning_service.domain.training import china_today
from learning_service.training import Training
from learning_service.training_repository import TrainingClassRepository

log = get_logger(__name__)


class TrainingAutoClose:
    def __init__(
        self,
        db: Database,
        training: Training,
        *,
        interval_seconds: float,
        after_commit: Callable[[], None] = lambda: None,
        today: Callable[[], date] = china_today,
    ):
        self.db = db
        self.training = training
        self.interval_seconds = interval_seconds
        self.after_commit = after_commit
        self.today = today

    async def run(self, stop: asyncio.Event) -> None:
        await run_periodically(
            stop, self.interval_seconds, self.run_once, label="training auto-close"
        )

    async def run_once(self, today: date | None = None) -> int:
        """Closes every class due on `today` (default: today in China); returns how many."""
        day = today or self.today()
        async with self.db.unit_of_work(None, platform_admin=True, read_only=True) as uow:
            due = await TrainingClassRepository(uow.session).due_to_close(day)
        closed = 0
        for tenant_id, class_id in due:
            try:
                async with self.db.unit_of_work(tenant_id) as uow:
                    result = await self.training.close_due_class(uow, class_id, day)
            except Exception:
                log.exception("training auto-close failed for a class", class_id=str(class_id))
                continue
            if result is not None:
                closed += 1
                log.info("training class closed automatically", class_id=str(class_id),
                         completed=result.newly_completed)  # fmt: skip
        if closed:
            self.after_commit()
        return closed
