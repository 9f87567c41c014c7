"""A background job's loop: do the work, wait the interval (or until the process stops), again.
A failed run is logged and the next one comes as usual — a job never dies of one bad run."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from hongyun_platform.logging import get_logger

log = get_logger(__name__)


async def run_periodically(
    stop: asyncio.Event,
    interval_seconds: float,
    work: Callable[[], Awaitable[object]],
    *,
    label: str,
) -> None:
    while not stop.is_set():
        try:
            await work()
        except Exception:
            log.exception(f"{label} run failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval_seconds)
