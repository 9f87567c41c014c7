"""Use cases of party dues (党费, docs/adr/0017): standards, hardship decisions, recorded payments,
what a member owes, arrears and a month's roll of an organisation subtree.

Every number comes from rule data (dues.rate.*, dues.amount.rounding, dues.arrears.flag_months,
dues.payment.max_months_ahead) read with RuleBook; a refusal names the rule and its citation.
Tenant admins act on their tenant, secretaries inside their subtree (outside is NOT_FOUND).

No transport imports; raises DomainError; never commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from hongyun_platform.db import Page, UnitOfWork
from hongyun_platform.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from hongyun_platform.grpc.context import ROLE_PLATFORM_ADMIN, ROLE_TENANT_ADMIN, CallerContext
from hongyun_platform.ids import new_id
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from member_service import dues_events
from member_service.domain import dues as d
from member_service.domain import lifecycle_rules as lr
from member_service.domain import org_path
from member_service.domain import rules as r
from member_service.domain.dates import china_today
from member_service.domain.profile import parse_date
from member_service.dues_models import DuesAccount, DuesHardship, DuesMonth, DuesPayment
from member_service.dues_models import DuesStandard as StandardRow
from member_service.dues_repository import (
    APPROVED,
    REJECTED,
    REQUESTED,
    ArrearsRow,
    DuesRepository,
    RollRow,
    RollTotals,
)
from member_service.models import AuditEntry, Member, Organization
from member_service.repository import Repositories
from member_service.rules import RuleBook
from member_service.service import MANAGERS, MAY_REVEAL, MemberDirectory, parse_uuid

MAX_REASON = 500
MAX_METHOD = 40
MAX_RECEIPT = 60
MAX_MIN_MONTHS = 1200


# ---- views ----


@dataclass(frozen=True)
class StandardView:
    row: StandardRow
    base_fen: int | None  # None unless revealed (or just declared)
    explanation: str

    @property
    def group(self) -> d.DuesGroup:
        return d.DuesGroup(self.row.dues_group)


@dataclass(frozen=True)
class AccountView:
    member_id: uuid.UUID
    start_month: date
    paid_through: date | None  # None when nothing is settled
    first_unpaid: date
    months_owed: int
    amount_owed_fen: int
    current_month: date
    open_flags: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class HardshipView:
    row: DuesHardship
    reason: str  # "" when not shown


@dataclass(frozen=True)
class PaymentView:
    row: DuesPayment
    member_name: str


@dataclass(frozen=True)
class MemberDuesView:
    member: Member
    account: AccountView | None
    standard: StandardView | None
    hardships: list[HardshipView]


@dataclass(frozen=True)
class ArrearsView:
    row: ArrearsRow
    first_unpaid: date
    months_owed: int
    amount_owed_fen: int
    flag_months: int  # the highest threshold reached
    owed: list[date] = field(default_factory=list)  # the unsettled months owed, in order


@dataclass(frozen=True)
class ArrearsPage:
    items: list[ArrearsView]
    next_token: str
    total: int
    min_months: int
    flag_rule: r.EffectiveRule
    current_month: date


@dataclass(frozen=True)
class RollPage:
    month: date
    items: list[RollRow]
    next_token: str
    totals: RollTotals


# ---- helpers shared with the arrears job and the "what is due" view ----


def paid_through_or_none(account: DuesAccount) -> date | None:
    return account.paid_through if account.paid_through >= account.start_month else None


async def owed_of(
    repo: DuesRepository,
    accounts: Sequence[DuesAccount] | Sequence[tuple[uuid.UUID, date]],
    today: date,
) -> dict[uuid.UUID, tuple[list[date], int]]:
    """For each (member, paid_through): the unsettled months owed up to this month and what they
    cost, with the member's standards and approved hardship decisions (batched queries)."""
    pairs = [
        (a.member_id, a.paid_through) if isinstance(a, DuesAccount) else (a[0], a[1])
        for a in accounts
    ]
    ids = [mid for mid, _ in pairs]
    settled = await repo.settled_after(ids, dict(pairs))
    periods = await repo.periods_of(ids)
    reliefs = await repo.reliefs_of(ids)
    out = {}
    for mid, pt in pairs:
        months = [m for m in d.owed_months(pt, today) if m not in settled[mid]]
        out[mid] = (months, d.amount_due(months, periods[mid], reliefs[mid]))
    return out


class Dues:
    def __init__(
        self,
        directory: MemberDirectory,
        rules: RuleBook,
        today: Callable[[], date] = china_today,
    ):
        self.directory = directory
        self.rules = rules
        self.today = today

    # ---- standards ----

    async def set_standard(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        *,
        member_id: str,
        group: str,
        declared_base_fen: int,
        effective_month: str,
        opening_paid_through: str,
    ) -> tuple[StandardView, AccountView]:
        caller.require_role(*MANAGERS)
        tenant_id = caller.require_tenant()
        member, _ = await self._member(uow, caller, member_id)
        dues_group = d.parse_group(group)
        if declared_base_fen < 0:
            raise InvalidArgument(
                "申报收入不能为负数 (the declared monthly base must not be negative)",
                code="dues_invalid_base",
                field="declared_base",
            )
        today = self.today()
        current = d.month_of(today)
        month = d.parse_month(effective_month, "effective_month") or current
        opening = d.parse_month(opening_paid_through, "opening_paid_through")
        session = uow.session
        ahead = await self.rules.effective_rule(session, tenant_id, d.DUES_MAX_MONTHS_AHEAD, today)
        d.check_not_too_far(month, today, int(ahead.value), "effective_month", ahead.citation)
        if opening and opening > current:
            raise InvalidArgument(
                "opening_paid_through: 期初已交至月份不能晚于本月 (must not be after this month)",
                code="dues_opening_in_future",
                field="opening_paid_through",
            )
        rs = await self.rules.effective(
            session, tenant_id, [dues_group.rule_key, lr.DUES_AMOUNT_ROUNDING], month
        )
        rate, rounding = rs[dues_group.rule_key], rs[lr.DUES_AMOUNT_ROUNDING]
        computed = d.compute_standard(
            dues_group,
            declared_base_fen if dues_group.rated else (declared_base_fen or None),
            rate_rule=rate.value,
            rounding_rule=rounding.value,
        )
        repo = DuesRepository(session)
        account = await repo.account(member.id, for_update=True)
        existing = await repo.standards(member.id)
        first_month = min([month, *(s.effective_month for s in existing)])
        start = d.start_month(member.joined_on, first_month)
        if account is None:
            account = await repo.create_account(member, start, d.nothing_paid(start))
        if not await repo.has_settled(member.id):
            # Nothing recorded yet: the start follows the standards, and the opening balance
            # (paid before recording began) may still be given or corrected.
            opening = opening or account.opening_paid_through
            if opening and opening < d.nothing_paid(start):
                raise InvalidArgument(
                    f"opening_paid_through: 早于党费起交月份 {d.fmt_month(start)} "
                    f"(before the member's dues start in {d.fmt_month(start)})",
                    code="dues_opening_before_start",
                    field="opening_paid_through",
                )
            account.start_month = start
            account.opening_paid_through = opening
            await repo.set_paid_through(account, opening or d.nothing_paid(start))
        elif opening:
            raise FailedPrecondition(
                "已登记缴费记录，不能再设置期初已交至月份 "
                "(payments are recorded: the opening balance can no longer change)",
                code="dues_opening_after_payments",
                field="opening_paid_through",
            )
        row = next((s for s in existing if s.effective_month == month), None)
        if row is None:
            row = StandardRow(id=new_id(), tenant_id=tenant_id, member_id=member.id,
                              effective_month=month)  # fmt: skip
            repo.add(row)
        row.dues_group = dues_group.value
        row.base_enc = (
            self.directory.cipher.encrypt(str(computed.base_fen), aad=_base_aad(row.id))
            if computed.base_fen is not None
            else None
        )
        row.key_id = self.directory.cipher.active_key_id if computed.base_fen else ""
        row.monthly_fen = computed.monthly_fen
        row.rate_per_mille = computed.per_mille
        row.rule_key, row.rule_value = rate.key, rate.value
        row.rule_citation, row.rule_source = rate.citation, rate.source.value
        row.rounding_value = rounding.value
        row.rounding_citation, row.rounding_source = rounding.citation, rounding.source.value
        row.created_by = caller.user_id
        await _flush_or_conflict(
            session,
            "该月份的党费标准正被他人修改 (a concurrent change of this standard)",
            "effective_month",
            "dues_standard_conflict",
        )
        fields = ["dues_group", "dues_declared_base"] if computed.base_fen else ["dues_group"]
        self._audit(uow, caller, tenant_id, "dues_standard_set", member.id, fields)
        await dues_events.standard_set(
            session, tenant_id=tenant_id, member_id=member.id,
            organization_id=member.organization_id, effective_month=month, group=dues_group,
            monthly_fen=computed.monthly_fen, rule_key=rate.key, set_by=caller.user_id,
        )  # fmt: skip
        view = await self._account_view(repo, account, today)
        await self._close_flags_if_settled(session, tenant_id, account, view, today)
        return StandardView(row, computed.base_fen, computed.explanation()), view

    async def get_standard(
        self, uow: UnitOfWork, caller: CallerContext, *, member_id: str, month: str, reveal: bool,
        reason: str,
    ) -> StandardView:  # fmt: skip
        caller.require_role(*MANAGERS)
        member, _ = await self._member(uow, caller, member_id)
        day = d.parse_month(month, "month") or d.month_of(self.today())
        rows = await DuesRepository(uow.session).standards(member.id)
        row = _in_force(rows, day)
        if row is None:
            raise NotFound("尚未登记党费标准 (no dues standard declared)", code="dues_no_standard")
        if reveal:
            if not caller.has_role(*MAY_REVEAL) or caller.is_cross_tenant:
                raise PermissionDenied(
                    "无权查看申报收入 (your role may not see the declared income)",
                    code="reveal_not_allowed",
                )
            self._audit(uow, caller, member.tenant_id, "reveal", member.id,
                        ["dues_declared_base"], reason)  # fmt: skip
        return self._standard_view(row, reveal)

    # ---- hardship decisions ----

    async def request_hardship(
        self, uow: UnitOfWork, caller: CallerContext, *, member_id: str, first_month: str,
        last_month: str, waived: bool, reduced_fen: int, reason: str,
    ) -> HardshipView:  # fmt: skip
        caller.require_role(*MANAGERS)
        tenant_id = caller.require_tenant()
        member, _ = await self._member(uow, caller, member_id)
        repo = DuesRepository(uow.session)
        account = await self._account_or_fail(repo, member.id)
        today = self.today()
        first = _required_month(first_month, "first_month")
        last = _required_month(last_month, "last_month")
        months = d.check_range(first, last, "first_month", "last_month")
        ahead = await self.rules.effective_rule(
            uow.session, tenant_id, d.DUES_MAX_MONTHS_AHEAD, today
        )
        d.check_not_too_far(last, today, int(ahead.value), "last_month", ahead.citation)
        _not_before_start(first, account, "first_month")
        reason = reason.strip()
        if not 1 <= len(reason) <= MAX_REASON:
            raise InvalidArgument(
                "请填写困难减免的理由（1–500字）(reason: 1–500 characters)",
                code="required",
                field="reason",
            )
        if waived and reduced_fen:
            raise InvalidArgument(
                "免交时不填减交金额 (a waiver has no reduced amount)",
                code="dues_relief_ambiguous",
                field="reduced_monthly",
            )
        if not waived:
            periods = (await repo.periods_of([member.id]))[member.id]
            lowest = min(d.due_for(m, periods, []) for m in months)
            if not 0 < reduced_fen < lowest:
                raise InvalidArgument(
                    f"减交金额须大于0并低于标准 {d.yuan(lowest)} 元 "
                    f"(the reduced amount must be above 0 and below the standard,"
                    f" {d.yuan(lowest)} yuan)",
                    code="dues_reduction_not_lower",
                    field="reduced_monthly",
                )
        if await repo.overlapping(member.id, first, last):
            raise FailedPrecondition(
                "这些月份已有待审批或已批准的困难减免 "
                "(a pending or approved hardship decision covers some of these months)",
                code="dues_hardship_overlap",
                field="first_month",
            )
        hid = new_id()
        row = DuesHardship(
            id=hid, tenant_id=tenant_id, member_id=member.id, first_month=first, last_month=last,
            waived=waived, reduced_fen=None if waived else reduced_fen,
            reason_enc=self.directory.cipher.encrypt(reason, aad=_reason_aad(hid)),
            key_id=self.directory.cipher.active_key_id, status=REQUESTED,
            requested_by=caller.user_id, requested_scope_org_id=caller.scope_org_id,
            requested_org_id=member.organization_id,
        )  # fmt: skip
        repo.add(row)
        await uow.session.flush()
        await uow.session.refresh(row)
        self._audit(uow, caller, tenant_id, "dues_hardship_request", member.id, ["dues_hardship"])
        return HardshipView(row, reason)

    async def approve_hardship(
        self, uow: UnitOfWork, caller: CallerContext, *, hardship_id: str, approved: bool
    ) -> tuple[HardshipView, AccountView]:
        caller.require_role(*MANAGERS)
        tenant_id = caller.require_tenant()
        repo = DuesRepository(uow.session)
        row = await repo.hardship(tenant_id, parse_uuid(hardship_id, "id"), for_update=True)
        if row is None:
            raise NotFound("困难减免申请不存在 (hardship decision not found)",
                           code="dues_hardship_not_found")  # fmt: skip
        try:
            member, _ = await self.directory.member_in_scope(
                Repositories(uow.session), caller, str(row.member_id)
            )
        except NotFound:
            raise NotFound("困难减免申请不存在 (hardship decision not found)",
                           code="dues_hardship_not_found") from None  # fmt: skip
        if row.status != REQUESTED:
            raise FailedPrecondition(
                "该困难减免申请已审批 (the hardship decision was already decided)",
                code="dues_hardship_decided",
            )
        await self._check_next_level(uow, caller, row)
        today = self.today()
        row.status = APPROVED if approved else REJECTED
        row.decided_by = caller.user_id
        row.decided_at = func.now()
        account = await repo.account(member.id, for_update=True)
        assert account is not None  # a request needs an account, and accounts stay
        if approved and row.waived:
            months = d.months_between(row.first_month, row.last_month)
            taken = set(await repo.settled_in(member.id, months))
            for m in months:
                if m > account.paid_through and m not in taken:
                    repo.add(DuesMonth(member_id=member.id, month=m, tenant_id=tenant_id,
                                       due_fen=0, hardship_id=row.id))  # fmt: skip
            await _flush_or_conflict(
                uow.session, "这些月份正被同时登记 (a concurrent payment of these months)",
                "id", "dues_month_already_paid",
            )  # fmt: skip
            settled = await repo.settled_after([member.id], {member.id: account.paid_through})
            await repo.set_paid_through(account, d.advance(account.paid_through,
                                                           settled[member.id]))  # fmt: skip
        await uow.session.flush()
        await uow.session.refresh(row)
        await dues_events.hardship_decided(
            uow.session, tenant_id=tenant_id, hardship_id=row.id, member_id=member.id,
            organization_id=member.organization_id, first_month=row.first_month,
            last_month=row.last_month, waived=row.waived, reduced_fen=row.reduced_fen,
            approved=approved, decided_by=caller.user_id,
        )  # fmt: skip
        view = await self._account_view(repo, account, today)
        await self._close_flags_if_settled(uow.session, tenant_id, account, view, today)
        return HardshipView(row, self._reason(row)), view

    async def _check_next_level(
        self, uow: UnitOfWork, caller: CallerContext, row: DuesHardship
    ) -> None:
        """The next level approves: never the person who asked; a tenant admin, or a secretary
        whose organisation is above the one that decided (a tenant admin's decision needs
        another tenant admin)."""
        if caller.user_id == row.requested_by:
            raise PermissionDenied(
                "困难减免须由上级党组织审批，申请人不能自己审批 "
                "(the next level approves: not the person who asked)",
                code="dues_approver_is_requester",
            )
        if caller.scope_org_id is None and caller.has_role(ROLE_TENANT_ADMIN, ROLE_PLATFORM_ADMIN):
            return
        repos = Repositories(uow.session)
        scope = await self.directory.scope_root(repos, caller)
        decided_at = row.requested_scope_org_id or None
        decided = (
            await repos.organizations.in_tenant(row.tenant_id, decided_at) if decided_at else None
        )
        if (
            scope is None
            or decided is None
            or scope.id == decided.id
            or not org_path.is_ancestor_or_self(scope.path, decided.path)
        ):
            raise PermissionDenied(
                "困难减免须由作出决定的党组织的上级党组织审批 "
                "(the organisation above the one that decided must approve)",
                code="dues_approval_level",
            )

    # ---- payments ----

    async def record_payment(
        self, uow: UnitOfWork, caller: CallerContext, *, member_id: str, first_month: str,
        last_month: str, amount_fen: int, paid_on: str, method: str, receipt_number: str,
    ) -> tuple[PaymentView, AccountView]:  # fmt: skip
        caller.require_role(*MANAGERS)
        tenant_id = caller.require_tenant()
        member, _ = await self._member(uow, caller, member_id)
        today = self.today()
        first = _required_month(first_month, "first_month")
        last = d.parse_month(last_month, "last_month") or first
        months = d.check_range(first, last, "first_month", "last_month")
        day = parse_date(paid_on, "paid_on") or today
        if day > today:
            raise InvalidArgument("paid_on: 缴费日期不能晚于今天 (must not be in the future)",
                                  code="future_date", field="paid_on")  # fmt: skip
        if amount_fen < 0:
            raise InvalidArgument("金额不能为负数 (the amount must not be negative)",
                                  code="dues_invalid_amount", field="amount")  # fmt: skip
        method, receipt = method.strip(), receipt_number.strip()
        if len(method) > MAX_METHOD:
            raise InvalidArgument("method: 最多40个字符 (at most 40 characters)",
                                  code="too_long", field="method")  # fmt: skip
        if len(receipt) > MAX_RECEIPT:
            raise InvalidArgument("receipt_number: 最多60个字符 (at most 60 characters)",
                                  code="too_long", field="receipt_number")  # fmt: skip
        session = uow.session
        ahead = await self.rules.effective_rule(session, tenant_id, d.DUES_MAX_MONTHS_AHEAD, today)
        d.check_not_too_far(last, today, int(ahead.value), "last_month", ahead.citation)
        repo = DuesRepository(session)
        account = await repo.account(member.id, for_update=True)
        if account is None:
            raise _no_standard()
        _not_before_start(first, account, "first_month")
        paid = [m for m in months if m <= account.paid_through]
        paid += await repo.settled_in(member.id, [m for m in months if m > account.paid_through])
        if paid:
            raise _already_paid(paid)
        first_unpaid = d.next_month(account.paid_through)
        if first != first_unpaid:
            raise FailedPrecondition(
                f"党费按月份顺序交纳：请从 {d.fmt_month(first_unpaid)} 起登记 "
                f"(dues are paid in month order: start at {d.fmt_month(first_unpaid)})",
                code="dues_month_order",
                field="first_month",
            )
        periods = (await repo.periods_of([member.id]))[member.id]
        reliefs = (await repo.reliefs_of([member.id]))[member.id]
        dues_each = {m: d.due_for(m, periods, reliefs) for m in months}
        due = sum(dues_each.values())
        if amount_fen < due:
            raise InvalidArgument(
                f"金额不足：{d.fmt_month(first)}至{d.fmt_month(last)}应交 {d.yuan(due)} 元 "
                f"(the amount is short: these months cost {d.yuan(due)} yuan)",
                code="dues_amount_short",
                field="amount",
            )
        if receipt and await repo.receipt_taken(tenant_id, receipt):
            raise AlreadyExists("收据号已使用 (this receipt number is already recorded)",
                                code="dues_receipt_exists", field="receipt_number")  # fmt: skip
        payment = DuesPayment(
            id=new_id(), tenant_id=tenant_id, member_id=member.id, first_month=first,
            last_month=last, months=len(months), amount_fen=amount_fen, due_fen=due, paid_on=day,
            method=method, receipt_number=receipt, recorded_by=caller.user_id,
        )  # fmt: skip
        repo.add(payment)
        await _flush_or_conflict(session, "收据号已使用 (this receipt number is already recorded)",
                                 "receipt_number", "dues_receipt_exists")  # fmt: skip
        for m in months:
            repo.add(DuesMonth(member_id=member.id, month=m, tenant_id=tenant_id,
                               due_fen=dues_each[m], payment_id=payment.id))  # fmt: skip
        try:
            async with session.begin_nested():
                await session.flush()
        except IntegrityError as exc:
            raise _already_paid(months) from exc
        settled = await repo.settled_after([member.id], {member.id: last})
        await repo.set_paid_through(account, d.advance(last, settled[member.id]))
        await session.refresh(payment)
        await dues_events.payment_recorded(
            session, tenant_id=tenant_id, payment_id=payment.id, member_id=member.id,
            organization_id=member.organization_id, first_month=first, last_month=last,
            months=len(months), amount_fen=amount_fen, paid_through=account.paid_through,
            start_month=account.start_month, recorded_by=caller.user_id,
        )  # fmt: skip
        view = await self._account_view(repo, account, today)
        await self._close_flags_if_settled(session, tenant_id, account, view, today)
        return PaymentView(payment, member.name), view

    async def list_payments(
        self, uow: UnitOfWork, caller: CallerContext, *, member_id: str, organization_id: str,
        page_size: int, page_token: str,
    ) -> Page[PaymentView]:  # fmt: skip
        caller.require_role(*MANAGERS)
        tenant_id = caller.require_tenant()
        mid, root = None, None
        if member_id:
            member, _ = await self._member(uow, caller, member_id)
            mid = member.id
        else:
            root = await self.directory.subtree_path(
                Repositories(uow.session), caller, organization_id
            )
        page = await DuesRepository(uow.session).payments_page(
            tenant_id, member_id=mid, root_path=root, page_size=page_size, page_token=page_token
        )
        return Page([PaymentView(p, name) for p, name in page.items], page.next_token)

    # ---- reads ----

    async def get_member_dues(
        self, uow: UnitOfWork, caller: CallerContext, *, member_id: str
    ) -> MemberDuesView:
        caller.require_role(*MANAGERS)
        member, _ = await self._member(uow, caller, member_id)
        repo = DuesRepository(uow.session)
        today = self.today()
        account = await repo.account(member.id)
        if account is None:
            return MemberDuesView(member, None, None, [])
        view = await self._account_view(repo, account, today)
        row = _in_force(await repo.standards(member.id), d.month_of(today))
        hardships = await repo.hardships(member.id)
        shown = [HardshipView(h, self._reason(h)) for h in hardships]
        if shown:
            self._audit(uow, caller, member.tenant_id, "dues_hardship_read", member.id,
                        ["dues_hardship_reason"])  # fmt: skip
        standard = self._standard_view(row, False) if row else None
        return MemberDuesView(member, view, standard, shown)

    async def list_arrears(
        self, uow: UnitOfWork, caller: CallerContext, *, organization_id: str, min_months: int,
        page_size: int, page_token: str,
    ) -> ArrearsPage:  # fmt: skip
        caller.require_role(*MANAGERS)
        tenant_id = caller.require_tenant()
        if not 0 <= min_months <= MAX_MIN_MONTHS:
            raise InvalidArgument("min_months: 0–1200", code="invalid_argument", field="min_months")
        root = await self.directory.subtree_path(Repositories(uow.session), caller, organization_id)
        today = self.today()
        current = d.month_of(today)
        rule = await self.rules.effective_rule(
            uow.session, tenant_id, lr.DUES_ARREARS_MONTHS, today
        )
        thresholds = d.flag_thresholds(rule.value)
        n = min_months or thresholds[0]
        repo = DuesRepository(uow.session)
        rows, token = await repo.arrears_page(
            tenant_id, root, current, n, page_size=page_size, page_token=page_token
        )
        total, _ = await repo.arrears_counts(tenant_id, root, current, n)
        items = await arrears_views(repo, rows, today, thresholds)
        return ArrearsPage(items, token, total, n, rule, current)

    async def month_roll(
        self, uow: UnitOfWork, caller: CallerContext, *, organization_id: str, month: str,
        page_size: int, page_token: str,
    ) -> RollPage:  # fmt: skip
        caller.require_role(*MANAGERS)
        tenant_id = caller.require_tenant()
        day = d.parse_month(month, "month") or d.month_of(self.today())
        root = await self.directory.subtree_path(Repositories(uow.session), caller, organization_id)
        repo = DuesRepository(uow.session)
        rows, token = await repo.roll_page(
            tenant_id, root, day, page_size=page_size, page_token=page_token
        )
        totals = await repo.roll_totals(tenant_id, root, day)
        return RollPage(day, rows, token, totals)

    # ---- helpers ----

    async def _member(
        self, uow: UnitOfWork, caller: CallerContext, member_id: str
    ) -> tuple[Member, Organization]:
        parse_uuid(member_id, "member_id")
        return await self.directory.member_in_scope(Repositories(uow.session), caller, member_id)

    async def _account_or_fail(self, repo: DuesRepository, member_id: uuid.UUID) -> DuesAccount:
        account = await repo.account(member_id)
        if account is None:
            raise _no_standard()
        return account

    async def _account_view(
        self, repo: DuesRepository, account: DuesAccount, today: date
    ) -> AccountView:
        owed = await owed_of(repo, [account], today)
        months, amount = owed[account.member_id]
        flags = await repo.open_flags([account.member_id])
        return AccountView(
            member_id=account.member_id,
            start_month=account.start_month,
            paid_through=paid_through_or_none(account),
            first_unpaid=d.next_month(account.paid_through),
            months_owed=len(months),
            amount_owed_fen=amount,
            current_month=d.month_of(today),
            open_flags=sorted(flags[account.member_id]),
        )

    async def _close_flags_if_settled(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        account: DuesAccount,
        view: AccountView,
        today: date,
    ) -> None:
        """An arrears episode ends when the member owes fewer months than the smallest flag."""
        if not view.open_flags:
            return
        rule = await self.rules.effective_rule(session, tenant_id, lr.DUES_ARREARS_MONTHS, today)
        if view.months_owed < d.flag_thresholds(rule.value)[0]:
            await DuesRepository(session).close_flags_of(account.member_id, today)

    def _standard_view(self, row: StandardRow, reveal: bool) -> StandardView:
        group = d.DuesGroup(row.dues_group)
        base = None
        if row.base_enc is not None:
            base = int(self.directory.cipher.decrypt(row.base_enc, aad=_base_aad(row.id)))
        if reveal and base is not None:
            computed = d.compute_standard(
                group, base, rate_rule=row.rule_value, rounding_rule=row.rounding_value
            )
            return StandardView(row, base, computed.explanation())
        return StandardView(row, None, _masked_explanation(row, group))

    def _reason(self, row: DuesHardship) -> str:
        return self.directory.cipher.decrypt(row.reason_enc, aad=_reason_aad(row.id))

    @staticmethod
    def _audit(
        uow: UnitOfWork, caller: CallerContext, tenant_id: uuid.UUID, action: str,
        member_id: uuid.UUID, fields: list[str], reason: str = "",
    ) -> None:  # fmt: skip
        uow.session.add(
            AuditEntry(
                id=new_id(), tenant_id=tenant_id, actor=caller.user_id,
                actor_roles=sorted(caller.roles), action=action, target_type="member",
                target_id=member_id, fields=fields, reason=reason[:500],
            )
        )  # fmt: skip


async def arrears_views(
    repo: DuesRepository, rows: Sequence[ArrearsRow], today: date, thresholds: Sequence[int]
) -> list[ArrearsView]:
    owed = await owed_of(repo, [(row.member_id, row.paid_through) for row in rows], today)
    out = []
    for row in rows:
        months, amount = owed[row.member_id]
        reached = [t for t in thresholds if t <= len(months)]
        out.append(
            ArrearsView(
                row=row,
                first_unpaid=d.next_month(row.paid_through),
                months_owed=len(months),
                amount_owed_fen=amount,
                flag_months=max(reached) if reached else 0,
                owed=months,
            )
        )
    return out


def _in_force(rows: Sequence[StandardRow], month: date) -> StandardRow | None:
    if not rows:
        return None
    ordered = sorted(rows, key=lambda s: s.effective_month)
    found = ordered[0]
    for s in ordered:
        if s.effective_month <= month:
            found = s
    return found


def _masked_explanation(row: StandardRow, group: d.DuesGroup) -> str:
    name = d.GROUP_ZH[group]
    amount = d.yuan(row.monthly_fen)
    if row.rate_per_mille is None:
        return (
            f"{name}每月交纳 {amount} 元（规则 {row.rule_key}）"
            f" ({group.value}: fixed {amount} yuan a month)"
        )
    # The bracket bound would tell the base: only the rate is shown.
    rate = f"{row.rate_per_mille / 10:g}"
    return (
        f"{name}按{d.BASE_ZH[group]}的 {rate}% 交纳，每月 {amount} 元（规则 {row.rule_key}）"
        f" ({group.value}: {rate}% of the declared base, {amount} yuan a month)"
    )


def _required_month(value: str, field_name: str) -> date:
    month = d.parse_month(value, field_name)
    if month is None:
        raise InvalidArgument(f"{field_name}: 必填 (required)", code="required", field=field_name)
    return month


def _not_before_start(month: date, account: DuesAccount, field_name: str) -> None:
    if month < account.start_month:
        raise InvalidArgument(
            f"{field_name}: 早于党费起交月份 {d.fmt_month(account.start_month)} "
            f"(before the member's dues start in {d.fmt_month(account.start_month)})",
            code="dues_month_before_start",
            field=field_name,
        )


def _no_standard() -> FailedPrecondition:
    return FailedPrecondition(
        "尚未登记党费标准，请先登记 (declare the member's dues standard first)",
        code="dues_no_standard",
        field="member_id",
    )


def _already_paid(months: Sequence[date]) -> AlreadyExists:
    shown = "、".join(d.fmt_month(m) for m in sorted(months)[:6])
    return AlreadyExists(
        f"{shown} 已交纳或已免交，不能重复登记 (already paid or waived: {shown})",
        code="dues_month_already_paid",
        field="first_month",
    )


def _base_aad(standard_id: uuid.UUID) -> bytes:
    return f"dues_standard:{standard_id}:declared_base".encode()


def _reason_aad(hardship_id: uuid.UUID) -> bytes:
    return f"dues_hardship:{hardship_id}:reason".encode()


async def _flush_or_conflict(
    session: AsyncSession, message: str, field_name: str, code: str
) -> None:
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise AlreadyExists(message, code=code, field=field_name) from exc
