"""Refresh tokens: opaque random strings, stored as SHA-256, rotated on every use.

Presenting a token that was already rotated or revoked means it leaked (or a client raced
itself): the whole family (every token descended from the same login) is revoked.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hongyun_gateway.identity.models import Account, RefreshToken

TOKEN_BYTES = 32


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


@dataclass(frozen=True)
class IssuedRefreshToken:
    token: str
    expires_at: datetime


class RotationOutcome(enum.Enum):
    ROTATED = "rotated"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    REUSED = "reused"  # the family has been revoked
    ACCOUNT_DISABLED = "account_disabled"


@dataclass(frozen=True)
class Rotation:
    outcome: RotationOutcome
    account: Account | None = None
    issued: IssuedRefreshToken | None = None


def _now() -> datetime:
    return datetime.now(UTC)


async def issue(
    session: AsyncSession,
    account_id: uuid.UUID,
    ttl: timedelta,
    *,
    family_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> tuple[IssuedRefreshToken, RefreshToken]:
    now = now or _now()
    token = new_token()
    row = RefreshToken(
        id=uuid.uuid4(),
        account_id=account_id,
        family_id=family_id or uuid.uuid4(),
        token_hash=hash_token(token),
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(row)
    await session.flush()
    return IssuedRefreshToken(token, row.expires_at), row


async def revoke_family(session: AsyncSession, family_id: uuid.UUID, now: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def rotate(session: AsyncSession, token: str, ttl: timedelta) -> Rotation:
    """Exchange a refresh token for a new one. Locks the row so that two concurrent uses of the
    same token cannot both succeed. Does not commit: the caller commits in every outcome (a
    revoked family must stay revoked)."""
    now = _now()
    stmt = (
        select(RefreshToken).where(RefreshToken.token_hash == hash_token(token)).with_for_update()
    )
    row = (await session.execute(stmt)).scalar_one_or_none()
    if row is None:
        return Rotation(RotationOutcome.UNKNOWN)
    if row.revoked_at is not None:
        await revoke_family(session, row.family_id, now)
        return Rotation(RotationOutcome.REUSED)
    if row.expires_at <= now:
        return Rotation(RotationOutcome.EXPIRED)
    account = await session.get(Account, row.account_id)
    if account is None or account.disabled:
        await revoke_family(session, row.family_id, now)
        return Rotation(RotationOutcome.ACCOUNT_DISABLED)
    issued, new_row = await issue(session, row.account_id, ttl, family_id=row.family_id, now=now)
    row.revoked_at = now
    row.replaced_by = new_row.id
    await session.flush()
    return Rotation(RotationOutcome.ROTATED, account, issued)


async def revoke(session: AsyncSession, token: str) -> bool:
    """Logout: revoke the token's whole family (this device's session). Unknown → False."""
    row = (
        await session.execute(
            select(RefreshToken).where(RefreshToken.token_hash == hash_token(token))
        )
    ).scalar_one_or_none()
    if row is None:
        return False
    await revoke_family(session, row.family_id, _now())
    return True
