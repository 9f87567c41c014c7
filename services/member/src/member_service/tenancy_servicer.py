"""gRPC transport of TenantAdminService."""

from __future__ import annotations

from collections.abc import Callable

from hongyun.member.v1 import tenant_admin_pb2 as pb
from hongyun.member.v1 import tenant_admin_pb2_grpc
from hongyun_platform.db import Database
from hongyun_platform.grpc.context import ROLE_PLATFORM_ADMIN, current_caller

from member_service import mappers
from member_service.mappers import timestamp
from member_service.tenancy import Aggregate, TenantAdmin
from member_service.tenant_export import ExportView, TenantExportRunner, TenantExports, percent_of


class TenantAdminServicer(tenant_admin_pb2_grpc.TenantAdminServiceServicer):
    def __init__(
        self,
        db: Database,
        admin: TenantAdmin,
        after_commit: Callable[[], None],
        *,
        exports: TenantExports,
        export_runner: TenantExportRunner,
    ):
        self.db = db
        self.admin = admin
        self.after_commit = after_commit
        self.exports = exports
        self.export_runner = export_runner

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

    async def StartTenantExport(
        self, request: pb.StartTenantExportRequest, context
    ) -> pb.StartTenantExportResponse:
        caller, uow_cm = self._uow()
        async with uow_cm as uow:
            job, created = await self.exports.start(
                uow, caller, tenant_id=request.tenant_id,
                include_descendants=request.include_descendants, reveal=request.reveal,
                reason=request.reveal_reason, exporter_label=request.exporter_label,
            )  # fmt: skip
        if created:  # committed: the runner's own transaction will find the row
            self.export_runner.submit(job)
        return pb.StartTenantExportResponse(export=export_to_pb(ExportView(job, percent_of(job))))

    async def GetTenantExport(
        self, request: pb.GetTenantExportRequest, context
    ) -> pb.GetTenantExportResponse:
        caller, uow_cm = self._uow()
        async with uow_cm as uow:
            view = await self.exports.get(
                uow, caller, tenant_id=request.tenant_id, export_id=request.id
            )
        return pb.GetTenantExportResponse(export=export_to_pb(view))


_EXPORT_STATUS = {
    "queued": pb.TENANT_EXPORT_STATUS_QUEUED,
    "running": pb.TENANT_EXPORT_STATUS_RUNNING,
    "succeeded": pb.TENANT_EXPORT_STATUS_SUCCEEDED,
    "failed": pb.TENANT_EXPORT_STATUS_FAILED,
    "expired": pb.TENANT_EXPORT_STATUS_EXPIRED,
}


def export_to_pb(view: ExportView) -> pb.TenantExport:
    j = view.export
    times = {
        "download_url_expires_at": view.download_url_expires_at,
        "expires_at": j.expires_at,
        "created_at": j.created_at,
        "started_at": j.started_at,
        "finished_at": j.finished_at,
    }
    return pb.TenantExport(
        id=str(j.id),
        tenant_id=str(j.tenant_id),
        include_descendants=j.include_descendants,
        tenant_ids=[str(t) for t in j.tenant_ids],
        revealed=j.revealed,
        status=_EXPORT_STATUS.get(j.status, pb.TENANT_EXPORT_STATUS_UNSPECIFIED),
        total_rows=j.total_rows,
        rows_done=j.rows_done,
        percent=view.percent,
        file_name=j.file_name,
        size=j.size,
        sha256=j.sha256,
        files=[pb.TenantExportFile(**f) for f in j.files or ()],
        download_url=view.download_url,
        error_code=j.error_code,
        error_message=j.error_message,
        created_by=j.created_by,
        watermark=j.watermark,
        # unset stays unset (HasField false), not 1970
        **{name: timestamp(value) for name, value in times.items() if value is not None},
    )


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
