"""Bodies of tenant provisioning, suspension and aggregates."""

from __future__ import annotations

import uuid
from typing import Annotated

from hongyun.member.v1 import tenant_admin_pb2 as tpb
from pydantic import BaseModel, ConfigDict, Field

from hongyun_gateway import enums
from hongyun_gateway.enums import OrganizationType
from hongyun_gateway.schemas.accounts import Username
from hongyun_gateway.schemas.common import text
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
