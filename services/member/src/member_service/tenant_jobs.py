"""The shape every background job of the member service shares (换届 reminders, development
reminders, letter expiry, dues arrears flags): run every interval until stopped, go through the
active tenants one transaction each, and let one tenant's failure not stop the others.

"Today" is injectable for tests; `after_commit` wakes the outbox relay once a run wrote events.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import ClassVar, TypeVar

from hongyun_platform.db import Database
from hongyun_platform.logging import get_logger
from hongyun_platform.periodic import run_periodically

from member_service.domain.dates import china_today
from member_service.org_repository import active_tenants_stmt
from member_service.rules import RuleBook

log = get_logger(__name__)
T = TypeVar("T")


class TenantJob:
    label: ClassVar[str] = "job"  # names the job in logs

    def __init__(
        self,
        db: Database,
        rules: RuleBook,
        *,
        interval_seconds: float,
        after_commit: Callable[[], None] = lambda: None,
        today: Callable[[], date] = china_today,
    ):
        self.db = db
        self.rules = rules
        self.interval_seconds = interval_seconds
        self.after_commit = after_commit
        self.today = today

    async def run(self, stop: asyncio.Event) -> None:
        await run_periodically(stop, self.interval_seconds, self.run_once, label=self.label)

    async def run_once(self, today: date | None = None) -> object:
        raise NotImplementedError

    async def each_tenant(
        self, day: date, work: Callable[[uuid.UUID, date], Awaitable[T]]
    ) -> list[T]:
        """`work` for every active tenant; a tenant that fails is logged and left out."""
        async with self.db.unit_of_work(None, platform_admin=True, read_only=True) as uow:
            tenant_ids = list((await uow.session.execute(active_tenants_stmt())).scalars())
        results = []
        for tenant_id in tenant_ids:
            try:
                results.append(await work(tenant_id, day))
            except Exception:
                log.exception(f"{self.label} failed for a tenant", tenant_id=str(tenant_id))
        return results

    def done(self, day: date, **counts: int) -> None:
        """After a run: wake the relay and log, when anything was written."""
        if any(counts.values()):
            self.after_commit()
            log.info(f"{self.label} done", day=day.isoformat(), **counts)
