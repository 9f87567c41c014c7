"""Background jobs of this process (imports, exports): their asyncio tasks by job id, and a
heartbeat that keeps each running job's row fresh. Job state lives in the database, so any
replica answers progress questions; a job whose process died is recognised by its stale
heartbeat (the service marks it interrupted)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

Heartbeat = Callable[[uuid.UUID, uuid.UUID], Awaitable[None]]  # (job id, tenant id)


class JobTasks:
    def __init__(self, name: str, *, beat_every: float, beat: Heartbeat):
        self.name = name
        self.beat_every = max(beat_every, 0.05)
        self._beat = beat
        self._tasks: dict[uuid.UUID, tuple[asyncio.Task, uuid.UUID]] = {}
        self._beat_task: asyncio.Task | None = None

    def start(
        self, job_id: uuid.UUID, tenant_id: uuid.UUID, work: Coroutine[Any, Any, None]
    ) -> asyncio.Task:
        task = asyncio.create_task(work, name=f"{self.name}-{job_id}")
        self._tasks[job_id] = (task, tenant_id)
        task.add_done_callback(lambda _t: self._tasks.pop(job_id, None))
        if self._beat_task is None or self._beat_task.done():
            self._beat_task = asyncio.create_task(self._beating(), name=f"{self.name}-heartbeat")
        return task

    async def wait_idle(self) -> None:
        """Until every started job has finished (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(
                *(t for t, _ in list(self._tasks.values())), return_exceptions=True
            )

    async def cancel_all(self) -> None:
        """Cancels the running jobs (each marks itself interrupted) and waits for them."""
        if self._beat_task:
            self._beat_task.cancel()
        tasks = [t for t, _ in self._tasks.values()]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _beating(self) -> None:
        while self._tasks:
            await asyncio.sleep(self.beat_every)
            for job_id, (_, tenant_id) in list(self._tasks.items()):
                with contextlib.suppress(Exception):  # a missed beat is retried next time
                    await self._beat(job_id, tenant_id)
