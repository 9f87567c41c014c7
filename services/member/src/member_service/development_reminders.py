"""The development reminder job (docs/adr/0015): runs inside the member service process and emits
`DevelopmentStepDue` through the outbox before each development deadline (offsets in days from
the rule dev.reminder.days_before, per tenant).

Each reminder happens once: it is recorded in development_reminders under the unique key
(case, step, due date, days before) in the same transaction as its outbox row, with INSERT … ON
CONFLICT DO NOTHING, so reruns, restarts and several replicas never send it twice (as the 换届
reminders, term_reminders.py). A deadline that moves (a tenant override, an extension) is a new
deadline with its own reminders. "Today" is injectable for tests.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from hongyun_platform.ids import new_id

from member_service import development_events as ev
from member_service.development_due import DUE_RULE_KEYS, due_cases, due_rule
from member_service.development_repository import DevelopmentRecords
from member_service.domain import development as dev
from member_service.domain import lifecycle_rules as lr
from member_service.domain import rules as r
from member_service.tenant_jobs import TenantJob


class DevelopmentReminders(TenantJob):
    label = "development reminders"

    async def run_once(self, today: date | None = None) -> int:
        """Sends every reminder due on `today` (default: today in China). Returns how many."""
        day = today or self.today()
        sent = sum(await self.each_tenant(day, self._remind_tenant))
        self.done(day, sent=sent)
        return sent

    async def _remind_tenant(self, tenant_id: uuid.UUID, day: date) -> int:
        async with self.db.unit_of_work(tenant_id) as uow:
            try:
                rules = await self.rules.effective(uow.session, tenant_id, DUE_RULE_KEYS, day)
            except r.RuleMissing:
                return 0
            offsets: list[int] = list(rules[lr.DEV_REMINDER_DAYS].value)
            horizon = day + timedelta(days=max(offsets))
            due = await due_cases(uow.session, tenant_id, None, rules, horizon=horizon, since=day)
            records = DevelopmentRecords(uow.session)
            done = await records.reminders_done(
                tenant_id, [(c.case_id, int(c.kind), c.due_on) for c in due]
            )
            sent = 0
            for c in due:
                step = int(c.kind)
                decision = dev.due_reminder(
                    c.due_on, offsets, today=day, done=done.get((c.case_id, step, c.due_on), set())
                )
                for days in decision.skip:
                    await records.record_reminder(
                        tenant_id=tenant_id, case_id=c.case_id, step=step, due_on=c.due_on,
                        days_before=days, remind_on=c.due_on - timedelta(days=days),
                        outcome="skipped", event_id=None,
                    )  # fmt: skip
                if decision.send is None:
                    continue
                days = decision.send
                event_id = new_id()
                remind_on = c.due_on - timedelta(days=days)
                first = await records.record_reminder(
                    tenant_id=tenant_id, case_id=c.case_id, step=step, due_on=c.due_on,
                    days_before=days, remind_on=remind_on, outcome="sent", event_id=event_id,
                )  # fmt: skip
                if not first:
                    continue  # another run or replica recorded it first
                rule = due_rule(c.kind, c.extension_months, rules)
                deadline = dev.Deadline(step, c.due_on, rule.key, rule.citation)
                await ev.step_due(
                    uow.session, tenant_id=tenant_id, case_id=c.case_id,
                    organization_id=c.organization_id, deadline=deadline, days_before=days,
                    remind_on=remind_on, today=day, event_id=event_id,
                )  # fmt: skip
                sent += 1
            return sent
