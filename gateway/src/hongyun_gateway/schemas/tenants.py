"""Tenant bodies (租户)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from hongyun.member.v1 import member_pb2 as pb
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from hongyun_gateway.pagination import Page
from hongyun_gateway.schemas.common import opt_str, text, timestamp

TENANT_STATUS = {pb.TENANT_STATUS_ACTIVE: "active", pb.TENANT_STATUS_SUSPENDED: "suspended"}


class TenantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, text(1, 100)] = Field(examples=["示范省委组织部"])
    code: Annotated[
        str,
        BeforeValidator(lambda v: v.strip().lower() if isinstance(v, str) else v),
        StringConstraints(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$"),
    ] = Field(description="Short unique code: a-z, 0-9, '-' (≤32)", examples=["gd-sz"])
    parent_id: uuid.UUID | None = Field(default=None, description="Parent tenant 上级租户")

    def to_proto(self) -> pb.CreateTenantRequest:
        return pb.CreateTenantRequest(
            name=self.name, code=self.code, parent_id=str(self.parent_id or "")
        )


class TenantRead(BaseModel):
    id: str
    name: str
    code: str
    parent_id: str | None
    status: str | None = Field(default=None, description="active 正常 | suspended 已停用")
    created_at: datetime | None

    @classmethod
    def from_proto(cls, t: pb.Tenant) -> TenantRead:
        return cls(
            id=t.id,
            name=t.name,
            code=t.code,
            parent_id=opt_str(t.parent_id),
            status=TENANT_STATUS.get(t.status),
            created_at=timestamp(t, "created_at"),
        )


class TenantPage(Page[TenantRead]):
    pass
