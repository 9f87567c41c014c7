"""All queries of the member schema. Row-level security scopes every row to the transaction's
tenant; these queries filter by tenant and data scope as well (defence in depth)."""

from __future__ import annotations

import uuid

from hongyun_platform.db import Page, Repository
from sqlalchemy import ARRAY, Uuid, any_, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from member_service.models import AuditEntry, Member, Organization, Tenant

SCOPE_LIST_MAX = 100  # a subtree of up to this many organisations is passed as an id list
ORG_ACTIVE = "active"  # organisations.status; dissolved/merged ones stay as history (ADR 0007)


class TenantRepository(Repository[Tenant]):
    model = Tenant

    async def by_code(self, code: str) -> Tenant | None:
        return (
            await self.session.execute(select(Tenant).where(Tenant.code == code))
        ).scalar_one_or_none()

    async def page_visible(self, *, page_size: int, page_token: str) -> Page[Tenant]:
        # Visibility (own tenant and descendants, or all for platform admins) is the RLS policy.
        return await self.page(select(Tenant), page_size=page_size, page_token=page_token)


class OrganizationRepository(Repository[Organization]):
    model = Organization

    async def in_tenant(self, tenant_id: uuid.UUID, org_id: uuid.UUID) -> Organization | None:
        """An active organisation (dissolved and merged ones keep their row for history)."""
        stmt = select(Organization).where(
            Organization.tenant_id == tenant_id,
            Organization.id == org_id,
            Organization.status == ORG_ACTIVE,
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def root_of(self, tenant_id: uuid.UUID) -> Organization | None:
        stmt = select(Organization).where(
            Organization.tenant_id == tenant_id, Organization.parent_id.is_(None)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def sibling_named(
        self, tenant_id: uuid.UUID, parent_id: uuid.UUID | None, name: str
    ) -> Organization | None:
        parent = (
            Organization.parent_id.is_(None)
            if parent_id is None
            else Organization.parent_id == parent_id
        )
        stmt = select(Organization).where(
            Organization.tenant_id == tenant_id,
            parent,
            Organization.name == name,
            Organization.status == ORG_ACTIVE,
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def page_subtree(
        self, tenant_id: uuid.UUID, root_path: str | None, *, page_size: int, page_token: str
    ) -> Page[Organization]:
        stmt = select(Organization).where(
            Organization.tenant_id == tenant_id, Organization.status == ORG_ACTIVE
        )
        if root_path:
            stmt = stmt.where(Organization.in_subtree(root_path))
        return await self.page(stmt, page_size=page_size, page_token=page_token)


class MemberRepository(Repository[Member]):
    model = Member

    async def in_subtree(
        self,
        tenant_id: uuid.UUID,
        member_id: uuid.UUID,
        root_path: str | None,
        *,
        for_update: bool = False,
    ) -> tuple[Member, Organization] | None:
        stmt = (
            select(Member, Organization)
            .join(Organization, Organization.id == Member.organization_id)
            .where(Member.tenant_id == tenant_id, Member.id == member_id)
            .where(Member.departed_on.is_(None))  # left through a transfer: archive only
        )
        if root_path:
            stmt = stmt.where(Organization.in_subtree(root_path))
        if for_update:
            stmt = stmt.with_for_update(of=Member)
        row = (await self.session.execute(stmt)).first()
        return (row[0], row[1]) if row else None

    async def by_id_number_index(self, tenant_id: uuid.UUID, index: str) -> Member | None:
        stmt = select(Member).where(Member.tenant_id == tenant_id, Member.id_number_index == index)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def page_subtree(
        self,
        tenant_id: uuid.UUID,
        root_path: str,
        *,
        party_status: int = 0,
        category: int = 0,
        page_size: int,
        page_token: str,
    ) -> Page[Member]:
        stmt = select(Member).where(Member.tenant_id == tenant_id, Member.departed_on.is_(None))
        if "." in root_path:
            # Below the tenant's root. A small subtree (a branch) goes in as a list of
            # organisation ids, so PostgreSQL starts from ix_members_org; a large one (a city)
            # as a subquery on the path_key range, hashed once (docs/adr/0002).
            in_scope = select(Organization.id).where(
                Organization.tenant_id == tenant_id, Organization.in_subtree(root_path)
            )
            org_ids = list(
                (await self.session.execute(in_scope.limit(SCOPE_LIST_MAX + 1))).scalars()
            )
            if len(org_ids) <= SCOPE_LIST_MAX:
                # One array parameter (bind parameters are limited).
                stmt = stmt.where(Member.organization_id == any_(literal(org_ids, ARRAY(Uuid()))))
            else:
                stmt = stmt.where(Member.organization_id.in_(in_scope))
        if party_status:
            stmt = stmt.where(Member.party_status == party_status)
        if category:
            stmt = stmt.where(Member.category == category)
        return await self.page(stmt, page_size=page_size, page_token=page_token)


class AuditRepository(Repository[AuditEntry]):
    model = AuditEntry

    async def for_target(self, tenant_id: uuid.UUID, target_id: uuid.UUID) -> list[AuditEntry]:
        stmt = (
            select(AuditEntry)
            .where(AuditEntry.tenant_id == tenant_id, AuditEntry.target_id == target_id)
            .order_by(AuditEntry.at)
        )
        return list((await self.session.execute(stmt)).scalars())


class Repositories:
    def __init__(self, session: AsyncSession):
        self.tenants = TenantRepository(session)
        self.organizations = OrganizationRepository(session)
        self.members = MemberRepository(session)
        self.audit = AuditRepository(session)
