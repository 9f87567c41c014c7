"""Login / refresh / logout, and the dependency that turns a Bearer token into a CallerContext.

Tenant resolution: platform admins may act in any tenant by sending ``X-Hongyun-Tenant: <uuid>``;
everyone else always acts in their own tenant, and a different header value is refused (403).
"""

from __future__ import annotations

import logging
import uuid
from typing import Annotated

import grpc
from fastapi import APIRouter, Depends, Header, Request, Response, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from hongyun.member.v1 import member_pb2 as pb
from hongyun_platform.grpc.context import ROLE_DESCENDANT_READER, ROLE_PLATFORM_ADMIN, CallerContext

from hongyun_gateway.access_tokens import InvalidAccessToken
from hongyun_gateway.identity import accounts, refresh_tokens
from hongyun_gateway.identity.models import Account
from hongyun_gateway.identity.refresh_tokens import RotationOutcome
from hongyun_gateway.problems import ProblemError, problem_responses
from hongyun_gateway.schemas.auth import IdentityRead, LoginRequest, RefreshRequest, TokenPair
from hongyun_gateway.state import GatewayState, State

logger = logging.getLogger(__name__)

TENANT_HEADER = "X-Hongyun-Tenant"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

bearer_scheme = HTTPBearer(
    auto_error=False,
    bearerFormat="JWT",
    description="Access token from POST /api/v1/auth/login 登录获得的访问令牌",
)


def _unauthorized(code: str, detail: str, *, invalid_token: bool = True) -> ProblemError:
    """401 with the RFC 6750 challenge; login/refresh failures carry no token error."""
    challenge = 'Bearer error="invalid_token"' if invalid_token else "Bearer"
    return ProblemError(401, code, detail, headers={"WWW-Authenticate": challenge})


def _suspended() -> ProblemError:
    return ProblemError(
        403, "tenant_suspended", "所在租户已停用，请联系上级管理员 (your tenant is suspended)"
    )


async def authenticated_caller(
    request: Request,
    state: State,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    acting_tenant: Annotated[
        uuid.UUID | None,
        Header(
            alias=TENANT_HEADER,
            description="Platform admins: the tenant to act in 平台管理员代为操作的租户",
        ),
    ] = None,
) -> CallerContext:
    """The caller, from a valid access token; 401 problem when missing, expired or invalid."""
    if credentials is None or not credentials.credentials:
        raise ProblemError(
            401,
            "unauthenticated",
            "需要登录 (a Bearer access token is required)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        claims = state.access_tokens.verify(credentials.credentials)
    except InvalidAccessToken as exc:
        if exc.reason == "expired":
            raise _unauthorized("token_expired", "访问令牌已过期 (access token expired)") from exc
        raise _unauthorized("invalid_token", "访问令牌无效 (access token invalid)") from exc

    tenant_id = claims.tenant_id
    home_tenant_id = None
    if acting_tenant is not None and acting_tenant != tenant_id:
        if ROLE_PLATFORM_ADMIN in claims.roles:
            tenant_id = acting_tenant
        elif ROLE_DESCENDANT_READER in claims.roles and await _is_descendant(
            state, claims, acting_tenant
        ):
            # Read-only, audited by the member service in the descendant tenant.
            if request.method not in ("GET", "HEAD"):
                raise ProblemError(
                    403, "read_only_cross_tenant",
                    "查阅下级租户只能读取 (reading a descendant tenant is read-only)",
                )  # fmt: skip
            home_tenant_id, tenant_id = tenant_id, acting_tenant
        else:
            raise ProblemError(
                403,
                "tenant_mismatch",
                "只能在本租户内操作 (you may only act in your own tenant)",
            )
    if (
        tenant_id is not None
        and ROLE_PLATFORM_ADMIN not in claims.roles
        and await state.tenant_status.suspended(tenant_id)
    ):
        raise _suspended()
    return CallerContext(
        user_id=claims.account_id,
        tenant_id=tenant_id,
        roles=claims.roles,
        scope_org_id=claims.scope_org_id,
        home_tenant_id=home_tenant_id,
    )


async def _is_descendant(state: GatewayState, claims, tenant_id: uuid.UUID) -> bool:
    """The member service shows a tenant its descendants only (row-level security)."""
    own = CallerContext(user_id=claims.account_id, tenant_id=claims.tenant_id, roles=claims.roles)
    try:
        await state.member_client.get_tenant(own, pb.GetTenantRequest(id=str(tenant_id)))
    except grpc.aio.AioRpcError as exc:
        if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED):
            return False
        raise
    return True


Caller = Annotated[CallerContext, Depends(authenticated_caller)]


async def tenant_caller(caller: Caller) -> CallerContext:
    """Like authenticated_caller, for routes that act inside one tenant."""
    if caller.tenant_id is None:
        raise ProblemError(
            400,
            "tenant_required",
            f"平台管理员需用 {TENANT_HEADER} 请求头指定租户 "
            f"(platform admins choose the tenant with the {TENANT_HEADER} header)",
        )
    return caller


TenantCaller = Annotated[CallerContext, Depends(tenant_caller)]


def require_role(caller: CallerContext, *roles: str) -> None:
    if not caller.has_role(*roles):
        raise ProblemError(
            403,
            "permission_denied",
            f"无权执行此操作 (requires one of the roles: {', '.join(sorted(roles))})",
        )


# ---- endpoints ----

router = APIRouter(prefix="/api/v1/auth", tags=["auth 认证"])

_INVALID_CREDENTIALS = "用户名或密码错误 (wrong username or password)"


def _token_pair(state: GatewayState, account: Account, refresh_token: str) -> TokenPair:
    access = state.access_tokens.issue(
        str(account.id),
        tenant_id=account.tenant_id,
        roles=account.roles,
        scope_org_id=account.scope_org_id,
    )
    return TokenPair(
        access_token=access.token,
        expires_in=access.expires_in,
        refresh_token=refresh_token,
        refresh_expires_in=int(state.settings.refresh_token_ttl.total_seconds()),
    )


@router.post(
    "/login",
    response_model=TokenPair,
    summary="登录 Log in with username and password",
    responses=problem_responses(401, 422),
)
async def login(body: LoginRequest, state: State, response: Response) -> TokenPair:
    async with state.identity_db.session() as session:
        account = await accounts.find_by_username(session, body.username)
    # Always one argon2 verification, whether or not the account exists or is disabled.
    ok = await state.passwords.verify(account.password_hash if account else None, body.password)
    if account is None or not ok or account.disabled:
        raise _unauthorized("invalid_credentials", _INVALID_CREDENTIALS, invalid_token=False)
    if account.tenant_id and await state.tenant_status.suspended(account.tenant_id):
        raise _suspended()
    new_hash = None
    if state.passwords.needs_rehash(account.password_hash):
        new_hash = await state.passwords.hash(body.password)
    async with state.identity_db.session() as session, session.begin():
        if new_hash:
            await accounts.set_password_hash(session, account.id, new_hash)
        issued, _ = await refresh_tokens.issue(
            session, account.id, state.settings.refresh_token_ttl
        )
    response.headers.update(_NO_STORE)
    return _token_pair(state, account, issued.token)


@router.post(
    "/refresh",
    response_model=TokenPair,
    summary="刷新令牌 Exchange a refresh token for new tokens (rotation)",
    responses=problem_responses(401, 422),
)
async def refresh(body: RefreshRequest, state: State, response: Response) -> TokenPair:
    async with state.identity_db.session() as session, session.begin():
        rotation = await refresh_tokens.rotate(
            session, body.refresh_token, state.settings.refresh_token_ttl
        )
    if rotation.outcome is RotationOutcome.REUSED:
        logger.warning("refresh token reuse detected; token family revoked")
        raise _unauthorized(
            "refresh_token_reused",
            "刷新令牌已被使用，会话已注销，请重新登录 "
            "(refresh token was already used; the session is revoked, log in again)",
            invalid_token=False,
        )
    if rotation.outcome is not RotationOutcome.ROTATED:
        raise _unauthorized(
            "invalid_refresh_token",
            "刷新令牌无效或已过期，请重新登录 (refresh token invalid or expired, log in again)",
            invalid_token=False,
        )
    assert rotation.account is not None and rotation.issued is not None
    response.headers.update(_NO_STORE)
    return _token_pair(state, rotation.account, rotation.issued.token)


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="注销 Log out: revoke the refresh token and its whole session",
    responses=problem_responses(422),
)
async def logout(body: RefreshRequest, state: State) -> Response:
    async with state.identity_db.session() as session, session.begin():
        await refresh_tokens.revoke(session, body.refresh_token)
    # Unknown tokens answer the same: logging out is idempotent.
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/me",
    response_model=IdentityRead,
    summary="当前用户 Who am I (account, roles, tenant in effect)",
    responses=problem_responses(401, 403),
)
async def me(caller: Caller, state: State) -> IdentityRead:
    try:
        account_id = uuid.UUID(caller.user_id)
    except ValueError as exc:
        raise _unauthorized("invalid_token", "访问令牌无效 (access token invalid)") from exc
    async with state.identity_db.session() as session:
        account = await accounts.get(session, account_id)
    if account is None or account.disabled:
        raise _unauthorized("invalid_token", "账号不可用 (account not available)")
    return IdentityRead(
        account_id=account.id,
        username=account.username,
        display_name=account.display_name,
        tenant_id=account.tenant_id,
        acting_tenant_id=caller.tenant_id,
        roles=sorted(account.roles),
        scope_org_id=account.scope_org_id,
    )
