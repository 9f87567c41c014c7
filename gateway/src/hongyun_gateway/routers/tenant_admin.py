"""/api/v1/tenants/… provisioning: child tenants with their root organisation and first admin,
suspension and resumption of a subtree, aggregates for parent tenants, and exports of a
tenant's data (docs/adr/0012)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status
from hongyun.member.v1 import tenant_admin_pb2 as tpb
from hongyun_platform.grpc.context import ROLE_PLATFORM_ADMIN, ROLE_TENANT_ADMIN

from hongyun_gateway.auth import Caller, require_role
from hongyun_gateway.identity import accounts
from hongyun_gateway.private_responses import NO_STORE
from hongyun_gateway.problems import ProblemError, problem_responses
from hongyun_gateway.reveal import exporter_label, reveal_reason
from hongyun_gateway.schemas.tenant_admin import (
    AggregatesRead,
    ProvisionedRead,
    TenantExportRead,
    TenantExportStart,
    TenantProvision,
    TenantStatusChange,
    TenantStatusChanged,
)
from hongyun_gateway.state import State

router = APIRouter(prefix="/api/v1/tenants", tags=["tenants 租户"])


@router.post(
    "/provision",
    status_code=status.HTTP_201_CREATED,
    response_model=ProvisionedRead,
    summary="开通下级租户 Provision a child tenant with its root organisation and first admin",
    description="Idempotent by `code`: repeating the call (e.g. after a timeout) finishes the "
    "work and returns 200 with `created: false`; the admin's password is set again.",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def provision_tenant(
    body: TenantProvision, caller: Caller, state: State, response: Response
) -> ProvisionedRead:
    require_role(caller, ROLE_PLATFORM_ADMIN, ROLE_TENANT_ADMIN)
    resp = await state.member_client.provision_tenant(caller, body.to_proto())
    # The member service committed the tenant; the account is upserted so a retry completes it.
    spec = accounts.AccountSpec(
        username=body.admin.username,
        password_hash=await state.passwords.hash(body.admin.password),
        roles=[ROLE_TENANT_ADMIN],
        tenant_id=uuid.UUID(resp.tenant.id),
        scope_org_id=None,
        display_name=body.admin.display_name,
    )
    async with state.identity_db.session() as session, session.begin():
        existing = await accounts.find_by_username(session, spec.username)
        if existing is not None and existing.tenant_id != spec.tenant_id:
            raise ProblemError(
                409, "username_taken", "用户名已被使用 (username already taken)",
                errors=[{"field": "admin.username", "message": "username already taken", "reason": "taken"}],
            )  # fmt: skip
        account, _ = await accounts.upsert(session, spec)
    if not resp.created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"{router.prefix}/{resp.tenant.id}"
    return ProvisionedRead.from_proto(resp, admin_account_id=account.id)


@router.post(
    "/{tenant_id}/suspend",
    response_model=TenantStatusChanged,
    summary="停用租户及其下级 Suspend a tenant and its descendants",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def suspend_tenant(
    tenant_id: uuid.UUID, body: TenantStatusChange, caller: Caller, state: State
) -> TenantStatusChanged:
    require_role(caller, ROLE_PLATFORM_ADMIN, ROLE_TENANT_ADMIN)
    resp = await state.member_client.suspend_tenant(
        caller, tpb.SuspendTenantRequest(id=str(tenant_id), reason=body.reason)
    )
    state.tenant_status.forget(list(resp.affected_tenant_ids))
    return TenantStatusChanged(affected_tenant_ids=list(resp.affected_tenant_ids))


@router.post(
    "/{tenant_id}/resume",
    response_model=TenantStatusChanged,
    summary="恢复租户及其下级 Resume a tenant and its descendants",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def resume_tenant(
    tenant_id: uuid.UUID, body: TenantStatusChange, caller: Caller, state: State
) -> TenantStatusChanged:
    require_role(caller, ROLE_PLATFORM_ADMIN, ROLE_TENANT_ADMIN)
    resp = await state.member_client.resume_tenant(
        caller, tpb.ResumeTenantRequest(id=str(tenant_id), reason=body.reason)
    )
    state.tenant_status.forget(list(resp.affected_tenant_ids))
    return TenantStatusChanged(affected_tenant_ids=list(resp.affected_tenant_ids))


@router.get(
    "/{tenant_id}/aggregates",
    response_model=AggregatesRead,
    summary="租户及下级汇总 Aggregates (counts only) for a tenant and its descendants",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def tenant_aggregates(tenant_id: uuid.UUID, caller: Caller, state: State) -> AggregatesRead:
    require_role(caller, ROLE_PLATFORM_ADMIN, ROLE_TENANT_ADMIN)
    resp = await state.member_client.tenant_aggregates(
        caller, tpb.GetTenantAggregatesRequest(id=str(tenant_id))
    )
    return AggregatesRead.from_proto(resp)


# ---- data exports (docs/adr/0012) ----


@router.post(
    "/{tenant_id}/exports",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=TenantExportRead,
    summary="导出租户数据 Start an export of a tenant's data (a .zip built in the background)",
    description=(
        "Tenant admins of the tenant or of an ancestor tenant, and platform admins. The .zip "
        "holds manifest.json (tenant, exporter, time, watermark, every file's row count and "
        "SHA-256), and per tenant organisations, their history and committee terms, and members "
        "with their whole archive as JSON Lines, plus the members in the national 16-item "
        "template (.xlsx). `include_descendants` adds every descendant tenant. Personal data is "
        "masked unless `reveal` with a `reason` — only the tenant's own admins may reveal (an "
        "ancestor's admins and platform admins get masked data; 403 `reveal_not_allowed`). Every export is audited in each exported tenant and carries a "
        "watermark naming the exporter. Answers 202 with the job; poll `GET …/exports/{id}` "
        "for progress and, once it has succeeded, a short-lived download URL. Starting the same "
        "export again while it runs returns the running one."
    ),
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def start_tenant_export(
    tenant_id: uuid.UUID,
    body: TenantExportStart,
    caller: Caller,
    state: State,
    response: Response,
) -> TenantExportRead:
    require_role(caller, ROLE_PLATFORM_ADMIN, ROLE_TENANT_ADMIN)
    why = reveal_reason(body.reveal, body.reason, export=True)
    resp = await state.member_client.start_tenant_export(
        caller,
        tpb.StartTenantExportRequest(
            tenant_id=str(tenant_id),
            include_descendants=body.include_descendants,
            reveal=body.reveal,
            reveal_reason=why,
            exporter_label=await exporter_label(state, caller),
        ),
    )
    export = TenantExportRead.from_proto(resp.export)
    response.headers["Location"] = f"{router.prefix}/{tenant_id}/exports/{export.id}"
    response.headers.update(NO_STORE)
    return export


@router.get(
    "/{tenant_id}/exports/{export_id}",
    response_model=TenantExportRead,
    summary="租户数据导出进度 Progress of an export, and its download URL once done",
    description=(
        "Only the export's creator sees it (404 for anyone else). When `status` is "
        "`succeeded`, `download_url` is a fresh link valid until `download_url_expires_at` "
        "(each link handed out is audited); the file itself is kept until `expires_at`."
    ),
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def get_tenant_export(
    tenant_id: uuid.UUID, export_id: uuid.UUID, caller: Caller, state: State, response: Response
) -> TenantExportRead:
    require_role(caller, ROLE_PLATFORM_ADMIN, ROLE_TENANT_ADMIN)
    resp = await state.member_client.get_tenant_export(
        caller, tpb.GetTenantExportRequest(tenant_id=str(tenant_id), id=str(export_id))
    )
    response.headers.update(NO_STORE)
    return TenantExportRead.from_proto(resp.export)
