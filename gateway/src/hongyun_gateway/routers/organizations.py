"""/api/v1/organizations — 党组织 (the organisation tree of one tenant)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status
from hongyun.member.v1 import member_pb2 as pb

from hongyun_gateway.auth import TenantCaller
from hongyun_gateway.pagination import PageParams, encode_cursor, page_params
from hongyun_gateway.problems import problem_responses
from hongyun_gateway.schemas.organizations import (
    OrganizationCreate,
    OrganizationPage,
    OrganizationRead,
)
from hongyun_gateway.state import Members

router = APIRouter(prefix="/api/v1/organizations", tags=["organizations 党组织"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=OrganizationRead,
    summary="创建党组织 Create an organisation",
    responses=problem_responses(400, 401, 403, 404, 409, 422, 503),
)
async def create_organization(
    body: OrganizationCreate, caller: TenantCaller, members: Members, response: Response
) -> OrganizationRead:
    resp = await members.create_organization(caller, body.to_proto())
    response.headers["Location"] = f"{router.prefix}/{resp.organization.id}"
    return OrganizationRead.from_proto(resp.organization)


@router.get(
    "",
    response_model=OrganizationPage,
    summary="党组织列表 List organisations (a subtree; default: the caller's whole scope)",
    responses=problem_responses(400, 401, 403, 404, 422, 503),
)
async def list_organizations(
    caller: TenantCaller,
    members: Members,
    page: Annotated[PageParams, Depends(page_params)],
    root_id: Annotated[uuid.UUID | None, Query(description="Subtree root 子树根")] = None,
) -> OrganizationPage:
    resp = await members.list_organizations(
        caller,
        pb.ListOrganizationsRequest(
            root_id=str(root_id or ""), page_size=page.limit, page_token=page.page_token
        ),
    )
    return OrganizationPage(
        items=[OrganizationRead.from_proto(o) for o in resp.organizations],
        next_cursor=encode_cursor(resp.next_page_token),
    )


@router.get(
    "/{organization_id}",
    response_model=OrganizationRead,
    summary="党组织详情 Get an organisation",
    responses=problem_responses(400, 401, 403, 404, 422, 503),
)
async def get_organization(
    organization_id: uuid.UUID, caller: TenantCaller, members: Members
) -> OrganizationRead:
    resp = await members.get_organization(
        caller, pb.GetOrganizationRequest(id=str(organization_id))
    )
    return OrganizationRead.from_proto(resp.organization)
