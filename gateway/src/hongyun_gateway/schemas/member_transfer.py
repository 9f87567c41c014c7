"""Member import jobs and export parameters (党员导入导出), snake_case, enums lower-case."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from hongyun.member.v1 import member_transfer_files_pb2 as pb
from pydantic import BaseModel, Field

from hongyun_gateway.schemas.common import timestamp


class ImportMode(StrEnum):
    ALL_OR_NOTHING = "all_or_nothing"  # 全部通过才导入
    VALID_ROWS_ONLY = "valid_rows_only"  # 仅导入通过校验的行


class ImportJobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    REJECTED = "rejected"
    FAILED = "failed"


class ListFormat(StrEnum):
    XLSX = "xlsx"
    CSV = "csv"


class ArchiveFormat(StrEnum):
    PDF = "pdf"
    XLSX = "xlsx"


FORMAT_TO_PROTO = {
    "xlsx": pb.TRANSFER_FILE_FORMAT_XLSX,
    "csv": pb.TRANSFER_FILE_FORMAT_CSV,
    "pdf": pb.TRANSFER_FILE_FORMAT_PDF,
}
_FORMAT_FROM_PROTO = {v: k for k, v in FORMAT_TO_PROTO.items()}
MODE_TO_PROTO = {
    ImportMode.ALL_OR_NOTHING: pb.IMPORT_MODE_ALL_OR_NOTHING,
    ImportMode.VALID_ROWS_ONLY: pb.IMPORT_MODE_VALID_ROWS_ONLY,
}
_MODE_FROM_PROTO = {v: k for k, v in MODE_TO_PROTO.items()}
_STATUS_FROM_PROTO = {
    pb.IMPORT_JOB_STATUS_QUEUED: ImportJobStatus.QUEUED,
    pb.IMPORT_JOB_STATUS_RUNNING: ImportJobStatus.RUNNING,
    pb.IMPORT_JOB_STATUS_SUCCEEDED: ImportJobStatus.SUCCEEDED,
    pb.IMPORT_JOB_STATUS_REJECTED: ImportJobStatus.REJECTED,
    pb.IMPORT_JOB_STATUS_FAILED: ImportJobStatus.FAILED,
}


class ImportReason(BaseModel):
    code: str = Field(
        description="稳定的原因代码，如 id_number.check_digit", examples=["id_number.check_digit"]
    )
    message: str = Field(
        description="中文说明", examples=["公民身份号码：公民身份号码校验位错误，请核对"]
    )
    rows: int = Field(description="因此被拒绝的行数")


class ImportJobRead(BaseModel):
    """导入任务 An import job: status and progress (poll until status is final)."""

    id: str
    file_name: str
    format: str | None = Field(description="xlsx | csv")
    mode: ImportMode | None
    status: ImportJobStatus | None
    total_rows: int = Field(description="文件中的数据行数（解析后才有）")
    rows_done: int = Field(description="已处理行数")
    percent: int = Field(ge=0, le=100, description="进度百分比；结束时为 100")
    accepted: int = Field(description="写入的新党员数")
    rejected: int = Field(description="未通过校验的行数（见错误明细）")
    skipped: int = Field(description="公民身份号码已登记而跳过的行数")
    reasons: list[ImportReason]
    error_code: str | None = Field(
        description="failed: bad_file, bad_header, bad_encoding, empty_file, too_many_rows, "
        "interrupted; rejected: rows_rejected"
    )
    error_message: str | None
    default_organization_path: str | None
    created_by: str
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    errors_url: str | None = Field(description="错误明细工作簿 (when the job has finished)")

    @classmethod
    def from_proto(cls, j: pb.ImportJob, base: str) -> ImportJobRead:
        status = _STATUS_FROM_PROTO.get(j.status)
        finished = status in (ImportJobStatus.SUCCEEDED, ImportJobStatus.REJECTED)
        return cls(
            id=j.id,
            file_name=j.file_name,
            format=_FORMAT_FROM_PROTO.get(j.format),
            mode=_MODE_FROM_PROTO.get(j.mode),
            status=status,
            total_rows=j.total_rows,
            rows_done=j.rows_done,
            percent=j.percent,
            accepted=j.accepted,
            rejected=j.rejected,
            skipped=j.skipped,
            reasons=[ImportReason(code=r.code, message=r.message, rows=r.rows) for r in j.reasons],
            error_code=j.error_code or None,
            error_message=j.error_message or None,
            default_organization_path=j.default_organization_path or None,
            created_by=j.created_by,
            created_at=timestamp(j, "created_at"),
            started_at=timestamp(j, "started_at"),
            finished_at=timestamp(j, "finished_at"),
            errors_url=f"{base}/{j.id}/errors" if finished else None,
        )
