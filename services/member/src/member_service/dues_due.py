"""Dues arrears in the "what is due" view (domain/due_items.py, docs/adr/0014 and 0017).

A member is due once they owe at least the smallest threshold of dues.arrears.flag_months (the
current rule value: a tenant override applies at once); `due_on` is the first day of the month in
which they reached it, so everything listed is due today or overdue. Found from the indexed
paid_through of dues_accounts (a range scan per tenant, then the subtree), counted in SQL.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from member_service.domain import dues as d
from member_service.domain import lifecycle_rules as lr
from member_service.domain.dates import add_months
from member_service.domain.due_items import DueItem, DueKind, DuePage
from member_service.dues import arrears_views
from member_service.dues_repository import DuesRepository
from member_service.rules import RuleBook


async def list_due(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    root_path: str | None,
    today: date,
    limit: int,
    rules: RuleBook,
) -> DuePage:
    rule = await rules.effective_rule(session, tenant_id, lr.DUES_ARREARS_MONTHS, today)
    thresholds = d.flag_thresholds(rule.value)
    n = thresholds[0]
    current = d.month_of(today)
    repo = DuesRepository(session)
    # due_on = the first day of paid_through + n months: before today unless today is that day.
    overdue_before = current if today.day == 1 else d.next_month(current)
    total, overdue = await repo.arrears_counts(
        tenant_id, root_path, current, n, overdue_before=add_months(overdue_before, -n)
    )
    rows = await repo.arrears_limited(tenant_id, root_path, current, n, limit) if limit else []
    views = await arrears_views(repo, rows, today, thresholds)
    items = []
    for v in views:
        # The first day of the month in which the n-th unsettled month began (months waived
        # after an unpaid one do not count).
        reached = v.owed[n - 1]
        top = v.flag_months if v.flag_months == thresholds[-1] else 0
        items.append(
            DueItem(
                kind=DueKind.DUES_ARREARS,
                organization_id=v.row.organization_id,
                subject_id=v.row.member_id,
                subject_label=v.row.member_name,
                title=f"欠缴党费 {v.months_owed} 个月 ({v.months_owed} months of dues unpaid)",
                due_on=reached,
                rule_key=rule.key,
                rule_citation=rule.citation,
                rule_source=rule.source.value,
                detail=_detail(v.first_unpaid, v.amount_owed_fen, top),
            )
        )
    items.sort(key=lambda i: (i.due_on, i.subject_id))
    return DuePage(items=items, total=total, overdue=overdue)


def _detail(first_unpaid: date, amount_fen: int, top: int) -> str:
    """`top`: the highest threshold when reached (the rule's citation says what it means)."""
    since = d.fmt_month(first_unpaid)
    amount = d.yuan(amount_fen)
    text = f"自 {since} 起未交，共欠 {amount} 元 (unpaid since {since}: {amount} yuan owed)"
    if top:
        text += (
            f"；已达最高提醒月数 {top} 个月，请及时谈心谈话"
            f" (the highest flag, {top} months, is reached: talk with the member)"
        )
    return text
