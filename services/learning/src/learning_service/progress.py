"""Use cases of learning progress (issue 5, domain.md §8): player reports, checkpoint answers,
restarting an item, the learner's own views, the secretaries' views of their subtree, the
tenant's settings and the optional points.

A learner reaches only items of courses they may open (course_access); anything else is
NOT_FOUND and nothing is written. A player report (every learner, every 30 s) is two prebuilt
statements: one read of the learner's place in the trees, the item, the audience rule, the
settings and the progress row, and one guarded upsert. Nothing is cached per process, so an
audience change or an organisation move counts from the next report on. Secretaries see learners whose organisation lies in their
subtree (the path stored on each row), tenant admins the whole tenant. Points are computed only
when the tenant turned them on, for un-flagged completions and first-try checkpoint answers, and
are shown to the learner and inside their own branch — never ranked.

For the training area: `course_completions(session, tenant_id, learner_id, course_ids)`.

No transport imports; raises DomainError; never commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hongyun_platform.db import UnitOfWork
from hongyun_platform.db.repository import clamp_page_size, decode_token, encode_token
from hongyun_platform.errors import (
    Conflict,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from hongyun_platform.grpc.context import (
    ROLE_DESCENDANT_READER,
    ROLE_SECRETARY,
    ROLE_TENANT_ADMIN,
    CallerContext,
)
from sqlalchemy.ext.asyncio import AsyncSession

from learning_service import progress_events
from learning_service.course_access import course_for_learner
from learning_service.domain import progress as d
from learning_service.learner import Learner
from learning_service.progress_models import SETTING_FIELDS, ProgressFlag
from learning_service.progress_repository import (
    ProgressRepository,
    ReportContext,
    Settings,
    decode_key,
    encode_key,
)

MANAGERS = (ROLE_TENANT_ADMIN, ROLE_SECRETARY, ROLE_DESCENDANT_READER)
MAX_PLAYBACK_RATE_REPORTED = 16.0  # a sanity bound on input, not a rule
SAVE_ATTEMPTS = 3


def utc_now() -> datetime:
    return datetime.now(UTC)


def _uuid(value: str, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        raise InvalidArgument(
            f"{name} 不是有效的 UUID ({name} is not a valid UUID)",
            code="invalid_id",
            field=name,
        ) from None


def _item_not_found() -> NotFound:
    return NotFound("学习内容不存在 (item not found)", code="item_not_found")


def _course_not_found() -> NotFound:
    return NotFound("课程不存在 (course not found)", code="course_not_found")


def _require_writer(caller: CallerContext) -> None:
    if caller.is_cross_tenant:
        raise PermissionDenied(
            "跨租户访问只能查看，不能学习 (read only across tenants)", code="read_only_tenant"
        )


# ---- views ----


@dataclass(frozen=True)
class ItemProgressView:
    item_id: uuid.UUID
    course_id: uuid.UUID
    started: bool
    position: int
    furthest: int
    length: int
    percent: int
    reached_end: bool
    checkpoints_total: int
    checkpoints_correct: int
    completed: bool
    completion_flagged: bool
    completed_at: datetime | None
    attempt: int
    attempt_flags: list[str]
    started_at: datetime | None
    last_report_at: datetime | None

    @property
    def flag_notes(self) -> list[str]:
        return [d.FLAG_NOTES[d.FlagKind(k)] for k in self.attempt_flags]


@dataclass(frozen=True)
class ReportResult:
    progress: ItemProgressView
    new_flags: list[str]
    course_completed: bool
    emitted: bool  # events went to the outbox (wake the relay)


@dataclass(frozen=True)
class AnswerResult:
    correct: bool
    attempts: int
    explanation: str
    progress: ItemProgressView
    course_completed: bool
    points_awarded: int
    points_enabled: bool


@dataclass(frozen=True)
class CheckpointView:
    checkpoint_id: uuid.UUID
    position: int
    answered: bool
    correct: bool
    attempts: int


@dataclass(frozen=True)
class ItemEntry:
    item_id: uuid.UUID
    chapter_id: uuid.UUID
    title: str
    kind: str
    required: bool
    progress: ItemProgressView
    checkpoints: list[CheckpointView]


@dataclass(frozen=True)
class CompletionView:
    completed: bool
    flagged: bool = False
    class_hours_hundredths: int = 0
    completed_at: datetime | None = None


@dataclass(frozen=True)
class CourseProgressView:
    course_id: uuid.UUID
    title: str
    items: list[ItemEntry]
    required_items: int
    required_completed: int
    completion: CompletionView
    continue_item_id: uuid.UUID | None
    continue_position: int


@dataclass(frozen=True)
class ContinueView:
    course_id: uuid.UUID
    course_title: str
    item_id: uuid.UUID
    item_title: str
    kind: str
    position: int
    length: int
    last_report_at: datetime


@dataclass(frozen=True)
class CourseLearnerView:
    learner_id: str
    org_id: uuid.UUID | None
    items_started: int
    items_completed: int
    required_items: int
    required_completed: int
    completion: CompletionView
    flags: int
    last_report_at: datetime


@dataclass(frozen=True)
class PageView:
    items: list[Any]
    next_token: str


@dataclass(frozen=True)
class SettingsView:
    values: dict[str, Any]
    citation: str
    overridden: frozenset[str]


@dataclass(frozen=True)
class PointsView:
    total: int
    today: int
    daily_cap: int


@dataclass(frozen=True)
class BranchPointsView:
    org_id: uuid.UUID
    members: list[tuple[str, int]]
    next_token: str


@dataclass(frozen=True)
class CourseCompletionInfo:
    """What the training area needs to credit a course toward a class."""

    course_id: uuid.UUID
    completed_at: datetime
    flagged: bool
    class_hours_hundredths: int  # credited: 0 when flagged
    course_version: int


@dataclass
class _After:
    """What to do once the progress row is saved."""

    flags: list[d.Flag] = field(default_factory=list)
    milestones: tuple[int, ...] = ()
    completion: d.Completion | None = None


# ---- helpers ----


def _track(row: dict[str, Any] | None) -> d.Track:
    if row is None:
        return d.Track()
    return d.Track(
        position=row["position"],
        covered=d.unflatten(row["covered"]),
        session_id=row["session_id"],
        last_report_at=row["last_report_at"],
        last_advanced_at=row["last_advanced_at"],
        prev_session_id=row["prev_session_id"],
        prev_session_at=row["prev_session_at"],
        prev_session_position=row["prev_session_position"],
        allowance=row["allowance"],
        milestone=row["milestone"],
        flags=frozenset(row["attempt_flags"] or ()),
    )


def _view(
    item_id: uuid.UUID,
    course_id: uuid.UUID,
    item: d.ItemFacts,
    row: dict[str, Any] | None,
    rules: d.ProgressRules,
    checkpoints_correct: int,
) -> ItemProgressView:
    started = row is not None
    far = row["furthest"] if row else 0
    return ItemProgressView(
        item_id=item_id,
        course_id=course_id,
        started=started,
        position=row["position"] if row else 0,
        furthest=far,
        length=item.length,
        percent=100 if row and not item.tracked else d.percent_of(item, far),
        reached_end=d.reached_end(item, far, started, rules),
        checkpoints_total=item.checkpoints_total,
        checkpoints_correct=min(checkpoints_correct, item.checkpoints_total),
        completed=bool(row and row["completed_at"]),
        completion_flagged=bool(row and row["completed_at"] and row["completion_flagged"]),
        completed_at=row["completed_at"] if row else None,
        attempt=row["attempt"] if row else 0,
        attempt_flags=sorted(row["attempt_flags"] or ()) if row else [],
        started_at=row["started_at"] if row else None,
        last_report_at=row["last_report_at"] if row else None,
    )


def _row_values(
    learner: Learner,
    ctx: ReportContext,
    track: d.Track,
    furthest: int,
    completion: d.Completion,
    now: datetime,
    *,
    attempt: int,
) -> dict[str, Any]:
    row = ctx.row or {}
    return {
        "tenant_id": learner.tenant_id,
        "learner_id": learner.learner_id,
        "item_id": ctx.item_id,
        "course_id": ctx.course_id,
        "kind": ctx.item.kind,
        "org_id": learner.org_id,
        "org_path": list(learner.org_path),
        "course_version": ctx.course_version,
        "material_version": ctx.material_version,
        "attempt": attempt,
        "started_at": row.get("started_at") or now,
        "position": track.position,
        "furthest": furthest,
        "covered": d.flatten(track.covered),
        "session_id": track.session_id,
        "last_report_at": track.last_report_at or now,
        "last_advanced_at": track.last_advanced_at,
        "prev_session_id": track.prev_session_id,
        "prev_session_at": track.prev_session_at,
        "prev_session_position": track.prev_session_position,
        "allowance": track.allowance,
        "milestone": track.milestone,
        "attempt_flags": sorted(track.flags),
        "completed_at": completion.completed_at,
        "completion_flagged": completion.flagged,
    }


def _within(caller: CallerContext) -> uuid.UUID | None:
    """The subtree a manager sees: a secretary's organisation; None = the whole tenant."""
    if not caller.has_role(*MANAGERS):
        raise PermissionDenied(
            "仅书记和租户管理员可查看学员进度 (secretaries and tenant admins only)",
            code="progress_managers_only",
        )
    if caller.has_role(ROLE_TENANT_ADMIN, ROLE_DESCENDANT_READER):
        return None
    if caller.scope_org_id is None:
        raise PermissionDenied(
            "书记账号未设置所在组织 (the secretary has no organisation)", code="no_scope_org"
        )
    return caller.scope_org_id


class Progress:
    """Nothing is cached per process: each report reads the learner's place in the trees and
    the course's audiences in its one context statement, so an audience removal, a new grant or
    an organisation move counts from the next report on."""

    def __init__(self, *, clock: Callable[[], datetime] = utc_now):
        self.clock = clock

    async def _context(
        self,
        repo: ProgressRepository,
        caller: CallerContext,
        item_id: uuid.UUID,
        session_id: uuid.UUID | None,
    ) -> tuple[Learner, ReportContext]:
        """The learner and the item's context, if they may open its course (else 404, nothing
        written)."""
        found = await repo.report_context(caller, item_id, session_id)
        if found is None:
            raise _item_not_found()
        return found

    # ---- reports ----

    async def report(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        *,
        item_id: str,
        session_id: str,
        position: int,
        playback_rate: float = 0.0,
        seeked: bool = False,
    ) -> ReportResult:
        _require_writer(caller)
        iid = _uuid(item_id, "item_id")
        sid = _uuid(session_id, "session_id")
        if playback_rate < 0 or playback_rate > MAX_PLAYBACK_RATE_REPORTED:
            raise InvalidArgument(
                "播放倍速无效 (playback rate out of range)",
                code="invalid_playback_rate",
                field="playback_rate",
            )
        repo = ProgressRepository(uow.session)
        for _ in range(SAVE_ATTEMPTS):
            learner, ctx = await self._context(repo, caller, iid, sid)
            d.validate_position(ctx.item, position)
            now = self.clock()
            rules = ctx.settings.rules
            report = d.Report(position, sid, now, playback_rate or None, seeked)
            step = d.apply_report(
                _track(ctx.row), ctx.item, report, rules,
                other_session_advanced_at=ctx.other_session_advanced_at,
            )  # fmt: skip
            reached = d.reached_end(ctx.item, step.furthest, True, rules)
            row = ctx.row or {}
            completion = d.completion_transition(
                row.get("completed_at"), bool(row.get("completion_flagged")),
                d.is_complete(ctx.item, reached, ctx.checkpoints_correct),
                bool(step.track.flags), now,
            )  # fmt: skip
            values = _row_values(
                learner, ctx, step.track, step.furthest, completion, now,
                attempt=row.get("attempt") or 1,
            )  # fmt: skip
            if await repo.save_progress(values, row.get("revision")):
                break
        else:
            raise Conflict("学习进度正在更新，请重试 (progress changed meanwhile; retry)",
                           code="progress_conflict")  # fmt: skip
        tracks_milestones = not row.get("completed_at") or bool(row.get("completion_flagged"))
        after = _After(
            flags=list(step.new_flags),
            milestones=step.milestones if tracks_milestones else (),
            completion=completion,
        )
        course_done = await self._after_save(repo, learner, ctx, values, after, now)
        return ReportResult(
            _view(iid, ctx.course_id, ctx.item, values, rules, ctx.checkpoints_correct),
            [f.kind.value for f in step.new_flags],
            course_done,
            bool(after.milestones) or completion.changed,
        )

    async def _after_save(
        self,
        repo: ProgressRepository,
        learner: Learner,
        ctx: ReportContext,
        values: dict[str, Any],
        after: _After,
        now: datetime,
    ) -> bool:
        """Flags, milestone and completion events, points and the course completion."""
        session = repo.session
        common = dict(tenant_id=learner.tenant_id, learner_id=learner.learner_id,
                      org_id=learner.org_id)  # fmt: skip
        await repo.add_flags(
            [
                {
                    **common,
                    "org_path": list(learner.org_path),
                    "course_id": ctx.course_id,
                    "item_id": ctx.item_id,
                    "kind": f.kind.value,
                    "detail": f.detail,
                    "session_id": values["session_id"],
                    "attempt": values["attempt"],
                    "created_at": now,
                }
                for f in after.flags
            ]
        )
        for pct in after.milestones:
            await progress_events.learning_progressed(
                session, **common, course_id=ctx.course_id, item_id=ctx.item_id, percent=pct,
                attempt=values["attempt"], at=now,
            )  # fmt: skip
        completion = after.completion
        if completion is None or not completion.changed:
            return False
        await progress_events.item_completed(
            session, **common, course_id=ctx.course_id, item_id=ctx.item_id,
            flagged=completion.flagged, course_version=ctx.course_version,
            material_version=ctx.material_version, at=now,
        )  # fmt: skip
        if not completion.flagged:
            await self._award(repo, learner, ctx.settings, "item", ctx.item_id,
                              ctx.settings.points.per_item, now)  # fmt: skip
        return await self._course_check(repo, learner, ctx, now)

    async def _award(
        self,
        repo: ProgressRepository,
        learner: Learner,
        settings: Settings,
        source: str,
        source_id: uuid.UUID,
        base: int,
        now: datetime,
    ) -> int:
        if not settings.points.enabled:
            return 0  # off: nothing is computed at all
        day = d.china_day(now)
        earned = await repo.points_on(learner.tenant_id, learner.learner_id, day)
        points = d.points_to_award(base, earned, settings.points)
        if points <= 0:
            return 0
        added = await repo.add_points(
            dict(tenant_id=learner.tenant_id, learner_id=learner.learner_id,
                 org_id=learner.org_id, day=day, source=source, source_id=source_id,
                 points=points, created_at=now)
        )  # fmt: skip
        return points if added else 0

    async def _course_check(
        self, repo: ProgressRepository, learner: Learner, ctx: ReportContext, now: datetime
    ) -> bool:
        summary = await repo.course_summary(learner.tenant_id, learner.learner_id, ctx.course_id)
        if not summary.complete:
            return False
        existing = await repo.course_completion(
            learner.tenant_id, learner.learner_id, ctx.course_id
        )
        flagged = summary.any_flagged
        if existing is not None and (flagged or not existing.flagged):
            return False
        hours = 0 if flagged else ctx.class_hours_hundredths
        await repo.save_course_completion(
            dict(tenant_id=learner.tenant_id, learner_id=learner.learner_id,
                 course_id=ctx.course_id, org_id=learner.org_id,
                 org_path=list(learner.org_path), course_version=ctx.course_version,
                 completed_at=now, flagged=flagged, class_hours_hundredths=hours, updated_at=now)
        )  # fmt: skip
        await progress_events.course_completed(
            repo.session, tenant_id=learner.tenant_id, learner_id=learner.learner_id,
            org_id=learner.org_id, course_id=ctx.course_id, course_title=ctx.course_title,
            flagged=flagged, class_hours_hundredths=hours, course_version=ctx.course_version,
            at=now,
        )  # fmt: skip
        return True

    # ---- checkpoints ----

    async def answer(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        *,
        item_id: str,
        checkpoint_id: str,
        selected: Sequence[int],
    ) -> AnswerResult:
        _require_writer(caller)
        iid = _uuid(item_id, "item_id")
        cid = _uuid(checkpoint_id, "checkpoint_id")
        repo = ProgressRepository(uow.session)
        learner, ctx = await self._context(repo, caller, iid, None)
        cp = await repo.checkpoint(learner, iid, cid)
        if cp is None:
            raise NotFound("检查点不存在 (checkpoint not found)", code="checkpoint_not_found")
        correct = d.check_answer(cp.kind, cp.options, cp.answer, selected)
        now = self.clock()
        attempts = await repo.record_answer(learner, cp, selected, correct, now)
        newly = correct and not cp.correct
        points = 0
        attempt_flagged = bool(ctx.row and ctx.row["attempt_flags"])
        if correct and attempts == 1 and not attempt_flagged:
            points = await self._award(repo, learner, ctx.settings, "checkpoint", cp.id,
                                       ctx.settings.points.per_checkpoint, now)  # fmt: skip
        course_done = False
        values = ctx.row
        for _ in range(SAVE_ATTEMPTS):
            row = ctx.row or {}
            cp_correct = ctx.checkpoints_correct + (1 if newly else 0)
            far = row.get("furthest", 0)
            reached = d.reached_end(ctx.item, far, True, ctx.settings.rules)
            completion = d.completion_transition(
                row.get("completed_at"), bool(row.get("completion_flagged")),
                d.is_complete(ctx.item, reached, cp_correct),
                bool(row.get("attempt_flags")), now,
            )  # fmt: skip
            if ctx.row is not None and not completion.changed:
                break
            track = _track(ctx.row)
            if ctx.row is None:  # answering opens the item
                track = d.Track(last_report_at=now)
            values = _row_values(learner, ctx, track, far, completion, now,
                                 attempt=row.get("attempt") or 1)  # fmt: skip
            if await repo.save_progress(values, row.get("revision")):
                course_done = await self._after_save(
                    repo, learner, ctx, values, _After(completion=completion), now
                )
                break
            learner, ctx = await self._context(repo, caller, iid, None)
            newly = False  # the re-read counts this answer already
        else:
            raise Conflict("学习进度正在更新，请重试 (progress changed meanwhile; retry)",
                           code="progress_conflict")  # fmt: skip
        cp_total_correct = ctx.checkpoints_correct + (1 if newly else 0)
        return AnswerResult(
            correct=correct,
            attempts=attempts,
            explanation=cp.explanation if (correct or cp.correct) else "",
            progress=_view(
                iid, ctx.course_id, ctx.item, values, ctx.settings.rules, cp_total_correct
            ),
            course_completed=course_done,
            points_awarded=points,
            points_enabled=ctx.settings.points.enabled,
        )

    async def restart(
        self, uow: UnitOfWork, caller: CallerContext, *, item_id: str
    ) -> ItemProgressView:
        _require_writer(caller)
        iid = _uuid(item_id, "item_id")
        repo = ProgressRepository(uow.session)
        for _ in range(SAVE_ATTEMPTS):
            learner, ctx = await self._context(repo, caller, iid, None)
            if ctx.row is None:
                return _view(iid, ctx.course_id, ctx.item, None, ctx.settings.rules,
                             ctx.checkpoints_correct)  # fmt: skip
            now = self.clock()
            row = ctx.row
            completion = d.Completion(row["completed_at"], row["completion_flagged"], False)
            values = _row_values(learner, ctx, d.Track(last_report_at=now), 0, completion, now,
                                 attempt=row["attempt"] + 1)  # fmt: skip
            if await repo.save_progress(values, row["revision"]):
                return _view(iid, ctx.course_id, ctx.item, values, ctx.settings.rules,
                             ctx.checkpoints_correct)  # fmt: skip
        raise Conflict("学习进度正在更新，请重试 (progress changed meanwhile; retry)",
                       code="progress_conflict")  # fmt: skip

    # ---- the learner's own views ----

    async def my_course(
        self, uow: UnitOfWork, caller: CallerContext, *, course_id: str
    ) -> CourseProgressView:
        cid = _uuid(course_id, "course_id")
        repo = ProgressRepository(uow.session)
        learner = await repo.load_learner(caller)
        access = await course_for_learner(uow.session, learner, cid)
        if access is None:
            raise _course_not_found()
        settings = await repo.settings(learner.tenant_id)
        items = await repo.course_items(learner.tenant_id, learner.learner_id, cid)
        cps = await repo.course_checkpoints(
            learner.tenant_id, learner.learner_id, [r.id for r, _ in items]
        )
        by_item: dict[uuid.UUID, list[CheckpointView]] = {}
        for c in cps:
            by_item.setdefault(c.item_id, []).append(
                CheckpointView(c.id, c.position, c.attempts > 0, c.correct, c.attempts)
            )
        entries: list[ItemEntry] = []
        for r, row in items:
            checkpoints = by_item.get(r.id, [])
            facts = d.ItemFacts(r.kind, r.length, len(checkpoints))
            view = _view(r.id, cid, facts, row, settings.rules,
                         sum(1 for c in checkpoints if c.correct))  # fmt: skip
            entries.append(ItemEntry(r.id, r.chapter_id, r.title, r.kind, r.required, view,
                                     checkpoints))  # fmt: skip
        rec = await repo.course_completion(learner.tenant_id, learner.learner_id, cid)
        completion = (
            CompletionView(True, rec.flagged, rec.class_hours_hundredths, rec.completed_at)
            if rec
            else CompletionView(False)
        )
        cont = _continue_item(entries)
        return CourseProgressView(
            course_id=cid,
            title=access.course.title,
            items=entries,
            required_items=sum(1 for e in entries if e.required),
            required_completed=sum(1 for e in entries if e.required and e.progress.completed),
            completion=completion,
            continue_item_id=cont.item_id if cont else None,
            continue_position=cont.progress.position if cont else 0,
        )

    async def continue_learning(
        self, uow: UnitOfWork, caller: CallerContext
    ) -> ContinueView | None:
        repo = ProgressRepository(uow.session)
        learner = await repo.load_learner(caller)
        r = await repo.recent_unfinished(learner, 1)
        if r is None:
            return None
        return ContinueView(r.course_id, r.course_title, r.item_id, r.item_title, r.kind,
                            r.position, r.length, r.last_report_at)  # fmt: skip

    # ---- secretaries and tenant admins ----

    async def _scope(
        self, repo: ProgressRepository, caller: CallerContext, org_id: str
    ) -> uuid.UUID | None:
        within = _within(caller)
        if not org_id:
            return within
        oid = _uuid(org_id, "org_id")
        if within is not None and within not in await repo.org_path(caller.require_tenant(), oid):
            raise NotFound("组织不存在 (organisation not found)", code="org_not_found")
        return oid

    async def course_learners(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        *,
        course_id: str,
        org_id: str = "",
        page_size: int = 0,
        page_token: str = "",
    ) -> PageView:
        tenant = caller.require_tenant()
        repo = ProgressRepository(uow.session)
        within = await self._scope(repo, caller, org_id)
        cid = _uuid(course_id, "course_id")
        if await repo.course(cid) is None:
            raise _course_not_found()
        size = clamp_page_size(page_size)
        rows = await repo.course_learners(tenant, cid, within, decode_key(page_token), size + 1)
        required = await repo.required_items(cid)
        items = [
            CourseLearnerView(
                r.learner_id,
                r.org_id,
                r.items_started,
                r.items_completed,
                required,
                r.required_completed,
                CompletionView(
                    True,
                    r.completion.flagged,
                    r.completion.class_hours_hundredths,
                    r.completion.completed_at,
                )
                if r.completion
                else CompletionView(False),
                r.flags,
                r.last_report_at,
            )
            for r in rows[:size]
        ]
        token = encode_key(rows[size - 1].learner_id) if len(rows) > size else ""
        return PageView(items, token)

    async def learner_flags(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        *,
        learner_id: str,
        page_size: int = 0,
        page_token: str = "",
    ) -> PageView:
        tenant = caller.require_tenant()
        repo = ProgressRepository(uow.session)
        within = _within(caller)
        if not learner_id or not await repo.learner_in_scope(tenant, learner_id, within):
            raise NotFound("学员不存在 (learner not found)", code="learner_not_found")
        size = clamp_page_size(page_size)
        rows: list[ProgressFlag] = await repo.learner_flags(
            tenant, learner_id, within, decode_token(page_token), size + 1
        )
        token = encode_token(rows[size - 1].id) if len(rows) > size else ""
        return PageView(rows[:size], token)

    # ---- settings ----

    async def get_settings(self, uow: UnitOfWork, caller: CallerContext) -> SettingsView:
        tenant = caller.require_tenant()
        if not caller.has_role(*MANAGERS):
            raise PermissionDenied(
                "仅书记和租户管理员可查看学习设置 (secretaries and tenant admins only)",
                code="progress_managers_only",
            )
        return _settings_view(await ProgressRepository(uow.session).settings(tenant))

    async def update_settings(
        self, uow: UnitOfWork, caller: CallerContext, *, overrides: dict[str, Any]
    ) -> SettingsView:
        tenant = caller.require_tenant()
        _require_writer(caller)
        if not caller.has_role(ROLE_TENANT_ADMIN):
            raise PermissionDenied(
                "仅租户管理员可修改学习设置 (tenant admins only)", code="tenant_admin_only"
            )
        unknown = set(overrides) - set(SETTING_FIELDS)
        if unknown:
            raise InvalidArgument(f"未知设置 {sorted(unknown)} (unknown settings)",
                                  code="unknown_setting")  # fmt: skip
        d.validate_overrides(overrides)
        repo = ProgressRepository(uow.session)
        await repo.save_overrides(tenant, overrides, caller.user_id, self.clock())
        return _settings_view(await repo.settings(tenant))

    # ---- points ----

    async def my_points(self, uow: UnitOfWork, caller: CallerContext) -> PointsView:
        tenant = caller.require_tenant()
        repo = ProgressRepository(uow.session)
        settings = await repo.settings(tenant)
        _points_on(settings)
        total, today = await repo.points_totals(tenant, caller.user_id, d.china_day(self.clock()))
        return PointsView(total, today, settings.points.daily_cap)

    async def branch_points(
        self, uow: UnitOfWork, caller: CallerContext, *, page_size: int = 0, page_token: str = ""
    ) -> BranchPointsView:
        tenant = caller.require_tenant()
        # Points stay inside a branch: only the secretary of that branch sees its totals, and no
        # list spans branches (domain.md §8: no points rankings).
        if not caller.has_role(ROLE_SECRETARY) or caller.scope_org_id is None:
            raise PermissionDenied(
                "积分仅在本支部内可见，不提供跨支部列表或排名 "
                "(points are visible inside one's own branch only; no cross-branch list)",
                code="points_branch_only",
            )
        repo = ProgressRepository(uow.session)
        _points_on(await repo.settings(tenant))
        size = clamp_page_size(page_size)
        rows = await repo.branch_points(tenant, caller.scope_org_id, decode_key(page_token),
                                        size + 1)  # fmt: skip
        token = encode_key(rows[size - 1][0]) if len(rows) > size else ""
        return BranchPointsView(caller.scope_org_id, rows[:size], token)


def _points_on(settings: Settings) -> None:
    if not settings.points.enabled:
        raise FailedPrecondition("本单位未启用学习积分 (points are not enabled)",
                                 code="points_disabled")  # fmt: skip


def _settings_view(s: Settings) -> SettingsView:
    values: dict[str, Any] = {
        **{k: getattr(s.rules, k) for k in s.rules.__dataclass_fields__},
        "points_enabled": s.points.enabled,
        "points_per_item": s.points.per_item,
        "points_per_checkpoint": s.points.per_checkpoint,
        "points_daily_cap": s.points.daily_cap,
    }
    return SettingsView(values, s.citation, s.overridden)


def _continue_item(entries: list[ItemEntry]) -> ItemEntry | None:
    """The item last worked on and not finished; else the first required one not completed."""
    unfinished = [
        e for e in entries
        if e.progress.started and (not e.progress.completed or e.progress.completion_flagged)
    ]  # fmt: skip
    if unfinished:
        return max(unfinished, key=lambda e: e.progress.last_report_at or datetime.min)
    for e in entries:
        if e.required and not e.progress.completed:
            return e
    return next((e for e in entries if not e.progress.completed), None)


# ---- for the training area ----


async def course_completions(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    learner_id: str,
    course_ids: Sequence[uuid.UUID],
) -> dict[uuid.UUID, CourseCompletionInfo]:
    """The learner's recorded course completions among `course_ids` (absent = not completed).
    A flagged completion is included with flagged=True and 0 class hours credited. Runs in the
    caller's transaction (tenant set for row-level security)."""
    rows = await ProgressRepository(session).completions_of(tenant_id, learner_id, course_ids)
    return {
        r.course_id: CourseCompletionInfo(
            r.course_id, r.completed_at, r.flagged, r.class_hours_hundredths, r.course_version
        )
        for r in rows
    }
