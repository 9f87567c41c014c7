"""Introduction letters about to expire, or expired before the member reported in, for the "what
is due" view (docs/adr/0014, docs/adr/0016), by the sending organisation's subtree.

A letter is due from `transfer.letter.expiry_reminder_days` (read now: a tenant's override
applies at once) before its last valid day. Expired letters stay due until they are revoked or
the member has a newer letter. The last valid day itself was fixed when the letter was issued,
from the validity rule in force that day — it is printed on the letter — and the item names that
rule with the citation recorded then.

One indexed range (ix_letters_due: tenant, last valid day, id, over issued and expired letters
only) serves the page and the counts; a subtree adds the sending organisation's path_key range.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import and_, bindparam, exists, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from member_service.domain.due_items import DueItem, DueKind, DuePage
from member_service.domain.letters import LetterState
from member_service.domain.lifecycle_rules import (
    TRANSFER_EXPIRY_REMINDER_DAYS,
    TRANSFER_LETTER_VALID_DAYS,
)
from member_service.letter_models import Letter
from member_service.models import Organization
from member_service.rules import RuleBook

EXPIRING = "组织关系介绍信即将到期，党员尚未报到 (introduction letter about to expire; not reported in yet)"
EXPIRED = (
    "介绍信已过期，党员未报到：请撤销或重新开具"
    " (letter expired before the member reported in: revoke it or issue a new one)"
)
# Inlined, so that the planner can match the partial index ix_letters_due.
DUE_STATES = bindparam(
    "due_states",
    [LetterState.ISSUED.value, LetterState.EXPIRED.value],
    expanding=True,
    literal_execute=True,
)


async def list_due(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    root_path: str | None,
    today: date,
    limit: int,
    rules: RuleBook,
) -> DuePage:
    found = await rules.effective(
        session, tenant_id, [TRANSFER_EXPIRY_REMINDER_DAYS, TRANSFER_LETTER_VALID_DAYS], today
    )
    lead, validity = found[TRANSFER_EXPIRY_REMINDER_DAYS], found[TRANSFER_LETTER_VALID_DAYS]
    horizon = today + timedelta(days=int(lead.value))
    t, later, o = Letter, aliased(Letter), Organization
    newer = exists().where(later.member_id == t.member_id, later.id > t.id)
    where = and_(
        t.tenant_id == tenant_id,
        t.state.in_(DUE_STATES),
        t.valid_until <= horizon,
        # An expired letter is settled by a newer letter for the member.
        (t.state == LetterState.ISSUED.value) | ~newer,
        o.in_subtree(root_path) if root_path else true(),
    )

    def base(*columns):
        stmt = select(*columns).select_from(t)
        return stmt.join(o, o.id == t.from_organization_id) if root_path else stmt

    total, overdue = (
        await session.execute(
            base(func.count(), func.count().filter(t.valid_until < today)).where(where)
        )
    ).one()
    rows = (
        await session.execute(
            base(
                t.id, t.from_organization_id, t.member_name, t.valid_until, t.state,
                t.validity_citation, t.validity_source, t.valid_days, t.letter_number,
                t.from_organization_name, t.destination,
            )
            .where(where)
            .order_by(t.valid_until, t.id)
            .limit(limit)
        )
    ).all()  # fmt: skip
    items = []
    for lid, org_id, name, until, state, citation, source, days, number, src, dest in rows:
        late = until < today or state == LetterState.EXPIRED.value
        items.append(
            DueItem(
                kind=DueKind.LETTER_EXPIRING,
                organization_id=org_id,
                subject_id=lid,
                subject_label=name,
                title=EXPIRED if late else EXPIRING,
                due_on=until,
                rule_key=TRANSFER_LETTER_VALID_DAYS,
                rule_citation=citation or validity.citation,
                rule_source=source or validity.source.value,
                detail=(
                    f"{number}：{src} → {dest}，有效期{days}天，至 {until.isoformat()}；"
                    f"提前{lead.value}天提醒（规则 {lead.key}）"
                    f" (valid {days} days to {until.isoformat()}; reminded {lead.value} days"
                    " ahead)"
                ),
            )
        )
    return DuePage(items=items, total=int(total), overdue=int(overdue))
