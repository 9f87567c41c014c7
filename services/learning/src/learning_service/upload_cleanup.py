"""Abandoned multipart uploads of study materials are removed after a while. S3/MinIO does it
with a bucket lifecycle rule (README, Deploying); the filesystem store of `make run` needs this
job, or a closed browser tab would leave its parts on disk for ever."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from hongyun_platform.logging import get_logger
from hongyun_platform.periodic import run_periodically
from hongyun_platform.storage import FilesystemObjectStore, ObjectStore

log = get_logger(__name__)


class AbandonedUploadCleanup:
    def __init__(self, store: ObjectStore, *, older_than: timedelta, interval_seconds: float):
        self.store, self.older_than, self.interval = store, older_than, interval_seconds

    async def run_once(self) -> int:
        if not isinstance(self.store, FilesystemObjectStore):
            return 0
        removed = await self.store.purge_stale_uploads(self.older_than)
        if removed:
            log.info("abandoned material uploads removed", uploads=removed)
        return removed

    async def run(self, stop: asyncio.Event) -> None:
        await run_periodically(stop, self.interval, self.run_once, label="upload clean-up")
