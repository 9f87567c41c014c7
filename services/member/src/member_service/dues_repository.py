"""Queries of party dues (docs/adr/0017). Row-level security scopes every row to the
transaction's tenant; these queries filter by tenant and organisation subtree as well.

Arrears are found from the indexed `dues_accounts (tenant_id, paid_through, member_id)`: "owes at
least N months in month C" needs paid_through ≤ C − N months (a range scan); the exact count then
subtracts the few months settled beyond paid_through (waivers after an unpaid month), a primary-key
range probe of dues_months per candidate.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from hongyun_platform.db import Page
from hongyun_platform.db.repository import clamp_page_size, decode_token, encode_token
from hongyun_platform.errors import InvalidArgument
from hongyun_platform.ids import new_id
from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    case,
    cast,
    exists,
    extract,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from member_service.domain import dues as d
from member_service.domain.dates import add_months
from member_service.dues_models import (
    DuesAccount,
    DuesArrearsFlag,
    DuesHardship,
    DuesMonth,
    DuesPayment,
    DuesStandard,
)
from member_service.models import Member, Organization

APPROVED = "approved"
REQUESTED = "requested"
REJECTED = "rejected"
PAYING = tuple(int(s) for s in d.PAYING_STATUSES)


@dataclass(frozen=True)
class ArrearsRow:
    member_id: uuid.UUID
    member_name: str
    organization_id: uuid.UUID
    organization_name: str
    paid_through: date
    start_month: date
    months_owed: int


@dataclass(frozen=True)
class RollRow:
    member_id: uuid.UUID
    member_name: str
    organization_id: uuid.UUID
    status: str  # paid | waived | unpaid | not_due | no_standard
    due_fen: int
    payment_id: uuid.UUID | None


@dataclass(frozen=True)
class RollTotals:
    members: int
    paid_members: int
    unpaid_members: int
    due_fen: int
    paid_fen: int


@dataclass(frozen=True)
class FlagCandidate:
    member_id: uuid.UUID
    organization_id: uuid.UUID
    paid_through: date
    start_month: date
    months_owed: int


def _month_number(col: ColumnElement[date]) -> ColumnElement[int]:
    """year × 12 + month of a date column, as an integer (d.month_index + 1)."""
    return cast(extract("year", col) * 12 + extract("month", col), Integer)


def _settled_after(current: date) -> ColumnElement[int]:
    """Months settled beyond the account's paid_through, up to `current` (waivers after a gap)."""
    return (
        select(func.count())
        .where(
            DuesMonth.member_id == DuesAccount.member_id,
            DuesMonth.month > DuesAccount.paid_through,
            DuesMonth.month <= current,
        )
        .correlate(DuesAccount)
        .scalar_subquery()
    )


def owed_expr(current: date) -> ColumnElement[int]:
    """Exact months owed in the month `current`, for rows of dues_accounts (the settled months
    beyond paid_through are counted only for the accounts that have any)."""
    return (
        literal(current.year * 12 + current.month)
        - _month_number(DuesAccount.paid_through)
        - case((DuesAccount.settled_ahead, _settled_after(current)), else_=0)
    )


def _owing(tenant_id: uuid.UUID, current: date, n: int) -> list[ColumnElement[bool]]:
    """Paying accounts of the tenant owing at least n months in `current`: a range of the partial
    index ix_dues_accounts_arrears, then the exact count where months are settled ahead."""
    return [
        DuesAccount.tenant_id == tenant_id,
        DuesAccount.paying,  # the partial index predicate, as written there
        DuesAccount.paid_through <= add_months(current, -n),
        # Without months settled ahead, the range alone is exact.
        or_(~DuesAccount.settled_ahead, owed_expr(current) >= n),
    ]


def _encode_key(paid_through: date, member_id: uuid.UUID) -> str:
    raw = paid_through.isoformat().encode() + b"|" + member_id.bytes
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_key(token: str) -> tuple[date, uuid.UUID] | None:
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        day, _, mid = raw.partition(b"|")
        return date.fromisoformat(day.decode()), uuid.UUID(bytes=mid)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise InvalidArgument("page token is not valid", code="invalid_page_token") from exc


class DuesRepository:
    def __init__(self, session: AsyncSession):
        self.session = session

    # ---- accounts ----

    async def account(
        self, member_id: uuid.UUID, *, for_update: bool = False
    ) -> DuesAccount | None:
        stmt = select(DuesAccount).where(DuesAccount.member_id == member_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def create_account(self, member: Member, start: date, paid_through: date) -> DuesAccount:
        """The member's account, created unless a concurrent call did; locked for update."""
        await self.session.execute(
            pg_insert(DuesAccount)
            .values(
                member_id=member.id, tenant_id=member.tenant_id,
                organization_id=member.organization_id,
                paying=member.party_status in PAYING, start_month=start,
                paid_through=paid_through,
            )
            .on_conflict_do_nothing(index_elements=["member_id"])
        )  # fmt: skip
        found = await self.account(member.id, for_update=True)
        assert found is not None
        return found

    async def set_paid_through(self, account: DuesAccount, paid_through: date) -> None:
        """Moves paid_through (in the transaction of the payment or waiver) and notes whether
        months beyond it are settled."""
        ahead = select(
            exists().where(DuesMonth.member_id == account.member_id, DuesMonth.month > paid_through)
        )
        account.paid_through = paid_through
        account.settled_ahead = bool((await self.session.execute(ahead)).scalar())
        account.updated_at = func.now()
        await self.session.flush()

    # ---- standards ----

    async def standards(self, member_id: uuid.UUID) -> list[DuesStandard]:
        stmt = (
            select(DuesStandard)
            .where(DuesStandard.member_id == member_id)
            .order_by(DuesStandard.effective_month)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def periods_of(
        self, member_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[d.StandardPeriod]]:
        out: dict[uuid.UUID, list[d.StandardPeriod]] = defaultdict(list)
        if not member_ids:
            return out
        stmt = select(
            DuesStandard.member_id, DuesStandard.effective_month, DuesStandard.monthly_fen
        ).where(DuesStandard.member_id.in_(list(member_ids)))
        for mid, month, fen in await self.session.execute(stmt):
            out[mid].append(d.StandardPeriod(month, fen))
        return out

    def add(self, row: object) -> None:
        self.session.add(row)

    # ---- hardship decisions ----

    async def hardships(self, member_id: uuid.UUID) -> list[DuesHardship]:
        stmt = (
            select(DuesHardship)
            .where(DuesHardship.member_id == member_id)
            .order_by(DuesHardship.id.desc())
        )
        return list((await self.session.execute(stmt)).scalars())

    async def hardship(
        self, tenant_id: uuid.UUID, hardship_id: uuid.UUID, *, for_update: bool = False
    ) -> DuesHardship | None:
        stmt = select(DuesHardship).where(
            DuesHardship.tenant_id == tenant_id, DuesHardship.id == hardship_id
        )
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def overlapping(
        self, member_id: uuid.UUID, first: date, last: date
    ) -> DuesHardship | None:
        stmt = select(DuesHardship).where(
            DuesHardship.member_id == member_id,
            DuesHardship.status.in_((REQUESTED, APPROVED)),
            DuesHardship.first_month <= last,
            DuesHardship.last_month >= first,
        )
        return (await self.session.execute(stmt.limit(1))).scalar_one_or_none()

    async def reliefs_of(self, member_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[d.Relief]]:
        out: dict[uuid.UUID, list[d.Relief]] = defaultdict(list)
        if not member_ids:
            return out
        stmt = select(DuesHardship).where(
            DuesHardship.member_id.in_(list(member_ids)), DuesHardship.status == APPROVED
        )
        for h in (await self.session.execute(stmt)).scalars():
            out[h.member_id].append(d.Relief(h.first_month, h.last_month, h.waived, h.reduced_fen))
        return out

    # ---- settled months ----

    async def settled_after(
        self, member_ids: Sequence[uuid.UUID], after: dict[uuid.UUID, date]
    ) -> dict[uuid.UUID, set[date]]:
        """Months settled after each member's given month (usually paid_through)."""
        out: dict[uuid.UUID, set[date]] = defaultdict(set)
        if not member_ids:
            return out
        stmt = select(DuesMonth.member_id, DuesMonth.month).where(
            DuesMonth.member_id.in_(list(member_ids))
        )
        for mid, month in await self.session.execute(stmt):
            if month > after[mid]:
                out[mid].add(month)
        return out

    async def settled_in(self, member_id: uuid.UUID, months: Sequence[date]) -> list[date]:
        stmt = select(DuesMonth.month).where(
            DuesMonth.member_id == member_id, DuesMonth.month.in_(list(months))
        )
        return sorted((await self.session.execute(stmt)).scalars())

    async def has_settled(self, member_id: uuid.UUID) -> bool:
        stmt = select(exists().where(DuesMonth.member_id == member_id))
        return bool((await self.session.execute(stmt)).scalar())

    async def receipt_taken(self, tenant_id: uuid.UUID, receipt: str) -> bool:
        stmt = select(
            exists().where(
                DuesPayment.tenant_id == tenant_id, DuesPayment.receipt_number == receipt
            )
        )
        return bool((await self.session.execute(stmt)).scalar())

    # ---- payments ----

    async def payments_page(
        self,
        tenant_id: uuid.UUID,
        *,
        member_id: uuid.UUID | None,
        root_path: str | None,
        page_size: int,
        page_token: str,
    ) -> Page[tuple[DuesPayment, str]]:
        size = clamp_page_size(page_size)
        stmt = (
            select(DuesPayment, Member.name)
            .join(Member, Member.id == DuesPayment.member_id)
            .where(DuesPayment.tenant_id == tenant_id)
        )
        if member_id is not None:
            stmt = stmt.where(DuesPayment.member_id == member_id)
        elif root_path:
            stmt = stmt.join(Organization, Organization.id == Member.organization_id).where(
                Organization.in_subtree(root_path)
            )
        after = decode_token(page_token)
        if after is not None:
            stmt = stmt.where(DuesPayment.id > after)
        rows = (await self.session.execute(stmt.order_by(DuesPayment.id).limit(size + 1))).all()
        items = [(r[0], r[1]) for r in rows[:size]]
        more = len(rows) > size
        return Page(items=items, next_token=encode_token(items[-1][0].id) if more else "")

    # ---- arrears ----

    def _arrears_stmt(self, tenant_id: uuid.UUID, root_path: str | None, current: date, n: int):
        stmt = select(
            DuesAccount.member_id, DuesAccount.organization_id, DuesAccount.paid_through,
            DuesAccount.start_month,
        ).where(*_owing(tenant_id, current, n))  # fmt: skip
        if root_path:
            in_subtree = select(Organization.id).where(
                Organization.tenant_id == tenant_id, Organization.in_subtree(root_path)
            )
            stmt = stmt.where(DuesAccount.organization_id.in_(in_subtree))
        return stmt

    async def _named(self, rows: Sequence[Any], current: date) -> list[ArrearsRow]:
        """Names of the members and organisations of one page."""
        if not rows:
            return []
        members = dict(
            (await self.session.execute(
                select(Member.id, Member.name).where(Member.id.in_([r[0] for r in rows]))
            )).all()
        )  # fmt: skip
        orgs = dict(
            (await self.session.execute(
                select(Organization.id, Organization.name).where(
                    Organization.id.in_({r[1] for r in rows}))
            )).all()
        )  # fmt: skip
        return [
            ArrearsRow(mid, members.get(mid, ""), oid, orgs.get(oid, ""), pt, start,
                       d.months_owed(pt, current))  # approximate; callers count exactly
            for mid, oid, pt, start in rows
        ]  # fmt: skip

    async def arrears_page(
        self,
        tenant_id: uuid.UUID,
        root_path: str | None,
        current: date,
        min_months: int,
        *,
        page_size: int,
        page_token: str,
    ) -> tuple[list[ArrearsRow], str]:
        size = clamp_page_size(page_size)
        stmt = self._arrears_stmt(tenant_id, root_path, current, min_months)
        after = _decode_key(page_token)
        if after is not None:
            stmt = stmt.where(
                or_(
                    DuesAccount.paid_through > after[0],
                    and_(DuesAccount.paid_through == after[0], DuesAccount.member_id > after[1]),
                )
            )
        stmt = stmt.order_by(DuesAccount.paid_through, DuesAccount.member_id).limit(size + 1)
        found = list(await self.session.execute(stmt))
        more = len(found) > size
        rows = await self._named(found[:size], current)
        token = _encode_key(rows[-1].paid_through, rows[-1].member_id) if more else ""
        return rows, token

    async def arrears_counts(
        self, tenant_id: uuid.UUID, root_path: str | None, current: date, min_months: int,
        overdue_before: date | None = None,
    ) -> tuple[int, int]:  # fmt: skip
        """(members owing ≥ min_months, those of them whose paid_through is before
        `overdue_before`)."""
        sub = self._arrears_stmt(tenant_id, root_path, current, min_months).subquery()
        overdue = (
            func.count().filter(sub.c.paid_through < overdue_before)
            if overdue_before
            else literal(0)
        )
        total, late = (
            await self.session.execute(select(func.count(), overdue).select_from(sub))
        ).one()
        return int(total), int(late)

    async def arrears_limited(
        self, tenant_id: uuid.UUID, root_path: str | None, current: date, min_months: int,
        limit: int,
    ) -> list[ArrearsRow]:  # fmt: skip
        stmt = self._arrears_stmt(tenant_id, root_path, current, min_months)
        stmt = stmt.order_by(DuesAccount.paid_through, DuesAccount.member_id).limit(limit)
        return await self._named(list(await self.session.execute(stmt)), current)

    # ---- a month's roll ----

    def _roll_stmt(self, tenant_id: uuid.UUID, root_path: str | None, month: date):
        m = literal(month)
        latest = (
            select(DuesStandard.monthly_fen)
            .where(DuesStandard.member_id == Member.id, DuesStandard.effective_month <= m)
            .order_by(DuesStandard.effective_month.desc())
            .limit(1)
            .correlate(Member)
            .scalar_subquery()
        )
        first = (
            select(DuesStandard.monthly_fen)
            .where(DuesStandard.member_id == Member.id)
            .order_by(DuesStandard.effective_month)
            .limit(1)
            .correlate(Member)
            .scalar_subquery()
        )
        relief = (
            select(case((DuesHardship.waived, 0), else_=DuesHardship.reduced_fen))
            .where(
                DuesHardship.member_id == Member.id,
                DuesHardship.status == APPROVED,
                DuesHardship.first_month <= m,
                DuesHardship.last_month >= m,
            )
            .limit(1)
            .correlate(Member)
            .scalar_subquery()
        )
        no_account = DuesAccount.member_id.is_(None)
        not_due = DuesAccount.start_month > m
        status = case(
            (no_account, "no_standard"),
            (not_due, "not_due"),
            (DuesMonth.payment_id.is_not(None), "paid"),
            (DuesMonth.hardship_id.is_not(None), "waived"),
            (DuesAccount.paid_through >= m, "paid"),  # paid before recording began
            else_="unpaid",
        ).label("status")
        due = case(
            (or_(no_account, not_due), 0),
            (DuesMonth.member_id.is_not(None), DuesMonth.due_fen),
            else_=func.coalesce(relief, latest, first, 0),
        ).label("due_fen")
        stmt = (
            select(
                Member.id, Member.name, Member.organization_id, status, due, DuesMonth.payment_id
            )
            .join(Organization, Organization.id == Member.organization_id)
            .outerjoin(DuesAccount, DuesAccount.member_id == Member.id)
            .outerjoin(DuesMonth, and_(DuesMonth.member_id == Member.id, DuesMonth.month == m))
            .where(
                Member.tenant_id == tenant_id,
                Member.party_status.in_(PAYING),
                Member.departed_on.is_(None),
            )
        )
        if root_path:
            stmt = stmt.where(Organization.in_subtree(root_path))
        return stmt

    async def roll_page(
        self, tenant_id: uuid.UUID, root_path: str | None, month: date, *, page_size: int,
        page_token: str,
    ) -> tuple[list[RollRow], str]:  # fmt: skip
        size = clamp_page_size(page_size)
        stmt = self._roll_stmt(tenant_id, root_path, month)
        after = decode_token(page_token)
        if after is not None:
            stmt = stmt.where(Member.id > after)
        rows = [RollRow(*r) for r in await self.session.execute(
            stmt.order_by(Member.id).limit(size + 1))]  # fmt: skip
        more = len(rows) > size
        rows = rows[:size]
        return rows, encode_token(rows[-1].member_id) if more else ""

    async def roll_totals(
        self, tenant_id: uuid.UUID, root_path: str | None, month: date
    ) -> RollTotals:
        sub = self._roll_stmt(tenant_id, root_path, month).subquery()
        settled = sub.c.status.in_(("paid", "waived"))
        row = (
            await self.session.execute(
                select(
                    func.count(),
                    func.count().filter(settled),
                    func.count().filter(sub.c.status == "unpaid"),
                    func.coalesce(func.sum(sub.c.due_fen), 0),
                    func.coalesce(func.sum(sub.c.due_fen).filter(settled), 0),
                )
            )
        ).one()
        return RollTotals(*(int(v) for v in row))

    # ---- arrears flags ----

    async def open_flags(self, member_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, set[int]]:
        ids = list(member_ids)
        out: dict[uuid.UUID, set[int]] = defaultdict(set)
        if not ids:
            return out
        stmt = select(DuesArrearsFlag.member_id, DuesArrearsFlag.flag_months).where(
            DuesArrearsFlag.member_id.in_(ids), DuesArrearsFlag.closed_on.is_(None)
        )
        for mid, months in await self.session.execute(stmt):
            out[mid].add(int(months))
        return out

    async def flag_candidates(
        self, tenant_id: uuid.UUID, current: date, thresholds: Sequence[int], limit: int
    ) -> list[FlagCandidate]:
        """Members owing at least the smallest threshold whose highest threshold reached has no
        open flag yet."""
        n = min(thresholds)
        owed = owed_expr(current)
        highest = case(*[(owed >= t, t) for t in sorted(thresholds, reverse=True)], else_=0)
        flagged = exists().where(
            DuesArrearsFlag.member_id == DuesAccount.member_id,
            DuesArrearsFlag.closed_on.is_(None),
            DuesArrearsFlag.flag_months == highest,
        )
        stmt = (
            select(
                DuesAccount.member_id, DuesAccount.organization_id, DuesAccount.paid_through,
                DuesAccount.start_month, owed,
            )
            .where(*_owing(tenant_id, current, n), ~flagged)
            .order_by(DuesAccount.paid_through, DuesAccount.member_id)
            .limit(limit)
        )  # fmt: skip
        return [FlagCandidate(*r) for r in await self.session.execute(stmt)]

    async def record_flag(
        self,
        *,
        tenant_id: uuid.UUID,
        member_id: uuid.UUID,
        flag_months: int,
        months_owed: int,
        paid_through: date,
        outcome: str,
        event_id: uuid.UUID | None,
        day: date,
    ) -> bool:
        """True when this call recorded it; False when an open one exists (another run)."""
        stmt = (
            pg_insert(DuesArrearsFlag)
            .values(
                id=new_id(), tenant_id=tenant_id, member_id=member_id, flag_months=flag_months,
                months_owed=min(months_owed, 32767), paid_through=paid_through, outcome=outcome,
                event_id=event_id, flagged_on=day,
            )
            .on_conflict_do_nothing(
                index_elements=["member_id", "flag_months"],
                index_where=DuesArrearsFlag.closed_on.is_(None),
            )
            .returning(DuesArrearsFlag.id)
        )  # fmt: skip
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def close_flags_of(self, member_id: uuid.UUID, day: date) -> None:
        await self.session.execute(
            update(DuesArrearsFlag)
            .where(DuesArrearsFlag.member_id == member_id, DuesArrearsFlag.closed_on.is_(None))
            .values(closed_on=day)
        )

    async def close_finished_episodes(
        self, tenant_id: uuid.UUID, current: date, smallest: int, day: date
    ) -> int:
        """Closes the open flags of members who now owe fewer months than the smallest threshold
        (paid up, waived, or no longer paying: left, deceased …)."""
        open_members = select(DuesArrearsFlag.member_id).where(
            DuesArrearsFlag.tenant_id == tenant_id, DuesArrearsFlag.closed_on.is_(None)
        )
        finished = select(DuesAccount.member_id).where(
            DuesAccount.member_id.in_(open_members),
            or_(~DuesAccount.paying, owed_expr(current) < smallest),
        )
        result = await self.session.execute(
            update(DuesArrearsFlag)
            .where(
                DuesArrearsFlag.tenant_id == tenant_id,
                DuesArrearsFlag.closed_on.is_(None),
                DuesArrearsFlag.member_id.in_(finished),
            )
            .values(closed_on=day)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
