"""GET /api/v1/due-items — 待办提醒: what is due in an organisation subtree (docs/adr/0014).

Development steps due or overdue, introduction letters about to expire, committee terms ending
and dues arrears, each with the rule and citation behind its date; computed from the records by
the member service on every call, inside the caller's data scope.
"""

from __future__ import annotations

import uuid
from typing import Annotated

import grpc
from fastapi import APIRouter, Query, Response
from hongyun.member.v1 import member_due_pb2 as dpb
from hongyun.member.v1 import member_due_pb2_grpc

from hongyun_gateway.auth import TenantCaller
from hongyun_gateway.private_responses import NO_STORE
from hongyun_gateway.problems import problem_from_rpc_error, problem_responses
from hongyun_gateway.schemas.due_items import KIND_PB, DueKind, DueView
from hongyun_gateway.state import Members

router = APIRouter(prefix="/api/v1/due-items", tags=["due 待办提醒"])


@router.get(
    "",
    response_model=DueView,
    summary="待办提醒 What is due in an organisation subtree",
    description=(
        "Everything in `organization_id`'s subtree (default: your whole data scope) that is due"
        " by a date — development steps, letters about to expire, committee terms ending, dues"
        " arrears — earliest first per kind, overdue included, with counts and the rule and"
        " citation behind each date. Branch secretaries and tenant admins."
    ),
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def list_due_items(
    caller: TenantCaller,
    members: Members,
    response: Response,
    organization_id: Annotated[
        uuid.UUID | None, Query(description="Subtree root 组织（含下级）")
    ] = None,
    kind: Annotated[
        list[DueKind] | None, Query(description="只看这些类别 Only these kinds (repeatable)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="每类最多条数 Items per kind")] = 20,
) -> DueView:
    request = dpb.ListDueRequest(
        organization_id=str(organization_id or ""),
        kinds=[KIND_PB[k] for k in kind or ()],
        limit=limit,
    )
    stub = member_due_pb2_grpc.DueServiceStub(members.channel)
    try:
        resp = await members.call(stub.ListDue, request, caller)
    except grpc.aio.AioRpcError as exc:
        raise problem_from_rpc_error(exc) from exc
    response.headers.update(NO_STORE)
    return DueView.from_proto(resp)
