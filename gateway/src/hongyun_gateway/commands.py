"""Operator commands behind the CLI: run the identity migrations, create or update an account."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from hongyun_platform.db import migrations
from hongyun_platform.grpc.context import KNOWN_ROLES, ROLE_PLATFORM_ADMIN

from hongyun_gateway.identity import accounts
from hongyun_gateway.identity.database import IdentityDatabase
from hongyun_gateway.identity.models import SCHEMA
from hongyun_gateway.passwords import Passwords
from hongyun_gateway.settings import GatewaySettings

# gateway/ in the source tree (the package is installed editable from the workspace).
GATEWAY_DIR = Path(__file__).resolve().parents[2]
MIGRATIONS_DIR = GATEWAY_DIR / "migrations"
MIN_PASSWORD_LENGTH = 8


class CommandError(Exception):
    pass


def alembic_config(settings: GatewaySettings) -> Config:
    if not MIGRATIONS_DIR.is_dir():
        raise CommandError(f"migrations not found at {MIGRATIONS_DIR}")
    return migrations.alembic_config(
        MIGRATIONS_DIR, settings.migrations_url, settings.db_app_role, SCHEMA
    )


def migrate(settings: GatewaySettings, revision: str = "head") -> None:
    """alembic upgrade for the identity schema, as the schema owner (HONGYUN_GATEWAY_MIGRATION_
    DATABASE_URL, else the runtime URL). Run by a one-shot Job, never by API replicas."""
    command.upgrade(alembic_config(settings), revision)


def downgrade(settings: GatewaySettings, revision: str) -> None:
    command.downgrade(alembic_config(settings), revision)


@dataclass(frozen=True)
class AccountResult:
    account_id: uuid.UUID
    username: str
    roles: list[str]
    created: bool


def _uuid(value: str | None, name: str) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise CommandError(f"{name} is not a UUID: {value!r}") from exc


def parse_roles(values: list[str]) -> list[str]:
    roles = sorted({r.strip() for v in values for r in v.split(",") if r.strip()})
    if not roles:
        raise CommandError("at least one --role is required")
    unknown = set(roles) - KNOWN_ROLES
    if unknown:
        raise CommandError(
            f"unknown roles {sorted(unknown)}; known: {', '.join(sorted(KNOWN_ROLES))}"
        )
    return roles


async def create_account(
    settings: GatewaySettings,
    *,
    username: str,
    password: str,
    roles: list[str],
    tenant: str | None = None,
    scope_org: str | None = None,
    display_name: str = "",
) -> AccountResult:
    """Create the account, or (idempotently) update its password, roles, tenant and scope."""
    roles = parse_roles(roles)
    tenant_id = _uuid(tenant, "--tenant")
    scope_org_id = _uuid(scope_org, "--scope-org")
    if tenant_id is None and ROLE_PLATFORM_ADMIN not in roles:
        raise CommandError("--tenant is required unless the account is a platform_admin")
    if not password:
        raise CommandError("the password must not be empty")
    if len(password) < MIN_PASSWORD_LENGTH and not settings.is_dev:
        raise CommandError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    passwords = Passwords(
        time_cost=settings.argon2_time_cost,
        memory_cost_kib=settings.argon2_memory_cost_kib,
        parallelism=settings.argon2_parallelism,
    )
    spec = accounts.AccountSpec(
        username=username,
        password_hash=await passwords.hash(password),
        roles=roles,
        tenant_id=tenant_id,
        scope_org_id=scope_org_id,
        display_name=display_name,
    )
    db = IdentityDatabase(settings.database_url, pool_size=1)
    try:
        async with db.session() as session, session.begin():
            account, created = await accounts.upsert(session, spec)
    finally:
        await db.dispose()
    return AccountResult(account.id, account.username, sorted(account.roles), created)


def create_account_sync(settings: GatewaySettings, **kwargs: object) -> AccountResult:
    return asyncio.run(create_account(settings, **kwargs))  # type: ignore[arg-type]
