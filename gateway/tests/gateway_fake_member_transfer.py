"""An in-memory MemberImportExportService for gateway tests (a unit-level fake).

It keeps the contract the gateway relies on: caller from metadata, role and scope checks with
the service's reason codes, file streams of header + chunks, and a job that advances each time
it is read (queued → running → succeeded) so progress polling can be tested.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import grpc
from hongyun.member.v1 import member_transfer_files_pb2 as pb
from hongyun.member.v1 import member_transfer_files_pb2_grpc
from hongyun_platform.grpc.context import ROLE_SECRETARY, ROLE_TENANT_ADMIN, CallerContext

TEMPLATE = b"PK\x03\x04 fake template"
CHUNK = 7  # tiny chunks: the gateway must reassemble them


@dataclass
class Upload:
    caller: CallerContext
    header: pb.ImportUploadHeader
    data: bytes


@dataclass
class TransferState:
    jobs: dict[str, pb.ImportJob] = field(default_factory=dict)
    owners: dict[str, CallerContext] = field(default_factory=dict)
    uploads: list[Upload] = field(default_factory=list)
    exports: list[tuple[CallerContext, Any]] = field(default_factory=list)


class FakeTransferService(member_transfer_files_pb2_grpc.MemberImportExportServiceServicer):
    def __init__(self, member_service: Any) -> None:
        self.member = member_service  # FakeMemberService: its store and scope rules
        self.state = TransferState()

    def reset(self) -> None:
        self.state = TransferState()

    @staticmethod
    async def _fail(context: Any, code: grpc.StatusCode, reason: str, details: str) -> None:
        await context.abort(code, details, trailing_metadata=(("x-hongyun-error-code", reason),))

    async def _caller(self, context: Any, *roles: str) -> CallerContext:
        caller = CallerContext.from_metadata(context.invocation_metadata())
        if caller.tenant_id is None:
            await self._fail(context, grpc.StatusCode.INVALID_ARGUMENT, "tenant_required", "x")
        if roles and not caller.has_role(*roles):
            await self._fail(context, grpc.StatusCode.PERMISSION_DENIED, "permission_denied", "no")
        return caller

    async def GetImportTemplate(self, request: pb.GetImportTemplateRequest, context: Any) -> Any:
        await self._caller(context)
        csv = request.format == pb.TRANSFER_FILE_FORMAT_CSV
        return pb.GetImportTemplateResponse(
            header=pb.TransferFileHeader(
                file_name="党员信息采集模板." + ("csv" if csv else "xlsx"),
                content_type="text/csv; charset=utf-8" if csv else "application/vnd.ms-excel",
            ),
            content=b"\xef\xbb\xbf\xe5\xa7\x93\xe5\x90\x8d" if csv else TEMPLATE,
        )

    async def StartImport(self, request_iterator: Any, context: Any) -> Any:
        caller = await self._caller(context, ROLE_TENANT_ADMIN, ROLE_SECRETARY)
        header, data = None, bytearray()
        async for message in request_iterator:
            if message.WhichOneof("part") == "header":
                header = message.header
            else:
                data += message.chunk
        assert header is not None
        if not bytes(data).startswith((b"PK", "姓名".encode())):
            await self._fail(context, grpc.StatusCode.INVALID_ARGUMENT, "bad_file", "not a file")
        self.state.uploads.append(Upload(caller, header, bytes(data)))
        job = pb.ImportJob(
            id=f"{len(self.state.jobs) + 1:08d}-0000-4000-8000-000000000000",
            tenant_id=str(caller.tenant_id),
            file_name=header.file_name,
            format=pb.TRANSFER_FILE_FORMAT_XLSX,
            mode=header.mode,
            status=pb.IMPORT_JOB_STATUS_QUEUED,
            created_by=caller.user_id,
            default_organization_path=header.default_organization_path,
        )
        job.created_at.GetCurrentTime()
        self.state.jobs[job.id] = job
        self.state.owners[job.id] = caller
        return pb.StartImportResponse(job=job)

    async def _job(self, request_id: str, context: Any) -> pb.ImportJob:
        caller = await self._caller(context, ROLE_TENANT_ADMIN, ROLE_SECRETARY)
        job = self.state.jobs.get(request_id)
        owner = self.state.owners.get(request_id)
        visible = job is not None and owner is not None and owner.tenant_id == caller.tenant_id
        if visible and not caller.has_role(ROLE_TENANT_ADMIN):
            visible = owner.user_id == caller.user_id
        if not visible:
            await self._fail(context, grpc.StatusCode.NOT_FOUND, "import_job_not_found", "none")
        return job  # type: ignore[return-value]

    async def GetImportJob(self, request: pb.GetImportJobRequest, context: Any) -> Any:
        job = await self._job(request.id, context)
        if job.status == pb.IMPORT_JOB_STATUS_QUEUED:
            job.status, job.total_rows, job.rows_done, job.percent = (
                pb.IMPORT_JOB_STATUS_RUNNING, 4, 2, 50)  # fmt: skip
            job.started_at.GetCurrentTime()
        elif job.status == pb.IMPORT_JOB_STATUS_RUNNING:
            job.status, job.rows_done, job.percent = pb.IMPORT_JOB_STATUS_SUCCEEDED, 4, 100
            job.accepted, job.rejected = 3, 1
            job.reasons.append(
                pb.ImportReasonCount(
                    code="id_number.check_digit", message="公民身份号码：校验位错误", rows=1
                )
            )
            job.finished_at.GetCurrentTime()
        return pb.GetImportJobResponse(job=job)

    async def DownloadImportErrors(self, request: pb.DownloadImportErrorsRequest, context: Any):
        job = await self._job(request.id, context)
        if job.status != pb.IMPORT_JOB_STATUS_SUCCEEDED:
            await self._fail(context, grpc.StatusCode.FAILED_PRECONDITION, "job_not_finished", "x")
        content = b"PK\x03\x04 errors of " + job.file_name.encode()
        yield pb.DownloadImportErrorsResponse(
            header=pb.TransferFileHeader(
                file_name="成员-错误明细.xlsx", content_type="application/x-xlsx"
            )
        )
        for i in range(0, len(content), CHUNK):
            yield pb.DownloadImportErrorsResponse(chunk=content[i : i + CHUNK])

    async def ExportMembers(self, request: pb.ExportMembersRequest, context: Any):
        caller = await self._caller(context)
        if request.reveal and not caller.has_role(ROLE_TENANT_ADMIN, ROLE_SECRETARY):
            await self._fail(context, grpc.StatusCode.PERMISSION_DENIED, "reveal_not_allowed", "x")
        if request.organization_id and not self.member._in_scope(caller, request.organization_id):
            await self._fail(context, grpc.StatusCode.NOT_FOUND, "organization_not_found", "x")
        self.state.exports.append((caller, request))
        ext = "csv" if request.format == pb.TRANSFER_FILE_FORMAT_CSV else "xlsx"
        content = f"watermark {request.exporter_label} reveal={request.reveal}".encode()
        yield pb.ExportMembersResponse(
            header=pb.TransferFileHeader(
                file_name=f"党员名册.{ext}", content_type=f"application/x-{ext}", row_count=2
            )
        )
        for i in range(0, len(content), CHUNK):
            yield pb.ExportMembersResponse(chunk=content[i : i + CHUNK])

    async def ExportMemberArchive(self, request: pb.ExportMemberArchiveRequest, context: Any):
        caller = await self._caller(context)
        m = self.member.store.members.get(request.member_id)
        if (
            m is None
            or str(caller.tenant_id) != m.tenant_id
            or not self.member._in_scope(caller, m.organization_id)
        ):
            await self._fail(context, grpc.StatusCode.NOT_FOUND, "member_not_found", "none")
        self.state.exports.append((caller, request))
        pdf = request.format != pb.TRANSFER_FILE_FORMAT_XLSX
        content = (b"%PDF-1.4 " if pdf else b"PK\x03\x04 ") + m.profile.name.encode()
        yield pb.ExportMemberArchiveResponse(
            header=pb.TransferFileHeader(
                file_name=f"党员档案-{m.profile.name}." + ("pdf" if pdf else "xlsx"),
                content_type="application/pdf" if pdf else "application/x-xlsx",
                row_count=1,
            )
        )
        yield pb.ExportMemberArchiveResponse(chunk=content)


def add_transfer_fakes(server: grpc.aio.Server, member_service: Any) -> FakeTransferService:
    fake = FakeTransferService(member_service)
    member_transfer_files_pb2_grpc.add_MemberImportExportServiceServicer_to_server(fake, server)
    member_service.transfer = fake  # tests reach it as fake_member.service.transfer
    return fake
