"""Engine, sessions and the unit of work.

A unit of work is one transaction: BEGIN → set the tenant (and platform flag) with
set_config(..., is_local => true) → the use case → COMMIT once at the boundary. The setting dies
with the transaction, so a pooled connection never carries a tenant into the next request.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

TENANT_GUC = "app.tenant_id"
PLATFORM_GUC = "app.platform_admin"


class UnitOfWork:
    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID | None):
        self.session = session
        self.tenant_id = tenant_id

    async def act_as_tenant(self, tenant_id: uuid.UUID | None) -> None:
        """Switch the transaction's tenant. Only for use cases that have already proven the
        caller's authority over that tenant (e.g. a parent tenant provisioning a child)."""
        await self.session.execute(
            text("SELECT set_config(:g, :v, true)"),
            {"g": TENANT_GUC, "v": str(tenant_id) if tenant_id else ""},
        )
        self.tenant_id = tenant_id


class Database:
    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        echo: bool = False,
        on_begin: Callable[[UnitOfWork], Awaitable[None]] | None = None,
    ):
        # on_begin runs first in every unit of work (e.g. auditing who acts across tenants).
        self.on_begin = on_begin
        self.engine: AsyncEngine = create_async_engine(
            url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, echo=echo
        )
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=True)

    @asynccontextmanager
    async def unit_of_work(
        self, tenant_id: uuid.UUID | None, *, platform_admin: bool = False, read_only: bool = False
    ) -> AsyncIterator[UnitOfWork]:
        async with self.sessions() as session, session.begin():
            await session.execute(
                text("SELECT set_config(:g, :v, true), set_config(:p, :pv, true)"),
                {
                    "g": TENANT_GUC,
                    "v": str(tenant_id) if tenant_id else "",
                    "p": PLATFORM_GUC,
                    "pv": "on" if platform_admin else "off",
                },
            )
            uow = UnitOfWork(session, tenant_id)
            if self.on_begin is not None:
                await self.on_begin(uow)
            if read_only:  # after the hook, which may write (e.g. an audit row)
                await session.execute(text("SET TRANSACTION READ ONLY"))
            yield uow

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    async def dispose(self) -> None:
        await self.engine.dispose()
