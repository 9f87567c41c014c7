"""The letter job (docs/adr/0016): inside the member service process, marks issued letters past
their last valid day expired (LetterExpired) and reminds before they expire (LetterExpiring, lead
from the rule transfer.letter.expiry_reminder_days per tenant).

Each happens once: expiry is a state change made by one UPDATE that re-checks the state after
any concurrent receive or revoke; a reminder is recorded in letter_reminders (one row per
letter, INSERT … ON CONFLICT DO NOTHING) in the transaction of its outbox row, so reruns,
restarts and several replicas never send it twice. "Today" is injectable for tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from hongyun_platform.db import Database
from hongyun_platform.ids import new_id
from hongyun_platform.logging import get_logger

from member_service import letter_events
from member_service.domain import letters as L
from member_service.domain import rules as r
from member_service.domain.dates import china_today
from member_service.domain.lifecycle_rules import TRANSFER_EXPIRY_REMINDER_DAYS
from member_service.letter_repository import LetterRepository
from member_service.org_repository import active_tenants_stmt
from member_service.rules import RuleBook

log = get_logger(__name__)


@dataclass(frozen=True)
class RunResult:
    expired: int
    reminded: int


class LetterJob:
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
        self.after_commit = after_commit  # wakes the outbox relay
        self.today = today

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception:
                log.exception("letter job run failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval_seconds)

    async def run_once(self, today: date | None = None) -> RunResult:
        day = today or self.today()
        async with self.db.unit_of_work(None, platform_admin=True, read_only=True) as uow:
            tenant_ids = list((await uow.session.execute(active_tenants_stmt())).scalars())
        expired = reminded = 0
        for tenant_id in tenant_ids:
            try:
                e, m = await self._tenant(tenant_id, day)
            except Exception:
                log.exception("letter job failed for a tenant", tenant_id=str(tenant_id))
                continue
            expired, reminded = expired + e, reminded + m
        if expired or reminded:
            self.after_commit()
            log.info("letters expired and reminded", expired=expired, reminded=reminded,
                     day=day.isoformat())  # fmt: skip
        return RunResult(expired, reminded)

    async def _tenant(self, tenant_id: uuid.UUID, day: date) -> tuple[int, int]:
        async with self.db.unit_of_work(tenant_id) as uow:
            repo = LetterRepository(uow.session)
            gone = await repo.expire(tenant_id, day)
            for letter in gone:
                await letter_events.letter_expired(uow.session, letter)
            try:
                rule = await self.rules.effective_rule(
                    uow.session, tenant_id, TRANSFER_EXPIRY_REMINDER_DAYS, day
                )
            except r.RuleMissing:
                return len(gone), 0
            lead = int(rule.value)
            sent = 0
            for letter in await repo.to_remind(tenant_id, day, lead):
                assert letter.valid_until is not None
                event_id = new_id()
                first = await repo.record_reminder(
                    letter, days_before=lead, remind_on=L.reminder_on(letter.valid_until, lead),
                    event_id=event_id,
                )  # fmt: skip
                if not first:
                    continue  # another run or replica recorded it first
                await letter_events.letter_expiring(
                    uow.session, letter, days_before=lead, today=day, event_id=event_id
                )
                sent += 1
            return len(gone), sent
