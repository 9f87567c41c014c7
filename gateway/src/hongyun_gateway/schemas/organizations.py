"""Organisation bodies (党组织)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from hongyun.member.v1 import member_pb2 as pb
from pydantic import BaseModel, ConfigDict, Field

from hongyun_gateway import enums
from hongyun_gateway.enums import OrganizationType
from hongyun_gateway.pagination import Page
from hongyun_gateway.schemas.common import opt_str, text, timestamp


class OrganizationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parent_id: uuid.UUID | None = Field(
        default=None, description="Parent organisation; omit to create the root (tenant admins)"
    )
    name: Annotated[str, text(1, 100)] = Field(examples=["第一党支部"])
    type: OrganizationType = Field(examples=["branch"])

    def to_proto(self) -> pb.CreateOrganizationRequest:
        return pb.CreateOrganizationRequest(
            parent_id=str(self.parent_id or ""),
            name=self.name,
            type=enums.to_proto(self.type),
        )


class OrganizationRead(BaseModel):
    id: str
    tenant_id: str
    parent_id: str | None
    name: str
    type: OrganizationType | None
    depth: int = Field(description="Root = 1")
    created_at: datetime | None

    @classmethod
    def from_proto(cls, o: pb.Organization) -> OrganizationRead:
        return cls(
            id=o.id,
            tenant_id=o.tenant_id,
            parent_id=opt_str(o.parent_id),
            name=o.name,
            type=enums.from_proto(OrganizationType, o.type),
            depth=o.depth,
            created_at=timestamp(o, "created_at"),
        )


class OrganizationPage(Page[OrganizationRead]):
    pass
