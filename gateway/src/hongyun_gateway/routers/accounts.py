"""/api/v1/accounts — 账号 (login accounts in the gateway's identity store).

Who may create whom: a platform admin creates tenant admins (and, acting in a tenant,
secretaries and members); a tenant admin creates secretaries and members in their own tenant.
Platform admins themselves are created only with the CLI.
"""

from __future__ import annotations

from collections.abc import Awaitable

import grpc
from fastapi import APIRouter, Response, status
from hongyun.member.v1 import member_pb2 as pb
from hongyun_platform.grpc.context import (
    ROLE_DESCENDANT_READER,
    ROLE_MEMBER,
    ROLE_PLATFORM_ADMIN,
    ROLE_SECRETARY,
    ROLE_TENANT_ADMIN,
    CallerContext,
)

from hongyun_gateway.auth import Caller
from hongyun_gateway.identity import accounts
from hongyun_gateway.problems import ProblemError, problem_responses, validation_problem
from hongyun_gateway.schemas.accounts import AccountCreate, AccountRead
from hongyun_gateway.state import State

router = APIRouter(prefix="/api/v1/accounts", tags=["accounts 账号"])

CREATABLE_ROLES = {
    ROLE_PLATFORM_ADMIN: frozenset(
        {ROLE_TENANT_ADMIN, ROLE_SECRETARY, ROLE_MEMBER, ROLE_DESCENDANT_READER}
    ),
    ROLE_TENANT_ADMIN: frozenset({ROLE_SECRETARY, ROLE_MEMBER}),
}


def _creatable_roles(caller: CallerContext) -> frozenset[str]:
    allowed: frozenset[str] = frozenset()
    for role in caller.roles:
        allowed |= CREATABLE_ROLES.get(role, frozenset())
    return allowed


def _field_problem(field: str, message: str, reason: str) -> ProblemError:
    return validation_problem([{"field": field, "message": message, "reason": reason}])


async def _must_exist(call: Awaitable[object], field: str, message: str) -> None:
    try:
        await call
    except grpc.aio.AioRpcError as exc:
        if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
            raise _field_problem(field, message, "not_found") from exc
        raise


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=AccountRead,
    summary="创建账号 Create an account (platform admin → tenant admins; tenant admin → "
    "secretaries and members)",
    responses=problem_responses(401, 403, 409, 422, 503),
)
async def create_account(
    body: AccountCreate, caller: Caller, state: State, response: Response
) -> AccountRead:
    allowed = _creatable_roles(caller)
    if not allowed:
        raise ProblemError(403, "permission_denied", "无权创建账号 (you may not create accounts)")
    roles = {r.value for r in body.roles}
    if roles - allowed:
        raise ProblemError(
            403,
            "role_not_allowed",
            f"无权授予角色 (you may not grant: {', '.join(sorted(roles - allowed))})",
        )
    is_platform_admin = caller.has_role(ROLE_PLATFORM_ADMIN)
    tenant_id = body.tenant_id or caller.tenant_id
    if not is_platform_admin and tenant_id != caller.tenant_id:
        raise ProblemError(
            403, "tenant_mismatch", "只能在本租户内创建账号 (only in your own tenant)"
        )
    if tenant_id is None:
        raise _field_problem("tenant_id", "需要指定租户 (tenant_id is required)", "required")
    if ROLE_TENANT_ADMIN in roles and body.scope_org_id:
        raise _field_problem(
            "scope_org_id",
            "租户管理员的范围是整个租户 (tenant admins see the whole tenant)",
            "not_allowed",
        )
    if ROLE_SECRETARY in roles and not body.scope_org_id:
        raise _field_problem(
            "scope_org_id",
            "书记账号需指定管辖的党组织 (secretaries need scope_org_id)",
            "required",
        )

    # Referential checks through the member service, acting in the target tenant.
    acting = CallerContext(
        user_id=caller.user_id,
        tenant_id=tenant_id,
        roles=caller.roles,
        scope_org_id=caller.scope_org_id,
    )
    if is_platform_admin:
        await _must_exist(
            state.member_client.get_tenant(acting, pb.GetTenantRequest(id=str(tenant_id))),
            "tenant_id",
            "租户不存在 (no such tenant)",
        )
    if body.scope_org_id:
        await _must_exist(
            state.member_client.get_organization(
                acting, pb.GetOrganizationRequest(id=str(body.scope_org_id))
            ),
            "scope_org_id",
            "党组织不存在或不在本租户 (no such organisation in the tenant)",
        )

    password_hash = await state.passwords.hash(body.password)
    spec = accounts.AccountSpec(
        username=body.username,
        password_hash=password_hash,
        roles=sorted(roles),
        tenant_id=tenant_id,
        scope_org_id=body.scope_org_id,
        display_name=body.display_name,
    )
    try:
        async with state.identity_db.session() as session, session.begin():
            account = await accounts.create(session, spec)
    except accounts.UsernameTaken as exc:
        raise ProblemError(
            409,
            "username_taken",
            "用户名已被使用 (username already taken)",
            errors=[{"field": "username", "message": "username already taken", "reason": "taken"}],
        ) from exc
    response.headers["Location"] = f"{router.prefix}/{account.id}"
    return AccountRead.from_row(account)
