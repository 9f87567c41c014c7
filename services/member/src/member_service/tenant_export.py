"""Tenant data export (docs/adr/0012): one tenant's data, optionally with its descendants', as a
background job that writes one .zip to object storage and hands out short-lived download URLs.

- `TenantExports` holds the request use cases (start, read progress); like service.py they run
  in the caller's unit of work and never commit.
- `TenantExportRunner` runs the jobs as asyncio tasks of the member service process. Job state
  lives in `tenant_exports` (in the exported tenant), so every replica answers progress
  questions; a job whose process stopped is reported failed ("interrupted") once its heartbeat
  is stale. The runner reads the whole subtree in ONE read-only REPEATABLE READ transaction, so
  the archive is a consistent snapshot, and reads it in keyset batches (a province has millions
  of members): members and their archive sub-records, a batch at a time, go straight into the
  zip (a temporary file on disk) and into the template workbook.

Who may export: tenant admins of the tenant or of an ancestor tenant, and platform admins; the
tenants policy (row-level security) hides every other tenant, which reads as not found.
Personal data is masked unless revealed; revealing needs a tenant admin (platform operators
never reveal) and a reason. Starting an export is audited in every exported tenant (and in the
exporter's own tenant); every download URL handed out is audited too.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import IO, Any

from hongyun_platform.db import Database, UnitOfWork
from hongyun_platform.errors import DomainError, NotFound, PermissionDenied
from hongyun_platform.grpc.context import ROLE_PLATFORM_ADMIN, ROLE_TENANT_ADMIN, CallerContext
from hongyun_platform.ids import new_id
from hongyun_platform.job_tasks import JobTasks
from hongyun_platform.logging import get_logger
from hongyun_platform.storage import ObjectStore
from sqlalchemy import cast, func, insert, literal, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from member_service import transfer_files
from member_service.archive import (
    AWARDS,
    FAMILY,
    HARDSHIPS,
    TRAVELS,
    AttachmentLimits,
    MemberArchive,
    RecordKind,
)
from member_service.archive_models import (
    Attachment,
    FlagChange,
    MemberExtension,
    MemberTag,
    StatusChange,
)
from member_service.domain import member_template as tpl
from member_service.domain.archive import AttachmentKind, AttachmentStatus, MemberFlag
from member_service.domain.org_history import OrgType
from member_service.domain.profile import PERSONAL_FIELDS, Category, Gender, PartyStatus
from member_service.exports import CHINA_TZ, MemberExports, watermark_text
from member_service.imports import OrgPaths
from member_service.models import AuditEntry, Ltree, Member, Organization, Tenant
from member_service.org_models import CommitteeTerm, OrganizationHistory
from member_service.repository import Repositories
from member_service.service import MemberDirectory, parse_uuid
from member_service.tenant_export_files import (
    FORMAT,
    FORMAT_VERSION,
    XLSX_MAX_ROWS,
    ZIP_TYPE,
    ExportArchive,
    readme,
)
from member_service.tenant_export_models import TenantExport
from member_service.transfer_models import MemberExport
from member_service.transfer_repository import OrgNode

log = get_logger(__name__)

EXPORT_ROLES = (ROLE_PLATFORM_ADMIN, ROLE_TENANT_ADMIN)
RUNNING = ("queued", "running")
KEY_PREFIX = "tenant-exports"  # one prefix, so a bucket lifecycle rule can expire them all
_NOT_FOUND = "导出任务不存在 (tenant export not found)"


@dataclass(frozen=True)
class TenantExportLimits:
    batch_rows: int = 1000  # members (with their sub-records) read per query
    xlsx_rows_per_file: int = XLSX_MAX_ROWS  # the workbook is split into parts beyond this
    stale_after: timedelta = timedelta(minutes=2)
    progress_every: float = 1.0  # seconds between progress writes
    concurrency: int = 1  # exports running at once per process (each holds a connection)
    download_url_seconds: int = 900
    retention: timedelta = timedelta(days=7)  # the file is removed after this
    sweep_every: timedelta = timedelta(hours=1)  # how often expired files are looked for


@dataclass(frozen=True)
class ExportView:
    export: TenantExport
    percent: int
    download_url: str = ""
    download_url_expires_at: datetime | None = None


def percent_of(job: TenantExport) -> int:
    if job.status not in RUNNING:
        return 100
    if not job.total_rows:
        return 0
    return min(99, job.rows_done * 100 // job.total_rows)


async def _visible_tenant(uow: UnitOfWork, tenant_id: str) -> Tenant:
    # RLS on tenants shows the caller's own tenant and its descendants (all for platform admins).
    tenant = await Repositories(uow.session).tenants.get(parse_uuid(tenant_id, "tenant_id"))
    if tenant is None:
        raise NotFound("租户不存在 (tenant not found)", code="tenant_not_found", field="tenant_id")
    return tenant


def _may_export(caller: CallerContext) -> None:
    caller.require_role(*EXPORT_ROLES)
    if caller.is_cross_tenant:  # a descendant reader acting inside another tenant
        raise PermissionDenied(
            "查阅下级租户时不能导出 (no exports while reading a descendant tenant)"
        )


class TenantExports:
    def __init__(
        self, directory: MemberDirectory, store: ObjectStore, limits: TenantExportLimits
    ) -> None:
        self.directory = directory
        self.store = store
        self.limits = limits

    async def start(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        *,
        tenant_id: str,
        include_descendants: bool,
        reveal: bool,
        reason: str,
        exporter_label: str,
    ) -> tuple[TenantExport, bool]:
        """The queued job and True, or the caller's identical job still queued or running and
        False (a second click must not start a second province-sized export)."""
        _may_export(caller)
        if reveal and caller.has_role(ROLE_PLATFORM_ADMIN):
            raise PermissionDenied(
                "平台管理员不能导出完整个人信息 (platform operators never export personal data "
                "in full)",
                code="reveal_not_allowed",
            )
        # The reveal rules of every export (docs/adr/0010): a role that may reveal, a reason.
        reason = MemberExports(self.directory).check_reveal(caller, reveal, reason)
        target = await _visible_tenant(uow, tenant_id)
        tenants = [target]
        if include_descendants:
            tenants = list(
                (
                    await uow.session.execute(
                        select(Tenant)
                        .where(Tenant.path.op("<@")(cast(literal(target.path), Ltree())))
                        .order_by(Tenant.path)
                    )
                ).scalars()
            )
        if reveal and any(t.id != caller.tenant_id for t in tenants):
            # Records of descendants reach a parent masked (ADR 0011): each tenant's own admins
            # export their personal data in full.
            raise PermissionDenied(
                "只能完整导出本租户的个人信息；下级租户的数据以脱敏形式导出 "
                "(personal data is exported in full only by the tenant's own admins; "
                "descendant tenants are exported masked)",
                code="reveal_not_allowed",
            )
        await uow.act_as_tenant(target.id)
        try:
            same = (
                await uow.session.execute(
                    select(TenantExport)
                    .where(
                        TenantExport.tenant_id == target.id,
                        TenantExport.created_by == caller.user_id,
                        TenantExport.status.in_(RUNNING),
                        # one whose process died is not "running": start afresh
                        TenantExport.heartbeat_at >= datetime.now(UTC) - self.limits.stale_after,
                        TenantExport.include_descendants == include_descendants,
                        TenantExport.revealed == reveal,
                    )
                    .order_by(TenantExport.created_at.desc())
                    .limit(1)
                )
            ).scalar_one_or_none()
            if same is not None:
                return same, False
            now = datetime.now(UTC)
            job = TenantExport(
                id=new_id(),
                tenant_id=target.id,
                include_descendants=include_descendants,
                tenant_ids=[t.id for t in tenants],
                created_by=caller.user_id,
                created_by_roles=sorted(caller.roles),
                created_by_tenant_id=caller.tenant_id,
                revealed=reveal,
                reason=reason if reveal else "",
                watermark=watermark_text(caller, exporter_label, now),
                status="queued",
                total_rows=0,
                rows_done=0,
                file_name="",
                object_key="",
                size=0,
                sha256="",
                files=[],
                error_code="",
                error_message="",
                created_at=now,
                heartbeat_at=now,
            )
            uow.session.add(job)
            await uow.session.flush()  # now, while the transaction acts as the target tenant
            action = "tenant_export_reveal" if reveal else "tenant_export"
            note = f"export={job.id}; tenant={target.id}; include_descendants={include_descendants}"
            # Each exported tenant's audit log shows who took its data, and the exporter's own.
            audited = [t.id for t in tenants]
            if caller.tenant_id is not None and caller.tenant_id not in audited:
                audited.append(caller.tenant_id)
            for tid in audited:
                await uow.act_as_tenant(tid)
                await uow.session.execute(
                    insert(AuditEntry).values(
                        id=new_id(), tenant_id=tid, actor=caller.user_id,
                        actor_roles=sorted(caller.roles), action=action,
                        target_type="tenant_export", target_id=job.id,
                        fields=list(PERSONAL_FIELDS) if reveal else [],
                        reason=(f"{reason} ({note})" if reveal else note)[:500],
                    )
                )  # fmt: skip
        finally:
            await uow.act_as_tenant(caller.tenant_id)
        return job, True

    async def get(
        self, uow: UnitOfWork, caller: CallerContext, *, tenant_id: str, export_id: str
    ) -> ExportView:
        _may_export(caller)
        target = await _visible_tenant(uow, tenant_id)
        job_id = parse_uuid(export_id, "id")
        await uow.act_as_tenant(target.id)
        try:
            job = (
                await uow.session.execute(
                    select(TenantExport).where(
                        TenantExport.tenant_id == target.id, TenantExport.id == job_id
                    )
                )
            ).scalar_one_or_none()
            # Only its creator: the watermark and the audit name that person, and nobody else
            # gets a link to the file.
            if job is None or job.created_by != caller.user_id:
                raise NotFound(_NOT_FOUND, code="tenant_export_not_found")
            now = datetime.now(UTC)
            if job.status in RUNNING and job.heartbeat_at < now - self.limits.stale_after:
                job.status, job.finished_at = "failed", now
                job.error_code = "interrupted"
                job.error_message = "导出被中断（服务重启），请重新发起 (the export was interrupted; start it again)"
            if job.status == "succeeded" and job.expires_at and job.expires_at <= now:
                await self.store.delete(job.object_key)
                job.status = "expired"
            if job.status != "succeeded":
                await uow.session.flush()
                return ExportView(job, percent_of(job))
            seconds = self.limits.download_url_seconds
            url = await self.store.presigned_get_url(job.object_key, expires=seconds)
            await uow.session.execute(
                insert(AuditEntry).values(
                    id=new_id(), tenant_id=target.id, actor=caller.user_id,
                    actor_roles=sorted(caller.roles), action="tenant_export_download",
                    target_type="tenant_export", target_id=job.id,
                    fields=list(PERSONAL_FIELDS) if job.revealed else [],
                    reason=f"file={job.file_name}; sha256={job.sha256}",
                )
            )  # fmt: skip
            return ExportView(job, 100, url, now + timedelta(seconds=seconds))
        finally:
            await uow.act_as_tenant(caller.tenant_id)


# ---- the background runner ----


@dataclass
class _Run:
    """What one running export knows and counts."""

    job_id: uuid.UUID
    tenant_id: uuid.UUID
    tenant_ids: list[uuid.UUID]
    revealed: bool
    watermark: str
    include_descendants: bool
    total: int = 0
    done: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    last_progress: float = 0.0

    def count(self, name: str, n: int) -> None:
        self.counts[name] = self.counts.get(name, 0) + n


@dataclass
class _Members:
    """The template workbook of one tenant, in parts of at most `limit` rows."""

    watermark: str
    limit: int
    writer: transfer_files.MemberListWriter | None = None
    parts: list[tuple[IO[bytes], int]] = field(default_factory=list)

    def add(self, cells: list[Any]) -> None:
        if self.writer is not None and self.writer.rows >= self.limit:
            self.close_part()
        if self.writer is None:
            self.writer = transfer_files.MemberListWriter("xlsx", self.watermark)
        self.writer.add(cells)

    def close_part(self) -> None:
        if self.writer is None:  # no member at all: still one (empty) workbook
            self.writer = transfer_files.MemberListWriter("xlsx", self.watermark)
        self.parts.append((self.writer.finish(), self.writer.rows))
        self.writer = None


# Sub-records of members, read a batch of members at a time: name → (model, order).
_SUB_TABLES: dict[str, tuple[Any, tuple[str, ...]]] = {
    "family_members": (FAMILY.model, ("id",)),
    "awards": (AWARDS.model, ("decided_on", "id")),
    "travels": (TRAVELS.model, ("departed_on", "id")),
    "hardships": (HARDSHIPS.model, ("since", "id")),
    "tags": (MemberTag, ("tag",)),
    "status_changes": (StatusChange, ("effective_on", "recorded_at", "id")),
    "flag_changes": (FlagChange, ("effective_on", "recorded_at", "id")),
    "attachments": (Attachment, ("id",)),
    "extension": (MemberExtension, ()),
}
_KINDS: dict[str, RecordKind] = {
    "family_members": FAMILY,
    "awards": AWARDS,
    "travels": TRAVELS,
    "hardships": HARDSHIPS,
}
_STAMPS = ("created_at", "created_by", "updated_at", "updated_by")


def _enum(cls: Any, value: int) -> Any:
    return cls(value) if value in cls._value2member_map_ else value


def _row(row: Any, drop: tuple[str, ...] = ("tenant_id",), **enums: Any) -> dict[str, Any]:
    out = {k: v for k, v in row._mapping.items() if k not in drop}
    for name, cls in enums.items():
        out[name] = _enum(cls, out[name])
    return out


class TenantExportRunner:
    """Runs tenant exports as tasks of this process; see the module docstring."""

    def __init__(
        self,
        db: Database,
        directory: MemberDirectory,
        store: ObjectStore,
        limits: TenantExportLimits,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = db
        self.directory = directory
        self.store = store
        self.limits = limits
        self.clock = clock
        # The archive's own reading and masking of sub-records (no attachment bytes are read).
        self.archive = MemberArchive(directory, store, AttachmentLimits(1, 1, 1))
        self._sem = asyncio.Semaphore(limits.concurrency)
        self._jobs = JobTasks(
            "tenant-export",
            beat_every=self.limits.stale_after.total_seconds() / 4,
            beat=lambda job_id, tenant_id: self._update(tenant_id, job_id),
        )

    # ---- lifecycle ----

    def submit(self, job: TenantExport) -> None:
        self._jobs.start(job.id, job.tenant_id, self._run(job.id, job.tenant_id))

    async def wait_idle(self) -> None:
        """For tests and shutdown: until every submitted export has finished."""
        await self._jobs.wait_idle()

    async def supervise(self, stop: asyncio.Event) -> None:
        """Runs with the app: removes expired files now and then; on stop, running exports are
        cancelled and marked interrupted."""
        while not stop.is_set():
            try:
                await self.sweep_expired()
            except Exception:
                log.exception("sweeping expired tenant exports failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.limits.sweep_every.total_seconds())
        await self.shutdown()

    async def sweep_expired(self) -> int:
        """Deletes the files of exports past their retention and marks them expired. Every
        replica may sweep: deleting and marking twice changes nothing. Returns how many."""
        async with self.db.unit_of_work(None, platform_admin=True) as uow:
            tenant_ids = list((await uow.session.execute(select(Tenant.id))).scalars())
        swept = 0
        for tenant_id in tenant_ids:  # RLS: one tenant at a time
            async with self.db.unit_of_work(tenant_id) as uow:
                expired = (
                    await uow.session.execute(
                        select(TenantExport).where(
                            TenantExport.tenant_id == tenant_id,
                            TenantExport.status == "succeeded",
                            TenantExport.expires_at <= datetime.now(UTC),
                        )
                    )
                ).scalars()
                for job in expired:
                    await self.store.delete(job.object_key)
                    job.status = "expired"
                    swept += 1
        return swept

    async def shutdown(self) -> None:
        await self._jobs.cancel_all()

    async def _update(self, tenant_id: uuid.UUID, job_id: uuid.UUID, **values: Any) -> None:
        """Progress, outcome and heartbeat, each in its own short transaction."""
        async with self.db.unit_of_work(tenant_id) as uow:
            await uow.session.execute(
                update(TenantExport)
                .where(TenantExport.tenant_id == tenant_id, TenantExport.id == job_id)
                .values(heartbeat_at=datetime.now(UTC), **values)
            )

    # ---- one export ----

    async def _run(self, job_id: uuid.UUID, tenant_id: uuid.UUID) -> None:
        try:
            async with self._sem:
                await self._execute(job_id, tenant_id)
        except asyncio.CancelledError:
            await asyncio.shield(
                self._fail(
                    job_id, tenant_id, "interrupted",
                    "导出被中断（服务停止），请重新发起 (the export was interrupted; start it again)",
                )
            )  # fmt: skip
            raise
        except DomainError as exc:
            await self._fail(job_id, tenant_id, exc.code, exc.message)
        except Exception:
            log.exception("tenant export failed", export_id=str(job_id))
            await self._fail(
                job_id, tenant_id, "internal_error", "导出失败（内部错误），请稍后重试"
            )

    async def _fail(self, job_id: uuid.UUID, tenant_id: uuid.UUID, code: str, msg: str) -> None:
        with contextlib.suppress(Exception):
            await self._update(
                tenant_id, job_id, status="failed", error_code=code[:40], error_message=msg,
                finished_at=datetime.now(UTC),
            )  # fmt: skip

    async def _execute(self, job_id: uuid.UUID, tenant_id: uuid.UUID) -> None:
        async with self.db.unit_of_work(tenant_id) as uow:
            job = await uow.session.get(TenantExport, job_id)
            if job is None or job.status != "queued":
                return
            job.status, job.started_at = "running", datetime.now(UTC)
            run = _Run(
                job_id, tenant_id, list(job.tenant_ids), job.revealed, job.watermark,
                job.include_descendants,
            )  # fmt: skip
            creator = dict(
                account_id=job.created_by, roles=list(job.created_by_roles),
                home_tenant_id=job.created_by_tenant_id,
            )  # fmt: skip
            reason = job.reason
        archive = await asyncio.to_thread(ExportArchive, run.watermark)
        key = ""
        try:
            snapshot_at = self.clock()
            async with self._snapshot() as conn:
                tenants = [await self._tenant_row(conn, t) for t in run.tenant_ids]
                run.total = sum([await self._count(conn, t.id) for t in tenants])
                await self._progress(run, force=True)
                await asyncio.to_thread(archive.add_text, "README.txt", readme(run.watermark, run.revealed))  # fmt: skip
                per_tenant = [await self._write_tenant(conn, archive, run, t) for t in tenants]
            root = tenants[0]
            finished = self.clock()
            manifest = {
                "format": FORMAT,
                "version": FORMAT_VERSION,
                "export_id": job_id,
                "tenant": {"id": root.id, "name": root.name, "code": root.code},
                "include_descendants": run.include_descendants,
                "tenants": per_tenant,
                "exporter": creator,
                "snapshot_at": snapshot_at,
                "exported_at": finished,
                "revealed": run.revealed,
                "reason": reason,
                "watermark": run.watermark,
                "counts": run.counts,
            }
            body = await asyncio.to_thread(archive.finish, manifest)
            stamp = finished.astimezone(CHINA_TZ).strftime("%Y%m%d-%H%M%S")
            name = f"tenant-{root.code}-{stamp}.zip"
            key = f"{KEY_PREFIX}/{tenant_id}/{job_id}/{name}"
            info = await self.store.put_object(key, body, ZIP_TYPE)
            async with self.db.unit_of_work(tenant_id) as uow:
                job = await uow.session.get(TenantExport, job_id)
                if job is None:  # gone meanwhile (tenant removed): keep no orphan file
                    raise NotFound(_NOT_FOUND)
                job.status, job.finished_at = "succeeded", datetime.now(UTC)
                job.heartbeat_at = job.finished_at
                job.expires_at = job.finished_at + self.limits.retention
                job.rows_done, job.total_rows = run.done, run.total
                job.file_name, job.object_key, job.size = name, key, info.size
                job.sha256 = info.sha256 or ""
                job.files = [
                    {"path": e.path, "rows": e.rows, "size": e.size, "sha256": e.sha256}
                    for e in archive.entries
                ]
                # The export log of docs/adr/0010, in the exported tenant.
                uow.session.add(
                    MemberExport(
                        id=new_id(), tenant_id=tenant_id, actor=job.created_by,
                        actor_roles=list(job.created_by_roles), kind="tenant_data",
                        file_format="zip",
                        filters={"export_id": str(job_id), "include_descendants": job.include_descendants,
                                 "tenant_ids": [str(t) for t in run.tenant_ids]},
                        row_count=run.counts.get("members", 0), revealed=job.revealed,
                        reason=job.reason, watermark=job.watermark, at=job.finished_at,
                    )
                )  # fmt: skip
            key = ""  # committed: the file is the export's now
            log.info(
                "tenant export finished", export_id=str(job_id), tenants=len(tenants),
                rows=run.done, size=info.size,
            )  # fmt: skip
        finally:
            await asyncio.to_thread(archive.close)
            if key:  # uploaded, but the job could not record it
                with contextlib.suppress(Exception):
                    await self.store.delete(key)

    @contextlib.asynccontextmanager
    async def _snapshot(self) -> AsyncIterator[AsyncConnection]:
        """One read-only REPEATABLE READ transaction: every file shows the same moment."""
        async with self.db.engine.connect() as conn:
            await conn.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
            async with conn.begin():
                yield conn

    @staticmethod
    async def _act_as(conn: AsyncConnection, tenant_id: uuid.UUID) -> None:
        # Row-level security scopes every query below to this tenant (platform flag off).
        await conn.execute(
            text("SELECT set_config('app.tenant_id', :v, true)"), {"v": str(tenant_id)}
        )

    async def _tenant_row(self, conn: AsyncConnection, tenant_id: uuid.UUID) -> Any:
        await self._act_as(conn, tenant_id)
        row = (
            await conn.execute(select(Tenant.__table__).where(Tenant.id == tenant_id))
        ).one_or_none()
        if row is None:
            raise NotFound("租户不存在 (tenant not found)", code="tenant_not_found")
        return row

    async def _count(self, conn: AsyncConnection, tenant_id: uuid.UUID) -> int:
        await self._act_as(conn, tenant_id)
        total = 0
        for model in (Organization, OrganizationHistory, CommitteeTerm, Member):
            total += (
                await conn.execute(
                    select(func.count()).select_from(model).where(model.tenant_id == tenant_id)
                )
            ).scalar_one()
        return total

    async def _progress(self, run: _Run, *, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - run.last_progress >= self.limits.progress_every:
            run.last_progress = now
            await self._update(run.tenant_id, run.job_id, total_rows=run.total, rows_done=run.done)

    async def _batches(
        self, conn: AsyncConnection, model: Any, tenant_id: uuid.UUID
    ) -> AsyncIterator[list[Any]]:
        """Every row of a tenant table, in keyset batches by id."""
        after: uuid.UUID | None = None
        while True:
            stmt = (
                select(model.__table__)
                .where(model.tenant_id == tenant_id)
                .order_by(model.id)
                .limit(self.limits.batch_rows)
            )
            if after is not None:
                stmt = stmt.where(model.id > after)
            rows = list(await conn.execute(stmt))
            if not rows:
                return
            yield rows
            if len(rows) < self.limits.batch_rows:
                return
            after = rows[-1].id

    async def _write_tenant(
        self, conn: AsyncConnection, archive: ExportArchive, run: _Run, tenant: Any
    ) -> dict[str, Any]:
        await self._act_as(conn, tenant.id)
        folder = f"tenants/{tenant.code}/"
        nodes = [
            OrgNode(r.id, r.parent_id, r.name, r.path, r.status in (None, "active"))
            for r in await conn.execute(
                select(
                    Organization.id, Organization.parent_id, Organization.name,
                    Organization.path, Organization.status,
                ).where(Organization.tenant_id == tenant.id)
            )
        ]  # fmt: skip
        orgs = OrgPaths(nodes, None)

        def org_record(r: Any) -> dict[str, Any]:
            return {**_row(r, ("tenant_id", "path"), type=OrgType), "name_path": orgs.name_of(r.id)}

        tables = (
            ("organizations", Organization, org_record),
            ("organization_history", OrganizationHistory,
             lambda r: _row(r, ("tenant_id", "path"), type=OrgType)),
            ("committee_terms", CommitteeTerm, _row),
        )  # fmt: skip
        counts: dict[str, int] = {}
        for name, model, to_record in tables:
            await asyncio.to_thread(archive.begin_lines, f"{folder}{name}.jsonl")
            async for rows in self._batches(conn, model, tenant.id):
                await asyncio.to_thread(archive.write_lines, [to_record(r) for r in rows])
                await self._advance(run, name, len(rows))
            counts[name] = (await asyncio.to_thread(archive.end_lines)).rows
        members = _Members(run.watermark, self.limits.xlsx_rows_per_file)
        await asyncio.to_thread(archive.begin_lines, f"{folder}members.jsonl")
        try:
            async for rows in self._batches(conn, Member, tenant.id):
                subs = await self._sub_records(conn, tenant.id, [r.id for r in rows])
                await asyncio.to_thread(
                    self._write_members, archive, members, rows, subs, orgs, run
                )
                await self._advance(run, "members", len(rows))
            counts["members"] = (await asyncio.to_thread(archive.end_lines)).rows
            await asyncio.to_thread(members.close_part)
            many = len(members.parts) > 1
            for i, (body, rows_in_part) in enumerate(members.parts, start=1):
                path = f"{folder}members-{i}.xlsx" if many else f"{folder}members.xlsx"
                await asyncio.to_thread(archive.add_file, path, body, rows_in_part)
        finally:
            for body, _ in members.parts:
                body.close()
        return {
            "id": tenant.id, "name": tenant.name, "code": tenant.code,
            "parent_id": tenant.parent_id, "status": tenant.status, "folder": folder, **counts,
        }  # fmt: skip

    async def _advance(self, run: _Run, name: str, n: int) -> None:
        run.done += n
        run.count(name, n)
        await self._progress(run)

    async def _sub_records(
        self, conn: AsyncConnection, tenant_id: uuid.UUID, member_ids: list[uuid.UUID]
    ) -> dict[str, dict[uuid.UUID, list[Any]]]:
        out: dict[str, dict[uuid.UUID, list[Any]]] = {}
        for name, (model, order) in _SUB_TABLES.items():
            stmt = (
                select(model.__table__)
                .where(model.tenant_id == tenant_id, model.member_id.in_(member_ids))
                .order_by(model.member_id, *(getattr(model, c) for c in order))
            )
            by_member: dict[uuid.UUID, list[Any]] = {}
            for r in await conn.execute(stmt):
                by_member.setdefault(r.member_id, []).append(r)
            out[name] = by_member
        return out

    def _write_members(
        self,
        archive: ExportArchive,
        members: _Members,
        rows: list[Any],
        subs: dict[str, dict[uuid.UUID, list[Any]]],
        orgs: OrgPaths,
        run: _Run,
    ) -> None:
        """CPU work of one batch (a worker thread): decrypt, mask unless revealed, write."""
        records = []
        for m in rows:
            record, profile = self._member_record(m, subs, orgs, run)
            records.append(record)
            members.add(tpl.profile_cells(profile, record["organization_path"]))
        archive.write_lines(records)

    def _member_record(
        self, m: Any, subs: dict[str, dict[uuid.UUID, list[Any]]], orgs: OrgPaths, run: _Run
    ) -> tuple[dict[str, Any], Any]:
        d = self.directory
        profile = d.read_profile(m)
        if not run.revealed:
            profile = d.masked_profile(profile)
        record: dict[str, Any] = {
            "id": m.id,
            "organization_id": m.organization_id,
            "organization_path": orgs.name_of(m.organization_id),
            **vars(profile),
            "gender": _enum(Gender, profile.gender),
            "category": _enum(Category, profile.category),
            "party_status": _enum(PartyStatus, profile.party_status),
            "version": m.version,
            **{k: getattr(m, k) for k in _STAMPS},
            "revealed": run.revealed,
        }
        ext = subs["extension"].get(m.id, [None])[0]
        view = MemberArchive.extension_view(m, ext)
        record["extension"] = {**view.values, "version": view.version,
                               "updated_at": view.updated_at, "updated_by": view.updated_by}  # fmt: skip
        for name, kind in _KINDS.items():
            items = []
            for r in subs[name].get(m.id, []):
                shown = self.archive.shown_record(
                    kind, r, self.archive.read_record(kind, r), run.revealed
                )
                items.append({"id": r.id, **shown.values, "redacted": shown.redacted,
                              **{k: getattr(r, k) for k in _STAMPS}})  # fmt: skip
            record[name] = items
            run.count(name, len(items))
        record["tags"] = [r.tag for r in subs["tags"].get(m.id, [])]
        record["status_changes"] = [
            _row(r, ("tenant_id", "member_id"), status=PartyStatus)
            for r in subs["status_changes"].get(m.id, [])
        ]
        record["flag_changes"] = [
            _row(r, ("tenant_id", "member_id"), flag=MemberFlag)
            for r in subs["flag_changes"].get(m.id, [])
        ]
        record["attachments"] = [
            _row(r, ("tenant_id", "member_id", "object_key"),
                 kind=AttachmentKind, status=AttachmentStatus)
            for r in subs["attachments"].get(m.id, [])
        ]  # fmt: skip
        for name in ("tags", "status_changes", "flag_changes", "attachments"):
            run.count(name, len(record[name]))
        return record, profile
