"""The unit of work of one gRPC call: the caller's tenant (and platform-admin flag) set for
row-level security, and the outbox relay woken after a write commits."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from hongyun_platform.db import Database, UnitOfWork
from hongyun_platform.grpc.context import ROLE_PLATFORM_ADMIN, CallerContext


@asynccontextmanager
async def caller_unit_of_work(
    db: Database, caller: CallerContext, after_commit: Callable[[], None], *, writes: bool = True
) -> AsyncIterator[UnitOfWork]:
    async with db.unit_of_work(
        caller.tenant_id, platform_admin=caller.has_role(ROLE_PLATFORM_ADMIN)
    ) as uow:
        yield uow
    if writes:
        after_commit()
