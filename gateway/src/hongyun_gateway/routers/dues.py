"""/api/v1/dues — 党费 Party dues (docs/adr/0017): a member's standard computed from the declared
base by the rule brackets, hardship decisions, recorded payments, arrears per organisation and a
month's roll. Money is a decimal string in yuan ("12.50"); months are "YYYY-MM".

Tenant admins act on their tenant, secretaries inside their subtree: a member or organisation
outside it is 404, like one that does not exist. Refusals are problem+json with a stable `code`
(e.g. 409 `dues_month_already_paid`, 409 `dues_month_order`, 422 `dues_amount_short`).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status
from hongyun.member.v1 import member_dues_pb2 as dpb
from hongyun.member.v1 import member_dues_pb2_grpc
from hongyun_platform.grpc.context import CallerContext

from hongyun_gateway.auth import TenantCaller
from hongyun_gateway.member_client import MemberClient
from hongyun_gateway.pagination import PageParams, encode_cursor, page_params
from hongyun_gateway.private_responses import NO_STORE
from hongyun_gateway.problems import problem_responses
from hongyun_gateway.schemas.dues import (
    DuesAccountRead,
    DuesArrearsPage,
    DuesArrearsRead,
    DuesHardshipDecisionRead,
    DuesHardshipRead,
    DuesHardshipWrite,
    DuesMonthRollRead,
    DuesPaymentPage,
    DuesPaymentRead,
    DuesPaymentRecordedRead,
    DuesPaymentWrite,
    DuesRuleRead,
    DuesStandardRead,
    DuesStandardSetRead,
    DuesStandardWrite,
    MemberDuesRead,
    Month,
)
from hongyun_gateway.state import Members

router = APIRouter(prefix="/api/v1/dues", tags=["党费 Party dues"])


async def _call(members: MemberClient, caller: CallerContext, rpc: str, request: Any) -> Any:
    """One DuesService call on the shared channel, with the caller's identity and a deadline."""
    stub = member_dues_pb2_grpc.DuesServiceStub(members.channel)
    return await getattr(stub, rpc)(
        request, metadata=caller.to_metadata(), timeout=members.deadline_seconds
    )


@router.put(
    "/members/{member_id}/standard",
    response_model=DuesStandardSetRead,
    summary="登记党费标准 Declare a member's dues group and monthly base",
    description="Computes the monthly amount from the rule of the group (`dues.rate.employed`: "
    "after-tax wage ≤3000 元 0.5%, ≤5000 1%, ≤10000 1.5%, above 2%, upper bounds inclusive; "
    "`dues.rate.retired`; `dues.rate.fixed_monthly_fen` for farmers, students, the unemployed "
    "and 低保) and `dues.amount.rounding`, and answers with the rule and citation used. "
    "Declaring the same month again replaces it. The declared base is personal data: stored "
    "encrypted and shown only with `reveal` (audited).",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def set_standard(
    member_id: uuid.UUID, body: DuesStandardWrite, caller: TenantCaller, members: Members,
    response: Response,
) -> DuesStandardSetRead:  # fmt: skip
    resp = await _call(members, caller, "SetStandard", body.to_proto(str(member_id)))
    response.headers.update(NO_STORE)
    return DuesStandardSetRead(
        standard=DuesStandardRead.from_proto(resp.standard),
        account=DuesAccountRead.from_proto(resp.account),
    )


@router.get(
    "/members/{member_id}/standard",
    response_model=DuesStandardRead,
    summary="党费标准 The standard in force in a month",
    description="`reveal=true` shows the declared base (tenant admins and secretaries; audited "
    "with `reason`).",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def get_standard(
    member_id: uuid.UUID,
    caller: TenantCaller,
    members: Members,
    response: Response,
    month: Annotated[Month | None, Query(description="YYYY-MM; default this month")] = None,
    reveal: bool = False,
    reason: Annotated[str, Query(max_length=500)] = "",
) -> DuesStandardRead:
    resp = await _call(members, caller, "GetStandard", dpb.GetStandardRequest(
        member_id=str(member_id), month=month or "", reveal=reveal, reason=reason))  # fmt: skip
    response.headers.update(NO_STORE)
    return DuesStandardRead.from_proto(resp.standard)


@router.get(
    "/members/{member_id}",
    response_model=MemberDuesRead,
    summary="党员党费情况 A member's dues: standard, paid through, months and amount owed",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def member_dues(
    member_id: uuid.UUID, caller: TenantCaller, members: Members, response: Response
) -> MemberDuesRead:
    resp = await _call(members, caller, "GetMemberDues",
                       dpb.GetMemberDuesRequest(member_id=str(member_id)))  # fmt: skip
    response.headers.update(NO_STORE)
    return MemberDuesRead.from_proto(str(member_id), resp)


@router.post(
    "/members/{member_id}/payments",
    response_model=DuesPaymentRecordedRead,
    status_code=status.HTTP_201_CREATED,
    summary="登记党费缴纳 Record a payment",
    description="Months are paid in order from the first unpaid month (409 `dues_month_order`); "
    "a month already paid or waived is 409 `dues_month_already_paid`; less than the months cost "
    "is 422 `dues_amount_short` (more is a voluntary extra); at most "
    "`dues.payment.max_months_ahead` months ahead (422 `dues_month_too_far`).",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def record_payment(
    member_id: uuid.UUID, body: DuesPaymentWrite, caller: TenantCaller, members: Members
) -> DuesPaymentRecordedRead:
    resp = await _call(members, caller, "RecordPayment", body.to_proto(str(member_id)))
    return DuesPaymentRecordedRead(
        payment=DuesPaymentRead.from_proto(resp.payment),
        account=DuesAccountRead.from_proto(resp.account),
    )


@router.get(
    "/payments",
    response_model=DuesPaymentPage,
    summary="缴费记录 Payments of a member or of an organisation subtree",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def list_payments(
    caller: TenantCaller,
    members: Members,
    page: Annotated[PageParams, Depends(page_params)],
    member_id: Annotated[uuid.UUID | None, Query(description="One member")] = None,
    organization_id: Annotated[
        uuid.UUID | None, Query(description="Subtree root; default your whole scope")
    ] = None,
) -> DuesPaymentPage:
    resp = await _call(members, caller, "ListPayments", dpb.ListPaymentsRequest(
        member_id=str(member_id or ""), organization_id=str(organization_id or ""),
        page_size=page.limit, page_token=page.page_token))  # fmt: skip
    return DuesPaymentPage(
        items=[DuesPaymentRead.from_proto(p) for p in resp.payments],
        next_cursor=encode_cursor(resp.next_page_token),
    )


@router.post(
    "/members/{member_id}/hardships",
    response_model=DuesHardshipRead,
    status_code=status.HTTP_201_CREATED,
    summary="困难党员减免党费 The branch's decision to reduce or waive dues",
    description="Takes effect when the next level approves it "
    "(`POST /api/v1/dues/hardships/{id}:approve`). The reason is stored encrypted.",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def request_hardship(
    member_id: uuid.UUID, body: DuesHardshipWrite, caller: TenantCaller, members: Members
) -> DuesHardshipRead:
    resp = await _call(members, caller, "RequestHardship", body.to_proto(str(member_id)))
    return DuesHardshipRead.from_proto(resp.hardship)


async def _decide(
    hardship_id: uuid.UUID, approved: bool, caller: CallerContext, members: MemberClient
) -> DuesHardshipDecisionRead:
    resp = await _call(members, caller, "ApproveHardship",
                       dpb.ApproveHardshipRequest(id=str(hardship_id), approved=approved))  # fmt: skip
    return DuesHardshipDecisionRead(
        hardship=DuesHardshipRead.from_proto(resp.hardship),
        account=DuesAccountRead.from_proto(resp.account),
    )


_DECIDE_NOTE = (
    "The next level decides: a tenant admin, or a secretary of an organisation above the one "
    "that decided — never the person who asked (403 `dues_approver_is_requester`, "
    "`dues_approval_level`)."
)


@router.post(
    "/hardships/{hardship_id}:approve",
    response_model=DuesHardshipDecisionRead,
    summary="审批困难减免 Approve a hardship decision",
    description=_DECIDE_NOTE,
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def approve_hardship(
    hardship_id: uuid.UUID, caller: TenantCaller, members: Members
) -> DuesHardshipDecisionRead:
    return await _decide(hardship_id, True, caller, members)


@router.post(
    "/hardships/{hardship_id}:reject",
    response_model=DuesHardshipDecisionRead,
    summary="驳回困难减免 Reject a hardship decision",
    description=_DECIDE_NOTE,
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def reject_hardship(
    hardship_id: uuid.UUID, caller: TenantCaller, members: Members
) -> DuesHardshipDecisionRead:
    return await _decide(hardship_id, False, caller, members)


@router.get(
    "/arrears",
    response_model=DuesArrearsPage,
    summary="欠缴党费名单 Members behind with dues in a subtree",
    description="Members owing at least `min_months` (default: the smallest threshold of "
    "`dues.arrears.flag_months`, 3 nationally; 6 = 党章第九条), longest owed first, with the "
    "months and amount owed.",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def list_arrears(
    caller: TenantCaller,
    members: Members,
    page: Annotated[PageParams, Depends(page_params)],
    organization_id: Annotated[
        uuid.UUID | None, Query(description="Subtree root; default your whole scope")
    ] = None,
    min_months: Annotated[int, Query(ge=0, le=1200, description="0 = the smallest flag")] = 0,
) -> DuesArrearsPage:
    resp = await _call(members, caller, "ListArrears", dpb.ListArrearsRequest(
        organization_id=str(organization_id or ""), min_months=min_months,
        page_size=page.limit, page_token=page.page_token))  # fmt: skip
    return DuesArrearsPage(
        items=[DuesArrearsRead.from_proto(a) for a in resp.arrears],
        next_cursor=encode_cursor(resp.next_page_token),
        total=resp.total,
        min_months=resp.min_months,
        flag_rule=DuesRuleRead.from_proto(resp.flag_rule),
        current_month=resp.current_month,
    )


@router.get(
    "/roll",
    response_model=DuesMonthRollRead,
    summary="党费月度收缴表 A month's roll of a subtree: each member's due and whether paid",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def month_roll(
    caller: TenantCaller,
    members: Members,
    page: Annotated[PageParams, Depends(page_params)],
    organization_id: Annotated[
        uuid.UUID | None, Query(description="Subtree root; default your whole scope")
    ] = None,
    month: Annotated[Month | None, Query(description="YYYY-MM; default this month")] = None,
) -> DuesMonthRollRead:
    resp = await _call(members, caller, "ListMonthRoll", dpb.ListMonthRollRequest(
        organization_id=str(organization_id or ""), month=month or "", page_size=page.limit,
        page_token=page.page_token))  # fmt: skip
    return DuesMonthRollRead.from_proto(resp, encode_cursor(resp.next_page_token))
