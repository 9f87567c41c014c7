"""Committee terms ending (换届) in a subtree, for the "what is due" view (docs/adr/0014).

A term is due when it is its organisation's latest term and ends within the furthest reminder
offset of org.committee.term_reminder_months (or has already ended: the election is overdue).
Dissolved organisations are left out.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import and_, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from member_service.domain import rules as r
from member_service.domain.dates import add_months
from member_service.domain.due_items import DueItem, DueKind, DuePage
from member_service.models import Organization
from member_service.org_models import CommitteeTerm
from member_service.rules import RuleBook

TITLE = "委员会任期届满，应按期换届 (committee term ends: hold the election)"


async def list_due(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    root_path: str | None,
    today: date,
    limit: int,
    rules: RuleBook,
) -> DuePage:
    found = await rules.effective(
        session, tenant_id, [r.COMMITTEE_TERM_REMINDER_MONTHS, r.COMMITTEE_TERM_YEARS], today
    )
    lead, term_rule = found[r.COMMITTEE_TERM_REMINDER_MONTHS], found[r.COMMITTEE_TERM_YEARS]
    horizon = add_months(today, max(lead.value))
    t, later, o = CommitteeTerm, aliased(CommitteeTerm), Organization
    newer = exists().where(
        later.tenant_id == t.tenant_id,
        later.organization_id == t.organization_id,
        later.started_on > t.started_on,
    )
    # Dissolved and merged organisations are few: an anti-join on their partial index
    # (migration 20261203_0015) instead of joining every organisation for its status.
    gone = aliased(Organization)
    ended = exists().where(gone.id == t.organization_id, gone.status != "active")
    where = and_(t.tenant_id == tenant_id, t.ends_on <= horizon, ~newer, ~ended)
    if root_path:
        in_subtree = select(o.id).where(o.tenant_id == tenant_id, o.in_subtree(root_path))
        where = and_(where, t.organization_id.in_(in_subtree))
    counts = (
        await session.execute(
            select(func.count(), func.count().filter(t.ends_on < today)).where(where)
        )
    ).one()
    columns = (t.id, t.organization_id, o.name, t.started_on, t.term_years, t.ends_on)
    rows = (
        await session.execute(
            select(*columns, t.rule_citation)
            .join(o, o.id == t.organization_id)
            .where(where)
            .order_by(t.ends_on, t.id)
            .limit(limit)
        )
    ).all()
    items = [
        DueItem(
            kind=DueKind.COMMITTEE_TERM,
            organization_id=org_id,
            subject_id=term_id,
            subject_label=name,
            title=TITLE,
            due_on=ends_on,
            rule_key=term_rule.key,
            rule_citation=citation or term_rule.citation,
            rule_source=term_rule.source.value,
            detail=(
                f"本届自 {started_on.isoformat()} 起，任期 {years} 年"
                f" (term of {years} years from {started_on.isoformat()})"
            ),
        )
        for term_id, org_id, name, started_on, years, ends_on, citation in rows
    ]
    return DuePage(items=items, total=counts[0], overdue=counts[1])
