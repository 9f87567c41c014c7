"""Login, refresh and identity bodies."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64, examples=["admin"])
    password: str = Field(min_length=1, max_length=256, examples=["change-me-please"])


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str = Field(min_length=1, max_length=256)


class TokenPair(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int = Field(description="Access-token lifetime in seconds")
    refresh_token: str = Field(description="Opaque; single use: every refresh returns a new one")
    refresh_expires_in: int = Field(description="Refresh-token lifetime in seconds")


class IdentityRead(BaseModel):
    account_id: uuid.UUID
    username: str
    display_name: str
    tenant_id: uuid.UUID | None = Field(description="Home tenant; null for platform admins")
    acting_tenant_id: uuid.UUID | None = Field(
        description="Tenant this request acts in (X-Hongyun-Tenant for platform admins)"
    )
    roles: list[str]
    scope_org_id: uuid.UUID | None
