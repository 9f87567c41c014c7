"""/api/v1/tenants — 租户 (deployment units: a province, a group, a subsidiary)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status
from hongyun.member.v1 import member_pb2 as pb
from hongyun_platform.grpc.context import ROLE_PLATFORM_ADMIN

from hongyun_gateway.auth import Caller, require_role
from hongyun_gateway.pagination import PageParams, encode_cursor, page_params
from hongyun_gateway.problems import problem_responses
from hongyun_gateway.schemas.tenants import TenantCreate, TenantPage, TenantRead
from hongyun_gateway.state import Members

router = APIRouter(prefix="/api/v1/tenants", tags=["tenants 租户"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TenantRead,
    summary="创建租户 Create a tenant (platform admins)",
    responses=problem_responses(401, 403, 409, 422, 503),
)
async def create_tenant(
    body: TenantCreate, caller: Caller, members: Members, response: Response
) -> TenantRead:
    require_role(caller, ROLE_PLATFORM_ADMIN)
    resp = await members.create_tenant(caller, body.to_proto())
    response.headers["Location"] = f"{router.prefix}/{resp.tenant.id}"
    return TenantRead.from_proto(resp.tenant)


@router.get(
    "",
    response_model=TenantPage,
    summary="租户列表 List tenants visible to the caller",
    responses=problem_responses(401, 403, 422, 503),
)
async def list_tenants(
    caller: Caller, members: Members, page: Annotated[PageParams, Depends(page_params)]
) -> TenantPage:
    resp = await members.list_tenants(
        caller, pb.ListTenantsRequest(page_size=page.limit, page_token=page.page_token)
    )
    return TenantPage(
        items=[TenantRead.from_proto(t) for t in resp.tenants],
        next_cursor=encode_cursor(resp.next_page_token),
    )


@router.get(
    "/{tenant_id}",
    response_model=TenantRead,
    summary="租户详情 Get a tenant",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def get_tenant(tenant_id: uuid.UUID, caller: Caller, members: Members) -> TenantRead:
    resp = await members.get_tenant(caller, pb.GetTenantRequest(id=str(tenant_id)))
    return TenantRead.from_proto(resp.tenant)
