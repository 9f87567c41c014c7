"""The dues arrears job (docs/adr/0017): runs inside the member service process and emits
`DuesArrearsFlagged` through the outbox when a member reaches a threshold of
dues.arrears.flag_months (3 and 6 months by default; 6 = 党章第九条, 自行脱党).

Each flag happens once per member, threshold and arrears episode: it is recorded in
dues_arrears_flags (one open row per member and threshold, a partial unique index) in the same
transaction as its outbox row, with INSERT … ON CONFLICT DO NOTHING, so reruns, restarts and
several replicas never send it twice. An episode ends — its rows are closed — when the member owes
fewer months than the smallest threshold. When a member is first seen past several thresholds,
only the highest is sent; the overtaken ones are recorded as skipped. "Today" is injectable.
"""

from __future__ import annotations

import uuid
from datetime import date

from hongyun_platform.ids import new_id

from member_service import dues_events
from member_service.domain import dues as d
from member_service.domain import lifecycle_rules as lr
from member_service.domain import rules as r
from member_service.dues import owed_of
from member_service.dues_repository import DuesRepository
from member_service.tenant_jobs import TenantJob

BATCH = 500  # members per transaction
MAX_BATCHES = 10_000  # a guard: every batch records a row per candidate, so the loop ends


class DuesArrearsFlags(TenantJob):
    label = "dues arrears flags"

    async def run_once(self, today: date | None = None) -> int:
        """Raises every flag due on `today` (default: today in China). Returns how many."""
        day = today or self.today()
        sent = sum(await self.each_tenant(day, self._flag_tenant))
        self.done(day, flagged=sent)
        return sent

    async def _flag_tenant(self, tenant_id: uuid.UUID, day: date) -> int:
        current = d.month_of(day)
        async with self.db.unit_of_work(tenant_id) as uow:
            try:
                rule = await self.rules.effective_rule(
                    uow.session, tenant_id, lr.DUES_ARREARS_MONTHS, day
                )
            except r.RuleMissing:
                return 0
            thresholds = d.flag_thresholds(rule.value)
            await DuesRepository(uow.session).close_finished_episodes(
                tenant_id, current, thresholds[0], day
            )
        sent = 0
        for _ in range(MAX_BATCHES):
            async with self.db.unit_of_work(tenant_id) as uow:
                n, done = await self._batch(uow.session, tenant_id, day, rule, thresholds)
            sent += n
            if done:
                break
        return sent

    async def _batch(self, session, tenant_id, day, rule: r.EffectiveRule, thresholds):
        repo = DuesRepository(session)
        current = d.month_of(day)
        candidates = await repo.flag_candidates(tenant_id, current, thresholds, BATCH)
        if not candidates:
            return 0, True
        owed = await owed_of(repo, [(c.member_id, c.paid_through) for c in candidates], day)
        done = await repo.open_flags(c.member_id for c in candidates)
        sent = 0
        for c in candidates:
            months, amount = owed[c.member_id]
            decision = d.flags_due(len(months), thresholds, done[c.member_id])
            for t in decision.skip:
                await repo.record_flag(
                    tenant_id=tenant_id, member_id=c.member_id, flag_months=t,
                    months_owed=len(months), paid_through=c.paid_through, outcome="skipped",
                    event_id=None, day=day,
                )  # fmt: skip
            if decision.send is None:
                continue
            event_id = new_id()
            first = await repo.record_flag(
                tenant_id=tenant_id, member_id=c.member_id, flag_months=decision.send,
                months_owed=len(months), paid_through=c.paid_through, outcome="sent",
                event_id=event_id, day=day,
            )  # fmt: skip
            if not first:
                continue  # another run or replica recorded it first
            await dues_events.arrears_flagged(
                session, tenant_id=tenant_id, member_id=c.member_id,
                organization_id=c.organization_id, flag_months=decision.send,
                months_owed=len(months), paid_through=c.paid_through,
                start_month=c.start_month,
                first_unpaid=d.next_month(c.paid_through), amount_owed_fen=amount,
                final=decision.send == thresholds[-1], rule_key=rule.key,
                rule_citation=rule.citation, day=day, event_id=event_id,
            )  # fmt: skip
            sent += 1
        return sent, len(candidates) < BATCH
