"""Bodies of tenant provisioning, suspension, aggregates and data exports."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from hongyun.member.v1 import tenant_admin_pb2 as tpb
from pydantic import BaseModel, ConfigDict, Field

from hongyun_gateway import enums
from hongyun_gateway.enums import OrganizationType
from hongyun_gateway.schemas.accounts import Username
from hongyun_gateway.schemas.common import text, timestamp
from hongyun_gateway.schemas.organizations import OrganizationRead
from hongyun_gateway.schemas.tenants import TenantCreate, TenantRead


class FirstAdmin(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Username
    password: str = Field(min_length=8, max_length=128)
    display_name: Annotated[str, text(0, 100)] = ""


class TenantProvision(TenantCreate):
    """开通下级租户: the tenant, its root organisation (党委 by default) and its first admin."""

    root_organization_name: Annotated[str, text(1, 100)] = Field(examples=["某市委"])
    root_organization_type: OrganizationType = OrganizationType.COMMITTEE
    admin: FirstAdmin

    def to_proto(self) -> tpb.ProvisionTenantRequest:  # type: ignore[override]
        return tpb.ProvisionTenantRequest(
            name=self.name,
            code=self.code,
            parent_id=str(self.parent_id or ""),
            root_organization_name=self.root_organization_name,
            root_organization_type=enums.to_proto(self.root_organization_type),  # type: ignore[arg-type]
        )


class ProvisionedRead(BaseModel):
    tenant: TenantRead
    root_organization: OrganizationRead
    admin_account_id: uuid.UUID
    created: bool

    @classmethod
    def from_proto(
        cls, r: tpb.ProvisionTenantResponse, *, admin_account_id: uuid.UUID
    ) -> ProvisionedRead:
        return cls(
            tenant=TenantRead.from_proto(r.tenant),
            root_organization=OrganizationRead.from_proto(r.root_organization),
            admin_account_id=admin_account_id,
            created=r.created,
        )


class TenantStatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, text(0, 500)] = Field(
        default="", description="原因 (required to suspend)"
    )


class TenantStatusChanged(BaseModel):
    affected_tenant_ids: list[str]


class TenantAggregateRead(BaseModel):
    tenant_id: str
    tenant_name: str
    depth: int = Field(description="0 = the requested tenant")
    organizations: int
    members: int
    full_members: int
    probationary_members: int
    lost_contact: int
    floating: int

    @classmethod
    def from_proto(cls, a: tpb.TenantAggregate) -> TenantAggregateRead:
        return cls(**{f: getattr(a, f) for f in cls.model_fields})


class AggregatesRead(BaseModel):
    tenants: list[TenantAggregateRead]
    total: TenantAggregateRead

    @classmethod
    def from_proto(cls, r: tpb.GetTenantAggregatesResponse) -> AggregatesRead:
        return cls(
            tenants=[TenantAggregateRead.from_proto(a) for a in r.tenants],
            total=TenantAggregateRead.from_proto(r.total),
        )


# ---- data exports (docs/adr/0012) ----


class TenantExportStart(BaseModel):
    """导出租户数据 Start an export of the tenant's data (a .zip, built in the background)."""

    model_config = ConfigDict(extra="forbid")

    include_descendants: bool = Field(
        default=False, description="包含全部下级租户 every descendant tenant too"
    )
    reveal: bool = Field(
        default=False,
        description="导出完整个人信息 personal data in full (the tenant's own admins only; audited)",
    )
    reason: Annotated[str, text(0, 200)] = Field(
        default="", description="导出理由 why (required with reveal)", examples=["移交档案馆"]
    )


class TenantExportStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    EXPIRED = "expired"


_EXPORT_STATUS = {
    tpb.TENANT_EXPORT_STATUS_QUEUED: TenantExportStatus.QUEUED,
    tpb.TENANT_EXPORT_STATUS_RUNNING: TenantExportStatus.RUNNING,
    tpb.TENANT_EXPORT_STATUS_SUCCEEDED: TenantExportStatus.SUCCEEDED,
    tpb.TENANT_EXPORT_STATUS_FAILED: TenantExportStatus.FAILED,
    tpb.TENANT_EXPORT_STATUS_EXPIRED: TenantExportStatus.EXPIRED,
}


class TenantExportFileRead(BaseModel):
    path: str = Field(examples=["tenants/demo/members.jsonl"])
    rows: int
    size: int = Field(description="字节数（未压缩）")
    sha256: str


class TenantExportRead(BaseModel):
    """租户数据导出任务 An export: progress, then the file (poll until status is final)."""

    id: str
    tenant_id: str
    include_descendants: bool
    tenant_ids: list[str] = Field(description="文件包含其数据的租户 (fixed at start)")
    revealed: bool
    status: TenantExportStatus | None
    total_rows: int = Field(description="组织、组织历史、届期与党员的总行数（统计后才有）")
    rows_done: int
    percent: int = Field(ge=0, le=100, description="进度百分比；结束时为 100")
    file_name: str | None
    size: int = Field(description="zip 字节数")
    sha256: str | None = Field(description="zip 的 SHA-256，下载后可校验")
    files: list[TenantExportFileRead] = Field(description="zip 内的文件（与 manifest.json 一致）")
    download_url: str | None = Field(
        description="下载地址（仅 succeeded；短时有效，每次查询重新签发并审计）"
    )
    download_url_expires_at: datetime | None
    expires_at: datetime | None = Field(description="文件保留至此时间，之后删除")
    error_code: str | None = Field(description="failed: interrupted, internal_error")
    error_message: str | None
    watermark: str
    created_by: str
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def from_proto(cls, e: tpb.TenantExport) -> TenantExportRead:
        return cls(
            id=e.id,
            tenant_id=e.tenant_id,
            include_descendants=e.include_descendants,
            tenant_ids=list(e.tenant_ids),
            revealed=e.revealed,
            status=_EXPORT_STATUS.get(e.status),
            total_rows=e.total_rows,
            rows_done=e.rows_done,
            percent=e.percent,
            file_name=e.file_name or None,
            size=e.size,
            sha256=e.sha256 or None,
            files=[
                TenantExportFileRead(path=f.path, rows=f.rows, size=f.size, sha256=f.sha256)
                for f in e.files
            ],
            download_url=e.download_url or None,
            download_url_expires_at=timestamp(e, "download_url_expires_at"),
            expires_at=timestamp(e, "expires_at"),
            error_code=e.error_code or None,
            error_message=e.error_message or None,
            watermark=e.watermark,
            created_by=e.created_by,
            created_at=timestamp(e, "created_at"),
            started_at=timestamp(e, "started_at"),
            finished_at=timestamp(e, "finished_at"),
        )
