"""Development steps due or overdue in a subtree, for the "what is due" view (docs/adr/0014,
0015) and the reminder job.

Each open or admitted case waits for at most one deadline, stored as (due_step, due_anchor): the
kind of deadline and the date it counts from (domain.development.due_anchor). The deadline follows
the tenant's *current* rule values, so an override applies at once: nothing rule-derived is
stored.

Fast at province scale. For one kind of deadline the due date only grows with the anchor (month
arithmetic is monotonic), so "due on or before day D" is exactly "anchor on or before A(D)", where
A(D) is computed here from the rule values: a plain range on the index (tenant_id, due_step,
due_anchor, id), which also yields the cases of a kind in deadline order. Only extended
probations (a few rows) need the deadline computed in SQL (`due_on_sql`, PostgreSQL's date +
interval clamps to the month's end like add_months). A subtree is a list of organisation ids
when small, else a semi-join on the organisations' path range (leakproof under RLS).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Date,
    Select,
    Uuid,
    and_,
    any_,
    case,
    cast,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from member_service.development_models import DevelopmentCase
from member_service.domain import development as dev
from member_service.domain import lifecycle_rules as lr
from member_service.domain.dates import add_months
from member_service.domain.due_items import DueItem, DueKind, DuePage
from member_service.domain.rules import EffectiveRule
from member_service.models import Organization
from member_service.rules import RuleBook

DUE_RULE_KEYS = (*dev.RULE_KEYS, lr.DEV_REMINDER_DAYS)
KINDS = tuple(k for k in dev.DueStep if k != dev.DueStep.NONE)
PROBATION_KINDS = (dev.DueStep.CONVERSION_APPLICATION, dev.DueStep.CONVERSION_MEETING)
SLACK = timedelta(days=12)  # month-end clamping moves a deadline a few days against its anchor
ONE_DAY = timedelta(days=1)
DETAIL = {
    dev.DueStep.TALK: "收到入党申请后应派人谈话 (talk with the applicant)",
    dev.DueStep.REVIEW: "对入党积极分子进行培养考察 (review the activist)",
    dev.DueStep.APPROVAL: "支部大会通过后报上级党委审批 (the higher committee's approval is due)",
    dev.DueStep.CONVERSION_APPLICATION: (
        "预备党员应提出书面转正申请 (the probationary member should apply for conversion)"
    ),
    dev.DueStep.CONVERSION_MEETING: (
        "预备期满，支部大会应及时讨论能否转正 (probation ends: the branch meeting decides)"
    ),
}
Rules = Mapping[str, EffectiveRule]


@dataclass(frozen=True)
class DueCase:
    case_id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    kind: dev.DueStep
    due_on: date
    extension_months: int = 0


def due_on_sql(rules: Rules) -> ColumnElement[date]:
    """The deadline of a case row as SQL (NULL for a case waiting for nothing): the same order
    of month additions as domain.development.due_on."""
    c = DevelopmentCase
    month = literal_column("interval '1 month'")
    probation = int(rules[lr.DEV_PROBATION_MONTHS].value)
    apply_before = int(rules[lr.DEV_CONVERSION_APPLY_BEFORE_MONTHS].value)
    simple = {
        dev.DueStep.TALK: int(rules[lr.DEV_TALK_WITHIN_MONTHS].value),
        dev.DueStep.REVIEW: int(rules[lr.DEV_ACTIVIST_REVIEW_MONTHS].value),
        dev.DueStep.APPROVAL: int(rules[lr.DEV_APPROVAL_MONTHS].value["usual"]),
    }
    ends = (c.due_anchor + month * probation) + month * c.extension_months
    expr = case(
        *((c.due_step == int(k), c.due_anchor + month * m) for k, m in simple.items()),
        (c.due_step == int(dev.DueStep.CONVERSION_APPLICATION), ends - month * apply_before),
        (c.due_step == int(dev.DueStep.CONVERSION_MEETING), ends),
    )
    return cast(expr, Date)


def last_anchor(kind: dev.DueStep, day: date, rules: Rules) -> date:
    """The latest anchor whose deadline (without extension) is on or before `day`."""
    anchor = day
    months = 0
    while dev.due_on(kind, anchor, rules) > day and months < 240:  # a first guess, months back
        months += 1
        anchor = add_months(day, -months)
    # The deadline never decreases as the anchor grows: step forward while it stays in.
    while dev.due_on(kind, anchor + ONE_DAY, rules) <= day:
        anchor += ONE_DAY
    while dev.due_on(kind, anchor, rules) > day:
        anchor -= ONE_DAY
    return anchor


# A subtree of up to this many organisations (a city of a province) is read as one id array:
# fetched once, hashed by PostgreSQL in every query, and the few due cases it holds are read
# whole and sorted here, instead of re-running the path-range subquery in each query.
SCOPE_IDS_MAX = 20_000


class _Due:
    """The SQL conditions "due on or before day D" for one tenant's rule values."""

    def __init__(self, rules: Rules):
        self.rules = rules
        self.expr = due_on_sql(rules)

    def plain(self, kind: dev.DueStep, day: date) -> ColumnElement[bool]:
        c = DevelopmentCase
        cond = and_(c.due_step == int(kind), c.due_anchor <= last_anchor(kind, day, self.rules))
        if kind in PROBATION_KINDS:
            cond = and_(cond, c.extension_months == 0)
        return cond

    def extended(self, day: date) -> ColumnElement[bool]:
        """Extended probations: the bound without the extension holds, the deadline decides."""
        c = DevelopmentCase
        bound = min(last_anchor(k, day, self.rules) for k in PROBATION_KINDS) + SLACK
        return and_(
            c.due_step.in_([int(k) for k in PROBATION_KINDS]),
            c.extension_months > 0,
            c.due_anchor <= bound,
            self.expr <= day,
        )

    def by(self, day: date) -> ColumnElement[bool]:
        return or_(*(self.plain(k, day) for k in KINDS), self.extended(day))


@dataclass(frozen=True)
class _Scope:
    """Which organisations: all of the tenant, a short id list, or a path-range subquery."""

    ids: list[uuid.UUID] | None = None
    subquery: Select[Any] | None = None

    @property
    def small(self) -> bool:
        return self.ids is not None

    def apply(self, tenant_id: uuid.UUID, stmt: Select[Any]) -> Select[Any]:
        c = DevelopmentCase
        stmt = stmt.where(c.tenant_id == tenant_id, c.due_step > 0)
        if self.ids is not None:
            return stmt.where(c.organization_id == any_(literal(self.ids, ARRAY(Uuid()))))
        if self.subquery is not None:
            return stmt.where(c.organization_id.in_(self.subquery))
        return stmt


async def _scope(session: AsyncSession, tenant_id: uuid.UUID, root_path: str | None) -> _Scope:
    if not root_path or "." not in root_path:  # the tenant's root: the whole tenant
        return _Scope()
    o = Organization
    in_scope = select(o.id).where(o.tenant_id == tenant_id, o.in_subtree(root_path))
    ids = list((await session.execute(in_scope.limit(SCOPE_IDS_MAX + 1))).scalars())
    if len(ids) <= SCOPE_IDS_MAX:
        return _Scope(ids=ids)
    return _Scope(subquery=in_scope)


def _columns():
    c = DevelopmentCase
    return (c.id, c.organization_id, c.name, c.due_step, c.due_anchor, c.extension_months)


def _due_case(row: Any, rules: Rules) -> DueCase:
    kind = dev.DueStep(row.due_step)
    return DueCase(row.id, row.organization_id, row.name, kind,
                   dev.due_on(kind, row.due_anchor, rules, row.extension_months),
                   row.extension_months)  # fmt: skip


async def count_due(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    root_path: str | None,
    rules: Rules,
    *,
    horizon: date,
    today: date,
) -> tuple[int, int]:
    """(due by the horizon, overdue before today), counted in SQL on index ranges."""
    due = _Due(rules)
    scope = await _scope(session, tenant_id, root_path)
    stmt = select(func.count(), func.count().filter(due.by(today - ONE_DAY))).where(due.by(horizon))
    row = (await session.execute(scope.apply(tenant_id, stmt))).one()
    return int(row[0]), int(row[1])


async def earliest_due(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    root_path: str | None,
    rules: Rules,
    *,
    horizon: date,
    limit: int,
) -> list[DueCase]:
    """The `limit` earliest deadlines on or before the horizon, by (deadline, case id).

    A small subtree (a branch) is read whole and sorted here. Otherwise each kind is read in
    anchor order from the index: `limit` rows, and the later rows tied with the last one."""
    due = _Due(rules)
    scope = await _scope(session, tenant_id, root_path)
    c = DevelopmentCase
    if scope.small:
        stmt = scope.apply(tenant_id, select(*_columns()).where(due.by(horizon)))
        found = [_due_case(r, rules) for r in (await session.execute(stmt)).all()]
        return sorted(found, key=lambda d: (d.due_on, d.case_id))[:limit]
    found = []
    for kind in KINDS:
        stmt = scope.apply(tenant_id, select(*_columns()).where(due.plain(kind, horizon)))
        rows = (await session.execute(stmt.order_by(c.due_anchor, c.id).limit(limit))).all()
        found += [_due_case(r, rules) for r in rows]
        if len(rows) == limit:
            # Later anchors can share the last deadline (month ends): take them too.
            last = rows[-1]
            tied = and_(
                due.plain(kind, dev.due_on(kind, last.due_anchor, rules)),
                c.due_anchor > last.due_anchor,
            )
            more = scope.apply(tenant_id, select(*_columns()).where(tied))
            found += [_due_case(r, rules) for r in (await session.execute(more)).all()]
    stmt = scope.apply(tenant_id, select(*_columns()).where(due.extended(horizon)))
    found += [_due_case(r, rules) for r in (await session.execute(stmt)).all()]
    found.sort(key=lambda d: (d.due_on, d.case_id))
    return found[:limit]


async def due_cases(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    root_path: str | None,
    rules: Rules,
    *,
    horizon: date,
    since: date,
) -> list[DueCase]:
    """Every case whose deadline is from `since` to `horizon` (both included), earliest first
    (the reminder job's window)."""
    due = _Due(rules)
    scope = await _scope(session, tenant_id, root_path)
    stmt = select(*_columns()).where(due.by(horizon), not_(due.by(since - ONE_DAY)))
    stmt = scope.apply(tenant_id, stmt)
    out = [_due_case(r, rules) for r in (await session.execute(stmt)).all()]
    return sorted(out, key=lambda d: (d.due_on, d.case_id))


def due_rule(kind: dev.DueStep, extension_months: int, rules: Rules) -> EffectiveRule:
    key = dev.DUE_RULE[kind]
    if kind == dev.DueStep.CONVERSION_MEETING and extension_months:
        key = lr.DEV_PROBATION_EXTENSION
    return rules[key]


async def list_due(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    root_path: str | None,
    today: date,
    limit: int,
    rules: RuleBook,
) -> DuePage:
    """Everything overdue and everything due within the reminder lead (dev.reminder.days_before,
    its largest offset), earliest first."""
    found = await rules.effective(session, tenant_id, DUE_RULE_KEYS, today)
    horizon = today + timedelta(days=max(found[lr.DEV_REMINDER_DAYS].value))
    total, overdue = await count_due(
        session, tenant_id, root_path, found, horizon=horizon, today=today
    )
    rows = await earliest_due(session, tenant_id, root_path, found, horizon=horizon, limit=limit)
    items = []
    for r in rows:
        spec = dev.STEPS[int(r.kind)]
        rule = due_rule(r.kind, r.extension_months, found)
        items.append(
            DueItem(
                kind=DueKind.DEVELOPMENT_STEP,
                organization_id=r.organization_id,
                subject_id=r.case_id,
                subject_label=r.name,
                title=f"第{spec.number}步 {spec.name_zh} (step {spec.number}: {spec.name_en})",
                due_on=r.due_on,
                rule_key=rule.key,
                rule_citation=rule.citation,
                rule_source=rule.source.value,
                detail=DETAIL[r.kind],
            )
        )
    return DuePage(items=items, total=total, overdue=overdue)
