"""/api/v1/members — 党员档案 (the member archive).

Optimistic concurrency: responses carry ``ETag: "<version>"``; PATCH needs
``If-Match: "<version>"`` (``*`` = overwrite whatever is stored) and answers 412 when the
member changed meanwhile. Personal data (ID number, phones, address) comes back masked unless
``?reveal=true&reason=...`` and the service allows it; member responses are never cached.
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated

import grpc
from fastapi import APIRouter, Depends, Header, Query, Response, status
from hongyun.member.v1 import member_pb2 as pb

from hongyun_gateway.auth import TenantCaller
from hongyun_gateway.enums import MemberCategory, PartyStatus
from hongyun_gateway.enums import to_proto as enum_to_proto
from hongyun_gateway.pagination import PageParams, encode_cursor, page_params
from hongyun_gateway.private_responses import NO_STORE
from hongyun_gateway.problems import (
    ERROR_CODE_METADATA,
    ProblemError,
    metadata_value,
    problem_from_rpc_error,
    problem_responses,
    validation_problem,
)
from hongyun_gateway.reveal import reveal_reason
from hongyun_gateway.schemas.members import MemberCreate, MemberPage, MemberRead, MemberUpdate
from hongyun_gateway.state import Members

router = APIRouter(prefix="/api/v1/members", tags=["members 党员"])

_ETAG = re.compile(r'^(?:W/)?"?(\d{1,18})"?$')
VERSION_CONFLICT = "version_conflict"


def _etag(version: int) -> str:
    return f'"{version}"'


def _personal(response: Response, member: MemberRead) -> MemberRead:
    response.headers.update(NO_STORE)
    response.headers["ETag"] = _etag(member.version)
    return member


def parse_if_match(value: str | None) -> int:
    """If-Match → expected_version (0 = no check, for "*"). Missing → 428."""
    if value is None:
        raise ProblemError(
            428,
            "precondition_required",
            '修改需要 If-Match 请求头 (send If-Match: "<version>" from the ETag; * to overwrite)',
        )
    value = value.strip()
    if value == "*":
        return 0
    match = _ETAG.match(value)
    if not match or int(match.group(1)) < 1:
        raise validation_problem(
            [
                {
                    "field": "If-Match",
                    "message": 'If-Match 应为 "<version>" (one ETag as returned, or *)',
                    "reason": "invalid_etag",
                }
            ]
        )
    return int(match.group(1))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=MemberRead,
    summary="新增党员 Create a member",
    responses=problem_responses(400, 401, 403, 404, 409, 422, 503),
)
async def create_member(
    body: MemberCreate, caller: TenantCaller, members: Members, response: Response
) -> MemberRead:
    resp = await members.create_member(caller, body.to_proto())
    response.headers["Location"] = f"{router.prefix}/{resp.member.id}"
    return _personal(response, MemberRead.from_proto(resp.member))


@router.get(
    "",
    response_model=MemberPage,
    summary="党员列表 List members (a subtree; filters by party status and category)",
    responses=problem_responses(400, 401, 403, 404, 422, 503),
)
async def list_members(
    caller: TenantCaller,
    members: Members,
    response: Response,
    page: Annotated[PageParams, Depends(page_params)],
    organization_id: Annotated[
        uuid.UUID | None, Query(description="Subtree root 组织（含下级）")
    ] = None,
    party_status: Annotated[PartyStatus | None, Query(description="党籍状态")] = None,
    category: Annotated[MemberCategory | None, Query(description="人员类别")] = None,
) -> MemberPage:
    resp = await members.list_members(
        caller,
        pb.ListMembersRequest(
            organization_id=str(organization_id or ""),
            page_size=page.limit,
            page_token=page.page_token,
            party_status=enum_to_proto(party_status, PartyStatus),
            category=enum_to_proto(category, MemberCategory),
        ),
    )
    response.headers.update(NO_STORE)
    return MemberPage(
        items=[MemberRead.from_proto(m) for m in resp.members],
        next_cursor=encode_cursor(resp.next_page_token),
    )


@router.get(
    "/{member_id}",
    response_model=MemberRead,
    summary="党员详情 Get a member (reveal=true shows personal data in full; audited)",
    responses=problem_responses(400, 401, 403, 404, 422, 503),
)
async def get_member(
    member_id: uuid.UUID,
    caller: TenantCaller,
    members: Members,
    response: Response,
    reveal: Annotated[bool, Query(description="显示完整个人信息 show personal data")] = False,
    reason: Annotated[
        str | None, Query(max_length=200, description="查看理由 why (required with reveal)")
    ] = None,
) -> MemberRead:
    why = reveal_reason(reveal, reason)
    resp = await members.get_member(
        caller, pb.GetMemberRequest(id=str(member_id), reveal=reveal, reveal_reason=why)
    )
    return _personal(response, MemberRead.from_proto(resp.member))


@router.patch(
    "/{member_id}",
    response_model=MemberRead,
    summary="修改党员信息 Update a member (changed fields only; If-Match required)",
    responses=problem_responses(400, 401, 403, 404, 409, 412, 422, 428, 503),
    openapi_extra={
        "requestBody": {
            "content": {
                "application/merge-patch+json": {
                    "schema": {"$ref": "#/components/schemas/MemberUpdate"}
                }
            }
        }
    },
)
async def update_member(
    member_id: uuid.UUID,
    body: MemberUpdate,
    caller: TenantCaller,
    members: Members,
    response: Response,
    if_match: Annotated[
        str | None,
        Header(alias="If-Match", description='ETag of the version you edited, e.g. "3"'),
    ] = None,
) -> MemberRead:
    expected_version = parse_if_match(if_match)
    if not body.changed_fields():
        raise validation_problem(
            [
                {
                    "field": "body",
                    "message": "没有要修改的字段 (no fields to change)",
                    "reason": "empty",
                }
            ]
        )
    try:
        resp = await members.update_member(caller, body.to_proto(member_id, expected_version))
    except grpc.aio.AioRpcError as exc:
        raise (_version_conflict(exc, expected_version) or problem_from_rpc_error(exc)) from exc
    return _personal(response, MemberRead.from_proto(resp.member))


def _version_conflict(exc: grpc.aio.AioRpcError, expected_version: int) -> ProblemError | None:
    """ABORTED on a versioned update (or the service's "version_conflict" code) → 412."""
    code = metadata_value(exc.trailing_metadata(), ERROR_CODE_METADATA)
    aborted = exc.code() == grpc.StatusCode.ABORTED and expected_version > 0
    if aborted or code == VERSION_CONFLICT:
        return ProblemError(
            412,
            VERSION_CONFLICT,
            "该党员信息已被他人修改，请刷新后重试 "
            "(the member changed since you read it; reload and retry)",
        )
    return None
