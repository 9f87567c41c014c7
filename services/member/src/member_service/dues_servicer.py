"""gRPC transport of DuesService (docs/adr/0017): proto in, use case in one unit of work, proto
out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from hongyun.member.v1 import member_dues_pb2 as pb
from hongyun.member.v1 import member_dues_pb2_grpc, rules_pb2
from hongyun_platform.db import Database
from hongyun_platform.db.caller_uow import caller_unit_of_work
from hongyun_platform.grpc.context import CallerContext, current_caller

from member_service.domain import dues as d
from member_service.domain import rules as r
from member_service.dues import (
    AccountView,
    ArrearsView,
    Dues,
    HardshipView,
    PaymentView,
    StandardView,
)
from member_service.dues_events import GROUP_PB
from member_service.mappers import timestamp

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["DuesService"].full_name
GROUP_FROM_PB = {v: k.value for k, v in GROUP_PB.items()}
SOURCE = {
    r.RuleSource.NATIONAL.value: rules_pb2.RULE_SOURCE_NATIONAL,
    r.RuleSource.TENANT.value: rules_pb2.RULE_SOURCE_TENANT,
    r.RuleSource.INHERITED.value: rules_pb2.RULE_SOURCE_INHERITED,
}
HARDSHIP_STATUS = {
    "requested": pb.DUES_HARDSHIP_STATUS_REQUESTED,
    "approved": pb.DUES_HARDSHIP_STATUS_APPROVED,
    "rejected": pb.DUES_HARDSHIP_STATUS_REJECTED,
}
MONTH_STATUS = {
    "paid": pb.DUES_MONTH_STATUS_PAID,
    "waived": pb.DUES_MONTH_STATUS_WAIVED,
    "unpaid": pb.DUES_MONTH_STATUS_UNPAID,
    "not_due": pb.DUES_MONTH_STATUS_NOT_DUE,
    "no_standard": pb.DUES_MONTH_STATUS_NO_STANDARD,
}


def _month(m: date | None) -> str:
    return d.fmt_month(m) if m else ""


def _ts(msg: Any, name: str, value: datetime | None) -> None:
    if value is not None:
        getattr(msg, name).CopyFrom(timestamp(value))


def rule_pb(key: str, value: Any, citation: str, source: str) -> pb.DuesRule:
    return pb.DuesRule(
        key=key,
        value_json=r.dump_value(value),
        citation=citation,
        source=SOURCE.get(source, rules_pb2.RULE_SOURCE_UNSPECIFIED),
    )


def standard_pb(v: StandardView) -> pb.DuesStandard:
    row = v.row
    msg = pb.DuesStandard(
        member_id=str(row.member_id),
        effective_month=_month(row.effective_month),
        group=GROUP_PB[v.group],
        declared_base_fen=v.base_fen or 0,
        base_revealed=v.base_fen is not None,
        monthly_fen=row.monthly_fen,
        rate_per_mille=row.rate_per_mille or 0,
        rate_rule=rule_pb(row.rule_key, row.rule_value, row.rule_citation, row.rule_source),
        explanation=v.explanation,
        created_by=row.created_by,
    )
    if v.group.rated:
        msg.rounding_rule.CopyFrom(
            rule_pb(
                "dues.amount.rounding", row.rounding_value, row.rounding_citation,
                row.rounding_source,
            )
        )  # fmt: skip
    _ts(msg, "created_at", row.created_at)
    return msg


def account_pb(a: AccountView) -> pb.DuesAccount:
    return pb.DuesAccount(
        member_id=str(a.member_id),
        start_month=_month(a.start_month),
        paid_through=_month(a.paid_through),
        first_unpaid_month=_month(a.first_unpaid),
        months_owed=a.months_owed,
        amount_owed_fen=a.amount_owed_fen,
        current_month=_month(a.current_month),
        open_flags=a.open_flags,
    )


def hardship_pb(v: HardshipView) -> pb.DuesHardship:
    h = v.row
    msg = pb.DuesHardship(
        id=str(h.id),
        member_id=str(h.member_id),
        first_month=_month(h.first_month),
        last_month=_month(h.last_month),
        waived=h.waived,
        reduced_monthly_fen=h.reduced_fen or 0,
        status=HARDSHIP_STATUS[h.status],
        requested_by=h.requested_by,
        decided_by=h.decided_by,
        reason=v.reason,
    )
    _ts(msg, "requested_at", h.requested_at)
    _ts(msg, "decided_at", h.decided_at)
    return msg


def payment_pb(v: PaymentView) -> pb.DuesPayment:
    p = v.row
    msg = pb.DuesPayment(
        id=str(p.id),
        member_id=str(p.member_id),
        first_month=_month(p.first_month),
        last_month=_month(p.last_month),
        months=p.months,
        amount_fen=p.amount_fen,
        due_fen=p.due_fen,
        paid_on=p.paid_on.isoformat(),
        method=p.method,
        receipt_number=p.receipt_number,
        recorded_by=p.recorded_by,
        member_name=v.member_name,
    )
    _ts(msg, "recorded_at", p.recorded_at)
    return msg


def arrears_pb(v: ArrearsView) -> pb.DuesArrears:
    row = v.row
    return pb.DuesArrears(
        member_id=str(row.member_id),
        member_name=row.member_name,
        organization_id=str(row.organization_id),
        organization_name=row.organization_name,
        paid_through=_month(row.paid_through) if row.paid_through >= row.start_month else "",
        first_unpaid_month=_month(v.first_unpaid),
        months_owed=v.months_owed,
        amount_owed_fen=v.amount_owed_fen,
        flag_months=v.flag_months,
    )


class DuesServicer(member_dues_pb2_grpc.DuesServiceServicer):
    def __init__(self, db: Database, dues: Dues, *, after_commit: Callable[[], None]):
        self.db = db
        self.dues = dues
        self.after_commit = after_commit  # wakes the outbox relay

    def _uow(self, caller: CallerContext, *, writes: bool = True):
        return caller_unit_of_work(self.db, caller, self.after_commit, writes=writes)

    async def SetStandard(self, request: pb.SetStandardRequest, context) -> pb.SetStandardResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            standard, account = await self.dues.set_standard(
                uow, caller, member_id=request.member_id,
                group=GROUP_FROM_PB.get(request.group, ""),
                declared_base_fen=request.declared_base_fen,
                effective_month=request.effective_month,
                opening_paid_through=request.opening_paid_through,
            )  # fmt: skip
            return pb.SetStandardResponse(
                standard=standard_pb(standard), account=account_pb(account)
            )

    async def GetStandard(self, request: pb.GetStandardRequest, context) -> pb.GetStandardResponse:
        caller = current_caller()
        # A reveal writes an audit row.
        async with self._uow(caller, writes=request.reveal) as uow:
            standard = await self.dues.get_standard(
                uow, caller, member_id=request.member_id, month=request.month,
                reveal=request.reveal, reason=request.reason,
            )  # fmt: skip
            return pb.GetStandardResponse(standard=standard_pb(standard))

    async def RequestHardship(
        self, request: pb.RequestHardshipRequest, context
    ) -> pb.RequestHardshipResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            view = await self.dues.request_hardship(
                uow, caller, member_id=request.member_id, first_month=request.first_month,
                last_month=request.last_month, waived=request.waived,
                reduced_fen=request.reduced_monthly_fen, reason=request.reason,
            )  # fmt: skip
            return pb.RequestHardshipResponse(hardship=hardship_pb(view))

    async def ApproveHardship(
        self, request: pb.ApproveHardshipRequest, context
    ) -> pb.ApproveHardshipResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            view, account = await self.dues.approve_hardship(
                uow, caller, hardship_id=request.id, approved=request.approved
            )
            return pb.ApproveHardshipResponse(
                hardship=hardship_pb(view), account=account_pb(account)
            )

    async def RecordPayment(
        self, request: pb.RecordPaymentRequest, context
    ) -> pb.RecordPaymentResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            payment, account = await self.dues.record_payment(
                uow, caller, member_id=request.member_id, first_month=request.first_month,
                last_month=request.last_month, amount_fen=request.amount_fen,
                paid_on=request.paid_on, method=request.method,
                receipt_number=request.receipt_number,
            )  # fmt: skip
            return pb.RecordPaymentResponse(
                payment=payment_pb(payment), account=account_pb(account)
            )

    async def ListPayments(
        self, request: pb.ListPaymentsRequest, context
    ) -> pb.ListPaymentsResponse:
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            page = await self.dues.list_payments(
                uow, caller, member_id=request.member_id, organization_id=request.organization_id,
                page_size=request.page_size, page_token=request.page_token,
            )  # fmt: skip
            return pb.ListPaymentsResponse(
                payments=[payment_pb(p) for p in page.items], next_page_token=page.next_token
            )

    async def GetMemberDues(
        self, request: pb.GetMemberDuesRequest, context
    ) -> pb.GetMemberDuesResponse:
        caller = current_caller()
        # Showing hardship reasons writes an audit row.
        async with self._uow(caller) as uow:
            v = await self.dues.get_member_dues(uow, caller, member_id=request.member_id)
            msg = pb.GetMemberDuesResponse(
                member_name=v.member.name,
                organization_id=str(v.member.organization_id),
                hardships=[hardship_pb(h) for h in v.hardships],
            )
            if v.account:
                msg.account.CopyFrom(account_pb(v.account))
            if v.standard:
                msg.standard.CopyFrom(standard_pb(v.standard))
            return msg

    async def ListArrears(self, request: pb.ListArrearsRequest, context) -> pb.ListArrearsResponse:
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            page = await self.dues.list_arrears(
                uow, caller, organization_id=request.organization_id,
                min_months=request.min_months, page_size=request.page_size,
                page_token=request.page_token,
            )  # fmt: skip
            rule = page.flag_rule
            return pb.ListArrearsResponse(
                arrears=[arrears_pb(v) for v in page.items],
                next_page_token=page.next_token,
                total=page.total,
                min_months=page.min_months,
                flag_rule=rule_pb(rule.key, rule.value, rule.citation, rule.source.value),
                current_month=_month(page.current_month),
            )

    async def ListMonthRoll(
        self, request: pb.ListMonthRollRequest, context
    ) -> pb.ListMonthRollResponse:
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            page = await self.dues.month_roll(
                uow, caller, organization_id=request.organization_id, month=request.month,
                page_size=request.page_size, page_token=request.page_token,
            )  # fmt: skip
            t = page.totals
            return pb.ListMonthRollResponse(
                month=_month(page.month),
                entries=[
                    pb.DuesMonthEntry(
                        member_id=str(e.member_id),
                        member_name=e.member_name,
                        organization_id=str(e.organization_id),
                        status=MONTH_STATUS[e.status],
                        due_fen=e.due_fen,
                        payment_id=str(e.payment_id or ""),
                    )
                    for e in page.items
                ],
                next_page_token=page.next_token,
                members=t.members,
                paid_members=t.paid_members,
                unpaid_members=t.unpaid_members,
                due_fen_total=t.due_fen,
                paid_fen_total=t.paid_fen,
            )
