"""JobTasks: running jobs are tracked by id, beaten while they run, awaited and cancelled."""

from __future__ import annotations

import asyncio
import uuid

from hongyun_platform.job_tasks import JobTasks


async def until(condition) -> None:
    """Waits for `condition()`; 10 s only bounds a broken run (not a timing assertion)."""
    async with asyncio.timeout(10):
        while not condition():  # noqa: ASYNC110 - polls a plain list the beats append to
            await asyncio.sleep(0.01)


async def test_jobs_are_beaten_while_running_and_awaited():
    beats: list[tuple[uuid.UUID, uuid.UUID]] = []

    async def beat(job_id, tenant_id):
        beats.append((job_id, tenant_id))

    jobs = JobTasks("t", beat_every=0.01, beat=beat)
    done = asyncio.Event()
    job, tenant = uuid.uuid4(), uuid.uuid4()

    async def work():
        await done.wait()

    jobs.start(job, tenant, work())
    await until(lambda: (job, tenant) in beats)
    done.set()
    await jobs.wait_idle()
    n = len(beats)
    await asyncio.sleep(0.15)  # three beat intervals
    assert len(beats) == n  # no beats for finished jobs


async def test_a_failing_beat_does_not_stop_the_others_and_cancel_all_interrupts():
    seen: list[uuid.UUID] = []
    first, second = uuid.uuid4(), uuid.uuid4()

    async def beat(job_id, _tenant):
        seen.append(job_id)
        if job_id == first:
            raise RuntimeError("database away")

    jobs = JobTasks("t", beat_every=0.01, beat=beat)
    cancelled: list[uuid.UUID] = []

    async def forever(job_id):
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.append(job_id)
            raise

    for j in (first, second):
        jobs.start(j, uuid.uuid4(), forever(j))
    await until(lambda: seen.count(first) >= 2 and seen.count(second) >= 2)
    await jobs.cancel_all()
    assert sorted(cancelled) == sorted([first, second])
    await jobs.wait_idle()  # returns at once: nothing left
