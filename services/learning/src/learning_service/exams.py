"""Use cases of exams as authored (issue 5): drafts with a fixed paper or draw rules and
audiences, publishing, closing; and the list of exams a learner may take.

Authors (exam_scope): tenant admins for the whole tenant, secretaries for their subtree. A
secretary's exam reaches learners of their subtree only: audiences of an organisation inside it
or of named learners (whole-tenant and role audiences are for tenant admins). An exam is edited
only as a draft; once published its settings hold for every attempt.

No transport imports; raises DomainError; never commits.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from hongyun_platform.db import Page, UnitOfWork
from hongyun_platform.errors import FailedPrecondition, NotFound, PermissionDenied
from hongyun_platform.grpc.context import CallerContext
from hongyun_platform.ids import new_id

from learning_service.domain import exams as dx
from learning_service.domain import questions as q
from learning_service.exam_models import (
    Exam,
    ExamAudience,
    ExamDrawRule,
    ExamPaperItem,
)
from learning_service.exam_repository import AttemptSummary, ExamRepository
from learning_service.exam_scope import AuthorScope, author_scope, org_path_of
from learning_service.learner import load_learner
from learning_service.question_repository import QuestionRepository
from learning_service.questions import now_utc, optional_id, parse_id


def exam_not_found() -> NotFound:
    return NotFound("考试不存在 (exam not found)", code="exam_not_found")


@dataclass(frozen=True)
class ExamView:
    exam: Exam
    items: list[ExamPaperItem]
    rules: list[ExamDrawRule]
    audiences: list[ExamAudience]

    @property
    def question_count(self) -> int:
        if self.exam.paper_mode == dx.FIXED:
            return len(self.items)
        return sum(r.count for r in self.rules)


@dataclass(frozen=True)
class AvailableView:
    view: ExamView
    summary: AttemptSummary
    can_start: bool


def rule_of(row: ExamDrawRule) -> dx.DrawRule:
    return dx.DrawRule(
        bank_ids=tuple(row.bank_ids),
        count=row.count,
        points=row.points,
        kinds=tuple(row.kinds),
        tags=tuple(row.tags),
        difficulty_min=row.difficulty_min,
        difficulty_max=row.difficulty_max,
    )


async def check_draw(
    session, tenant_id: uuid.UUID, rules: list[dx.DrawRule], rng: random.Random
) -> list[dx.PaperItem]:
    """A draw from the banks as they are now (FailedPrecondition names a rule that cannot be
    met)."""
    candidates = await QuestionRepository(session).candidates(
        tenant_id, {b for r in rules for b in r.bank_ids}
    )
    return dx.draw(rules, candidates, rng)


class Exams:
    def __init__(
        self,
        clock: Callable[[], datetime] = now_utc,
        rng: Callable[[], random.Random] = random.Random,
    ):
        self.clock = clock
        self.rng = rng

    # ---- authoring ----

    async def create(
        self, uow: UnitOfWork, caller: CallerContext, spec: dx.ExamSpec, *, org_id: str
    ) -> ExamView:
        scope = author_scope(caller)
        spec = dx.validate_exam(spec)
        owner, path = await org_path_of(uow.session, scope, optional_id(org_id, "org_id"))
        await self._check_references(uow, scope, spec)
        now = self.clock()
        exam = Exam(
            id=new_id(),
            tenant_id=scope.tenant_id,
            org_id=owner,
            org_path=list(path),
            status="draft",
            created_by=caller.user_id,
            created_at=now,
            updated_at=now,
        )
        self._apply(exam, spec)
        uow.session.add(exam)
        await uow.session.flush()
        return await self._replace_parts(uow, exam, spec, caller.user_id)

    async def get(self, uow: UnitOfWork, caller: CallerContext, exam_id: str) -> ExamView:
        scope = author_scope(caller)
        exam = await self._exam(uow, scope, exam_id)
        return await self._view(uow, exam)

    async def list_exams(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        *,
        status: str,
        page_size: int,
        page_token: str,
    ) -> Page[ExamView]:
        scope = author_scope(caller)
        repo = ExamRepository(uow.session)
        page = await repo.exams_page(
            scope.tenant_id, scope, status=status, page_size=page_size, page_token=page_token
        )
        items, rules, audiences = await repo.parts([e.id for e in page.items])
        return Page(
            [ExamView(e, items[e.id], rules[e.id], audiences[e.id]) for e in page.items],
            page.next_token,
        )

    async def update(
        self, uow: UnitOfWork, caller: CallerContext, exam_id: str, spec: dx.ExamSpec
    ) -> ExamView:
        scope = author_scope(caller)
        exam = await self._managed(uow, scope, exam_id, lock=True)
        _require_draft(exam)
        spec = dx.validate_exam(spec)
        await self._check_references(uow, scope, spec)
        self._apply(exam, spec)
        exam.updated_at = self.clock()
        await uow.session.flush()
        return await self._replace_parts(uow, exam, spec, caller.user_id)

    async def delete(self, uow: UnitOfWork, caller: CallerContext, exam_id: str) -> None:
        scope = author_scope(caller)
        exam = await self._managed(uow, scope, exam_id, lock=True)
        _require_draft(exam)
        await uow.session.delete(exam)

    async def publish(self, uow: UnitOfWork, caller: CallerContext, exam_id: str) -> ExamView:
        scope = author_scope(caller)
        exam = await self._managed(uow, scope, exam_id, lock=True)
        _require_draft(exam)
        view = await self._view(uow, exam)
        if not view.audiences:
            raise FailedPrecondition(
                "请先设置参考范围 (set the exam's audience first)", code="exam_no_audience"
            )
        now = self.clock()
        if exam.closes_at and exam.closes_at <= now:
            raise FailedPrecondition(
                "结束时间已过 (the exam's closing time has passed)", code="exam_window_past"
            )
        if exam.paper_mode == dx.RANDOM:
            await check_draw(
                uow.session, exam.tenant_id, [rule_of(r) for r in view.rules], self.rng()
            )
        exam.status, exam.published_at, exam.updated_at = "published", now, now
        await uow.session.flush()
        return view

    async def close(self, uow: UnitOfWork, caller: CallerContext, exam_id: str) -> ExamView:
        scope = author_scope(caller)
        exam = await self._managed(uow, scope, exam_id, lock=True)
        if exam.status != "published":
            raise FailedPrecondition(
                "只能结束已发布的考试 (only a published exam can be closed)",
                code="exam_not_published",
            )
        now = self.clock()
        exam.status, exam.closed_at, exam.updated_at = "closed", now, now
        await uow.session.flush()
        return await self._view(uow, exam)

    # ---- learners ----

    async def available(
        self, uow: UnitOfWork, caller: CallerContext, *, page_size: int, page_token: str
    ) -> Page[AvailableView]:
        learner = await load_learner(uow.session, caller)
        repo = ExamRepository(uow.session)
        page = await repo.available_page(learner, page_size=page_size, page_token=page_token)
        ids = [e.id for e in page.items]
        items, rules, audiences = await repo.parts(ids)
        summaries = await repo.attempt_summaries(ids, learner.learner_id)
        now = self.clock()
        out = []
        for e in page.items:
            s = summaries.get(e.id, AttemptSummary(0, None))
            can = s.open_attempt_id is not None or (
                e.status == "published"
                and dx.window_problem(now, e.opens_at, e.closes_at) is None
                and s.used < e.max_attempts
            )
            out.append(
                AvailableView(ExamView(e, items[e.id], rules[e.id], audiences[e.id]), s, can)
            )
        return Page(out, page.next_token)

    # ---- helpers ----

    async def _exam(
        self, uow: UnitOfWork, scope: AuthorScope, exam_id: str, *, lock: bool = False
    ) -> Exam:
        exam = await ExamRepository(uow.session).exam(
            scope.tenant_id, parse_id(exam_id, "id"), scope, lock=lock
        )
        if exam is None:
            raise exam_not_found()
        return exam

    async def _managed(
        self, uow: UnitOfWork, scope: AuthorScope, exam_id: str, *, lock: bool = False
    ) -> Exam:
        exam = await self._exam(uow, scope, exam_id, lock=lock)
        if not scope.may_manage(exam.org_path):
            raise PermissionDenied(
                "全租户考试仅租户管理员可修改 (a tenant-wide exam is changed by tenant admins only)",
                code="exam_read_only",
            )
        return exam

    async def _view(self, uow: UnitOfWork, exam: Exam) -> ExamView:
        items, rules, audiences = await ExamRepository(uow.session).parts([exam.id])
        return ExamView(exam, items[exam.id], rules[exam.id], audiences[exam.id])

    def _apply(self, exam: Exam, spec: dx.ExamSpec) -> None:
        exam.title, exam.description = spec.title, spec.description
        exam.paper_mode, exam.time_limit_minutes = spec.paper_mode, spec.time_limit_minutes
        exam.max_attempts, exam.opens_at, exam.closes_at = (
            spec.max_attempts,
            spec.opens_at,
            spec.closes_at,
        )
        exam.pass_score = spec.pass_score
        exam.total_score = dx.total_points(spec) * q.CENTI
        exam.shuffle_questions, exam.shuffle_options = spec.shuffle_questions, spec.shuffle_options
        exam.results_visibility, exam.multiple_rule = spec.results_visibility, spec.multiple_rule

    async def _replace_parts(
        self, uow: UnitOfWork, exam: Exam, spec: dx.ExamSpec, user_id: str
    ) -> ExamView:
        t = exam.tenant_id
        items = [
            dict(
                exam_id=exam.id,
                position=i,
                tenant_id=t,
                question_id=it.question_id,
                points=it.points,
            )
            for i, it in enumerate(spec.items)
        ]
        rules = [
            dict(
                exam_id=exam.id,
                position=i,
                tenant_id=t,
                bank_ids=list(r.bank_ids),
                kinds=list(r.kinds),
                tags=list(q.clean_tags(r.tags)),
                difficulty_min=r.difficulty_min,
                difficulty_max=r.difficulty_max,
                count=r.count,
                points=r.points,
            )
            for i, r in enumerate(spec.rules)
        ]
        audiences = [
            dict(
                id=new_id(),
                tenant_id=t,
                exam_id=exam.id,
                kind=a.kind,
                org_id=a.org_id,
                role=a.role or None,
                learner_id=a.learner_id or None,
                created_by=user_id,
            )
            for a in spec.audiences
        ]
        await ExamRepository(uow.session).replace_parts(exam, items, rules, audiences)
        return await self._view(uow, exam)

    async def _check_references(
        self, uow: UnitOfWork, scope: AuthorScope, spec: dx.ExamSpec
    ) -> None:
        """Questions and banks the author may read; audiences inside a secretary's reach."""
        repo = QuestionRepository(uow.session)
        if spec.paper_mode == dx.FIXED:
            found = await repo.questions_by_id(
                scope.tenant_id, [i.question_id for i in spec.items], scope
            )
            for n, item in enumerate(spec.items):
                if item.question_id not in found:
                    raise NotFound(
                        "题目不存在 (question not found)",
                        code="question_not_found",
                        field=f"items[{n}].question_id",
                    )
        else:
            readable = await repo.readable_bank_ids(
                scope.tenant_id, scope, {b for r in spec.rules for b in r.bank_ids}
            )
            for n, rule in enumerate(spec.rules):
                if any(b not in readable for b in rule.bank_ids):
                    raise NotFound(
                        "题库不存在 (question bank not found)",
                        code="question_bank_not_found",
                        field=f"rules[{n}].bank_ids",
                    )
        if scope.admin:
            return
        for n, a in enumerate(spec.audiences):
            if a.kind in ("tenant", "role"):
                raise PermissionDenied(
                    "书记只能面向本组织及下级组织或指定人员发布考试 (a secretary's exam is for "
                    "organisations in their subtree or named learners)",
                    code="exam_audience_scope",
                    field=f"audiences[{n}]",
                )
            if a.kind == "org_subtree":
                await org_path_of(uow.session, scope, a.org_id)


def _require_draft(exam: Exam) -> None:
    if exam.status != "draft":
        raise FailedPrecondition(
            "考试已发布，不能修改或删除；可结束考试 (a published exam cannot be changed or "
            "deleted; close it instead)",
            code="exam_not_draft",
        )
