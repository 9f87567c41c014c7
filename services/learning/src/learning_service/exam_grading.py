"""Submission and grading of exam attempts (issue 5).

`finalise` submits locked, running attempts — the learner's submit, a start or read that finds
the attempt past its deadline, and the deadline job all go through it: the attempts' answers
(read after the lock by the learner's submit, else here), every question of the frozen paper
graded once (unanswered ones score 0), one statement writing the graded answers and the
attempts, `ExamSubmitted` (and `ExamGraded` when nothing waits for a grader) written to the
outbox. The attempt row lock (FOR UPDATE, taken by the caller) makes it happen once: a second
submission finds the attempt submitted and changes nothing.

Graders (exam_scope) grade each waiting short answer once; the attempt is final (graded, with
`ExamGraded`) when its last one is. Statistics are per question, never per person.

No transport imports; raises DomainError; never commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hongyun_platform.db import UnitOfWork
from hongyun_platform.errors import AlreadyExists, InvalidArgument, NotFound
from hongyun_platform.grpc.context import CallerContext
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from learning_service import exam_events
from learning_service.domain import exams as dx
from learning_service.domain import questions as q
from learning_service.exam_models import Exam, ExamAnswer, ExamAttempt
from learning_service.exam_repository import ATTEMPT_RESULT_FIELDS, AnswerRow, ExamRepository
from learning_service.exam_scope import author_scope
from learning_service.question_repository import QuestionRepository
from learning_service.questions import now_utc, parse_id


@dataclass(frozen=True)
class AnswerState:
    """One paper position of an attempt as stored (or just graded)."""

    response: dx.Response | None
    version: int = 0
    saved_at: datetime | None = None
    score: int | None = None
    correct: bool | None = None
    needs_grading: bool = False
    comment: str = ""
    finalised: bool = False


def state_of(row: ExamAnswer | AnswerRow) -> AnswerState:
    return AnswerState(
        response=dx.Response.from_json(row.response),
        version=row.version,
        saved_at=row.saved_at,
        score=row.score,
        correct=row.correct,
        needs_grading=row.needs_grading,
        comment=row.grade_comment,
        finalised=row.finalised,
    )


def paper_of(attempt: ExamAttempt) -> list[dx.PaperQuestion]:
    return [dx.PaperQuestion.from_json(d) for d in attempt.paper]


async def finalise(
    session: AsyncSession,
    attempts: Sequence[ExamAttempt],
    *,
    reason: str,
    now: datetime,
    saved: Mapping[uuid.UUID, Mapping[int, AnswerRow]] | None = None,
) -> dict[uuid.UUID, dict[int, AnswerState]]:
    """Submits and grades running attempts the caller has locked (`reason`: learner or
    deadline); returns their answers as graded. `saved`: their answers when the caller read
    them after taking the lock (else they are read here)."""
    running = [a for a in attempts if a.status == "in_progress"]
    if not running:
        return {}
    repo = ExamRepository(session)
    if saved is None:
        saved = await repo.answers_of([a.id for a in running])
    out: dict[uuid.UUID, dict[int, AnswerState]] = {}
    rows = []
    changes: list[dict[str, Any]] = []
    for attempt in running:
        paper = paper_of(attempt)
        mine = saved.get(attempt.id, {})
        responses = {pos: r for pos, a in mine.items() if (r := dx.Response.from_json(a.response))}
        grade = dx.grade_attempt(paper, responses, attempt.multiple_rule)
        states = {}
        for pos, (pq, g) in enumerate(zip(paper, grade.graded, strict=True)):
            stored = mine.get(pos)
            rows.append(
                dict(
                    attempt_id=attempt.id,
                    position=pos,
                    tenant_id=attempt.tenant_id,
                    exam_id=attempt.exam_id,
                    question_id=pq.question_id,
                    kind=pq.kind,
                    finalised=True,
                    points=pq.points,
                    score=g.score,
                    correct=g.correct,
                    selected=list(g.selected),
                    needs_grading=g.score is None,
                )
            )
            states[pos] = AnswerState(
                response=responses.get(pos),
                version=stored.version if stored else 0,
                saved_at=stored.saved_at if stored else None,
                score=g.score,
                correct=g.correct,
                needs_grading=g.score is None,
                finalised=True,
            )
        out[attempt.id] = states
        done = grade.pending == 0
        changes.append(
            dict(
                id=attempt.id,
                status="graded" if done else "submitted",
                submitted_at=now,
                submitted_by=reason,
                auto_score=grade.auto_score,
                score=grade.auto_score,
                pending_grades=grade.pending,
                passed=dx.passed(grade.auto_score, attempt.pass_score) if done else attempt.passed,
                graded_at=now if done else attempt.graded_at,
            )
        )
    await repo.write_results(rows, changes)
    for attempt, change in zip(running, changes, strict=True):
        # Written above: the objects take the stored state without becoming dirty (no UPDATE).
        for name in ATTEMPT_RESULT_FIELDS:
            set_committed_value(attempt, name, change[name])
    for attempt in running:
        await exam_events.exam_submitted(session, attempt)
        if attempt.status == "graded":
            await exam_events.exam_graded(session, attempt)
    return out


# ---- graders ----


@dataclass(frozen=True)
class GradingView:
    answer: ExamAnswer
    attempt: ExamAttempt
    question: dx.PaperQuestion

    @property
    def text(self) -> str:
        r = dx.Response.from_json(self.answer.response)
        return r.text if r else ""


@dataclass(frozen=True)
class GradeOutcome:
    view: GradingView
    attempt_status: str
    pending: int


@dataclass
class StatisticsView:
    exam: Exam
    submitted: int
    graded: int
    passed: int
    average_score: int
    questions: list[dx.QuestionStats] = field(default_factory=list)
    options: Mapping[uuid.UUID, tuple[str, ...]] = field(default_factory=dict)


def _exam_not_found() -> NotFound:
    return NotFound("考试不存在 (exam not found)", code="exam_not_found")


class Grading:
    def __init__(self, clock: Callable[[], datetime] = now_utc):
        self.clock = clock

    async def queue(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        exam_id: str,
        *,
        page_size: int,
        page_token: str,
    ) -> tuple[list[GradingView], str]:
        scope = author_scope(caller)
        repo = ExamRepository(uow.session)
        exam = await repo.exam(scope.tenant_id, parse_id(exam_id, "exam_id"), scope)
        if exam is None:
            raise _exam_not_found()
        rows, token = await repo.grading_page(
            exam.id, scope, page_size=page_size, page_token=page_token
        )
        return [GradingView(a, t, paper_of(t)[a.position]) for a, t in rows], token

    async def grade(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        *,
        attempt_id: str,
        position: int,
        score: int,
        comment: str,
    ) -> GradeOutcome:
        scope = author_scope(caller)
        repo = ExamRepository(uow.session)
        attempt = await repo.attempt(scope.tenant_id, parse_id(attempt_id, "attempt_id"), lock=True)
        # Out of the grader's scope, the grader's own, or an exam they cannot read: not found.
        if (
            attempt is None
            or attempt.learner_id == caller.user_id
            or not scope.may_grade(attempt.learner_org_path)
            or await repo.exam(scope.tenant_id, attempt.exam_id, scope) is None
        ):
            raise NotFound("答卷不存在 (attempt not found)", code="exam_attempt_not_found")
        answer = await repo.answer(attempt.id, position)
        if answer is None or not answer.needs_grading:
            raise NotFound(
                "该题无需人工评分 (no answer waiting for a grader at this position)",
                code="exam_answer_not_gradable",
                field="position",
            )
        if answer.score is not None:
            raise AlreadyExists(
                "该题已评分 (this answer is already graded)", code="exam_answer_already_graded"
            )
        if not 0 <= score <= answer.points * q.CENTI:
            raise InvalidArgument(
                f"得分应在 0 与 {answer.points} 分之间 (the score is between 0 and "
                f"{answer.points} points)",
                code="exam_grade_score_range",
                field="score",
            )
        comment = comment.strip()
        if len(comment) > dx.MAX_COMMENT:
            raise InvalidArgument(
                f"评语最多 {dx.MAX_COMMENT} 个字符 (the comment is too long)",
                code="exam_grade_comment",
                field="comment",
            )
        now = self.clock()
        answer.score, answer.correct = score, score == answer.points * q.CENTI
        answer.graded_by, answer.grade_comment, answer.graded_at = caller.user_id, comment, now
        attempt.pending_grades = max(attempt.pending_grades - 1, 0)
        attempt.score = (attempt.score or 0) + score
        if attempt.pending_grades == 0:
            attempt.status = "graded"
            attempt.passed = dx.passed(attempt.score, attempt.pass_score)
            attempt.graded_at = now
        await uow.session.flush()
        if attempt.status == "graded":
            await exam_events.exam_graded(uow.session, attempt)
        view = GradingView(answer, attempt, paper_of(attempt)[position])
        return GradeOutcome(view, attempt.status, attempt.pending_grades)

    async def statistics(
        self, uow: UnitOfWork, caller: CallerContext, exam_id: str
    ) -> StatisticsView:
        scope = author_scope(caller)
        repo = ExamRepository(uow.session)
        exam = await repo.exam(scope.tenant_id, parse_id(exam_id, "exam_id"), scope)
        if exam is None or not scope.may_manage(exam.org_path):
            raise _exam_not_found()
        totals = await repo.attempt_aggregate(exam.id)
        aggregates = await repo.question_aggregates(exam.id)
        counts = await repo.option_counts(exam.id)
        questions = await QuestionRepository(uow.session).questions_by_id(
            scope.tenant_id, [a.question_id for a in aggregates]
        )
        items, _, _ = await repo.parts([exam.id])
        order = {i.question_id: i.position for i in items.get(exam.id, [])}
        stats, options = [], {}
        for a in sorted(
            aggregates, key=lambda a: (order.get(a.question_id, 1 << 30), str(a.question_id))
        ):
            row = questions.get(a.question_id)
            opts = tuple(row.options) if row else ()
            options[a.question_id] = opts
            per_option = counts.get(a.question_id, {})
            n = max([len(opts), *(i + 1 for i in per_option)]) if per_option or opts else 0
            stats.append(
                dx.QuestionStats(
                    question_id=a.question_id,
                    kind=a.kind,
                    prompt=row.prompt if row else "",
                    answered=a.answered,
                    correct=a.correct,
                    graded=a.graded,
                    score_sum=a.score_sum,
                    max_points=a.points,
                    option_counts=[per_option.get(i, 0) for i in range(n)],
                )
            )
        average = totals.score_sum // totals.graded if totals.graded else 0
        return StatisticsView(
            exam, totals.submitted, totals.graded, totals.passed, average, stats, options
        )
