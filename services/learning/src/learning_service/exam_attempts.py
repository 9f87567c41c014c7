"""Use cases of a learner's exam attempts (issue 5): start (the paper drawn, shuffled and frozen),
resume, autosave, submit, results.

- Start: a learner outside the exam's audience gets NOT_FOUND. A running attempt is returned as
  it is (a second start, another device); one past its deadline is submitted first. Otherwise
  refused outside the window or when the attempts are used up; two starts at once make one
  attempt (a unique index on the running attempt).
- Autosave: versioned per paper position by the client's counter; a retry or an older save changes
  nothing. After the deadline or the submission it is refused and nothing is written. The
  attempt row is locked FOR KEY SHARE, so every save either commits before a submission reads
  the answers (and is graded) or finds the attempt submitted — no answer is lost or graded twice.
- Submit: idempotent; past the deadline it counts as submitted at the deadline. One locked read
  of the attempt with its exam, one of its answers, one write of the grades and the attempt.
- Results: at once or after the exam closes (the exam's setting); correct answers and
  explanations only then.

Only the learner sees their attempts; anyone else gets NOT_FOUND. No transport imports; raises
DomainError; never commits.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from hongyun_platform.db import UnitOfWork
from hongyun_platform.errors import Conflict, FailedPrecondition, InvalidArgument, NotFound
from hongyun_platform.grpc.context import CallerContext
from hongyun_platform.ids import new_id

from learning_service.domain import exams as dx
from learning_service.domain import questions as q
from learning_service.exam_grading import AnswerState, finalise, paper_of, state_of
from learning_service.exam_models import Exam, ExamAttempt
from learning_service.exam_repository import ExamRepository
from learning_service.exams import check_draw, exam_not_found, rule_of
from learning_service.learner import load_learner
from learning_service.question_repository import QuestionRepository
from learning_service.questions import now_utc, parse_id, spec_of


def attempt_not_found() -> NotFound:
    return NotFound("答卷不存在 (attempt not found)", code="exam_attempt_not_found")


def remaining_seconds(attempt: ExamAttempt, now: datetime) -> int:
    if attempt.status != "in_progress":
        return 0
    return max(0, math.ceil((attempt.deadline_at - now).total_seconds()))


@dataclass(frozen=True)
class AttemptView:
    attempt: ExamAttempt
    exam_title: str
    paper: list[dx.PaperQuestion]
    answers: dict[int, AnswerState]
    now: datetime

    @property
    def remaining_seconds(self) -> int:
        return remaining_seconds(self.attempt, self.now)


@dataclass(frozen=True)
class SaveOutcome:
    position: int
    version: int
    stored: bool
    saved_at: datetime | None
    remaining_seconds: int


@dataclass(frozen=True)
class ResultView:
    attempt: ExamAttempt
    exam: Exam
    visible: bool
    available_at: datetime | None  # when results are shown (after close), if known
    paper: list[dx.PaperQuestion]
    answers: dict[int, AnswerState]


class ExamAttempts:
    def __init__(
        self,
        clock: Callable[[], datetime] = now_utc,
        rng: Callable[[], random.Random] = random.Random,
    ):
        self.clock = clock
        self.rng = rng

    async def start(
        self, uow: UnitOfWork, caller: CallerContext, exam_id: str
    ) -> tuple[AttemptView, bool]:
        learner = await load_learner(uow.session, caller)
        repo = ExamRepository(uow.session)
        exam = await repo.exam_for_learner(learner, parse_id(exam_id, "exam_id"))
        if exam is None:
            raise exam_not_found()
        now = self.clock()
        running = await repo.open_attempt(exam.id, learner.learner_id, lock=True)
        if running is not None:
            if now < running.deadline_at:
                return await self._view(uow, running, exam.title, now), True
            await finalise(uow.session, [running], reason="deadline", now=now)
        if exam.status != "published":
            raise FailedPrecondition("考试已结束 (the exam has closed)", code="exam_closed")
        problem = dx.window_problem(now, exam.opens_at, exam.closes_at)
        if problem:
            raise problem
        used = await repo.attempt_count(exam.id, learner.learner_id)
        if used >= exam.max_attempts:
            raise FailedPrecondition(
                f"作答次数已用完（共 {exam.max_attempts} 次） (all {exam.max_attempts} attempts "
                "are used)",
                code="exam_attempts_used_up",
            )
        rng = self.rng()
        paper = dx.arrange(
            await self._paper(uow, exam, rng),
            shuffle_questions=exam.shuffle_questions,
            shuffle_options=exam.shuffle_options,
            rng=rng,
        )
        attempt_id = new_id()
        inserted = await repo.insert_attempt(
            dict(
                id=attempt_id,
                tenant_id=exam.tenant_id,
                exam_id=exam.id,
                learner_id=learner.learner_id,
                learner_org_id=learner.org_id,
                learner_org_path=list(learner.org_path),
                number=used + 1,
                status="in_progress",
                paper=[pq.to_json() for pq in paper],
                multiple_rule=exam.multiple_rule,
                started_at=now,
                deadline_at=dx.deadline_of(now, exam.time_limit_minutes, exam.closes_at),
                max_score=sum(pq.points for pq in paper) * q.CENTI,
                pass_score=exam.pass_score,
            )
        )
        attempt = await repo.open_attempt(exam.id, learner.learner_id)
        if attempt is None:
            raise Conflict(
                "开始考试冲突，请重试 (another start happened meanwhile; retry)",
                code="exam_start_conflict",
            )
        return await self._view(uow, attempt, exam.title, now), not inserted

    async def get(self, uow: UnitOfWork, caller: CallerContext, attempt_id: str) -> AttemptView:
        attempt = await self._mine(uow, caller, attempt_id)
        now = self.clock()
        attempt = await self._expire(uow, attempt, now)
        exam = await self._exam_of(uow, attempt)
        return await self._view(uow, attempt, exam.title, now)

    async def save(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        *,
        attempt_id: str,
        position: int,
        response: dx.Response,
        version: int,
    ) -> SaveOutcome:
        tenant_id = caller.require_tenant()
        repo = ExamRepository(uow.session)
        target = await repo.save_target(tenant_id, parse_id(attempt_id, "attempt_id"), position)
        if target is None or target.learner_id != caller.user_id:
            raise attempt_not_found()
        now = self.clock()
        if target.status != "in_progress":
            raise FailedPrecondition(
                "已交卷，不能再修改答案 (the attempt is submitted; answers can no longer change)",
                code="exam_attempt_closed",
            )
        if now >= target.deadline_at:
            raise FailedPrecondition(
                "考试时间已到，答案未保存 (time is up; the answer was not saved)",
                code="exam_attempt_time_up",
            )
        if not 0 <= position < target.question_count or target.question is None:
            raise InvalidArgument(
                f"题号应为 0–{target.question_count - 1} (position is 0 to "
                f"{target.question_count - 1})",
                code="exam_answer_position",
                field="position",
            )
        if version < 1:
            raise InvalidArgument(
                "version 应为正整数 (version is a positive counter)",
                code="exam_answer_version",
                field="version",
            )
        pq = dx.PaperQuestion.from_json(target.question)
        clean = dx.validate_response(pq, response)
        remaining = max(0, math.ceil((target.deadline_at - now).total_seconds()))
        stored = await repo.save_answer(
            dict(
                attempt_id=target.id,
                position=position,
                tenant_id=tenant_id,
                exam_id=target.exam_id,
                question_id=pq.question_id,
                kind=pq.kind,
                response=clean.to_json(),
                version=version,
                saved_at=now,
            )
        )
        if stored is not None:
            return SaveOutcome(position, stored[0], True, stored[1], remaining)
        current = await repo.answer(target.id, position)
        assert current is not None
        return SaveOutcome(position, current.version, False, current.saved_at, remaining)

    async def submit(self, uow: UnitOfWork, caller: CallerContext, attempt_id: str) -> ResultView:
        # Two reads (the attempt locked, with its exam; its answers) and one write: thousands
        # submit at once.
        found = await ExamRepository(uow.session).submission(
            caller.require_tenant(), parse_id(attempt_id, "attempt_id")
        )
        if found is None or found.attempt.learner_id != caller.user_id:
            raise attempt_not_found()
        attempt = found.attempt
        now = self.clock()
        if attempt.status == "in_progress":
            reason = "learner" if now < attempt.deadline_at else "deadline"
            graded = await finalise(uow.session, [attempt], reason=reason, now=now,
                                    saved={attempt.id: found.answers})  # fmt: skip
            states = graded[attempt.id]
        else:
            states = {pos: state_of(a) for pos, a in found.answers.items()}
        return await self._result(uow, attempt, found.exam, now, states)

    async def result(self, uow: UnitOfWork, caller: CallerContext, attempt_id: str) -> ResultView:
        attempt = await self._mine(uow, caller, attempt_id)
        now = self.clock()
        attempt = await self._expire(uow, attempt, now)
        if attempt.status == "in_progress":
            raise FailedPrecondition(
                "尚未交卷 (the attempt is not submitted yet)", code="exam_attempt_in_progress"
            )
        exam = await self._exam_of(uow, attempt)
        return await self._result(uow, attempt, exam, now, None)

    async def mine(self, uow: UnitOfWork, caller: CallerContext, exam_id: str) -> list[ResultView]:
        """The learner's attempts of an exam (summaries: no per-question detail)."""
        learner = await load_learner(uow.session, caller)
        repo = ExamRepository(uow.session)
        exam = await repo.exam_for_learner(learner, parse_id(exam_id, "exam_id"))
        if exam is None:
            raise exam_not_found()
        now = self.clock()
        out = []
        for a in await repo.learner_attempts(exam.id, learner.learner_id):
            visible = a.status != "in_progress" and dx.results_visible(
                exam.results_visibility, exam.status, exam.closes_at, now
            )
            out.append(ResultView(a, exam, visible, _available_at(exam), [], {}))
        return out

    # ---- helpers ----

    async def _paper(
        self, uow: UnitOfWork, exam: Exam, rng: random.Random
    ) -> list[dx.PaperQuestion]:
        repo = ExamRepository(uow.session)
        items, rules, _ = await repo.parts([exam.id])
        if exam.paper_mode == dx.FIXED:
            picked = [dx.PaperItem(i.question_id, i.points) for i in items[exam.id]]
        else:
            picked = await check_draw(
                uow.session, exam.tenant_id, [rule_of(r) for r in rules[exam.id]], rng
            )
        found = await QuestionRepository(uow.session).questions_by_id(
            exam.tenant_id, [p.question_id for p in picked]
        )
        if len(found) != len(picked):
            raise FailedPrecondition(
                "试卷中的题目已被删除，请联系出题人 (a question of the paper "
                "was deleted; contact the author)",
                code="exam_paper_incomplete",
            )
        return [dx.snapshot(spec_of(found[p.question_id]), p.question_id, p.points) for p in picked]

    async def _mine(self, uow: UnitOfWork, caller: CallerContext, attempt_id: str) -> ExamAttempt:
        attempt = await ExamRepository(uow.session).attempt(
            caller.require_tenant(), parse_id(attempt_id, "attempt_id")
        )
        if attempt is None or attempt.learner_id != caller.user_id:
            raise attempt_not_found()
        return attempt

    async def _expire(self, uow: UnitOfWork, attempt: ExamAttempt, now: datetime) -> ExamAttempt:
        """A running attempt past its deadline is submitted now (the job may not have run)."""
        if attempt.status != "in_progress" or now < attempt.deadline_at:
            return attempt
        locked = await ExamRepository(uow.session).attempt(attempt.tenant_id, attempt.id, lock=True)
        assert locked is not None
        await finalise(uow.session, [locked], reason="deadline", now=now)
        return locked

    async def _exam_of(self, uow: UnitOfWork, attempt: ExamAttempt) -> Exam:
        exam = await uow.session.get(Exam, attempt.exam_id)
        if exam is None:  # the exam row is kept while attempts exist (FK RESTRICT)
            raise exam_not_found()
        return exam

    async def _states(self, uow: UnitOfWork, attempt: ExamAttempt) -> dict[int, AnswerState]:
        rows = await ExamRepository(uow.session).answers_of([attempt.id])
        return {pos: state_of(a) for pos, a in rows.get(attempt.id, {}).items()}

    async def _view(
        self, uow: UnitOfWork, attempt: ExamAttempt, title: str, now: datetime
    ) -> AttemptView:
        return AttemptView(attempt, title, paper_of(attempt), await self._states(uow, attempt), now)

    async def _result(
        self,
        uow: UnitOfWork,
        attempt: ExamAttempt,
        exam: Exam,
        now: datetime,
        states: dict[int, AnswerState] | None,
    ) -> ResultView:
        visible = dx.results_visible(exam.results_visibility, exam.status, exam.closes_at, now)
        if not visible:
            return ResultView(attempt, exam, False, _available_at(exam), [], {})
        if states is None:
            states = await self._states(uow, attempt)
        return ResultView(attempt, exam, True, _available_at(exam), paper_of(attempt), states)


def _available_at(exam: Exam) -> datetime | None:
    return exam.closes_at if exam.results_visibility == dx.AFTER_CLOSE else None
