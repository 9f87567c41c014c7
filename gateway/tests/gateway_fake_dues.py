"""An in-memory DuesService for gateway tests (same server and store as FakeMemberService).

It mimics the contract as far as the gateway can tell: roles, tenant and scope (a member outside
is NOT_FOUND), fen amounts, the refusals with their reason codes in trailing metadata (unknown
group, bad base, month already paid, amount short, approver is requester) and page tokens. The
rules themselves (brackets, rounding, arrears) live in the member service and its tests: here the
national employed brackets and a 20-fen fixed amount only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from hongyun.member.v1 import member_dues_pb2 as dpb
from hongyun.member.v1 import member_dues_pb2_grpc, rules_pb2
from hongyun_platform.grpc.context import ROLE_PLATFORM_ADMIN, ROLE_SECRETARY, ROLE_TENANT_ADMIN

MANAGERS = (ROLE_PLATFORM_ADMIN, ROLE_TENANT_ADMIN, ROLE_SECRETARY)
EMPLOYED = [(300000, 5), (500000, 10), (1000000, 15), (None, 20)]  # (up to fen, per mille)
CITATION = "中共中央组织部《关于中国共产党党费收缴、使用和管理的规定》（2008）"
FLAGS = "《中国共产党章程》第九条"


def _current() -> int:
    today = datetime.now(timezone(timedelta(hours=8))).date()
    return today.year * 12 + today.month - 1


def _fmt(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _index(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def _now() -> Timestamp:
    ts = Timestamp()
    ts.GetCurrentTime()
    return ts


@dataclass
class Account:
    group: int
    base_fen: int
    monthly_fen: int
    start: int
    paid_through: int
    standard_by: str


@dataclass
class DuesState:
    store: Any
    accounts: dict[str, Account] = field(default_factory=dict)
    payments: list[dpb.DuesPayment] = field(default_factory=list)
    hardships: dict[str, dpb.DuesHardship] = field(default_factory=dict)


class FakeDuesService(member_dues_pb2_grpc.DuesServiceServicer):
    def __init__(self, members: Any) -> None:
        self.members = members  # FakeMemberService: store, call log, helpers
        self._state: DuesState | None = None

    @property
    def state(self) -> DuesState:
        if self._state is None or self._state.store is not self.members.store:
            self._state = DuesState(self.members.store)  # the store was reset
        return self._state

    async def _caller(self, method: str, request: Any, context: Any):
        svc = self.members
        caller = await svc._begin(method, request, context)
        if not caller.has_role(*MANAGERS):
            await svc._fail(context, grpc.StatusCode.PERMISSION_DENIED, "permission_denied", "no")
        return caller, await svc._tenant(caller, context)

    async def _member(self, caller, tenant: str, member_id: str, context: Any):
        svc = self.members
        m = svc.store.members.get(member_id)
        if m is None or m.tenant_id != tenant or not svc._in_scope(caller, m.organization_id):
            await svc._fail(context, grpc.StatusCode.NOT_FOUND, "member_not_found",
                            "党员不存在 (member not found)")  # fmt: skip
        return m

    async def _account(self, member_id: str, context: Any) -> Account:
        acc = self.state.accounts.get(member_id)
        if acc is None:
            await self.members._fail(
                context, grpc.StatusCode.FAILED_PRECONDITION, "dues_no_standard",
                "尚未登记党费标准 (declare the member's dues standard first)", "member_id",
            )  # fmt: skip
        assert acc is not None
        return acc

    def _account_pb(self, member_id: str, acc: Account) -> dpb.DuesAccount:
        owed = max(0, _current() - acc.paid_through)
        return dpb.DuesAccount(
            member_id=member_id,
            start_month=_fmt(acc.start),
            paid_through=_fmt(acc.paid_through) if acc.paid_through >= acc.start else "",
            first_unpaid_month=_fmt(acc.paid_through + 1),
            months_owed=owed,
            amount_owed_fen=owed * acc.monthly_fen,
            current_month=_fmt(_current()),
        )

    def _standard_pb(self, member_id: str, acc: Account, reveal: bool) -> dpb.DuesStandard:
        rated = acc.group in (dpb.DUES_GROUP_EMPLOYED, dpb.DUES_GROUP_RETIRED)
        msg = dpb.DuesStandard(
            member_id=member_id,
            effective_month=_fmt(acc.start),
            group=acc.group,  # type: ignore[arg-type]
            declared_base_fen=acc.base_fen if reveal else 0,
            base_revealed=reveal and rated,
            monthly_fen=acc.monthly_fen,
            rate_per_mille=acc.monthly_fen * 1000 // acc.base_fen if rated else 0,
            rate_rule=dpb.DuesRule(
                key="dues.rate.employed" if rated else "dues.rate.fixed_monthly_fen",
                value_json='[{"per_mille":5,"up_to_yuan":3000}]', citation=CITATION,
                source=rules_pb2.RULE_SOURCE_NATIONAL,
            ),
            explanation="fake",
            created_by=acc.standard_by,
            created_at=_now(),
        )  # fmt: skip
        if rated:
            msg.rounding_rule.CopyFrom(dpb.DuesRule(
                key="dues.amount.rounding", value_json='{"min_fen":1,"mode":"half_up","step_fen":1}',
                citation="平台默认", source=rules_pb2.RULE_SOURCE_NATIONAL))  # fmt: skip
        return msg

    # ---- RPCs ----

    async def SetStandard(self, request: dpb.SetStandardRequest, context: Any) -> Any:
        caller, tenant = await self._caller("SetStandard", request, context)
        await self._member(caller, tenant, request.member_id, context)
        fail = self.members._fail
        if request.group not in dpb.DuesGroup.values() or request.group == 0:
            await fail(context, grpc.StatusCode.INVALID_ARGUMENT, "dues_unknown_group",
                       "党费分类无效 (unknown group)", "group")  # fmt: skip
        rated = request.group in (dpb.DUES_GROUP_EMPLOYED, dpb.DUES_GROUP_RETIRED)
        if rated and request.declared_base_fen <= 0:
            await fail(context, grpc.StatusCode.INVALID_ARGUMENT, "dues_invalid_base",
                       "申报收入须为正数 (the declared monthly base must be positive)",
                       "declared_base")  # fmt: skip
        if not rated and request.declared_base_fen:
            await fail(context, grpc.StatusCode.INVALID_ARGUMENT, "dues_base_not_used",
                       "按固定标准交纳 (fixed amount: declare no base)", "declared_base")  # fmt: skip
        if rated:
            per_mille = next(
                p for up, p in EMPLOYED if up is None or request.declared_base_fen <= up
            )
            monthly = (request.declared_base_fen * per_mille * 2 + 1000) // 2000  # half up
        else:
            monthly = 20
        start = _index(request.effective_month) if request.effective_month else _current()
        old = self.state.accounts.get(request.member_id)
        acc = Account(request.group, request.declared_base_fen, monthly,
                      old.start if old else start,
                      old.paid_through if old else start - 1, caller.user_id)  # fmt: skip
        self.state.accounts[request.member_id] = acc
        return dpb.SetStandardResponse(
            standard=self._standard_pb(request.member_id, acc, True),
            account=self._account_pb(request.member_id, acc),
        )

    async def GetStandard(self, request: dpb.GetStandardRequest, context: Any) -> Any:
        caller, tenant = await self._caller("GetStandard", request, context)
        await self._member(caller, tenant, request.member_id, context)
        acc = self.state.accounts.get(request.member_id)
        if acc is None:
            await self.members._fail(context, grpc.StatusCode.NOT_FOUND, "dues_no_standard",
                                     "尚未登记党费标准 (no dues standard declared)")  # fmt: skip
        assert acc is not None
        return dpb.GetStandardResponse(
            standard=self._standard_pb(request.member_id, acc, request.reveal)
        )

    async def GetMemberDues(self, request: dpb.GetMemberDuesRequest, context: Any) -> Any:
        caller, tenant = await self._caller("GetMemberDues", request, context)
        m = await self._member(caller, tenant, request.member_id, context)
        out = dpb.GetMemberDuesResponse(member_name=m.profile.name,
                                        organization_id=m.organization_id)  # fmt: skip
        acc = self.state.accounts.get(request.member_id)
        if acc:
            out.account.CopyFrom(self._account_pb(request.member_id, acc))
            out.standard.CopyFrom(self._standard_pb(request.member_id, acc, False))
        out.hardships.extend(
            h for h in self.state.hardships.values() if h.member_id == request.member_id
        )
        return out

    async def RecordPayment(self, request: dpb.RecordPaymentRequest, context: Any) -> Any:
        caller, tenant = await self._caller("RecordPayment", request, context)
        m = await self._member(caller, tenant, request.member_id, context)
        acc = await self._account(request.member_id, context)
        fail = self.members._fail
        first = _index(request.first_month)
        last = _index(request.last_month) if request.last_month else first
        if first <= acc.paid_through:
            await fail(context, grpc.StatusCode.ALREADY_EXISTS, "dues_month_already_paid",
                       f"{_fmt(first)} 已交纳或已免交 (already paid or waived)",
                       "first_month")  # fmt: skip
        if first != acc.paid_through + 1:
            await fail(context, grpc.StatusCode.FAILED_PRECONDITION, "dues_month_order",
                       f"请从 {_fmt(acc.paid_through + 1)} 起登记 (dues are paid in month order)",
                       "first_month")  # fmt: skip
        due = (last - first + 1) * acc.monthly_fen
        if request.amount_fen < due:
            await fail(context, grpc.StatusCode.INVALID_ARGUMENT, "dues_amount_short",
                       f"金额不足：应交 {due // 100}.{due % 100:02d} 元 (the amount is short)",
                       "amount")  # fmt: skip
        acc.paid_through = last
        payment = dpb.DuesPayment(
            id=f"p{len(self.state.payments) + 1}", member_id=m.id, member_name=m.profile.name,
            first_month=_fmt(first), last_month=_fmt(last), months=last - first + 1,
            amount_fen=request.amount_fen, due_fen=due,
            paid_on=request.paid_on or date.today().isoformat(), method=request.method,
            receipt_number=request.receipt_number, recorded_by=caller.user_id,
            recorded_at=_now(),
        )  # fmt: skip
        self.state.payments.append(payment)
        return dpb.RecordPaymentResponse(
            payment=payment, account=self._account_pb(request.member_id, acc)
        )

    async def ListPayments(self, request: dpb.ListPaymentsRequest, context: Any) -> Any:
        caller, tenant = await self._caller("ListPayments", request, context)
        if request.member_id:
            await self._member(caller, tenant, request.member_id, context)
        store = self.members.store
        items = [
            p for p in self.state.payments
            if (not request.member_id or p.member_id == request.member_id)
            and store.members[p.member_id].tenant_id == tenant
            and self.members._in_scope(caller, store.members[p.member_id].organization_id)
        ]  # fmt: skip
        chunk, nxt = self.members._page(items, request.page_size, request.page_token)
        return dpb.ListPaymentsResponse(payments=chunk, next_page_token=nxt)

    async def RequestHardship(self, request: dpb.RequestHardshipRequest, context: Any) -> Any:
        caller, tenant = await self._caller("RequestHardship", request, context)
        await self._member(caller, tenant, request.member_id, context)
        await self._account(request.member_id, context)
        h = dpb.DuesHardship(
            id=f"01a00000-0000-7000-8000-{len(self.state.hardships) + 1:012d}",
            member_id=request.member_id, first_month=request.first_month,
            last_month=request.last_month, waived=request.waived,
            reduced_monthly_fen=request.reduced_monthly_fen,
            status=dpb.DUES_HARDSHIP_STATUS_REQUESTED, requested_by=caller.user_id,
            requested_at=_now(), reason=request.reason,
        )  # fmt: skip
        self.state.hardships[h.id] = h
        return dpb.RequestHardshipResponse(hardship=h)

    async def ApproveHardship(self, request: dpb.ApproveHardshipRequest, context: Any) -> Any:
        caller, tenant = await self._caller("ApproveHardship", request, context)
        h = self.state.hardships.get(request.id)
        if h is None:
            await self.members._fail(context, grpc.StatusCode.NOT_FOUND, "dues_hardship_not_found",
                                     "困难减免申请不存在 (hardship decision not found)")  # fmt: skip
        assert h is not None
        await self._member(caller, tenant, h.member_id, context)
        if h.requested_by == caller.user_id:
            await self.members._fail(
                context, grpc.StatusCode.PERMISSION_DENIED, "dues_approver_is_requester",
                "申请人不能自己审批 (the next level approves: not the person who asked)",
            )  # fmt: skip
        h.status = (
            dpb.DUES_HARDSHIP_STATUS_APPROVED if request.approved
            else dpb.DUES_HARDSHIP_STATUS_REJECTED
        )  # fmt: skip
        h.decided_by = caller.user_id
        h.decided_at.CopyFrom(_now())
        acc = self.state.accounts[h.member_id]
        if request.approved and h.waived and _index(h.first_month) == acc.paid_through + 1:
            acc.paid_through = _index(h.last_month)
        return dpb.ApproveHardshipResponse(hardship=h, account=self._account_pb(h.member_id, acc))

    async def ListArrears(self, request: dpb.ListArrearsRequest, context: Any) -> Any:
        caller, tenant = await self._caller("ListArrears", request, context)
        svc = self.members
        if request.organization_id:
            org = svc.store.organizations.get(request.organization_id)
            if org is None or org.tenant_id != tenant or not svc._in_scope(caller, org.id):
                await svc._fail(context, grpc.StatusCode.NOT_FOUND, "organization_not_found",
                                "组织不存在 (organisation not found)", "organization_id")  # fmt: skip
        n = request.min_months or 3
        rows = []
        for mid, acc in sorted(self.state.accounts.items(), key=lambda kv: kv[1].paid_through):
            m = svc.store.members[mid]
            owed = _current() - acc.paid_through
            if m.tenant_id == tenant and svc._in_scope(caller, m.organization_id) and owed >= n:
                org = svc.store.organizations[m.organization_id]
                rows.append(dpb.DuesArrears(
                    member_id=mid, member_name=m.profile.name, organization_id=org.id,
                    organization_name=org.name, first_unpaid_month=_fmt(acc.paid_through + 1),
                    months_owed=owed, amount_owed_fen=owed * acc.monthly_fen,
                    flag_months=6 if owed >= 6 else 3,
                ))  # fmt: skip
        chunk, nxt = svc._page(rows, request.page_size, request.page_token)
        return dpb.ListArrearsResponse(
            arrears=chunk, next_page_token=nxt, total=len(rows), min_months=n,
            flag_rule=dpb.DuesRule(key="dues.arrears.flag_months", value_json="[6,3]",
                                   citation=FLAGS, source=rules_pb2.RULE_SOURCE_NATIONAL),
            current_month=_fmt(_current()),
        )  # fmt: skip

    async def ListMonthRoll(self, request: dpb.ListMonthRollRequest, context: Any) -> Any:
        caller, tenant = await self._caller("ListMonthRoll", request, context)
        svc = self.members
        month = _index(request.month) if request.month else _current()
        entries = []
        for m in svc.store.members.values():
            if m.tenant_id != tenant or not svc._in_scope(caller, m.organization_id):
                continue
            acc = self.state.accounts.get(m.id)
            if acc is None:
                status, due = dpb.DUES_MONTH_STATUS_NO_STANDARD, 0
            elif month <= acc.paid_through:
                status, due = dpb.DUES_MONTH_STATUS_PAID, acc.monthly_fen
            else:
                status, due = dpb.DUES_MONTH_STATUS_UNPAID, acc.monthly_fen
            entries.append(dpb.DuesMonthEntry(member_id=m.id, member_name=m.profile.name,
                                              organization_id=m.organization_id, status=status,
                                              due_fen=due))  # fmt: skip
        chunk, nxt = svc._page(entries, request.page_size, request.page_token)
        paid = [e for e in entries if e.status == dpb.DUES_MONTH_STATUS_PAID]
        return dpb.ListMonthRollResponse(
            month=_fmt(month), entries=chunk, next_page_token=nxt, members=len(entries),
            paid_members=len(paid),
            unpaid_members=sum(e.status == dpb.DUES_MONTH_STATUS_UNPAID for e in entries),
            due_fen_total=sum(e.due_fen for e in entries),
            paid_fen_total=sum(e.due_fen for e in paid),
        )  # fmt: skip


def add_dues_fake(server: grpc.aio.Server, members: Any) -> FakeDuesService:
    fake = FakeDuesService(members)
    member_dues_pb2_grpc.add_DuesServiceServicer_to_server(fake, server)
    return fake
