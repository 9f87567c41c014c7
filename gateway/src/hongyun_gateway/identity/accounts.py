"""Account queries. Usernames are unique case-insensitively (index on lower(username))."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hongyun_gateway.identity.models import Account


class UsernameTaken(Exception):
    pass


@dataclass(frozen=True)
class AccountSpec:
    username: str
    password_hash: str
    roles: list[str]
    tenant_id: uuid.UUID | None = None
    scope_org_id: uuid.UUID | None = None
    display_name: str = ""


async def find_by_username(session: AsyncSession, username: str) -> Account | None:
    stmt = select(Account).where(func.lower(Account.username) == username.strip().lower())
    return (await session.execute(stmt)).scalar_one_or_none()


async def get(session: AsyncSession, account_id: uuid.UUID) -> Account | None:
    return await session.get(Account, account_id)


async def create(session: AsyncSession, spec: AccountSpec) -> Account:
    """Insert a new account; raises UsernameTaken. Flushes, does not commit."""
    account = Account(
        username=spec.username.strip(),
        display_name=spec.display_name,
        password_hash=spec.password_hash,
        roles=sorted(set(spec.roles)),
        tenant_id=spec.tenant_id,
        scope_org_id=spec.scope_org_id,
        disabled=False,
    )
    try:
        async with session.begin_nested():
            session.add(account)
            await session.flush()
    except IntegrityError as exc:
        if "ux_accounts_username_lower" in str(exc.orig):
            raise UsernameTaken(spec.username) from exc
        raise
    await session.refresh(account)
    return account


async def upsert(session: AsyncSession, spec: AccountSpec) -> tuple[Account, bool]:
    """Create the account, or update password, roles, tenant, scope and re-enable it.

    Returns (account, created). Used by the CLI (idempotent seeding). Does not commit.
    """
    existing = await find_by_username(session, spec.username)
    if existing is None:
        return await create(session, spec), True
    existing.password_hash = spec.password_hash
    existing.roles = sorted(set(spec.roles))
    existing.tenant_id = spec.tenant_id
    existing.scope_org_id = spec.scope_org_id
    existing.disabled = False
    if spec.display_name:
        existing.display_name = spec.display_name
    existing.updated_at = func.now()
    await session.flush()
    await session.refresh(existing)
    return existing, False


async def set_password_hash(session: AsyncSession, account_id: uuid.UUID, new_hash: str) -> None:
    await session.execute(
        update(Account)
        .where(Account.id == account_id)
        .values(password_hash=new_hash, updated_at=func.now())
    )


async def set_disabled(session: AsyncSession, account_id: uuid.UUID, disabled: bool) -> None:
    await session.execute(
        update(Account)
        .where(Account.id == account_id)
        .values(disabled=disabled, updated_at=func.now())
    )
