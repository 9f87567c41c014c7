"""gRPC transport of MemberImportExportService: files in and out as 1 MiB chunks.

The platform's interceptor handles unary calls only, so the streaming methods here read the
caller from metadata and map DomainError to a status themselves (same functions it uses).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import IO

from hongyun.member.v1 import member_transfer_files_pb2 as pb
from hongyun.member.v1 import member_transfer_files_pb2_grpc
from hongyun_platform.db import Database
from hongyun_platform.errors import DomainError, InvalidArgument
from hongyun_platform.grpc.context import (
    ROLE_PLATFORM_ADMIN,
    CallerContext,
    caller_scope,
    current_caller,
)
from hongyun_platform.grpc.errors import abort_with
from hongyun_platform.logging import get_logger

from member_service import transfer_files
from member_service.exports import ExportFile, MemberExports
from member_service.imports import ImportJobView, ImportRunner, MemberImports
from member_service.mappers import timestamp

log = get_logger(__name__)
CHUNK = 1024 * 1024

_FORMATS = {
    pb.TRANSFER_FILE_FORMAT_XLSX: "xlsx",
    pb.TRANSFER_FILE_FORMAT_CSV: "csv",
    pb.TRANSFER_FILE_FORMAT_PDF: "pdf",
}
_FORMAT_PB = {v: k for k, v in _FORMATS.items()}
_MODES = {
    pb.IMPORT_MODE_ALL_OR_NOTHING: "all_or_nothing",
    pb.IMPORT_MODE_VALID_ROWS_ONLY: "valid_rows_only",
}
_MODE_PB = {v: k for k, v in _MODES.items()}
_STATUS_PB = {
    "queued": pb.IMPORT_JOB_STATUS_QUEUED,
    "running": pb.IMPORT_JOB_STATUS_RUNNING,
    "succeeded": pb.IMPORT_JOB_STATUS_SUCCEEDED,
    "rejected": pb.IMPORT_JOB_STATUS_REJECTED,
    "failed": pb.IMPORT_JOB_STATUS_FAILED,
}


def job_to_pb(view: ImportJobView) -> pb.ImportJob:
    j = view.job
    return pb.ImportJob(
        id=str(j.id),
        tenant_id=str(j.tenant_id),
        file_name=j.file_name,
        format=_FORMAT_PB.get(j.file_format, pb.TRANSFER_FILE_FORMAT_UNSPECIFIED),
        mode=_MODE_PB.get(j.mode, pb.IMPORT_MODE_UNSPECIFIED),
        status=_STATUS_PB.get(j.status, pb.IMPORT_JOB_STATUS_UNSPECIFIED),
        total_rows=j.total_rows,
        rows_done=j.rows_done,
        percent=view.percent,
        accepted=j.accepted,
        rejected=j.rejected,
        skipped=j.skipped,
        reasons=[pb.ImportReasonCount(code=c, message=m, rows=n) for c, m, n in view.reasons],
        error_code=j.error_code,
        error_message=j.error_message,
        created_by=j.created_by,
        default_organization_path=j.default_org_path,
        **{
            name: timestamp(value)
            for name, value in (
                ("created_at", j.created_at),
                ("started_at", j.started_at),
                ("finished_at", j.finished_at),
            )
            if value is not None  # unset stays unset (HasField false), not 1970
        },
    )


@contextlib.asynccontextmanager
async def _streaming_call(context) -> AsyncIterator[CallerContext]:
    """What CallerContextInterceptor does for unary calls, for streaming ones."""
    try:
        caller = CallerContext.from_metadata(context.invocation_metadata())
    except DomainError as err:
        await abort_with(context, err)
        raise  # abort raises; keeps type checkers content
    with caller_scope(caller):
        try:
            yield caller
        except DomainError as err:
            log.info("request refused", code=err.code, reason=err.message)
            await abort_with(context, err)


def _chunks(body: IO[bytes]) -> AsyncIterator[bytes]:
    async def gen() -> AsyncIterator[bytes]:
        try:
            while chunk := body.read(CHUNK):
                yield chunk
        finally:
            body.close()

    return gen()


class MemberTransferServicer(member_transfer_files_pb2_grpc.MemberImportExportServiceServicer):
    def __init__(
        self,
        db: Database,
        imports: MemberImports,
        runner: ImportRunner,
        exports: MemberExports,
        after_commit: Callable[[], None] = lambda: None,
    ):
        self.db = db
        self.imports = imports
        self.runner = runner
        self.exports = exports
        self.after_commit = after_commit

    def _uow(self, caller: CallerContext):
        return self.db.unit_of_work(
            caller.tenant_id, platform_admin=caller.has_role(ROLE_PLATFORM_ADMIN)
        )

    async def GetImportTemplate(
        self, request: pb.GetImportTemplateRequest, context
    ) -> pb.GetImportTemplateResponse:
        current_caller().require_tenant()
        if request.format == pb.TRANSFER_FILE_FORMAT_CSV:
            name, ctype, content = (
                "党员信息采集模板.csv",
                transfer_files.CSV_TYPE,
                transfer_files.template_csv(),
            )
        elif request.format in (pb.TRANSFER_FILE_FORMAT_UNSPECIFIED, pb.TRANSFER_FILE_FORMAT_XLSX):
            name, ctype, content = (
                "党员信息采集模板.xlsx",
                transfer_files.XLSX_TYPE,
                transfer_files.template_xlsx(),
            )
        else:
            raise InvalidArgument("模板格式应为 xlsx 或 csv (format: xlsx | csv)", field="format")
        return pb.GetImportTemplateResponse(
            header=pb.TransferFileHeader(file_name=name, content_type=ctype), content=content
        )

    async def StartImport(self, request_iterator, context) -> pb.StartImportResponse:
        async with _streaming_call(context) as caller:
            header: pb.ImportUploadHeader | None = None
            parts: list[bytes] = []
            size = 0
            limit = self.imports.limits.max_bytes
            async for message in request_iterator:
                which = message.WhichOneof("part")
                if which == "header":
                    if header is not None or parts:
                        raise InvalidArgument("上传头只能出现一次且在最前 (header must come first)")
                    header = message.header
                elif which == "chunk":
                    if header is None:
                        raise InvalidArgument("缺少上传头 (the header must come first)")
                    size += len(message.chunk)
                    if size > limit:
                        raise InvalidArgument(
                            f"文件超过 {limit // (1024 * 1024)} MB (the file is too large)",
                            code="file_too_large",
                            field="file",
                        )
                    parts.append(message.chunk)
            if header is None:
                raise InvalidArgument("缺少上传头 (no upload header)")
            data = b"".join(parts)
            del parts
            async with self._uow(caller) as uow:
                job = await self.imports.create_job(
                    uow,
                    caller,
                    file_name=header.file_name,
                    data=data,
                    mode=_MODES.get(header.mode, ""),
                    default_org_path=header.default_organization_path,
                )
                view = ImportJobView(job, 0, [])
            self.runner.submit(job, data)
            return pb.StartImportResponse(job=job_to_pb(view))

    async def GetImportJob(
        self, request: pb.GetImportJobRequest, context
    ) -> pb.GetImportJobResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            view = await self.imports.get_job(uow, caller, request.id)
        return pb.GetImportJobResponse(job=job_to_pb(view))

    async def DownloadImportErrors(
        self, request: pb.DownloadImportErrorsRequest, context
    ) -> AsyncIterator[pb.DownloadImportErrorsResponse]:
        async with _streaming_call(context) as caller, self._uow(caller) as uow:
            name, content = await self.imports.error_workbook(uow, caller, request.id)
        yield pb.DownloadImportErrorsResponse(
            header=pb.TransferFileHeader(file_name=name, content_type=transfer_files.XLSX_TYPE)
        )
        for i in range(0, len(content), CHUNK):
            yield pb.DownloadImportErrorsResponse(chunk=content[i : i + CHUNK])

    async def ExportMembers(
        self, request: pb.ExportMembersRequest, context
    ) -> AsyncIterator[pb.ExportMembersResponse]:
        async with _streaming_call(context) as caller, self._uow(caller) as uow:
            file = await self.exports.export_members(
                uow,
                caller,
                fmt=_FORMATS.get(request.format, "") if request.format else "xlsx",
                organization_id=request.organization_id,
                category=request.category,
                party_status=request.party_status,
                reveal=request.reveal,
                reason=request.reveal_reason,
                exporter_label=request.exporter_label,
            )
        async for message in self._stream(file, pb.ExportMembersResponse):
            yield message

    async def ExportMemberArchive(
        self, request: pb.ExportMemberArchiveRequest, context
    ) -> AsyncIterator[pb.ExportMemberArchiveResponse]:
        async with _streaming_call(context) as caller, self._uow(caller) as uow:
            file = await self.exports.export_archive(
                uow,
                caller,
                member_id=request.member_id,
                fmt=_FORMATS.get(request.format, "") if request.format else "pdf",
                reveal=request.reveal,
                reason=request.reveal_reason,
                exporter_label=request.exporter_label,
            )
        async for message in self._stream(file, pb.ExportMemberArchiveResponse):
            yield message

    @staticmethod
    async def _stream(file: ExportFile, response_type) -> AsyncIterator:
        yield response_type(
            header=pb.TransferFileHeader(
                file_name=file.file_name, content_type=file.content_type, row_count=file.row_count
            )
        )
        async for chunk in _chunks(file.body):
            yield response_type(chunk=chunk)
