"""The 换届 reminder job: runs inside the member service process and emits `CommitteeTermEnding`
through the outbox before each committee term ends (offsets from the rule
org.committee.term_reminder_months, per tenant).

Each reminder happens once: it is recorded in committee_term_reminders under the unique key
(term, months ahead) in the same transaction as its outbox row, with INSERT … ON CONFLICT DO
NOTHING, so reruns, restarts and several replicas never send it twice. "Today" is injectable
for tests.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from hongyun_platform.ids import new_id

from member_service import org_events
from member_service.domain import rules as r
from member_service.domain.committee_terms import due_reminder
from member_service.domain.dates import add_months, months_before
from member_service.org_repository import OrganizationAdminRepository
from member_service.tenant_jobs import TenantJob


class CommitteeTermReminders(TenantJob):
    label = "committee term reminders"

    async def run_once(self, today: date | None = None) -> int:
        """Sends every reminder due on `today` (default: today in China). Returns how many."""
        day = today or self.today()
        sent = sum(await self.each_tenant(day, self._remind_tenant))
        self.done(day, sent=sent)
        return sent

    async def _remind_tenant(self, tenant_id: uuid.UUID, day: date) -> int:
        async with self.db.unit_of_work(tenant_id) as uow:
            try:
                rule = await self.rules.effective_rule(
                    uow.session, tenant_id, r.COMMITTEE_TERM_REMINDER_MONTHS, day
                )
            except r.RuleMissing:
                return 0
            months: list[int] = list(rule.value)
            # Month-end clamping can put a reminder a few days later than a plain offset would:
            # look a month further and let due_reminder decide exactly.
            horizon = add_months(day, max(months)) + timedelta(days=31)
            repo = OrganizationAdminRepository(uow.session)
            sent = 0
            for term, done in await repo.terms_to_remind(tenant_id, day, horizon):
                decision = due_reminder(term.ends_on, months, today=day, done=done)
                for m in decision.skip:
                    await repo.record_reminder(
                        tenant_id=tenant_id,
                        term_id=term.id,
                        months_before=m,
                        remind_on=months_before(term.ends_on, m),
                        outcome="skipped",
                        event_id=None,
                    )
                if decision.send is None:
                    continue
                m = decision.send
                event_id = new_id()
                first = await repo.record_reminder(
                    tenant_id=tenant_id,
                    term_id=term.id,
                    months_before=m,
                    remind_on=months_before(term.ends_on, m),
                    outcome="sent",
                    event_id=event_id,
                )
                if not first:
                    continue  # another run or replica recorded it first
                await org_events.committee_term_ending(
                    uow.session,
                    tenant_id=tenant_id,
                    term_id=term.id,
                    org_id=term.organization_id,
                    started_on=term.started_on,
                    ends_on=term.ends_on,
                    months_before=m,
                    remind_on=months_before(term.ends_on, m),
                    today=day,
                    event_id=event_id,
                )
                sent += 1
            return sent
