"""/api/v1/relationship-transfers — 组织关系转接 by introduction letter (docs/adr/0016): fill in,
approve, issue, receive (报到), file the receipt (回执), revoke; lists of outgoing and incoming
letters; the printed three-part letter as PDF; the sibling tenants a letter may go to.

Steps are custom methods `POST /{id}:verb`. A refused step is 409 with the reason's code
(letter_state, letter_scope, letter_expired naming the validity rule and its citation,
open_letter_exists, version_conflict); a letter outside your tenant or scope is 404.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status
from hongyun.member.v1 import member_letters_pb2 as lpb
from hongyun.member.v1 import member_letters_pb2_grpc
from hongyun_platform.grpc.context import CallerContext

from hongyun_gateway.auth import TenantCaller
from hongyun_gateway.member_client import MemberClient
from hongyun_gateway.pagination import PageParams, encode_cursor, page_params
from hongyun_gateway.private_responses import NO_STORE, attachment_disposition
from hongyun_gateway.problems import problem_responses
from hongyun_gateway.schemas.relationship_transfers import (
    LetterApprove,
    LetterConfirmReceipt,
    LetterCreate,
    LetterDestinationRead,
    LetterDestinations,
    LetterDirection,
    LetterIssue,
    LetterPage,
    LetterRead,
    LetterReceive,
    LetterRevoke,
    LetterScope,
    LetterState,
    direction_to_proto,
    scope_to_proto,
    state_to_proto,
)
from hongyun_gateway.state import Members

router = APIRouter(
    prefix="/api/v1/relationship-transfers", tags=["组织关系转接 Relationship transfers"]
)

_PDF = {"description": "三联介绍信 The three-part letter", "content": {"application/pdf": {}}}
_STEP = (
    "`expected_version` (optional) is the version you saw; if the letter changed meanwhile "
    "the answer is 409 `version_conflict`. A step the letter's state does not allow is 409 "
    "`letter_state`."
)


async def _call(members: MemberClient, caller: CallerContext, rpc: str, request: Any) -> Any:
    stub = member_letters_pb2_grpc.RelationshipTransferServiceStub(members.channel)
    return await getattr(stub, rpc)(
        request, metadata=caller.to_metadata(), timeout=members.deadline_seconds
    )


def _version(body: Any) -> int:
    return body.expected_version or 0


@router.get(
    "/destinations",
    response_model=LetterDestinations,
    summary="可转往的同级租户 Tenants a letter may be addressed to",
    description="The sibling tenants of your tenant (same parent tenant): names and codes only.",
    responses=problem_responses(401, 403, 503),
)
async def list_destinations(caller: TenantCaller, members: Members) -> LetterDestinations:
    resp = await _call(members, caller, "ListLetterDestinations",
                       lpb.ListLetterDestinationsRequest())  # fmt: skip
    return LetterDestinations(
        items=[
            LetterDestinationRead(tenant_id=d.tenant_id, name=d.name, code=d.code)
            for d in resp.destinations
        ]
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=LetterRead,
    summary="填写介绍信 Fill in an introduction letter",
    description="For a member inside your data scope; state `draft`. One open letter per "
    "member (409 `open_letter_exists`). Within a tenant name `to_organization_id`; to a "
    "sibling tenant `receiving_tenant_id`; out of the platform the `destination` as printed.",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def create_letter(
    body: LetterCreate, caller: TenantCaller, members: Members, response: Response
) -> LetterRead:
    resp = await _call(members, caller, "CreateLetter", body.to_proto())
    response.headers["Location"] = f"{router.prefix}/{resp.letter.id}"
    return LetterRead.from_proto(resp.letter)


@router.get(
    "",
    response_model=LetterPage,
    summary="介绍信列表 Outgoing and incoming letters",
    description="Inside your data scope, oldest first. `direction`: outgoing (sent from your "
    "scope) or incoming (addressed to it); both when omitted.",
    responses=problem_responses(400, 401, 403, 404, 422, 503),
)
async def list_letters(
    caller: TenantCaller,
    members: Members,
    page: Annotated[PageParams, Depends(page_params)],
    direction: Annotated[LetterDirection | None, Query(description="转出/转入")] = None,
    state: Annotated[LetterState | None, Query(description="状态")] = None,
    scope: Annotated[LetterScope | None, Query(description="转接范围")] = None,
    organization_id: Annotated[
        uuid.UUID | None, Query(description="组织（含下级）inside your scope")
    ] = None,
) -> LetterPage:
    resp = await _call(members, caller, "ListLetters", lpb.ListLettersRequest(
        direction=direction_to_proto(direction), state=state_to_proto(state),
        scope=scope_to_proto(scope), organization_id=str(organization_id or ""),
        page_size=page.limit, page_token=page.page_token,
    ))  # fmt: skip
    return LetterPage(
        items=[LetterRead.from_proto(x) for x in resp.letters],
        next_cursor=encode_cursor(resp.next_page_token),
    )


@router.get(
    "/{letter_id}",
    response_model=LetterRead,
    summary="查看介绍信 Get a letter",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def get_letter(letter_id: uuid.UUID, caller: TenantCaller, members: Members) -> LetterRead:
    resp = await _call(members, caller, "GetLetter", lpb.GetLetterRequest(id=str(letter_id)))
    return LetterRead.from_proto(resp.letter)


@router.post(
    "/{letter_id}:approve",
    response_model=LetterRead,
    summary="审批介绍信 Approve a letter (sending side)",
    description="By a tenant admin or a secretary of a superior organisation (403 "
    "`superior_required` for the member's own branch). " + _STEP,
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def approve_letter(
    letter_id: uuid.UUID, body: LetterApprove, caller: TenantCaller, members: Members
) -> LetterRead:
    resp = await _call(members, caller, "ApproveLetter", lpb.ApproveLetterRequest(
        id=str(letter_id), expected_version=_version(body)))  # fmt: skip
    return LetterRead.from_proto(resp.letter)


@router.post(
    "/{letter_id}:issue",
    response_model=LetterRead,
    summary="开具介绍信 Issue a letter: number and validity",
    description="The validity comes from the rule `transfer.letter.valid_days` in force today "
    "for the letter's scope, counted in calendar days from the day after issue; the letter "
    "keeps it. " + _STEP,
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def issue_letter(
    letter_id: uuid.UUID, body: LetterIssue, caller: TenantCaller, members: Members
) -> LetterRead:
    resp = await _call(members, caller, "IssueLetter", lpb.IssueLetterRequest(
        id=str(letter_id), expected_version=_version(body)))  # fmt: skip
    return LetterRead.from_proto(resp.letter)


@router.post(
    "/{letter_id}:receive",
    response_model=LetterRead,
    summary="报到接收 Receive the member (receiving side)",
    description="The member moves to `organization_id` in the same step: within a tenant the "
    "organisation the letter is addressed to or one below it; from a sibling tenant any "
    "organisation of yours (tenant admins). `received_member_id` is the member's record here. "
    "An expired letter is 409 `letter_expired`. " + _STEP,
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def receive_letter(
    letter_id: uuid.UUID, body: LetterReceive, caller: TenantCaller, members: Members
) -> LetterRead:
    resp = await _call(members, caller, "ReceiveLetter", lpb.ReceiveLetterRequest(
        id=str(letter_id), organization_id=str(body.organization_id),
        reported_on=body.reported_on.isoformat() if body.reported_on else "",
        expected_version=_version(body),
    ))  # fmt: skip
    return LetterRead.from_proto(resp.letter)


@router.post(
    "/{letter_id}:confirm-receipt",
    response_model=LetterRead,
    summary="回执已返回 File the returned receipt (sending side)",
    description="Inside the platform after the member was received. Out of the platform this "
    "completes the transfer with `reported_on` from the receipt (within the letter's validity): "
    "the member leaves your tenant, their archive kept. " + _STEP,
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def confirm_receipt(
    letter_id: uuid.UUID, body: LetterConfirmReceipt, caller: TenantCaller, members: Members
) -> LetterRead:
    resp = await _call(members, caller, "ConfirmReceipt", lpb.ConfirmReceiptRequest(
        id=str(letter_id), reported_on=body.reported_on.isoformat() if body.reported_on else "",
        expected_version=_version(body),
    ))  # fmt: skip
    return LetterRead.from_proto(resp.letter)


@router.post(
    "/{letter_id}:revoke",
    response_model=LetterRead,
    summary="撤销介绍信 Revoke a letter (sending side)",
    description="Before the member reported in, or to close an expired letter. " + _STEP,
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def revoke_letter(
    letter_id: uuid.UUID, body: LetterRevoke, caller: TenantCaller, members: Members
) -> LetterRead:
    resp = await _call(members, caller, "RevokeLetter", lpb.RevokeLetterRequest(
        id=str(letter_id), reason=body.reason, expected_version=_version(body)))  # fmt: skip
    return LetterRead.from_proto(resp.letter)


@router.get(
    "/{letter_id}/letter.pdf",
    summary="打印介绍信 The printed three-part letter (PDF)",
    description="存根, 介绍信 and 回执 on one A4 page, the ID number in full: sending side only, "
    "issued letters only (409 `letter_state` before). Every print is audited.",
    response_class=Response,
    responses={200: _PDF, **problem_responses(401, 403, 404, 409, 422, 503)},
)
async def print_letter(letter_id: uuid.UUID, caller: TenantCaller, members: Members) -> Response:
    resp = await _call(members, caller, "PrintLetter", lpb.PrintLetterRequest(id=str(letter_id)))
    return Response(
        content=resp.content,
        media_type=resp.content_type or "application/pdf",
        headers={**NO_STORE, "Content-Disposition": attachment_disposition(resp.file_name)},
    )
