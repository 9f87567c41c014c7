"""Account bodies (账号). Accounts live in the gateway's identity store."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from hongyun_gateway.identity.models import Account
from hongyun_gateway.schemas.common import text


class Role(StrEnum):
    PLATFORM_ADMIN = "platform_admin"  # 平台管理员
    TENANT_ADMIN = "tenant_admin"  # 租户管理员
    SECRETARY = "secretary"  # 支部书记 / 党务工作者
    MEMBER = "member"  # 党员
    DESCENDANT_READER = "descendant_reader"  # 上级查阅下级租户记录（只读，全部审计）


Username = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]{2,63}$"),
]


class AccountCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Username = Field(
        description="3–64 characters: letters, digits, _ . @ - (case-insensitive, unique)",
        examples=["zhang.san"],
    )
    password: str = Field(min_length=8, max_length=128)
    display_name: Annotated[str, text(0, 100)] = ""
    roles: list[Role] = Field(min_length=1, max_length=4, examples=[["secretary"]])
    tenant_id: uuid.UUID | None = Field(
        default=None,
        description="Defaults to the tenant the caller acts in (X-Hongyun-Tenant for admins)",
    )
    scope_org_id: uuid.UUID | None = Field(
        default=None, description="Data scope (organisation subtree); required for secretaries"
    )


class AccountRead(BaseModel):
    id: uuid.UUID
    username: str
    display_name: str
    tenant_id: uuid.UUID | None
    roles: list[str]
    scope_org_id: uuid.UUID | None
    disabled: bool
    created_at: datetime

    @classmethod
    def from_row(cls, a: Account) -> AccountRead:
        return cls(
            id=a.id,
            username=a.username,
            display_name=a.display_name,
            tenant_id=a.tenant_id,
            roles=sorted(a.roles),
            scope_org_id=a.scope_org_id,
            disabled=a.disabled,
            created_at=a.created_at,
        )
