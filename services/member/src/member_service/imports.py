"""Member import from the national template (.xlsx / .csv) as a background job (docs/adr/0010).

- `MemberImports` holds the request use cases (start a job, read it, download its error
  workbook); like service.py they run in the caller's unit of work and never commit.
- `ImportRunner` runs the jobs as asyncio tasks in the member service process. Job state lives
  in `member_import_jobs`, so any replica answers progress questions. The uploaded bytes live only
  in the runner's memory: a job whose process stops is reported failed ("interrupted") once its
  heartbeat is stale, and because the members of a job are written in one transaction, such a job
  has written nothing — uploading the file again is safe (re-runs are idempotent).

One job = one pass over the rows in batches: parse and validate the batch (worker thread), resolve
organisation paths inside the caller's scope, skip ID numbers already registered, encrypt and
COPY the accepted rows and their MemberRegistered events (same transaction). The job row gets
progress in short separate transactions. At the end, all_or_nothing with any rejected row rolls
the whole transaction back; otherwise the job row's outcome, the members, the events and the
audit entry commit together.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import hashlib
import json
import multiprocessing
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from hongyun_platform.crypto import FieldCipher, Keyring
from hongyun_platform.db import Database, UnitOfWork
from hongyun_platform.errors import DomainError, FailedPrecondition, InvalidArgument, NotFound
from hongyun_platform.grpc.context import ROLE_SECRETARY, ROLE_TENANT_ADMIN, CallerContext
from hongyun_platform.ids import new_id
from hongyun_platform.job_tasks import JobTasks
from hongyun_platform.logging import get_logger

from member_service import events, transfer_files
from member_service.domain import member_template as tpl
from member_service.domain.profile import PERSONAL_FIELDS
from member_service.models import AuditEntry
from member_service.repository import Repositories
from member_service.service import MemberDirectory, parse_uuid
from member_service.transfer_models import ImportJob
from member_service.transfer_repository import OrgNode, TransferRepository

log = get_logger(__name__)

MODES = ("all_or_nothing", "valid_rows_only")
MAY_IMPORT = (ROLE_TENANT_ADMIN, ROLE_SECRETARY)  # the error workbook echoes personal data
FINISHED = ("succeeded", "rejected", "failed")
_ORG_NOT_FOUND = "组织不存在或不在您的管理范围内"
_DUPLICATE = "与第 {row} 行的公民身份号码重复"


@dataclass(frozen=True)
class ImportLimits:
    max_bytes: int = 20 * 1024 * 1024
    max_rows: int = 200_000
    batch_rows: int = 2000
    stale_after: timedelta = timedelta(minutes=2)
    progress_every: float = 0.5  # seconds between progress writes
    concurrency: int = 2  # jobs running at once per process
    workers: int = 0  # processes validating and encrypting rows; 0 = one thread


@dataclass(frozen=True)
class ImportJobView:
    job: ImportJob
    percent: int
    reasons: list[tuple[str, str, int]]  # (code, message, rows), most frequent first


def view_of(job: ImportJob) -> ImportJobView:
    if job.status in FINISHED:
        percent = 100
    elif job.total_rows:
        percent = min(99, job.rows_done * 100 // job.total_rows)
    else:
        percent = 0
    reasons = sorted(
        ((code, v.get("message", ""), int(v.get("rows", 0))) for code, v in job.reasons.items()),
        key=lambda r: (-r[2], r[0]),
    )
    return ImportJobView(job, percent, reasons)


def caller_of(job: ImportJob) -> CallerContext:
    """The job acts with the rights its creator had when uploading."""
    return CallerContext(
        user_id=job.created_by,
        tenant_id=job.tenant_id,
        roles=frozenset(job.created_by_roles),
        scope_org_id=job.scope_org_id,
    )


def _errors_aad(job_id: uuid.UUID) -> bytes:
    return f"member_import:{job_id}:errors".encode()


class MemberImports:
    def __init__(self, directory: MemberDirectory, limits: ImportLimits | None = None):
        self.directory = directory
        self.limits = limits or ImportLimits()

    async def create_job(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        *,
        file_name: str,
        data: bytes,
        mode: str,
        default_org_path: str,
    ) -> ImportJob:
        caller.require_role(*MAY_IMPORT)
        tenant_id = caller.require_tenant()
        if mode not in MODES:
            raise InvalidArgument(
                "导入方式应为 all_or_nothing 或 valid_rows_only (mode: all_or_nothing | "
                "valid_rows_only)",
                code="invalid_mode",
                field="mode",
            )
        file_name = (file_name or "").strip()[:255] or "upload"
        if len(data) > self.limits.max_bytes:
            raise InvalidArgument(
                f"文件超过 {self.limits.max_bytes // (1024 * 1024)} MB "
                f"(the file is larger than {self.limits.max_bytes} bytes)",
                code="file_too_large",
                field="file",
            )
        fmt = transfer_files.sniff_format(data, file_name)
        path = tpl.normalize_org_path(default_org_path)
        if len(path) > tpl.MAX_PATH_LENGTH:
            raise InvalidArgument("组织路径过长 (path too long)", field="organization_path")
        # The caller's scope must exist now; the job re-checks it when it runs.
        await self.directory.scope_root(Repositories(uow.session), caller)
        job = ImportJob(
            id=new_id(),
            tenant_id=tenant_id,
            created_by=caller.user_id,
            created_by_roles=sorted(caller.roles),
            scope_org_id=caller.scope_org_id,
            file_name=file_name,
            file_format=fmt,
            file_size=len(data),
            file_sha256=hashlib.sha256(data).hexdigest(),
            mode=mode,
            default_org_path=path,
            status="queued",
            total_rows=0,
            rows_done=0,
            accepted=0,
            rejected=0,
            skipped=0,
            reasons={},
            error_code="",
            error_message="",
            created_at=datetime.now(UTC),
            heartbeat_at=datetime.now(UTC),
        )
        TransferRepository(uow.session).jobs.add(job)
        await uow.session.flush()
        return job

    async def get_job(self, uow: UnitOfWork, caller: CallerContext, job_id: str) -> ImportJobView:
        job = await self._visible_job(uow, caller, job_id)
        if job.status not in FINISHED:
            repo = TransferRepository(uow.session).jobs
            if await repo.fail_if_stale(job.tenant_id, job.id, self.limits.stale_after):
                await uow.session.refresh(job)
        return view_of(job)

    async def error_workbook(
        self, uow: UnitOfWork, caller: CallerContext, job_id: str
    ) -> tuple[str, bytes]:
        job = await self._visible_job(uow, caller, job_id)
        if job.status not in ("succeeded", "rejected"):
            raise FailedPrecondition(
                "导入尚未完成，或文件无法读取因而没有错误明细 "
                "(the job has not finished, or failed before reading any row)",
                code="job_not_finished" if job.status not in FINISHED else "no_error_workbook",
            )
        payload: dict[str, Any] = {"headers": [], "rejected": [], "skipped": []}
        if job.errors_enc:
            plain = self.directory.cipher.decrypt(job.errors_enc, aad=_errors_aad(job.id))
            payload = json.loads(plain)
        title = (
            f"导入错误明细：{job.file_name} · 共 {job.total_rows} 行，写入 {job.accepted} 行，"
            f"拒绝 {job.rejected} 行，跳过 {job.skipped} 行 · 内部资料 注意保密"
        )
        content = await asyncio.to_thread(
            transfer_files.error_workbook,
            payload["headers"],
            [(r["row"], r["cells"], r["reasons"], r["codes"]) for r in payload["rejected"]],
            [(s["row"], s["name"], s["code"]) for s in payload["skipped"]],
            title=title,
        )
        if payload["rejected"]:
            # The workbook echoes the uploaded personal data: who downloaded it is audited.
            Repositories(uow.session).audit.add(
                AuditEntry(
                    id=new_id(),
                    tenant_id=job.tenant_id,
                    actor=caller.user_id,
                    actor_roles=sorted(caller.roles),
                    action="import_errors_download",
                    target_type="member_import",
                    target_id=job.id,
                    fields=list(PERSONAL_FIELDS),
                    reason=job.file_name,
                )
            )
        stem = job.file_name.rsplit(".", 1)[0]
        return f"{stem}-错误明细.xlsx", content

    async def _visible_job(self, uow: UnitOfWork, caller: CallerContext, job_id: str) -> ImportJob:
        caller.require_role(*MAY_IMPORT)
        tenant_id = caller.require_tenant()
        job = await TransferRepository(uow.session).jobs.get(tenant_id, parse_uuid(job_id, "id"))
        # Tenant admins see every job of the tenant; secretaries their own.
        if job is None or not (
            caller.has_role(ROLE_TENANT_ADMIN) or job.created_by == caller.user_id
        ):
            raise NotFound("导入任务不存在 (import job not found)", code="import_job_not_found")
        return job


# ---- the background runner ----


class _Rollback(Exception):
    """Raised inside the job's transaction to undo it (all_or_nothing with rejected rows)."""


@dataclass
class _JobState:
    job_id: uuid.UUID
    tenant_id: uuid.UUID
    mode: str
    file_name: str
    total: int = 0
    done: int = 0
    accepted: int = 0
    rejected: int = 0
    skipped: int = 0
    reasons: dict[str, dict[str, Any]] = field(default_factory=dict)
    rejected_rows: list[dict[str, Any]] = field(default_factory=list)
    skipped_rows: list[dict[str, Any]] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    seen: dict[str, int] = field(default_factory=dict)  # normalised ID number → first row
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase (logged)

    def tick(self, phase: str, seconds: float) -> None:
        self.timings[phase] = self.timings.get(phase, 0.0) + seconds

    def reject(self, row: tpl.ParsedRow) -> None:
        self.rejected += 1
        self.rejected_rows.append(transfer_files.rejected_entry(row))
        for e in row.errors:
            entry = self.reasons.setdefault(e.full_code, {"message": e.describe(), "rows": 0})
            entry["rows"] += 1

    def skip(self, row: tpl.ParsedRow) -> None:
        self.skipped += 1
        name = row.profile.name if row.profile else ""
        self.skipped_rows.append({"row": row.row_number, "name": name, "code": "exists"})

    def outcome(self) -> dict[str, Any]:
        return {
            "total_rows": self.total,
            "rows_done": self.done,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "skipped": self.skipped,
            "reasons": self.reasons,
        }


@dataclass(frozen=True)
class CipherSpec:
    """How a worker process rebuilds the service's FieldCipher (same keys, same index key)."""

    field_keys: str
    algorithm: str
    active_key: str
    blind_index_key: str  # base64

    def directory(self) -> MemberDirectory:
        keyring = Keyring.from_env_string(
            self.field_keys, algorithm=self.algorithm, active=self.active_key or None
        )  # type: ignore[arg-type]
        cipher = FieldCipher(keyring, index_key=base64.b64decode(self.blind_index_key))
        return MemberDirectory(cipher)


_worker_directory: MemberDirectory | None = None


def _init_worker(spec: CipherSpec) -> None:
    global _worker_directory
    _worker_directory = spec.directory()


def _prepare_in_worker(*args: Any) -> tuple[list[tpl.ParsedRow], list[Any], dict[str, float]]:
    assert _worker_directory is not None
    return prepare_batch(_worker_directory, *args)


def prepare_batch(
    directory: MemberDirectory,
    batch: list[tuple[int, list[Any]]],
    mapping: dict[int, str],
    today: date,
    default_path: str,
    build: bool,
    tenant_id: uuid.UUID | None,
    user_id: str,
) -> tuple[list[tpl.ParsedRow], list[dict[str, Any] | None], dict[str, float]]:
    """CPU work of one batch, in a worker process or thread: cells → validated rows, and for
    each valid row its member columns, encrypted by MemberDirectory.write_profile exactly as
    a single create does (or, when nothing will be written, only its ID-number blind index).
    Plain attribute bags, not ORM instances: ORM instrumentation cost more than encryption."""
    t0 = time.perf_counter()
    rows = [
        tpl.parse_row(n, raw, mapping, today=today, default_org_path=default_path)
        for n, raw in batch
    ]
    t1 = time.perf_counter()
    now = datetime.now(UTC)
    built: list[dict[str, Any] | None] = []
    for row in rows:
        if row.profile is None:
            built.append(None)
        elif build:
            m = SimpleNamespace(
                id=new_id(), tenant_id=tenant_id, organization_id=None, version=1,
                created_at=now, updated_at=now, created_by=user_id, updated_by=user_id,
            )  # fmt: skip
            directory.write_profile(m, row.profile)  # type: ignore[arg-type]
            built.append(vars(m))
        else:
            built.append({"id_number_index": directory.id_index(row.profile.id_number)})
    return rows, built, {"validate": t1 - t0, "encrypt": time.perf_counter() - t1}


class OrgPaths:
    """Name paths ("红云示范党委/第一党支部") of the active organisations inside a scope."""

    def __init__(self, nodes: Sequence[OrgNode], scope_path: str | None):
        by_id = {n.id: n for n in nodes}
        self._ids: dict[str, uuid.UUID] = {}
        self._names: dict[uuid.UUID, str] = {}
        for n in nodes:
            names, cur, hops = [], n, 0
            while cur is not None and hops < 64:
                names.append(cur.name)
                cur = by_id.get(cur.parent_id) if cur.parent_id else None
                hops += 1
            path = tpl.PATH_SEPARATOR.join(reversed(names))
            self._names[n.id] = path
            in_scope = (
                scope_path is None or n.path == scope_path or (n.path.startswith(scope_path + "."))
            )
            if n.active and in_scope:
                self._ids[path] = n.id

    def resolve(self, path: str) -> uuid.UUID | None:
        return self._ids.get(path)

    def name_of(self, org_id: uuid.UUID) -> str:
        return self._names.get(org_id, "")


class ImportRunner:
    """Runs import jobs as tasks of this process; see the module docstring."""

    def __init__(
        self,
        db: Database,
        directory: MemberDirectory,
        limits: ImportLimits | None = None,
        *,
        after_commit: Callable[[], None] = lambda: None,
        cipher_spec: CipherSpec | None = None,
    ):
        self.db = db
        self.directory = directory
        self.limits = limits or ImportLimits()
        self.after_commit = after_commit  # wakes the outbox relay
        self.cipher_spec = cipher_spec  # worker processes need it; None = threads only
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._sem = asyncio.Semaphore(self.limits.concurrency)
        self._jobs = JobTasks(
            "import", beat_every=self.limits.stale_after.total_seconds() / 4, beat=self._heartbeat
        )

    # ---- lifecycle ----

    def submit(self, job: ImportJob, data: bytes) -> None:
        self._jobs.start(job.id, job.tenant_id, self._run(job.id, job.tenant_id, data))

    async def wait_idle(self) -> None:
        """For tests and shutdown: until every submitted job has finished."""
        await self._jobs.wait_idle()

    async def supervise(self, stop: asyncio.Event) -> None:
        """Runs with the app: on stop, running jobs are cancelled and marked interrupted."""
        await stop.wait()
        await self.shutdown()

    async def shutdown(self) -> None:
        await self._jobs.cancel_all()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    async def _heartbeat(self, job_id: uuid.UUID, tenant_id: uuid.UUID) -> None:
        """Keeps a queued or running job fresh (a stale one is reported interrupted)."""
        async with self.db.unit_of_work(tenant_id) as uow:
            await TransferRepository(uow.session).jobs.progress(tenant_id, job_id)

    # ---- one job ----

    async def _run(self, job_id: uuid.UUID, tenant_id: uuid.UUID, data: bytes) -> None:
        try:
            async with self._sem:
                await self._execute(job_id, tenant_id, data)
        except asyncio.CancelledError:
            await asyncio.shield(
                self._fail(
                    job_id,
                    tenant_id,
                    "interrupted",
                    "导入被中断（服务停止），未写入任何数据，请重新上传 "
                    "(the import was interrupted; nothing was written; upload again)",
                )
            )
            raise
        except DomainError as exc:
            await self._fail(job_id, tenant_id, exc.code, exc.message)
        except Exception as exc:
            log.exception("import job failed", job_id=str(job_id))
            if isinstance(exc, concurrent.futures.BrokenExecutor):
                self._pool = None  # a worker died: the next job starts fresh workers
            await self._fail(
                job_id, tenant_id, "internal_error", "导入失败（内部错误），未写入任何数据"
            )

    async def _fail(self, job_id: uuid.UUID, tenant_id: uuid.UUID, code: str, msg: str) -> None:
        with contextlib.suppress(Exception):
            async with self.db.unit_of_work(tenant_id) as uow:
                await TransferRepository(uow.session).jobs.progress(
                    tenant_id,
                    job_id,
                    status="failed",
                    error_code=code[:40],
                    error_message=msg,
                    finished_at=datetime.now(UTC),
                )

    async def _execute(self, job_id: uuid.UUID, tenant_id: uuid.UUID, data: bytes) -> None:
        async with self.db.unit_of_work(tenant_id) as uow:
            job = await TransferRepository(uow.session).jobs.get(tenant_id, job_id)
            if job is None or job.status != "queued":
                return
            job.status, job.started_at = "running", datetime.now(UTC)
            caller = caller_of(job)
            state = _JobState(job_id, tenant_id, job.mode, job.file_name)
            fmt, default_path = job.file_format, job.default_org_path
        today = self.directory.today()
        started = time.perf_counter()
        headers, mapping, body = await asyncio.to_thread(self._parse, data, fmt, default_path)
        state.timings["parse"] = time.perf_counter() - started
        del data
        state.total, state.headers = len(body), headers
        await self._progress(state)
        try:
            async with self.db.unit_of_work(tenant_id) as uow:
                await self._process(uow, caller, state, mapping, body, default_path, today)
                if state.mode == "all_or_nothing" and state.rejected:
                    raise _Rollback
                await self._finish(uow, caller, state, "succeeded")
            self.after_commit()
        except _Rollback:
            async with self.db.unit_of_work(tenant_id) as uow:
                state.accepted = 0  # rolled back: nothing was written
                await self._finish(uow, caller, state, "rejected")

    def _parse(
        self, data: bytes, fmt: str, default_path: str
    ) -> tuple[list[str], dict[int, str], list[tuple[int, list[Any]]]]:
        sheet = transfer_files.read_rows(data, fmt)
        index, mapping = tpl.find_header(sheet.rows)
        missing = tpl.missing_columns(mapping, has_default_org=bool(default_path))
        if missing:
            raise tpl.TemplateError(
                f"缺少必填列：{'、'.join(missing)} (missing columns: {', '.join(missing)})",
                code="bad_header",
            )
        headers = [tpl.cell_text(c) for c in sheet.rows[index]]
        body = [
            (sheet.first_row_number + i, row)
            for i, row in enumerate(sheet.rows[index + 1 :], start=index + 1)
            if any(c not in (None, "") for c in row)
        ]
        if len(body) > self.limits.max_rows:
            raise tpl.TemplateError(
                f"超过 {self.limits.max_rows} 行，请分成多个文件导入 "
                f"(more than {self.limits.max_rows} rows; split the file)",
                code="too_many_rows",
            )
        if not body:
            raise tpl.TemplateError("文件中没有数据行 (no data rows)", code="empty_file")
        return headers, mapping, body

    async def _process(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        state: _JobState,
        mapping: dict[int, str],
        body: list[tuple[int, list[Any]]],
        default_path: str,
        today: date,
    ) -> None:
        repos = Repositories(uow.session)
        transfer = TransferRepository(uow.session)
        scope = await self.directory.scope_root(repos, caller)
        orgs = OrgPaths(await transfer.org_nodes(state.tenant_id), scope.path if scope else None)
        step = self.limits.batch_rows
        batches = [body[i : i + step] for i in range(0, len(body), step)]
        loop = asyncio.get_running_loop()
        pool = self._worker_pool()

        def submit(batch: list[tuple[int, list[Any]]]) -> asyncio.Future:
            # Encrypt only while the rows can still be written.
            build = state.mode == "valid_rows_only" or not state.rejected
            args = (batch, mapping, today, default_path, build, caller.tenant_id, caller.user_id)
            if pool is None:
                return asyncio.ensure_future(
                    asyncio.to_thread(prepare_batch, self.directory, *args)
                )
            return loop.run_in_executor(pool, _prepare_in_worker, *args)

        # Pipeline: the next batches are validated and encrypted (worker processes, or a
        # thread) while PostgreSQL writes the current one; results are used in file order.
        ahead = max(1, self.limits.workers) + 1
        pending = [submit(b) for b in batches[:ahead]]
        try:
            last_progress = time.monotonic()
            for i, batch in enumerate(batches):
                rows, built, seconds = await pending[i]
                if i + ahead < len(batches):
                    pending.append(submit(batches[i + ahead]))
                for phase, value in seconds.items():
                    state.tick(phase, value)
                await self._write_batch(uow, transfer, state, orgs, rows, built)
                state.done += len(batch)
                if time.monotonic() - last_progress >= self.limits.progress_every:
                    await self._progress(state)
                    last_progress = time.monotonic()
        finally:
            for f in pending:
                f.cancel()  # on errors: running work ends by itself; nobody waits for it

    async def _write_batch(
        self,
        uow: UnitOfWork,
        transfer: TransferRepository,
        state: _JobState,
        orgs: OrgPaths,
        rows: list[tpl.ParsedRow],
        built: list[dict[str, Any] | None],
    ) -> None:
        """The checks that need the whole file or the tenant (organisation path inside the
        scope, duplicates in the file), then the write of the accepted rows."""
        accepted: list[tuple[tpl.ParsedRow, dict[str, Any]]] = []
        for row, member in zip(rows, built, strict=True):
            if row.profile is not None:
                org_id = orgs.resolve(row.organization_path)
                if org_id is None and not any(e.field == tpl.ORGANIZATION_PATH for e in row.errors):
                    row.errors.append(
                        tpl.RowError(tpl.ORGANIZATION_PATH, "not_found", _ORG_NOT_FOUND)
                    )
                first = state.seen.setdefault(row.profile.id_number, row.row_number)
                if first != row.row_number:
                    row.errors.append(
                        tpl.RowError("id_number", "duplicate_in_file", _DUPLICATE.format(row=first))
                    )
                if row.ok and member is not None:
                    member["organization_id"] = org_id
                    accepted.append((row, member))
                    continue
            state.reject(row)
        if not accepted:
            return
        if (
            not (state.mode == "valid_rows_only" or not state.rejected)
            or "id" not in accepted[0][1]
        ):
            # Nothing more will be written (all_or_nothing after a rejection): only count which
            # rows are already registered, for the report.
            t0 = time.perf_counter()
            existing = await transfer.existing_id_indexes(
                state.tenant_id, [m["id_number_index"] for _, m in accepted]
            )
            state.tick("lookup", time.perf_counter() - t0)
            for row, m in accepted:
                if m["id_number_index"] in existing:
                    state.skip(row)
                else:
                    state.accepted += 1  # would be written; rolled back at the end
            return
        t1 = time.perf_counter()
        inserted = await transfer.insert_members([m for _, m in accepted])
        t2 = time.perf_counter()
        state.tick("insert", t2 - t1)
        written = []
        for row, m in accepted:
            if m["id"] in inserted:
                written.append(SimpleNamespace(**m))
            else:  # the ID number is already registered
                state.skip(row)
        await events.members_registered(uow, written)  # type: ignore[arg-type]
        state.tick("events", time.perf_counter() - t2)
        state.accepted += len(written)

    def _worker_pool(self) -> concurrent.futures.Executor | None:
        """Worker processes for validation and encryption (the GIL would serialise threads),
        started on first use and kept; None = a thread of this process."""
        if self.limits.workers <= 0 or self.cipher_spec is None:
            return None
        if self._pool is None:
            self._pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=self.limits.workers,
                mp_context=multiprocessing.get_context("spawn"),  # no fork under gRPC threads
                initializer=_init_worker,
                initargs=(self.cipher_spec,),
            )
        return self._pool

    async def _progress(self, state: _JobState) -> None:
        async with self.db.unit_of_work(state.tenant_id) as uow:
            await TransferRepository(uow.session).jobs.progress(
                state.tenant_id,
                state.job_id,
                total_rows=state.total,
                rows_done=state.done,
                accepted=state.accepted,
                rejected=state.rejected,
                skipped=state.skipped,
            )

    async def _finish(
        self, uow: UnitOfWork, caller: CallerContext, state: _JobState, status: str
    ) -> None:
        log.info(
            "import job finished",
            job_id=str(state.job_id),
            status=status,
            rows=state.total,
            accepted=state.accepted,
            rejected=state.rejected,
            skipped=state.skipped,
            **{f"{k}_s": round(v, 3) for k, v in state.timings.items()},
        )
        errors_enc = None
        if state.rejected_rows or state.skipped_rows:
            payload = json.dumps(
                {
                    "headers": state.headers,
                    "rejected": state.rejected_rows,
                    "skipped": state.skipped_rows,
                },
                ensure_ascii=False,
            )
            errors_enc = await asyncio.to_thread(
                self.directory.cipher.encrypt, payload, aad=_errors_aad(state.job_id)
            )
        await TransferRepository(uow.session).jobs.progress(
            state.tenant_id,
            state.job_id,
            status=status,
            errors_enc=errors_enc,
            finished_at=datetime.now(UTC),
            error_code="rows_rejected" if status == "rejected" else "",
            error_message=(
                f"有 {state.rejected} 行未通过校验，按“全部成功才导入”未写入任何数据 "
                f"({state.rejected} rows rejected; all_or_nothing wrote nothing)"
                if status == "rejected"
                else ""
            ),
            **state.outcome(),
        )
        Repositories(uow.session).audit.add(
            AuditEntry(
                id=new_id(),
                tenant_id=state.tenant_id,
                actor=caller.user_id,
                actor_roles=sorted(caller.roles),
                action="import",
                target_type="member_import",
                target_id=state.job_id,
                fields=[],
                reason=(
                    f"{state.file_name}; mode={state.mode}; status={status}; "
                    f"rows={state.total}; accepted={state.accepted}; rejected={state.rejected}; "
                    f"skipped={state.skipped}"
                ),
            )
        )
