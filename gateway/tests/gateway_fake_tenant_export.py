"""An in-memory TenantAdminService for gateway tests of tenant data exports (a unit-level fake).

It keeps the contract the gateway relies on (docs/adr/0012): caller from metadata; tenant admins
see their own tenant and its descendants (parent_id in the fake store), platform admins every
tenant, anyone else is refused; platform admins never reveal; reveal needs a reason; an export
is its creator's only; and a job that advances each time it is read (queued → running →
succeeded, with a download URL) so progress polling can be tested.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import grpc
from hongyun.member.v1 import tenant_admin_pb2 as pb
from hongyun.member.v1 import tenant_admin_pb2_grpc
from hongyun_platform.grpc.context import ROLE_PLATFORM_ADMIN, ROLE_TENANT_ADMIN, CallerContext

DOWNLOAD_BASE = "http://files.test/files/tenant-exports"
_NEXT = {
    pb.TENANT_EXPORT_STATUS_QUEUED: pb.TENANT_EXPORT_STATUS_RUNNING,
    pb.TENANT_EXPORT_STATUS_RUNNING: pb.TENANT_EXPORT_STATUS_SUCCEEDED,
}


@dataclass
class ExportState:
    exports: dict[str, pb.TenantExport] = field(default_factory=dict)
    requests: list[tuple[CallerContext, pb.StartTenantExportRequest]] = field(default_factory=list)


class FakeTenantExportService(tenant_admin_pb2_grpc.TenantAdminServiceServicer):
    def __init__(self, member_service: Any) -> None:
        self.member = member_service  # FakeMemberService: its tenants
        self.state = ExportState()

    def reset(self) -> None:
        self.state = ExportState()

    @staticmethod
    async def _fail(context: Any, code: grpc.StatusCode, reason: str, fld: str = "") -> None:
        md = [("x-hongyun-error-code", reason)] + ([("x-hongyun-error-field", fld)] if fld else [])
        await context.abort(code, reason, trailing_metadata=tuple(md))

    def _visible(self, caller: CallerContext, tenant_id: str) -> bool:
        tenants = self.member.store.tenants
        if tenant_id not in tenants:
            return False
        if caller.has_role(ROLE_PLATFORM_ADMIN):
            return True
        current: str | None = tenant_id
        while current:  # the tenant itself or one of its ancestors is the caller's
            if current == str(caller.tenant_id):
                return True
            current = tenants[current].parent_id if current in tenants else None
        return False

    async def _caller(self, context: Any, tenant_id: str) -> CallerContext:
        caller = CallerContext.from_metadata(context.invocation_metadata())
        if not caller.has_role(ROLE_PLATFORM_ADMIN, ROLE_TENANT_ADMIN):
            await self._fail(context, grpc.StatusCode.PERMISSION_DENIED, "permission_denied")
        if not self._visible(caller, tenant_id):
            await self._fail(context, grpc.StatusCode.NOT_FOUND, "tenant_not_found", "tenant_id")
        return caller

    async def StartTenantExport(self, request: pb.StartTenantExportRequest, context: Any) -> Any:
        caller = await self._caller(context, request.tenant_id)
        if request.reveal and caller.has_role(ROLE_PLATFORM_ADMIN):
            await self._fail(context, grpc.StatusCode.PERMISSION_DENIED, "reveal_not_allowed")
        if request.reveal and len(request.reveal_reason.strip()) < 2:
            await self._fail(context, grpc.StatusCode.INVALID_ARGUMENT, "required", "reveal_reason")
        self.state.requests.append((caller, request))
        export = pb.TenantExport(
            id=f"00000000-0000-4000-8000-{len(self.state.exports) + 1:012d}",
            tenant_id=request.tenant_id,
            include_descendants=request.include_descendants,
            tenant_ids=[request.tenant_id],
            revealed=request.reveal,
            status=pb.TENANT_EXPORT_STATUS_QUEUED,
            created_by=caller.user_id,
            watermark=f"导出人：{request.exporter_label}（{caller.user_id}） 内部资料 注意保密",
        )
        export.created_at.GetCurrentTime()
        self.state.exports[export.id] = export
        return pb.StartTenantExportResponse(export=export)

    async def GetTenantExport(self, request: pb.GetTenantExportRequest, context: Any) -> Any:
        caller = await self._caller(context, request.tenant_id)
        export = self.state.exports.get(request.id)
        if export is None or export.created_by != caller.user_id:
            await self._fail(context, grpc.StatusCode.NOT_FOUND, "tenant_export_not_found")
        assert export is not None
        export.status = _NEXT.get(export.status, export.status)
        if export.status == pb.TENANT_EXPORT_STATUS_RUNNING:
            export.total_rows, export.rows_done, export.percent = 10, 4, 40
        else:
            export.rows_done, export.percent = export.total_rows, 100
            export.file_name, export.size, export.sha256 = "tenant-demo.zip", 123, "ab" * 32
            export.files.extend(
                [] if export.files else
                [pb.TenantExportFile(path="tenants/demo/members.jsonl", rows=4, size=99, sha256="cd" * 32)]
            )  # fmt: skip
            export.download_url = f"{DOWNLOAD_BASE}/{export.tenant_id}/{export.id}/x.zip?sig=1"
            export.download_url_expires_at.GetCurrentTime()
            export.expires_at.GetCurrentTime()
            export.finished_at.GetCurrentTime()
        return pb.GetTenantExportResponse(export=export)


def add_tenant_export_fake(server: grpc.aio.Server, member_service: Any) -> FakeTenantExportService:
    fake = FakeTenantExportService(member_service)
    tenant_admin_pb2_grpc.add_TenantAdminServiceServicer_to_server(fake, server)
    member_service.tenant_exports = fake  # tests reach it as fake_member.service.tenant_exports
    return fake
