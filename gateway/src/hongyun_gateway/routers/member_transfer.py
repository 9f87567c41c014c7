"""党员导入导出 — member import (the national 16-item template) and exports (docs/adr/0010).

- ``/api/v1/member-imports``: the template, an upload that starts an import job (202), the
  job's progress, and its error workbook.
- ``/api/v1/members/export`` and ``/api/v1/members/{id}/archive``: files of personal data,
  masked unless ``reveal=true&reason=…`` and the service allows it; every export is audited and
  watermarked with the exporter's identity and time by the member service.

Files travel from and to the member service as gRPC streams of chunks; this router only checks
the input and relays bytes. Include this router before ``members.router``: ``/export`` is not an id.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

import grpc
from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from hongyun.member.v1 import member_transfer_files_pb2 as pb

from hongyun_gateway.auth import TenantCaller
from hongyun_gateway.enums import MemberCategory, PartyStatus
from hongyun_gateway.enums import to_proto as enum_to_proto
from hongyun_gateway.multipart_form import read_multipart
from hongyun_gateway.private_responses import NO_STORE, attachment_disposition
from hongyun_gateway.problems import (
    ProblemError,
    problem_from_rpc_error,
    problem_responses,
    validation_problem,
)
from hongyun_gateway.reveal import exporter_label, reveal_reason
from hongyun_gateway.schemas.member_transfer import (
    FORMAT_TO_PROTO,
    MODE_TO_PROTO,
    ArchiveFormat,
    ImportJobRead,
    ImportMode,
    ListFormat,
)
from hongyun_gateway.state import State

IMPORTS = "/api/v1/member-imports"
imports_router = APIRouter(prefix=IMPORTS, tags=["member import/export 党员导入导出"])
exports_router = APIRouter(prefix="/api/v1/members", tags=["member import/export 党员导入导出"])

_UPLOAD_CHUNK = 1024 * 1024
_FILE = {"description": "文件 The file", "content": {"application/octet-stream": {}}}


def _file_headers(file_name: str) -> dict[str, str]:
    return {**NO_STORE, "Content-Disposition": attachment_disposition(file_name)}


async def _relay(call: Any) -> StreamingResponse:
    """Reads the stream's header (errors become problems before any byte is sent), then
    streams the chunks."""
    try:
        first = await call.read()
    except grpc.aio.AioRpcError as exc:
        raise problem_from_rpc_error(exc) from exc
    if first is grpc.aio.EOF or first.WhichOneof("part") != "header":
        raise ProblemError(500, "internal_error", "服务未返回文件 (the service returned no file)")
    header = first.header

    async def chunks() -> AsyncIterator[bytes]:
        while True:
            part = await call.read()
            if part is grpc.aio.EOF:
                return
            yield part.chunk

    headers = _file_headers(header.file_name)
    if header.row_count:
        headers["X-Row-Count"] = str(header.row_count)
    return StreamingResponse(chunks(), media_type=header.content_type, headers=headers)


# ---- imports ----


@imports_router.get(
    "/template",
    summary="下载党员信息采集模板 Download the national 16-item member template",
    response_class=Response,
    responses={200: _FILE, **problem_responses(400, 401, 403, 503)},
)
async def download_template(
    caller: TenantCaller,
    state: State,
    format: Annotated[ListFormat, Query(description="xlsx（含下拉选项）或 csv")] = ListFormat.XLSX,
) -> Response:
    client = state.member_client
    resp = await client.transfer.GetImportTemplate(
        pb.GetImportTemplateRequest(format=FORMAT_TO_PROTO[format.value]),
        metadata=caller.to_metadata(),
        timeout=client.deadline_seconds,
    )
    return Response(
        resp.content,
        media_type=resp.header.content_type,
        headers={"Content-Disposition": attachment_disposition(resp.header.file_name)},
    )


@imports_router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ImportJobRead,
    summary="上传文件并开始导入 Upload an .xlsx/.csv file and start an import job",
    description=(
        "multipart/form-data with `file` (.xlsx or .csv: UTF-8 with or without BOM, GB18030), "
        "`mode` (`all_or_nothing`: any bad row and nothing is written; `valid_rows_only`: the "
        "valid rows are written, the bad ones reported) and optional `organization_path` (used "
        "where 所在党组织 is empty, e.g. 红云示范党委/第一党支部). Answers 202 with the job; poll "
        "`GET /api/v1/member-imports/{id}` for progress. ID numbers already registered are "
        "skipped, so uploading the same file again is safe."
    ),
    responses=problem_responses(400, 401, 403, 404, 413, 415, 422, 503),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "mode": {
                                "type": "string",
                                "enum": [m.value for m in ImportMode],
                                "default": ImportMode.ALL_OR_NOTHING.value,
                            },
                            "organization_path": {"type": "string", "maxLength": 1000},
                        },
                    }
                }
            },
        }
    },
)
async def start_import(
    request: Request, caller: TenantCaller, state: State, response: Response
) -> ImportJobRead:
    max_bytes = state.settings.member_import_max_bytes
    form = await read_multipart(request, max_bytes=max_bytes)
    errors = []
    upload = form.files.get("file")
    if upload is None or not upload.data:
        errors.append({"field": "file", "message": "请选择要上传的文件 (file is required)",
                       "reason": "required"})  # fmt: skip
    mode_text = form.fields.get("mode", ImportMode.ALL_OR_NOTHING.value).strip()
    if mode_text not in {m.value for m in ImportMode}:
        errors.append({"field": "mode", "reason": "enum",
                       "message": "mode 应为 all_or_nothing 或 valid_rows_only"})  # fmt: skip
    path = form.fields.get("organization_path", "").strip()
    if len(path) > 1000:
        errors.append({"field": "organization_path", "reason": "too_long",
                       "message": "组织路径最多 1000 个字符"})  # fmt: skip
    if errors:
        raise validation_problem(errors)
    assert upload is not None
    name = upload.filename.replace("\\", "/").rsplit("/", 1)[-1][:255] or "upload"

    async def messages() -> AsyncIterator[pb.StartImportRequest]:
        yield pb.StartImportRequest(
            header=pb.ImportUploadHeader(
                file_name=name,
                mode=MODE_TO_PROTO[ImportMode(mode_text)],
                default_organization_path=path,
            )
        )
        for i in range(0, len(upload.data), _UPLOAD_CHUNK):
            yield pb.StartImportRequest(chunk=upload.data[i : i + _UPLOAD_CHUNK])

    resp = await state.member_client.transfer.StartImport(
        messages(),
        metadata=caller.to_metadata(),
        timeout=state.settings.member_transfer_deadline_seconds,
    )
    job = ImportJobRead.from_proto(resp.job, IMPORTS)
    response.headers["Location"] = f"{IMPORTS}/{job.id}"
    response.headers.update(NO_STORE)
    return job


@imports_router.get(
    "/{job_id}",
    response_model=ImportJobRead,
    summary="导入进度 Progress and outcome of an import job",
    responses=problem_responses(400, 401, 403, 404, 422, 503),
)
async def get_import(
    job_id: uuid.UUID, caller: TenantCaller, state: State, response: Response
) -> ImportJobRead:
    client = state.member_client
    resp = await client.transfer.GetImportJob(
        pb.GetImportJobRequest(id=str(job_id)),
        metadata=caller.to_metadata(),
        timeout=client.deadline_seconds,
    )
    response.headers.update(NO_STORE)
    return ImportJobRead.from_proto(resp.job, IMPORTS)


@imports_router.get(
    "/{job_id}/errors",
    summary="下载错误明细 The error workbook: each rejected row, its cells and reasons (audited)",
    response_class=StreamingResponse,
    responses={200: _FILE, **problem_responses(400, 401, 403, 404, 409, 422, 503)},
)
async def download_import_errors(
    job_id: uuid.UUID, caller: TenantCaller, state: State
) -> StreamingResponse:
    call = state.member_client.transfer.DownloadImportErrors(
        pb.DownloadImportErrorsRequest(id=str(job_id)),
        metadata=caller.to_metadata(),
        timeout=state.settings.member_transfer_deadline_seconds,
    )
    return await _relay(call)


# ---- exports ----


@exports_router.get(
    "/export",
    summary="导出党员名册 Export a filtered member list in the template (masked unless revealed)",
    description=(
        "The caller's scope, or the subtree of `organization_id`, filtered by `category` and "
        "`party_status`. Personal data is masked unless `reveal=true` with a `reason` (tenant "
        "admins, secretaries in scope). Every export is audited and watermarked."
    ),
    response_class=StreamingResponse,
    responses={200: _FILE, **problem_responses(400, 401, 403, 404, 422, 503)},
)
async def export_members(
    caller: TenantCaller,
    state: State,
    format: Annotated[ListFormat, Query(description="xlsx 或 csv")] = ListFormat.XLSX,
    organization_id: Annotated[
        uuid.UUID | None, Query(description="Subtree root 组织（含下级）")
    ] = None,
    category: Annotated[MemberCategory | None, Query(description="人员类别")] = None,
    party_status: Annotated[PartyStatus | None, Query(description="党籍状态")] = None,
    reveal: Annotated[bool, Query(description="导出完整个人信息 personal data in full")] = False,
    reason: Annotated[
        str | None, Query(max_length=200, description="导出理由 why (required with reveal)")
    ] = None,
) -> StreamingResponse:
    why = reveal_reason(reveal, reason, export=True)
    call = state.member_client.transfer.ExportMembers(
        pb.ExportMembersRequest(
            format=FORMAT_TO_PROTO[format.value],
            organization_id=str(organization_id or ""),
            category=enum_to_proto(category, MemberCategory),  # type: ignore[arg-type]
            party_status=enum_to_proto(party_status, PartyStatus),  # type: ignore[arg-type]
            reveal=reveal,
            reveal_reason=why,
            exporter_label=await exporter_label(state, caller),
        ),
        metadata=caller.to_metadata(),
        timeout=state.settings.member_transfer_deadline_seconds,
    )
    return await _relay(call)


@exports_router.get(
    "/{member_id}/archive",
    summary="导出党员档案 One member's archive as PDF or xlsx (masked unless revealed)",
    response_class=StreamingResponse,
    responses={200: _FILE, **problem_responses(400, 401, 403, 404, 422, 503)},
)
async def export_archive(
    member_id: uuid.UUID,
    caller: TenantCaller,
    state: State,
    format: Annotated[ArchiveFormat, Query(description="pdf 或 xlsx")] = ArchiveFormat.PDF,
    reveal: Annotated[bool, Query(description="导出完整个人信息 personal data in full")] = False,
    reason: Annotated[
        str | None, Query(max_length=200, description="导出理由 why (required with reveal)")
    ] = None,
) -> StreamingResponse:
    why = reveal_reason(reveal, reason, export=True)
    call = state.member_client.transfer.ExportMemberArchive(
        pb.ExportMemberArchiveRequest(
            member_id=str(member_id),
            format=FORMAT_TO_PROTO[format.value],
            reveal=reveal,
            reveal_reason=why,
            exporter_label=await exporter_label(state, caller),
        ),
        metadata=caller.to_metadata(),
        timeout=state.settings.member_transfer_deadline_seconds,
    )
    return await _relay(call)
