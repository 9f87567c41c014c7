"""Nested tenants: provisioning a child with its root organisation, suspension of a subtree,
and aggregates (never records) for a tenant and its descendants."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from hongyun.member.v1 import tenant_admin_pb2 as events_pb
from hongyun_platform.db import UnitOfWork
from hongyun_platform.errors import AlreadyExists, InvalidArgument, NotFound, PermissionDenied
from hongyun_platform.grpc.context import ROLE_PLATFORM_ADMIN, ROLE_TENANT_ADMIN, CallerContext
from hongyun_platform.ids import new_id
from hongyun_platform.messaging.envelope import subject_for
from hongyun_platform.messaging.outbox import add_event
from sqlalchemy import Integer, case, cast, func, insert, literal, select, update

from member_service.domain import org_path
from member_service.models import AuditEntry, Ltree, Member, Organization, Tenant, messaging
from member_service.repository import Repositories
from member_service.service import MemberDirectory, parse_uuid


@dataclass(frozen=True)
class Provisioned:
    tenant: Tenant
    root: Organization
    created: bool


@dataclass(frozen=True)
class Aggregate:
    tenant_id: uuid.UUID
    tenant_name: str
    depth: int
    organizations: int
    members: int
    full_members: int
    probationary_members: int
    lost_contact: int
    floating: int


class TenantAdmin:
    def __init__(self, directory: MemberDirectory):
        self.directory = directory

    async def provision(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        *,
        name: str,
        code: str,
        parent_id: str,
        root_name: str,
        root_type: int,
    ) -> Provisioned:
        caller.require_role(ROLE_PLATFORM_ADMIN, ROLE_TENANT_ADMIN)
        repos = Repositories(uow.session)
        if not parent_id and not caller.has_role(ROLE_PLATFORM_ADMIN):
            raise PermissionDenied(
                "只有平台管理员可以创建顶级租户 (only platform admins create top-level tenants)"
            )
        parent = (
            await self._manageable(repos, caller, parent_id, "parent_id", allow_self=True)
            if parent_id
            else None
        )
        existing = await repos.tenants.by_code(code.strip().lower())
        if existing is not None:
            if existing.parent_id != (parent.id if parent else None):
                raise AlreadyExists(f"租户代码已被使用 (tenant code {code} is taken)", field="code")
            await uow.act_as_tenant(existing.id)
            root = await repos.organizations.root_of(existing.id)
            await uow.act_as_tenant(caller.tenant_id)
            if root is None:
                raise NotFound("该租户缺少根组织 (tenant has no root organisation)")
            return Provisioned(existing, root, created=False)
        ops = CallerContext(
            user_id=caller.user_id, tenant_id=None, roles=frozenset({ROLE_PLATFORM_ADMIN})
        )
        tenant = await self.directory.create_tenant(
            uow, ops, name=name, code=code, parent_id=str(parent.id) if parent else ""
        )
        # The caller's authority over the new child is proven: act inside it to create its root.
        await uow.act_as_tenant(tenant.id)
        child_admin = CallerContext(
            user_id=caller.user_id, tenant_id=tenant.id, roles=frozenset({ROLE_TENANT_ADMIN})
        )
        root = await self.directory.create_organization(
            uow, child_admin, parent_id="", name=root_name or name, org_type=root_type or 1
        )
        await add_event(
            uow.session, messaging.outbox,
            subject=subject_for("member", tenant.id, "tenant", "provisioned"), tenant_id=tenant.id,
            payload=events_pb.TenantProvisioned(
                tenant_id=str(tenant.id), parent_id=str(tenant.parent_id or ""),
                root_organization_id=str(root.id)),
        )  # fmt: skip
        await uow.act_as_tenant(caller.tenant_id)
        return Provisioned(tenant, root, created=True)

    async def set_status(
        self, uow: UnitOfWork, caller: CallerContext, tenant_id: str, *, status: str, reason: str
    ) -> list[uuid.UUID]:
        caller.require_role(ROLE_PLATFORM_ADMIN, ROLE_TENANT_ADMIN)
        repos = Repositories(uow.session)
        target = await self._manageable(repos, caller, tenant_id, "id", allow_self=False)
        if status == "suspended" and len(reason.strip()) < 2:
            raise InvalidArgument("请填写停用原因 (a reason is required)", field="reason")
        other = "active" if status == "suspended" else "suspended"
        rows = await uow.session.execute(
            update(Tenant)
            .where(
                Tenant.path.op("<@")(cast(literal(target.path), Ltree())), Tenant.status == other
            )
            .values(status=status)
            .returning(Tenant.id)
        )
        affected = sorted(rows.scalars())
        if affected:
            payload = (
                events_pb.TenantSuspended(tenant_ids=[str(i) for i in affected], reason=reason)
                if status == "suspended"
                else events_pb.TenantResumed(tenant_ids=[str(i) for i in affected])
            )
            await add_event(
                uow.session, messaging.outbox, payload=payload, tenant_id=target.id,
                subject=subject_for("member", target.id, "tenant", status.replace("ed", "")),
            )  # fmt: skip
            await self._audit(uow, caller, target.id, f"tenant_{status}", reason)
        return affected

    async def aggregates(
        self, uow: UnitOfWork, caller: CallerContext, tenant_id: str
    ) -> list[Aggregate]:
        """Counts per tenant of the subtree. Each count runs with that tenant set, so row-level
        security still scopes every query; only numbers leave this function."""
        caller.require_role(ROLE_PLATFORM_ADMIN, ROLE_TENANT_ADMIN)
        repos = Repositories(uow.session)
        target = await self._manageable(repos, caller, tenant_id, "id", allow_self=True)
        subtree = (
            (
                await uow.session.execute(
                    select(Tenant)
                    .where(Tenant.path.op("<@")(cast(literal(target.path), Ltree())))
                    .order_by(Tenant.path)
                )
            )
            .scalars()
            .all()
        )
        base_depth = org_path.depth(target.path)
        out = []
        for t in subtree:
            await uow.act_as_tenant(t.id)
            orgs = (
                await uow.session.execute(select(func.count()).select_from(Organization))
            ).scalar_one()
            row = (
                await uow.session.execute(
                    select(
                        func.count(),
                        func.coalesce(func.sum(cast(Member.category == 1, Integer)), 0),
                        func.coalesce(func.sum(cast(Member.category == 2, Integer)), 0),
                        func.coalesce(func.sum(case((Member.lost_contact, 1), else_=0)), 0),
                        func.coalesce(func.sum(case((Member.floating, 1), else_=0)), 0),
                    )
                    .select_from(Member)
                    .where(Member.departed_on.is_(None))  # left through a transfer
                )
            ).one()
            out.append(Aggregate(t.id, t.name, org_path.depth(t.path) - base_depth, orgs, *row))
        await uow.act_as_tenant(caller.tenant_id)
        if target.id != caller.tenant_id:
            await self._audit(uow, caller, target.id, "tenant_aggregates", "")
        return out

    async def _manageable(
        self,
        repos: Repositories,
        caller: CallerContext,
        tenant_id: str,
        field: str,
        *,
        allow_self: bool,
    ) -> Tenant:
        # RLS on tenants shows the caller's own tenant and its descendants (all for platform admins).
        tenant = await repos.tenants.get(parse_uuid(tenant_id, field))
        if tenant is None:
            raise NotFound("租户不存在 (tenant not found)", field=field)
        if (
            not caller.has_role(ROLE_PLATFORM_ADMIN)
            and tenant.id == caller.tenant_id
            and not allow_self
        ):
            raise PermissionDenied(
                "不能停用或恢复本租户 (you cannot change your own tenant's status)"
            )
        return tenant

    @staticmethod
    async def _audit(
        uow: UnitOfWork, caller: CallerContext, target: uuid.UUID, action: str, reason: str
    ) -> None:
        # Kept in the caller's home tenant; platform operators have none, so in the target's.
        home = caller.tenant_id or target
        await uow.act_as_tenant(home)
        await uow.session.execute(
            insert(AuditEntry).values(
                id=new_id(), tenant_id=home, actor=caller.user_id,
                actor_roles=sorted(caller.roles), action=action, target_type="tenant",
                target_id=target, fields=[], reason=reason[:500],
            )
        )  # fmt: skip
        await uow.act_as_tenant(caller.tenant_id)
