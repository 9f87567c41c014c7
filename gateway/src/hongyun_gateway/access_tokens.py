"""JWT (HS256) access tokens: short-lived, self-contained, verified without a database call.

Claims: iss "hongyun", sub (account id), tenant (UUID or null for platform admins), roles,
scope_org (UUID or null), iat, exp, jti.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from hongyun_platform.grpc.context import KNOWN_ROLES

ISSUER = "hongyun"
ALGORITHM = "HS256"
LEEWAY = timedelta(seconds=10)


class InvalidAccessToken(Exception):
    """`reason`: expired | invalid."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class AccessClaims:
    account_id: str
    tenant_id: uuid.UUID | None
    roles: frozenset[str]
    scope_org_id: uuid.UUID | None
    issued_at: datetime
    expires_at: datetime
    token_id: str


@dataclass(frozen=True)
class IssuedAccessToken:
    token: str
    expires_at: datetime
    expires_in: int  # seconds


def _utcnow() -> datetime:
    return datetime.now(UTC)


class AccessTokens:
    def __init__(
        self, secret: str, ttl: timedelta, *, now: Callable[[], datetime] = _utcnow
    ) -> None:
        if not secret:
            raise ValueError("empty JWT secret")
        self._secret = secret
        self._ttl = ttl
        self._now = now

    @property
    def ttl(self) -> timedelta:
        return self._ttl

    def issue(
        self,
        account_id: str,
        *,
        tenant_id: uuid.UUID | None,
        roles: frozenset[str] | list[str],
        scope_org_id: uuid.UUID | None,
    ) -> IssuedAccessToken:
        now = self._now().replace(microsecond=0)
        expires = now + self._ttl
        payload: dict[str, Any] = {
            "iss": ISSUER,
            "sub": account_id,
            "tenant": str(tenant_id) if tenant_id else None,
            "roles": sorted(roles),
            "scope_org": str(scope_org_id) if scope_org_id else None,
            "iat": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "jti": uuid.uuid4().hex,
        }
        token = jwt.encode(payload, self._secret, algorithm=ALGORITHM)
        return IssuedAccessToken(token, expires, int(self._ttl.total_seconds()))

    def verify(self, token: str) -> AccessClaims:
        try:
            payload = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={
                    "require": ["iss", "sub", "iat", "exp", "jti"],
                    # Time is checked below against our clock (injectable, so tests are exact).
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
            expires = int(payload["exp"])
        except (jwt.PyJWTError, KeyError, TypeError, ValueError) as exc:
            raise InvalidAccessToken("invalid", "access token invalid") from exc
        if expires + LEEWAY.total_seconds() < self._now().timestamp():
            raise InvalidAccessToken("expired", "access token expired")
        try:
            return _claims(payload)
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidAccessToken("invalid", "access token invalid") from exc


def _optional_uuid(value: Any) -> uuid.UUID | None:
    if value is None:
        return None
    return uuid.UUID(str(value))


def _claims(payload: dict[str, Any]) -> AccessClaims:
    roles = payload.get("roles")
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise ValueError("roles claim must be a list of strings")
    role_set = frozenset(roles)
    if role_set - KNOWN_ROLES:
        raise ValueError("unknown role in token")
    sub = payload["sub"]
    if not isinstance(sub, str) or not sub:
        raise ValueError("sub claim must be a non-empty string")
    return AccessClaims(
        account_id=sub,
        tenant_id=_optional_uuid(payload.get("tenant")),
        roles=role_set,
        scope_org_id=_optional_uuid(payload.get("scope_org")),
        issued_at=datetime.fromtimestamp(payload["iat"], UTC),
        expires_at=datetime.fromtimestamp(payload["exp"], UTC),
        token_id=str(payload["jti"]),
    )
