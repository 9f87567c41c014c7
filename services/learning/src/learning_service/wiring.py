"""How the areas of the learning service plug into the process: each area module (course_wiring,
progress_wiring, exam_wiring, training_wiring) has `wire(parts) -> Wired` returning its gRPC
services and background jobs; app.py registers the services and runs the jobs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from hongyun_platform.db import Database
from hongyun_platform.storage import ObjectStore

from learning_service.config import LearningSettings

Job = Callable[[asyncio.Event], Coroutine[Any, Any, None]]  # runs until the event is set


@dataclass
class Parts:
    db: Database
    store: ObjectStore
    settings: LearningSettings
    after_commit: Callable[[], None]  # wakes the outbox relay


@dataclass
class Wired:
    # (add_XServicer_to_server, servicer, full service name)
    services: list[tuple[Callable[..., Any], Any, str]] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)


def wire_all(parts: Parts) -> Wired:
    # Imported here: each area's wiring imports this module for `Parts` and `Wired`.
    from learning_service import course_wiring, exam_wiring, progress_wiring, training_wiring

    out = Wired()
    for area in (course_wiring, progress_wiring, exam_wiring, training_wiring):
        wired = area.wire(parts)
        out.services += wired.services
        out.jobs += wired.jobs
    return out
