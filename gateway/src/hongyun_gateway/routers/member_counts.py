"""GET /api/v1/members/counts — 党员统计: members of a subtree by 党籍 status and category.

Inside the caller's data scope (an organisation outside it is 404, like absent); the numbers
come from rollups kept by the member service (docs/adr/0013). Registered before the members
router: "/counts" is not a member id.
"""

from __future__ import annotations

import uuid
from typing import Annotated

import grpc
from fastapi import APIRouter, Query, Response
from hongyun.member.v1 import member_stats_pb2 as spb

from hongyun_gateway.auth import TenantCaller
from hongyun_gateway.private_responses import NO_STORE
from hongyun_gateway.problems import problem_from_rpc_error, problem_responses
from hongyun_gateway.schemas.member_counts import MemberCounts
from hongyun_gateway.state import Members

router = APIRouter(prefix="/api/v1/members", tags=["members 党员"])


@router.get(
    "/counts",
    response_model=MemberCounts,
    summary="党员统计 Member counts of a subtree by 党籍 status and category",
    description=(
        "Counts of the members of `organization_id`'s subtree (default: your whole data scope) by"
        " 党籍 status and by category, and how many are flagged 失联 or 流动. Counts only: no"
        " personal data."
    ),
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def count_members(
    caller: TenantCaller,
    members: Members,
    response: Response,
    organization_id: Annotated[
        uuid.UUID | None, Query(description="Subtree root 组织（含下级）")
    ] = None,
) -> MemberCounts:
    request = spb.CountMembersRequest(organization_id=str(organization_id or ""))
    try:
        resp = await members.count_members(caller, request)
    except grpc.aio.AioRpcError as exc:
        raise problem_from_rpc_error(exc) from exc
    response.headers.update(NO_STORE)
    return MemberCounts.from_proto(resp)
