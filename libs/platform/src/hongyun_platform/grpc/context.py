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

ROLE_PLATFORM_ADMIN = "platform_admin"
ROLE_TENANT_ADMIN = "tenant_admin"
ROLE_SECRETARY = "secretary"
ROLE_MEMBER = "member"
KNOWN_ROLES = frozenset({ROLE_PLATFORM_ADMIN, ROLE_TENANT_ADMIN, ROLE_SECRETARY, ROLE_MEMBER})


@dataclass(frozen=True)
class CallerContext:
    user_id: str
    tenant_id: uuid.UUID | None
    roles: frozenset[str] = field(default_factory=frozenset)
    scope_org_id: uuid.UUID | None = None  # None = whole tenant (admins)

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


def current_caller() -> CallerContext:
    return _current.get()


@contextlib.contextmanager
def caller_scope(ctx: CallerContext) -> Iterator[CallerContext]:
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)
