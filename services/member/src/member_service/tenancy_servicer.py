"""gRPC transport of TenantAdminService."""

from __future__ import annotations

from collections.abc import Callable

from hongyun.member.v1 import tenant_admin_pb2 as pb
from hongyun.member.v1 import tenant_admin_pb2_grpc
from hongyun_platform.db import Database
from hongyun_platform.grpc.context import ROLE_PLATFORM_ADMIN, current_caller

from member_service import mappers
from member_service.tenancy import Aggregate, TenantAdmin


class TenantAdminServicer(tenant_admin_pb2_grpc.TenantAdminServiceServicer):
    def __init__(self, db: Database, admin: TenantAdmin, after_commit: Callable[[], None]):
        self.db = db
        self.admin = admin
        self.after_commit = after_commit

    def _uow(self):
        caller = current_caller()
        return caller, self.db.unit_of_work(
            caller.tenant_id, platform_admin=caller.has_role(ROLE_PLATFORM_ADMIN)
        )

    async def ProvisionTenant(
        self, request: pb.ProvisionTenantRequest, context
    ) -> pb.ProvisionTenantResponse:
        caller, uow_cm = self._uow()
        async with uow_cm as uow:
            p = await self.admin.provision(
                uow, caller, name=request.name, code=request.code, parent_id=request.parent_id,
                root_name=request.root_organization_name, root_type=request.root_organization_type,
            )  # fmt: skip
        self.after_commit()
        return pb.ProvisionTenantResponse(
            tenant=mappers.tenant_to_pb(p.tenant),
            root_organization=mappers.organization_to_pb(p.root),
            created=p.created,
        )

    async def SuspendTenant(
        self, request: pb.SuspendTenantRequest, context
    ) -> pb.SuspendTenantResponse:
        caller, uow_cm = self._uow()
        async with uow_cm as uow:
            ids = await self.admin.set_status(
                uow, caller, request.id, status="suspended", reason=request.reason
            )
        self.after_commit()
        return pb.SuspendTenantResponse(affected_tenant_ids=[str(i) for i in ids])

    async def ResumeTenant(
        self, request: pb.ResumeTenantRequest, context
    ) -> pb.ResumeTenantResponse:
        caller, uow_cm = self._uow()
        async with uow_cm as uow:
            ids = await self.admin.set_status(
                uow, caller, request.id, status="active", reason=request.reason
            )
        self.after_commit()
        return pb.ResumeTenantResponse(affected_tenant_ids=[str(i) for i in ids])

    async def GetTenantAggregates(
        self, request: pb.GetTenantAggregatesRequest, context
    ) -> pb.GetTenantAggregatesResponse:
        caller, uow_cm = self._uow()
        async with uow_cm as uow:
            rows = await self.admin.aggregates(uow, caller, request.id)
        total = pb.TenantAggregate(
            tenant_id=str(rows[0].tenant_id), tenant_name=rows[0].tenant_name,
            **{f: sum(getattr(r, f) for r in rows) for f in COUNTS},
        )  # fmt: skip
        return pb.GetTenantAggregatesResponse(tenants=[_agg(r) for r in rows], total=total)


COUNTS = (
    "organizations",
    "members",
    "full_members",
    "probationary_members",
    "lost_contact",
    "floating",
)


def _agg(a: Aggregate) -> pb.TenantAggregate:
    return pb.TenantAggregate(
        tenant_id=str(a.tenant_id), tenant_name=a.tenant_name, depth=a.depth,
        **{f: getattr(a, f) for f in COUNTS},
    )  # fmt: skip
