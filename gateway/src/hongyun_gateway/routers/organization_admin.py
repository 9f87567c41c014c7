"""/api/v1/organizations — changes with effective dates (rename, move, merge, dissolve as custom
methods `POST /{id}:verb`), history, the tree on a past day, branch-rule warnings and committee
terms (docs/adr/0007). Registered before the plain organisations router so that `/tree` is not
taken for an id."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from hongyun.member.v1 import organization_admin_pb2 as opb

from hongyun_gateway.auth import TenantCaller
from hongyun_gateway.pagination import PageParams, encode_cursor, page_params
from hongyun_gateway.problems import problem_responses
from hongyun_gateway.schemas.common import IsoDate
from hongyun_gateway.schemas.organization_admin import (
    CommitteeTermCreate,
    CommitteeTermPage,
    CommitteeTermRead,
    MergeRead,
    MoveRead,
    OrganizationDissolve,
    OrganizationHealthRead,
    OrganizationMerge,
    OrganizationMove,
    OrganizationRename,
    OrganizationTreeRead,
    OrganizationVersionPage,
    OrganizationVersionRead,
)
from hongyun_gateway.state import Members

router = APIRouter(prefix="/api/v1/organizations", tags=["organizations 党组织"])

_CHANGE_NOTE = (
    "`effective_on` defaults to today (China time) and may not be in the future; a past date "
    "needs a `reason` and may not precede the latest recorded change of the organisations "
    "involved (409 `org_change_out_of_order`). Tenant admins act on the whole tenant; "
    "secretaries inside their subtree but never on its root (403 `scope_root_protected`)."
)


@router.get(
    "/tree",
    response_model=OrganizationTreeRead,
    summary="某日的组织树 The organisation tree as it was on a day",
    description="Every organisation active on `as_of` under the root (the root included), "
    "each with its parent id, name and depth on that day. Default root: the caller's scope "
    "(the tenant's root for admins).",
    responses=problem_responses(400, 401, 403, 404, 422, 503),
)
async def organization_tree(
    caller: TenantCaller,
    members: Members,
    page: Annotated[PageParams, Depends(page_params)],
    as_of: Annotated[IsoDate | None, Query(description="YYYY-MM-DD; default today")] = None,
    root_id: Annotated[uuid.UUID | None, Query(description="Subtree root 子树根")] = None,
    max_depth: Annotated[
        int, Query(ge=0, le=100, description="Levels below the root; 0 = all")
    ] = 0,
) -> OrganizationTreeRead:
    resp = await members.organization_tree(
        caller,
        opb.GetOrganizationTreeRequest(
            as_of=as_of.isoformat() if as_of else "",
            root_id=str(root_id or ""),
            max_depth=max_depth,
            page_size=page.limit,
            page_token=page.page_token,
        ),
    )
    return OrganizationTreeRead(
        as_of=date.fromisoformat(resp.as_of),
        root_id=resp.root_id,
        items=[OrganizationVersionRead.from_proto(v) for v in resp.organizations],
        next_cursor=encode_cursor(resp.next_page_token),
    )


@router.post(
    "/{organization_id}:rename",
    response_model=OrganizationVersionRead,
    summary="组织更名 Rename an organisation",
    description=_CHANGE_NOTE,
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def rename_organization(
    organization_id: uuid.UUID, body: OrganizationRename, caller: TenantCaller, members: Members
) -> OrganizationVersionRead:
    resp = await members.rename_organization(caller, body.to_proto(organization_id))
    return OrganizationVersionRead.from_proto(resp.organization)


@router.post(
    "/{organization_id}:move",
    response_model=MoveRead,
    summary="组织调整隶属关系 Move an organisation with its subtree",
    description=_CHANGE_NOTE + " A new parent inside the subtree is refused with 409 "
    "`org_move_cycle`.",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def move_organization(
    organization_id: uuid.UUID, body: OrganizationMove, caller: TenantCaller, members: Members
) -> MoveRead:
    resp = await members.move_organization(caller, body.to_proto(organization_id))
    return MoveRead(
        organization=OrganizationVersionRead.from_proto(resp.organization),
        moved_organizations=resp.moved_organizations,
    )


@router.post(
    "/{organization_id}:merge",
    response_model=MergeRead,
    summary="组织合并 Merge an organisation into another",
    description=_CHANGE_NOTE + " The source's members and child organisations move to the "
    "target; the source ends with status `merged`.",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def merge_organization(
    organization_id: uuid.UUID, body: OrganizationMerge, caller: TenantCaller, members: Members
) -> MergeRead:
    resp = await members.merge_organization(caller, body.to_proto(organization_id))
    return MergeRead(
        source=OrganizationVersionRead.from_proto(resp.source),
        target=OrganizationVersionRead.from_proto(resp.target),
        moved_members=resp.moved_members,
        moved_child_organizations=resp.moved_child_organizations,
    )


@router.post(
    "/{organization_id}:dissolve",
    response_model=OrganizationVersionRead,
    summary="撤销组织 Dissolve an empty organisation",
    description=_CHANGE_NOTE + " Only an organisation without members and active child "
    "organisations (otherwise 409 `org_not_empty`).",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def dissolve_organization(
    organization_id: uuid.UUID, body: OrganizationDissolve, caller: TenantCaller, members: Members
) -> OrganizationVersionRead:
    resp = await members.dissolve_organization(caller, body.to_proto(organization_id))
    return OrganizationVersionRead.from_proto(resp.organization)


@router.get(
    "/{organization_id}/history",
    response_model=OrganizationVersionPage,
    summary="组织沿革 The versions of an organisation, oldest first",
    responses=problem_responses(400, 401, 403, 404, 422, 503),
)
async def organization_history(
    organization_id: uuid.UUID,
    caller: TenantCaller,
    members: Members,
    page: Annotated[PageParams, Depends(page_params)],
) -> OrganizationVersionPage:
    resp = await members.organization_history(
        caller,
        opb.ListOrganizationHistoryRequest(
            id=str(organization_id), page_size=page.limit, page_token=page.page_token
        ),
    )
    return OrganizationVersionPage(
        items=[OrganizationVersionRead.from_proto(v) for v in resp.versions],
        next_cursor=encode_cursor(resp.next_page_token),
    )


@router.get(
    "/{organization_id}/health",
    response_model=OrganizationHealthRead,
    summary="支部规则提示 Member counts and branch-rule warnings",
    description="Warnings, never errors: each names the rule, the value that applies to the "
    "tenant and its citation.",
    responses=problem_responses(400, 401, 403, 404, 422, 503),
)
async def organization_health(
    organization_id: uuid.UUID, caller: TenantCaller, members: Members
) -> OrganizationHealthRead:
    resp = await members.organization_health(
        caller, opb.GetOrganizationHealthRequest(id=str(organization_id))
    )
    return OrganizationHealthRead.from_proto(resp)


@router.post(
    "/{organization_id}/committee-terms",
    status_code=status.HTTP_201_CREATED,
    response_model=CommitteeTermRead,
    summary="登记委员会任期 Record a committee term (换届)",
    description="The term's length comes from the rule `org.committee.term_years` in force on "
    "`started_on`; reminders follow 6 and 1 months before it ends (rule "
    "`org.committee.term_reminder_months`).",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def record_committee_term(
    organization_id: uuid.UUID, body: CommitteeTermCreate, caller: TenantCaller, members: Members
) -> CommitteeTermRead:
    resp = await members.record_committee_term(caller, body.to_proto(organization_id))
    return CommitteeTermRead.from_proto(resp.term)


@router.get(
    "/{organization_id}/committee-terms",
    response_model=CommitteeTermPage,
    summary="委员会任期列表 Committee terms, in the order recorded",
    responses=problem_responses(400, 401, 403, 404, 422, 503),
)
async def list_committee_terms(
    organization_id: uuid.UUID,
    caller: TenantCaller,
    members: Members,
    page: Annotated[PageParams, Depends(page_params)],
) -> CommitteeTermPage:
    resp = await members.list_committee_terms(
        caller,
        opb.ListCommitteeTermsRequest(
            organization_id=str(organization_id), page_size=page.limit, page_token=page.page_token
        ),
    )
    return CommitteeTermPage(
        items=[CommitteeTermRead.from_proto(t) for t in resp.terms],
        next_cursor=encode_cursor(resp.next_page_token),
    )
