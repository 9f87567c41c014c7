"""The letter job (docs/adr/0016): inside the member service process, marks issued letters past
their last valid day expired (LetterExpired) and reminds before they expire (LetterExpiring, lead
from the rule transfer.letter.expiry_reminder_days per tenant).

Each happens once: expiry is a state change made by one UPDATE that re-checks the state after
any concurrent receive or revoke; a reminder is recorded in letter_reminders (one row per
letter, INSERT … ON CONFLICT DO NOTHING) in the transaction of its outbox row, so reruns,
restarts and several replicas never send it twice. "Today" is injectable for tests.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from hongyun_platform.ids import new_id

from member_service import letter_events
from member_service.domain import letters as L
from member_service.domain import rules as r
from member_service.domain.lifecycle_rules import TRANSFER_EXPIRY_REMINDER_DAYS
from member_service.letter_repository import LetterRepository
from member_service.tenant_jobs import TenantJob


@dataclass(frozen=True)
class RunResult:
    expired: int
    reminded: int


class LetterJob(TenantJob):
    label = "letter job"

    async def run_once(self, today: date | None = None) -> RunResult:
        day = today or self.today()
        results = await self.each_tenant(day, self._tenant)
        expired, reminded = sum(e for e, _ in results), sum(m for _, m in results)
        self.done(day, expired=expired, reminded=reminded)
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
