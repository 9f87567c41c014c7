"""The "what is due" view (待办提醒) of an organisation subtree (docs/adr/0014): each lifecycle part
lists its own items (development steps, letters, committee terms, dues arrears) and this merges
them, inside the caller's data scope. Read-only; computed from the records on each call.

No transport imports; raises DomainError; never commits (read-only units of work).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import date

from hongyun_platform.db import UnitOfWork
from hongyun_platform.errors import InvalidArgument
from hongyun_platform.grpc.context import CallerContext
from sqlalchemy.ext.asyncio import AsyncSession

from member_service.domain.dates import china_today
from member_service.domain.due_items import DueKind, DuePage
from member_service.repository import Repositories
from member_service.rules import RuleBook
from member_service.service import MANAGERS, MemberDirectory

ListDue = Callable[[AsyncSession, uuid.UUID, str | None, date, int, RuleBook], Awaitable[DuePage]]
OpenUnitOfWork = Callable[[], AbstractAsyncContextManager[UnitOfWork]]
DEFAULT_LIMIT = 20
MAX_LIMIT = 200


@dataclass(frozen=True)
class DueSection:
    kind: DueKind
    page: DuePage


@dataclass(frozen=True)
class DueView:
    as_of: date
    sections: list[DueSection]


class WhatIsDue:
    def __init__(
        self,
        directory: MemberDirectory,
        rules: RuleBook,
        parts: Mapping[DueKind, ListDue],
        today: Callable[[], date] = china_today,
    ):
        self.directory = directory
        self.rules = rules
        self.parts = dict(parts)
        self.today = today

    async def view(
        self,
        open_uow: OpenUnitOfWork,
        caller: CallerContext,
        *,
        organization_id: str,
        kinds: Sequence[DueKind],
        limit: int,
    ) -> DueView:
        """`open_uow()` opens a read-only unit of work as the caller: the scope is checked in
        one, then each kind is listed in its own, concurrently (separate connections, so a
        province's four lists share the database's cores)."""
        caller.require_role(*MANAGERS)
        tenant_id = caller.require_tenant()
        limit = limit or DEFAULT_LIMIT
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidArgument(
                f"每类条数应为 1 至 {MAX_LIMIT} (limit must be 1 to {MAX_LIMIT})",
                code="invalid_limit",
                field="limit",
            )
        unknown = [k for k in kinds if k not in self.parts]
        if unknown:
            raise InvalidArgument(
                f"不支持的待办类型 (unsupported kind {unknown[0]})",
                code="invalid_kind",
                field="kinds",
            )
        async with open_uow() as uow:
            root_path = await self.directory.subtree_path(
                Repositories(uow.session), caller, organization_id
            )
        if root_path is not None and "." not in root_path:
            # The tenant's root organisation (one per tenant): its subtree is the whole tenant,
            # which each part lists without joining the organisations.
            root_path = None
        day = self.today()

        async def section(kind: DueKind) -> DueSection:
            async with open_uow() as uow:
                page = await self.parts[kind](uow.session, tenant_id, root_path, day, limit,
                                              self.rules)  # fmt: skip
            return DueSection(kind, page)

        wanted = list(dict.fromkeys(kinds or self.parts))  # asked order, no repeats
        return DueView(as_of=day, sections=list(await asyncio.gather(*map(section, wanted))))
