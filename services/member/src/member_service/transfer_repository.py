"""Queries of member imports and exports. Row-level security scopes every row to the
transaction's tenant; these queries filter by tenant (and subtree) as well.

Bulk member writes use PostgreSQL COPY into a transaction-local temporary table, then one
INSERT … SELECT … ON CONFLICT DO NOTHING into `members`: COPY is the fast path, and the conflict
clause on the (tenant_id, id_number_index) unique index makes a re-run or a concurrent import of
the same people skip them instead of failing.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ARRAY, String, cast, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from member_service.models import Member, Organization
from member_service.transfer_models import ImportJob, MemberExport

RUNNING_STATES = ("queued", "running")


@dataclass(frozen=True)
class OrgNode:
    id: uuid.UUID
    parent_id: uuid.UUID | None
    name: str
    path: str
    active: bool


class ImportJobRepository:
    def __init__(self, session: AsyncSession):
        self.session = session

    def add(self, job: ImportJob) -> None:
        self.session.add(job)

    async def get(
        self, tenant_id: uuid.UUID, job_id: uuid.UUID, *, for_update: bool = False
    ) -> ImportJob | None:
        stmt = select(ImportJob).where(ImportJob.tenant_id == tenant_id, ImportJob.id == job_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def progress(self, tenant_id: uuid.UUID, job_id: uuid.UUID, **values: Any) -> None:
        """Progress counters and the heartbeat, in the caller's (short) transaction."""
        await self.session.execute(
            update(ImportJob)
            .where(ImportJob.tenant_id == tenant_id, ImportJob.id == job_id)
            .values(heartbeat_at=datetime.now(UTC), **values)
        )

    async def fail_if_stale(
        self, tenant_id: uuid.UUID, job_id: uuid.UUID, stale_after: timedelta
    ) -> bool:
        """A queued or running job whose process stopped beating is marked failed
        ("interrupted"); its writes were never committed, so nothing of it is stored."""
        now = datetime.now(UTC)
        result = await self.session.execute(
            update(ImportJob)
            .where(
                ImportJob.tenant_id == tenant_id,
                ImportJob.id == job_id,
                ImportJob.status.in_(RUNNING_STATES),
                ImportJob.heartbeat_at < now - stale_after,
            )
            .values(
                status="failed",
                error_code="interrupted",
                error_message="导入被中断（服务重启），未写入任何数据，请重新上传 "
                "(the import was interrupted; nothing was written; upload again)",
                finished_at=now,
            )
        )
        return bool(result.rowcount)


class TransferRepository:
    def __init__(self, session: AsyncSession):
        self.session = session
        self.jobs = ImportJobRepository(session)

    # ---- organisations ----

    async def org_nodes(self, tenant_id: uuid.UUID) -> list[OrgNode]:
        """Every organisation of the tenant, to build "a/b/c" name paths (one query)."""
        stmt = select(
            Organization.id,
            Organization.parent_id,
            Organization.name,
            Organization.path,
            Organization.status,
        ).where(Organization.tenant_id == tenant_id)
        rows = (await self.session.execute(stmt)).all()
        return [OrgNode(r[0], r[1], r[2], r[3], r[4] in (None, "active")) for r in rows]

    # ---- members ----

    async def existing_id_indexes(self, tenant_id: uuid.UUID, indexes: Sequence[str]) -> set[str]:
        """Which of these ID-number blind indexes are registered in the tenant. Planned for the
        table as it is now: a generic plan cached while `members` was small (a seq scan against
        a 2,000-value list) made a bulk job that grows the table quadratic."""
        if not indexes:
            return set()
        stmt = select(Member.id_number_index).where(
            Member.tenant_id == tenant_id,
            Member.id_number_index == func.any(cast(list(indexes), ARRAY(String))),
        )
        await self.session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
        try:
            return set((await self.session.execute(stmt)).scalars())
        finally:
            await self.session.execute(text("SET LOCAL plan_cache_mode = DEFAULT"))

    async def insert_members(self, members: Sequence[Mapping[str, Any]]) -> set[uuid.UUID]:
        """Member rows given as {column: value} (every row the same columns; the others take
        their defaults): COPY → temp table → INSERT … ON CONFLICT DO NOTHING. Returns the ids
        actually inserted (a member whose ID number is already registered is skipped)."""
        if not members:
            return set()
        table = Member.__table__
        columns = [c.name for c in table.columns if c.key in members[0]]
        keys = [table.columns[name].key for name in columns]
        records = [tuple(m.get(k) for k in keys) for m in members]
        conn = await self.session.connection()
        await conn.execute(
            text(
                "CREATE TEMP TABLE IF NOT EXISTS import_members "
                "(LIKE member.members INCLUDING DEFAULTS) ON COMMIT DROP"
            )
        )
        await conn.execute(text("TRUNCATE import_members"))
        raw = await conn.get_raw_connection()
        driver = raw.driver_connection
        await driver.copy_records_to_table("import_members", records=records, columns=columns)
        # Column names come from the ORM table, never from input.
        col_list = ", ".join(f'"{c}"' for c in columns)
        sql = (
            f"INSERT INTO member.members ({col_list}) SELECT {col_list} FROM import_members "  # noqa: S608
            "ON CONFLICT (tenant_id, id_number_index) DO NOTHING RETURNING id"
        )
        inserted = await conn.execute(text(sql))
        return set(inserted.scalars())

    async def members_in_subtree(
        self,
        tenant_id: uuid.UUID,
        root_path: str,
        *,
        category: int = 0,
        party_status: int = 0,
        batch: int = 2000,
    ) -> AsyncIterator[list[Member]]:
        """All current members of a subtree in keyset batches (by id)."""
        after: uuid.UUID | None = None
        while True:
            stmt = (
                select(Member)
                .join(Organization, Organization.id == Member.organization_id)
                .where(
                    Member.tenant_id == tenant_id,
                    Organization.in_subtree(root_path),
                    Member.departed_on.is_(None),  # left by a transfer letter (docs/adr/0016)
                )
                .order_by(Member.id)
                .limit(batch)
            )
            if category:
                stmt = stmt.where(Member.category == category)
            if party_status:
                stmt = stmt.where(Member.party_status == party_status)
            if after is not None:
                stmt = stmt.where(Member.id > after)
            rows = list((await self.session.execute(stmt)).scalars())
            if not rows:
                return
            yield rows
            # Keep the session small: exported rows are not needed once written.
            for m in rows:
                self.session.expunge(m)
            if len(rows) < batch:
                return
            after = rows[-1].id

    def add_export(self, export: MemberExport) -> None:
        self.session.add(export)
