"""Queries of exams, attempts and answers. Row-level security scopes every row to the
transaction's tenant; these queries filter by tenant, author scope or learner as well.

Hot paths (thousands of learners at once) stay to a few statements each: an autosave is one
locked read of the attempt and one upsert; a submission is one locked read of the attempt with
its exam, one read of its answers, and one statement writing the graded answers and the attempt
(then the outbox). Those statements are written once as plain SQL and sent to the driver as they are: no
ORM statement building, compiling or object loading per call.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hongyun_platform.db import Page
from hongyun_platform.db.repository import clamp_page_size, decode_token, encode_token
from sqlalchemy import (
    String,
    and_,
    case,
    cast,
    delete,
    exists,
    false,
    func,
    insert,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from learning_service.course_access import audience_matches
from learning_service.exam_models import (
    Exam,
    ExamAnswer,
    ExamAttempt,
    ExamAudience,
    ExamDrawRule,
    ExamPaperItem,
)
from learning_service.exam_scope import AuthorScope
from learning_service.learner import Learner

IN_PROGRESS = "in_progress"
TAKEABLE = ("published", "closed")  # closed: results and attempts stay visible
SWEEP_GUC = "app.exam_deadline_sweep"  # migration 20261203_0003: the deadline job's SELECT policy


# Plain SQL for the two hot writes: compiled once, no per-call statement building.
_SAVE_ANSWER = text(
    "INSERT INTO learning.exam_answers AS a (attempt_id, position, tenant_id, exam_id, "
    "question_id, kind, response, version, saved_at) VALUES (:attempt_id, :position, "
    ":tenant_id, :exam_id, :question_id, :kind, CAST(:response AS jsonb), :version, :saved_at) "
    "ON CONFLICT (attempt_id, position) DO UPDATE SET response = EXCLUDED.response, "
    "version = EXCLUDED.version, saved_at = EXCLUDED.saved_at "
    "WHERE a.version < EXCLUDED.version RETURNING version, saved_at"
)
_ATTEMPT_COLUMNS = tuple(c.name for c in ExamAttempt.__table__.c)
_EXAM_COLUMNS = tuple(c.name for c in Exam.__table__.c)
_ANSWER_FIELDS = (
    "position", "response", "version", "saved_at", "score", "correct", "needs_grading",
    "grade_comment", "finalised",
)  # fmt: skip
# Every column of the locked attempt and of its exam (only read, not locked).
_SUBMISSION = (
    "SELECT "  # noqa: S608 - built from the tables' own column names only
    + ", ".join(f"a.{c}" for c in _ATTEMPT_COLUMNS)
    + ", "
    + ", ".join(f"e.{c} AS e_{c}" for c in _EXAM_COLUMNS)
    + " FROM learning.exam_attempts a JOIN learning.exams e ON e.id = a.exam_id "
    "WHERE a.id = $1 AND a.tenant_id = $2 FOR UPDATE OF a"
)
_ANSWERS_OF = (
    "SELECT attempt_id, "  # noqa: S608 - built from the table's own column names only
    + ", ".join(_ANSWER_FIELDS)
    + " FROM learning.exam_answers WHERE attempt_id = ANY($1::uuid[])"
)
# The graded answers (the saved response and version stay as they are) and the submitted
# attempts, in one statement; the columns come as arrays.
_WRITE_RESULTS = (
    "WITH graded AS (INSERT INTO learning.exam_answers AS a (attempt_id, position, tenant_id, "
    "exam_id, question_id, kind, finalised, points, score, correct, selected, needs_grading) "
    "SELECT r.attempt_id, r.position, r.tenant_id, r.exam_id, r.question_id, r.kind, true, "
    "r.points, r.score, r.correct, CAST(r.selected AS smallint[]), r.needs_grading "
    "FROM unnest($1::uuid[], $2::smallint[], $3::uuid[], $4::uuid[], $5::uuid[], $6::text[], "
    "$7::smallint[], $8::integer[], $9::boolean[], $10::text[], $11::boolean[]) "
    "AS r(attempt_id, position, tenant_id, exam_id, question_id, kind, points, score, correct, "
    "selected, needs_grading) "
    "ON CONFLICT (attempt_id, position) DO UPDATE SET finalised = true, "
    "points = EXCLUDED.points, score = EXCLUDED.score, correct = EXCLUDED.correct, "
    "selected = EXCLUDED.selected, needs_grading = EXCLUDED.needs_grading RETURNING 1), "
    "submitted AS (UPDATE learning.exam_attempts AS t SET status = u.status, "
    "submitted_at = u.submitted_at, submitted_by = u.submitted_by, auto_score = u.auto_score, "
    "score = u.score, pending_grades = u.pending_grades, passed = u.passed, "
    "graded_at = u.graded_at "
    "FROM unnest($12::uuid[], $13::text[], $14::timestamptz[], $15::text[], $16::integer[], "
    "$17::integer[], $18::integer[], $19::boolean[], $20::timestamptz[]) "
    "AS u(id, status, submitted_at, submitted_by, auto_score, score, pending_grades, passed, "
    "graded_at) WHERE t.id = u.id RETURNING 1) "
    "SELECT (SELECT count(*) FROM graded), (SELECT count(*) FROM submitted)"
)
ATTEMPT_RESULT_FIELDS = (
    "status", "submitted_at", "submitted_by", "auto_score", "score", "pending_grades", "passed",
    "graded_at",
)  # fmt: skip


def exam_audience_matches(learner: Learner) -> ColumnElement[bool]:
    """SQL condition on ExamAudience rows that include the learner: the course audience rule."""
    return audience_matches(learner, ExamAudience)


def readable_exams(scope: AuthorScope) -> ColumnElement[bool]:
    if scope.admin:
        return true()
    return or_(
        func.cardinality(Exam.org_path) == 0,
        Exam.org_path.any(scope.org_id) if scope.org_id else false(),
    )


def _page(rows: list, size: int) -> tuple[list, str]:
    more = len(rows) > size
    rows = rows[:size]
    return rows, encode_token(rows[-1].id) if more else ""


@dataclass(frozen=True)
class AttemptSummary:
    used: int
    open_attempt_id: uuid.UUID | None


@dataclass(frozen=True)
class SaveTarget:
    id: uuid.UUID
    exam_id: uuid.UUID
    learner_id: str
    status: str
    deadline_at: datetime
    question_count: int
    question: dict[str, Any] | None  # the paper's question at the saved position


@dataclass(frozen=True)
class AnswerRow:
    """A stored answer: the ExamAnswer columns of the same names, read without the ORM."""

    position: int
    response: dict[str, Any] | None
    version: int
    saved_at: datetime | None
    score: int | None
    correct: bool | None
    needs_grading: bool
    grade_comment: str
    finalised: bool


@dataclass(frozen=True)
class Submission:
    """An attempt locked for submission, with its exam and answers. The attempt and the exam
    are transient objects built from the row (not in the session: nothing is flushed)."""

    attempt: ExamAttempt
    exam: Exam
    answers: dict[int, AnswerRow]


@dataclass(frozen=True)
class QuestionAggregate:
    question_id: uuid.UUID
    kind: str
    answered: int
    graded: int
    correct: int
    score_sum: int
    points: int


@dataclass(frozen=True)
class AttemptAggregate:
    submitted: int
    graded: int
    passed: int
    score_sum: int


class ExamRepository:
    def __init__(self, session: AsyncSession):
        self.session = session
        self._raw: Any = None

    # ---- exams (authors) ----

    async def exam(
        self, tenant_id: uuid.UUID, exam_id: uuid.UUID, scope: AuthorScope, *, lock: bool = False
    ) -> Exam | None:
        stmt = select(Exam).where(
            Exam.id == exam_id, Exam.tenant_id == tenant_id, readable_exams(scope)
        )
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def exams_page(
        self,
        tenant_id: uuid.UUID,
        scope: AuthorScope,
        *,
        status: str,
        page_size: int,
        page_token: str,
    ) -> Page[Exam]:
        size = clamp_page_size(page_size)
        stmt = select(Exam).where(Exam.tenant_id == tenant_id, readable_exams(scope))
        if status:
            stmt = stmt.where(Exam.status == status)
        after = decode_token(page_token)
        if after is not None:
            stmt = stmt.where(Exam.id > after)
        rows = list((await self.session.execute(stmt.order_by(Exam.id).limit(size + 1))).scalars())
        items, token = _page(rows, size)
        return Page(items, token)

    async def parts(
        self, exam_ids: Sequence[uuid.UUID]
    ) -> tuple[
        dict[uuid.UUID, list[ExamPaperItem]],
        dict[uuid.UUID, list[ExamDrawRule]],
        dict[uuid.UUID, list[ExamAudience]],
    ]:
        """Paper items, draw rules and audiences of the exams (three queries)."""
        items: dict[uuid.UUID, list[ExamPaperItem]] = defaultdict(list)
        rules: dict[uuid.UUID, list[ExamDrawRule]] = defaultdict(list)
        audiences: dict[uuid.UUID, list[ExamAudience]] = defaultdict(list)
        if not exam_ids:
            return items, rules, audiences
        ids = list(exam_ids)
        for row in (
            await self.session.execute(
                select(ExamPaperItem)
                .where(ExamPaperItem.exam_id.in_(ids))
                .order_by(ExamPaperItem.exam_id, ExamPaperItem.position)
            )
        ).scalars():
            items[row.exam_id].append(row)
        for row in (
            await self.session.execute(
                select(ExamDrawRule)
                .where(ExamDrawRule.exam_id.in_(ids))
                .order_by(ExamDrawRule.exam_id, ExamDrawRule.position)
            )
        ).scalars():
            rules[row.exam_id].append(row)
        for row in (
            await self.session.execute(
                select(ExamAudience)
                .where(ExamAudience.exam_id.in_(ids))
                .order_by(ExamAudience.exam_id, ExamAudience.id)
            )
        ).scalars():
            audiences[row.exam_id].append(row)
        return items, rules, audiences

    async def replace_parts(
        self, exam: Exam, items: Sequence[dict], rules: Sequence[dict], audiences: Sequence[dict]
    ) -> None:
        for model in (ExamPaperItem, ExamDrawRule, ExamAudience):
            await self.session.execute(delete(model).where(model.exam_id == exam.id))
        for model, rows in (
            (ExamPaperItem, items),
            (ExamDrawRule, rules),
            (ExamAudience, audiences),
        ):
            if rows:
                await self.session.execute(insert(model), list(rows))

    async def has_attempts(self, exam_id: uuid.UUID) -> bool:
        stmt = select(exists().where(ExamAttempt.exam_id == exam_id))
        return bool((await self.session.execute(stmt)).scalar())

    # ---- exams (learners) ----

    def _takeable(self, learner: Learner) -> list[ColumnElement[bool]]:
        return [
            Exam.tenant_id == learner.tenant_id,
            Exam.status.in_(TAKEABLE),
            exists().where(ExamAudience.exam_id == Exam.id, exam_audience_matches(learner)),
        ]

    async def exam_for_learner(self, learner: Learner, exam_id: uuid.UUID) -> Exam | None:
        stmt = select(Exam).where(Exam.id == exam_id, *self._takeable(learner))
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def available_page(
        self, learner: Learner, *, page_size: int, page_token: str
    ) -> Page[Exam]:
        size = clamp_page_size(page_size)
        stmt = select(Exam).where(*self._takeable(learner))
        after = decode_token(page_token)
        if after is not None:
            stmt = stmt.where(Exam.id > after)
        rows = list((await self.session.execute(stmt.order_by(Exam.id).limit(size + 1))).scalars())
        items, token = _page(rows, size)
        return Page(items, token)

    async def attempt_summaries(
        self, exam_ids: Sequence[uuid.UUID], learner_id: str
    ) -> dict[uuid.UUID, AttemptSummary]:
        if not exam_ids:
            return {}
        open_id = func.max(case((ExamAttempt.status == IN_PROGRESS, cast(ExamAttempt.id, String))))
        rows = await self.session.execute(
            select(ExamAttempt.exam_id, func.count(), open_id)
            .where(ExamAttempt.exam_id.in_(list(exam_ids)), ExamAttempt.learner_id == learner_id)
            .group_by(ExamAttempt.exam_id)
        )
        return {
            exam_id: AttemptSummary(n, uuid.UUID(o) if o else None) for exam_id, n, o in rows.all()
        }

    # ---- attempts ----

    async def open_attempt(
        self, exam_id: uuid.UUID, learner_id: str, *, lock: bool = False
    ) -> ExamAttempt | None:
        stmt = select(ExamAttempt).where(
            ExamAttempt.exam_id == exam_id,
            ExamAttempt.learner_id == learner_id,
            ExamAttempt.status == IN_PROGRESS,
        )
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def attempt_count(self, exam_id: uuid.UUID, learner_id: str) -> int:
        stmt = select(func.count()).where(
            ExamAttempt.exam_id == exam_id, ExamAttempt.learner_id == learner_id
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def insert_attempt(self, values: dict[str, Any]) -> bool:
        """False when a concurrent start of the same learner won (a unique index)."""
        stmt = (
            pg_insert(ExamAttempt)
            .values(**values)
            .on_conflict_do_nothing()
            .returning(ExamAttempt.id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def attempt(
        self, tenant_id: uuid.UUID, attempt_id: uuid.UUID, *, lock: bool = False
    ) -> ExamAttempt | None:
        stmt = select(ExamAttempt).where(
            ExamAttempt.id == attempt_id, ExamAttempt.tenant_id == tenant_id
        )
        if lock:  # the locked row as it is now, not as this session read it before
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def learner_attempts(self, exam_id: uuid.UUID, learner_id: str) -> list[ExamAttempt]:
        stmt = (
            select(ExamAttempt)
            .where(ExamAttempt.exam_id == exam_id, ExamAttempt.learner_id == learner_id)
            .order_by(ExamAttempt.number)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def save_target(
        self, tenant_id: uuid.UUID, attempt_id: uuid.UUID, position: int
    ) -> SaveTarget | None:
        """The attempt for an autosave, under FOR KEY SHARE: saves run side by side, while a
        submission (FOR UPDATE) waits for them and they wait for it — so a save either commits
        before the submission reads the answers or sees the attempt submitted. Only the one
        question of the paper is read, not the whole paper."""
        stmt = (
            select(
                ExamAttempt.id,
                ExamAttempt.exam_id,
                ExamAttempt.learner_id,
                ExamAttempt.status,
                ExamAttempt.deadline_at,
                func.jsonb_array_length(ExamAttempt.paper),
                ExamAttempt.paper[position],
            )
            .where(ExamAttempt.id == attempt_id, ExamAttempt.tenant_id == tenant_id)
            .with_for_update(read=True, key_share=True)
        )
        row = (await self.session.execute(stmt)).one_or_none()
        return SaveTarget(*row) if row else None

    async def save_answer(self, values: dict[str, Any]) -> tuple[int, datetime] | None:
        """Stores the answer unless an equal or newer version is stored; None when not stored."""
        params = {**values, "response": json.dumps(values["response"], ensure_ascii=False)}
        row = (await self.session.execute(_SAVE_ANSWER, params)).one_or_none()
        return (row[0], row[1]) if row else None

    async def answer(self, attempt_id: uuid.UUID, position: int) -> ExamAnswer | None:
        stmt = select(ExamAnswer).where(
            ExamAnswer.attempt_id == attempt_id, ExamAnswer.position == position
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def _driver(self) -> Any:
        """The transaction's own asyncpg connection, for the prebuilt SQL of the hot paths (one
        repository serves one transaction)."""
        if self._raw is None:
            conn = await self.session.connection()
            driver = (await conn.get_raw_connection()).driver_connection
            if not driver.is_in_transaction():  # the unit of work's first statement begins it
                await conn.execute(text("SELECT 1"))
            self._raw = driver
        return self._raw

    async def submission(self, tenant_id: uuid.UUID, attempt_id: uuid.UUID) -> Submission | None:
        """The attempt locked FOR UPDATE (its exam is only read), then its answers. Two
        statements on purpose: the answers are read after the lock is held, so an autosave that
        committed while this waited for the lock is seen (one statement would read them as they
        were before the wait)."""
        driver = await self._driver()
        r = await driver.fetchrow(_SUBMISSION, attempt_id, tenant_id)
        if r is None:
            return None
        attempt = ExamAttempt(**{c: r[c] for c in _ATTEMPT_COLUMNS})
        exam = Exam(**{c: r["e_" + c] for c in _EXAM_COLUMNS})
        answers = {
            a["position"]: AnswerRow(*(a[f] for f in _ANSWER_FIELDS))
            for a in await driver.fetch(_ANSWERS_OF, [attempt.id])
        }
        return Submission(attempt, exam, answers)

    async def answers_of(
        self, attempt_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, dict[int, AnswerRow]]:
        """Every answer row of the attempts, in one query."""
        out: dict[uuid.UUID, dict[int, AnswerRow]] = defaultdict(dict)
        if attempt_ids:
            rows = await (await self._driver()).fetch(_ANSWERS_OF, list(attempt_ids))
            for r in rows:
                out[r["attempt_id"]][r["position"]] = AnswerRow(*(r[f] for f in _ANSWER_FIELDS))
        return out

    async def write_results(
        self, rows: Sequence[dict[str, Any]], attempts: Sequence[dict[str, Any]]
    ) -> None:
        """The graded answers of submitted attempts (one upsert of every row; the saved response
        and version stay as they are) and the attempts' new state (`id` and
        ATTEMPT_RESULT_FIELDS), in one statement."""
        if not rows and not attempts:
            return
        await (await self._driver()).fetchrow(
            _WRITE_RESULTS,
            [r["attempt_id"] for r in rows],
            [r["position"] for r in rows],
            [r["tenant_id"] for r in rows],
            [r["exam_id"] for r in rows],
            [r["question_id"] for r in rows],
            [r["kind"] for r in rows],
            [r["points"] for r in rows],
            [r["score"] for r in rows],
            [r["correct"] for r in rows],
            ["{" + ",".join(map(str, r["selected"])) + "}" for r in rows],
            [r["needs_grading"] for r in rows],
            [a["id"] for a in attempts],
            *([a[f] for a in attempts] for f in ATTEMPT_RESULT_FIELDS),
        )

    # ---- the deadline job ----

    async def expired_ids(self, now: datetime, limit: int) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """(tenant, attempt) of running attempts past their deadline, across tenants: only in
        the job's read-only transaction, where the sweep policy admits the rows."""
        await self.session.execute(text(f"SELECT set_config('{SWEEP_GUC}', 'on', true)"))
        rows = await self.session.execute(
            select(ExamAttempt.tenant_id, ExamAttempt.id)
            .where(ExamAttempt.status == IN_PROGRESS, ExamAttempt.deadline_at <= now)
            .order_by(ExamAttempt.deadline_at)
            .limit(limit)
        )
        return [(t, a) for t, a in rows.all()]

    async def lock_expired(
        self, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID], now: datetime
    ) -> list[ExamAttempt]:
        """Those still running and expired, locked; one a learner is submitting is skipped."""
        stmt = (
            select(ExamAttempt)
            .where(
                ExamAttempt.id.in_(list(ids)),
                ExamAttempt.tenant_id == tenant_id,
                ExamAttempt.status == IN_PROGRESS,
                ExamAttempt.deadline_at <= now,
            )
            .with_for_update(skip_locked=True)
        )
        return list((await self.session.execute(stmt)).scalars())

    # ---- grading ----

    async def grading_page(
        self, exam_id: uuid.UUID, scope: AuthorScope, *, page_size: int, page_token: str
    ) -> tuple[list[tuple[ExamAnswer, ExamAttempt]], str]:
        """Short answers waiting for a grader, of learners in the grader's scope and never the
        grader's own; a page holds whole attempts (the token is an attempt id)."""
        size = clamp_page_size(page_size)
        waiting = [
            ExamAnswer.exam_id == exam_id,
            ExamAnswer.needs_grading,
            ExamAnswer.score.is_(None),
            ExamAttempt.learner_id != scope.user_id,
        ]
        if not scope.admin:
            waiting.append(ExamAttempt.learner_org_path.any(scope.org_id))
        after = decode_token(page_token)
        if after is not None:
            waiting.append(ExamAnswer.attempt_id > after)
        ids = list(
            (
                await self.session.execute(
                    select(ExamAnswer.attempt_id)
                    .join(ExamAttempt, ExamAttempt.id == ExamAnswer.attempt_id)
                    .where(*waiting)
                    .group_by(ExamAnswer.attempt_id)
                    .order_by(ExamAnswer.attempt_id)
                    .limit(size + 1)
                )
            ).scalars()
        )
        more = len(ids) > size
        ids = ids[:size]
        if not ids:
            return [], ""
        rows = await self.session.execute(
            select(ExamAnswer, ExamAttempt)
            .join(ExamAttempt, ExamAttempt.id == ExamAnswer.attempt_id)
            .where(ExamAnswer.attempt_id.in_(ids), *waiting)
            .order_by(ExamAnswer.attempt_id, ExamAnswer.position)
        )
        return [(a, t) for a, t in rows.all()], encode_token(ids[-1]) if more else ""

    async def graded_sum(self, attempt_id: uuid.UUID) -> int:
        stmt = select(func.coalesce(func.sum(ExamAnswer.score), 0)).where(
            ExamAnswer.attempt_id == attempt_id
        )
        return int((await self.session.execute(stmt)).scalar_one())

    # ---- statistics ----

    async def attempt_aggregate(self, exam_id: uuid.UUID) -> AttemptAggregate:
        graded = ExamAttempt.status == "graded"
        row = (
            await self.session.execute(
                select(
                    func.count(),
                    func.count().filter(graded),
                    func.count().filter(and_(graded, ExamAttempt.passed)),
                    func.coalesce(func.sum(ExamAttempt.score).filter(graded), 0),
                ).where(ExamAttempt.exam_id == exam_id, ExamAttempt.status != IN_PROGRESS)
            )
        ).one()
        return AttemptAggregate(int(row[0]), int(row[1]), int(row[2]), int(row[3]))

    async def question_aggregates(self, exam_id: uuid.UUID) -> list[QuestionAggregate]:
        rows = await self.session.execute(
            select(
                ExamAnswer.question_id,
                ExamAnswer.kind,
                func.count(),
                func.count(ExamAnswer.score),
                func.count().filter(ExamAnswer.correct.is_(True)),
                func.coalesce(func.sum(ExamAnswer.score), 0),
                func.max(ExamAnswer.points),
            )
            .where(ExamAnswer.exam_id == exam_id, ExamAnswer.finalised)
            .group_by(ExamAnswer.question_id, ExamAnswer.kind)
        )
        return [QuestionAggregate(r[0], r[1], r[2], r[3], r[4], int(r[5]), r[6]) for r in rows]

    async def option_counts(self, exam_id: uuid.UUID) -> dict[uuid.UUID, dict[int, int]]:
        option = func.unnest(ExamAnswer.selected).label("option")
        inner = (
            select(ExamAnswer.question_id, option)
            .where(ExamAnswer.exam_id == exam_id, ExamAnswer.finalised)
            .subquery()
        )
        rows = await self.session.execute(
            select(inner.c.question_id, inner.c.option, func.count()).group_by(
                inner.c.question_id, inner.c.option
            )
        )
        out: dict[uuid.UUID, dict[int, int]] = defaultdict(dict)
        for qid, opt, n in rows.all():
            out[qid][int(opt)] = int(n)
        return out
