"""What the app holds for its lifetime (built in create_app's lifespan) and how routes get it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from hongyun_gateway.access_tokens import AccessTokens
from hongyun_gateway.identity.database import IdentityDatabase
from hongyun_gateway.learning_client import LearningClient
from hongyun_gateway.member_client import MemberClient
from hongyun_gateway.passwords import Passwords
from hongyun_gateway.settings import GatewaySettings
from hongyun_gateway.tenant_status import TenantStatusCache


@dataclass
class GatewayState:
    settings: GatewaySettings
    identity_db: IdentityDatabase
    member_client: MemberClient
    access_tokens: AccessTokens
    passwords: Passwords
    tenant_status: TenantStatusCache
    learning_client: LearningClient | None = None  # None only in tests without the service


def get_state(request: Request) -> GatewayState:
    return request.app.state.gateway  # type: ignore[no-any-return]


def get_member_client(request: Request) -> MemberClient:
    return get_state(request).member_client


def get_learning_client(request: Request) -> LearningClient:
    client = get_state(request).learning_client
    if client is None:
        raise RuntimeError("the learning service client is not configured")
    return client


State = Annotated[GatewayState, Depends(get_state)]
Members = Annotated[MemberClient, Depends(get_member_client)]
Learning = Annotated[LearningClient, Depends(get_learning_client)]
