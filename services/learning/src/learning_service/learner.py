"""Who is learning: the caller as a learner, with where they sit in the organisation and tenant
trees (from the directory projection, docs/adr/0018), for audiences and shared courses."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from hongyun_platform.grpc.context import CallerContext
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from learning_service.models import OrgPath, TenantAncestry


@dataclass(frozen=True)
class Learner:
    tenant_id: uuid.UUID
    learner_id: str  # the account id (gateway identity)
    roles: frozenset[str]
    org_id: uuid.UUID | None  # the learner's organisation (branch), if any
    org_path: tuple[uuid.UUID, ...]  # root first, ending with org_id; () when unknown
    tenant_ancestors: tuple[uuid.UUID, ...]  # root first, not including tenant_id

    def in_subtree(self, org_id: uuid.UUID) -> bool:
        return org_id in self.org_path


async def load_learner(session: AsyncSession, caller: CallerContext) -> Learner:
    """The caller as a learner. An organisation the projection has not seen yet counts as its
    own one-element path (the learner still sees courses for that exact organisation)."""
    tenant_id = caller.require_tenant()
    org_path: tuple[uuid.UUID, ...] = ()
    if caller.scope_org_id is not None:
        path = (
            await session.execute(
                select(OrgPath.path).where(
                    OrgPath.org_id == caller.scope_org_id, OrgPath.tenant_id == tenant_id
                )
            )
        ).scalar_one_or_none()
        org_path = tuple(path) if path else (caller.scope_org_id,)
    ancestors = (
        await session.execute(
            select(TenantAncestry.ancestors).where(TenantAncestry.tenant_id == tenant_id)
        )
    ).scalar_one_or_none()
    return Learner(
        tenant_id=tenant_id,
        learner_id=caller.user_id,
        roles=caller.roles,
        org_id=caller.scope_org_id,
        org_path=org_path,
        tenant_ancestors=tuple(ancestors or ()),
    )
