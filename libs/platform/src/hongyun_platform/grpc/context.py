"""Caller identity carried in gRPC metadata, exposed to services through a ContextVar.

The gateway authenticates the user and forwards who they are; services trust this metadata only
on the internal network (mTLS / NetworkPolicy in production, see docs/adr/0001).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field

from hongyun_platform.errors import InvalidArgument, PermissionDenied

MD_USER = "x-hongyun-user"
MD_TENANT = "x-hongyun-tenant"
MD_ROLES = "x-hongyun-roles"
MD_SCOPE_ORG = "x-hongyun-scope-org"
MD_HOME_TENANT = "x-hongyun-home-tenant"

ROLE_PLATFORM_ADMIN = "platform_admin"
ROLE_TENANT_ADMIN = "tenant_admin"
ROLE_SECRETARY = "secretary"
ROLE_MEMBER = "member"
# Granted explicitly to a parent tenant's admin: read (never write) a descendant tenant's records,
# every read audited in that tenant.
ROLE_DESCENDANT_READER = "descendant_reader"
KNOWN_ROLES = frozenset(
    {ROLE_PLATFORM_ADMIN, ROLE_TENANT_ADMIN, ROLE_SECRETARY, ROLE_MEMBER, ROLE_DESCENDANT_READER}
)


@dataclass(frozen=True)
class CallerContext:
    user_id: str
    tenant_id: uuid.UUID | None
    roles: frozenset[str] = field(default_factory=frozenset)
    scope_org_id: uuid.UUID | None = None  # None = whole tenant (admins)
    home_tenant_id: uuid.UUID | None = None  # set when acting in another (descendant) tenant

    @property
    def is_cross_tenant(self) -> bool:
        return self.home_tenant_id is not None and self.home_tenant_id != self.tenant_id

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    def require_role(self, *roles: str) -> None:
        if not self.has_role(*roles):
            raise PermissionDenied(f"requires one of the roles: {', '.join(sorted(roles))}")

    def require_tenant(self) -> uuid.UUID:
        if self.tenant_id is None:
            raise InvalidArgument("the call needs a tenant", code="tenant_required")
        return self.tenant_id

    def to_metadata(self) -> list[tuple[str, str]]:
        md = [(MD_USER, self.user_id), (MD_ROLES, ",".join(sorted(self.roles)))]
        if self.tenant_id:
            md.append((MD_TENANT, str(self.tenant_id)))
        if self.scope_org_id:
            md.append((MD_SCOPE_ORG, str(self.scope_org_id)))
        if self.home_tenant_id:
            md.append((MD_HOME_TENANT, str(self.home_tenant_id)))
        return md

    @classmethod
    def from_metadata(cls, metadata: Sequence[tuple[str, str | bytes]] | None) -> CallerContext:
        md = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in (metadata or ())}
        roles = frozenset(r for r in md.get(MD_ROLES, "").split(",") if r)
        unknown = roles - KNOWN_ROLES
        if unknown:
            raise InvalidArgument(f"unknown roles in metadata: {sorted(unknown)}")
        return cls(
            user_id=md.get(MD_USER, ""),
            tenant_id=_uuid_or_none(md.get(MD_TENANT), MD_TENANT),
            roles=roles,
            scope_org_id=_uuid_or_none(md.get(MD_SCOPE_ORG), MD_SCOPE_ORG),
            home_tenant_id=_uuid_or_none(md.get(MD_HOME_TENANT), MD_HOME_TENANT),
        )


def _uuid_or_none(value: str | None, name: str) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise InvalidArgument(f"metadata {name} is not a UUID") from exc


ANONYMOUS = CallerContext(user_id="", tenant_id=None)
_current: ContextVar[CallerContext] = ContextVar("hongyun_caller", default=ANONYMOUS)


_method: ContextVar[str] = ContextVar("hongyun_method", default="")


def current_caller() -> CallerContext:
    return _current.get()


def current_method() -> str:
    """Full gRPC method name of the call being handled ('' outside a call)."""
    return _method.get()


@contextlib.contextmanager
def caller_scope(ctx: CallerContext, method: str = "") -> Iterator[CallerContext]:
    token, method_token = _current.set(ctx), _method.set(method)
    try:
        yield ctx
    finally:
        _current.reset(token)
        _method.reset(method_token)
