"""Exams (在线评估): the rules of a paper, drawing and shuffling it for one attempt, the attempt's
deadline, grading and when results are shown (docs: issue 5).

Pure: no I/O. A paper is frozen on the attempt when it starts (`PaperQuestion`, stored as JSON),
so later edits of the bank never change a running attempt; the learner answers in the displayed
order and option order, and grading maps the displayed option indexes back to the original ones.
Scores are integer hundredths of a point.

Measuring understanding, not ranking people (domain.md §8): nothing here orders learners.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from hongyun_platform.errors import FailedPrecondition, InvalidArgument

from learning_service.domain import questions as q

FIXED = "fixed"
RANDOM = "random"
PAPER_MODES = (FIXED, RANDOM)
AFTER_SUBMIT = "after_submit"
AFTER_CLOSE = "after_close"
RESULT_VISIBILITIES = (AFTER_SUBMIT, AFTER_CLOSE)
EXAM_STATUSES = ("draft", "published", "closed")
ATTEMPT_STATUSES = ("in_progress", "submitted", "graded")
SUBMITTED_BY = ("learner", "deadline")
AUDIENCE_KINDS = ("tenant", "org_subtree", "role", "learner")

MAX_TITLE, MAX_DESCRIPTION = 200, 5000
MIN_POINTS, MAX_POINTS = 1, 100
MAX_PAPER_QUESTIONS = 200
MAX_RULES = 20
MAX_TIME_LIMIT_MINUTES = 24 * 60
MAX_ATTEMPTS = 100
MAX_AUDIENCES = 200
MAX_COMMENT = 2000


# ---- the exam as authored ----


@dataclass(frozen=True)
class DrawRule:
    """Draw `count` questions worth `points` each from the banks, optionally only of some kinds,
    with any of some tags, within a difficulty range."""

    bank_ids: tuple[uuid.UUID, ...]
    count: int
    points: int
    kinds: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    difficulty_min: int = q.MIN_DIFFICULTY
    difficulty_max: int = q.MAX_DIFFICULTY


@dataclass(frozen=True)
class PaperItem:
    question_id: uuid.UUID
    points: int


@dataclass(frozen=True)
class AudienceSpec:
    kind: str
    org_id: uuid.UUID | None = None
    role: str = ""
    learner_id: str = ""


@dataclass(frozen=True)
class ExamSpec:
    title: str
    description: str = ""
    paper_mode: str = FIXED
    items: tuple[PaperItem, ...] = ()
    rules: tuple[DrawRule, ...] = ()
    time_limit_minutes: int = 60
    max_attempts: int = 1
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    pass_score: int = 0  # centipoints
    shuffle_questions: bool = False
    shuffle_options: bool = False
    results_visibility: str = AFTER_SUBMIT
    multiple_rule: str = q.ALL_OR_NOTHING
    audiences: tuple[AudienceSpec, ...] = ()


def _invalid(message: str, code: str, field: str) -> InvalidArgument:
    return InvalidArgument(message, code=code, field=field)


def total_points(spec: ExamSpec) -> int:
    if spec.paper_mode == FIXED:
        return sum(i.points for i in spec.items)
    return sum(r.count * r.points for r in spec.rules)


def validate_exam(spec: ExamSpec) -> ExamSpec:
    """Checks what needs no data; raises InvalidArgument naming the field."""
    title = spec.title.strip()
    if not title or len(title) > MAX_TITLE:
        raise _invalid(
            f"考试名称应为 1–{MAX_TITLE} 个字符 (the title has 1 to {MAX_TITLE} characters)",
            "exam_title",
            "title",
        )
    if len(spec.description) > MAX_DESCRIPTION:
        raise _invalid(
            f"说明最多 {MAX_DESCRIPTION} 个字符 (the description is too long)",
            "exam_description",
            "description",
        )
    if spec.paper_mode not in PAPER_MODES:
        raise _invalid(
            "组卷方式应为 fixed 或 random (paper_mode is fixed or random)",
            "exam_paper_mode",
            "paper_mode",
        )
    if not 1 <= spec.time_limit_minutes <= MAX_TIME_LIMIT_MINUTES:
        raise _invalid(
            f"考试时长应为 1–{MAX_TIME_LIMIT_MINUTES} 分钟 (the time limit is 1 to "
            f"{MAX_TIME_LIMIT_MINUTES} minutes)",
            "exam_time_limit",
            "time_limit_minutes",
        )
    if not 1 <= spec.max_attempts <= MAX_ATTEMPTS:
        raise _invalid(
            f"作答次数应为 1–{MAX_ATTEMPTS} (attempts allowed: 1 to {MAX_ATTEMPTS})",
            "exam_max_attempts",
            "max_attempts",
        )
    if spec.opens_at and spec.closes_at and spec.closes_at <= spec.opens_at:
        raise _invalid(
            "结束时间应晚于开始时间 (closes_at must be after opens_at)", "exam_window", "closes_at"
        )
    if spec.results_visibility not in RESULT_VISIBILITIES:
        raise _invalid(
            "成绩公布方式应为 after_submit 或 after_close (results_visibility is "
            "after_submit or after_close)",
            "exam_results_visibility",
            "results_visibility",
        )
    if spec.multiple_rule not in q.MULTIPLE_RULES:
        raise _invalid(
            "多选评分规则应为 all_or_nothing 或 partial (multiple_rule is "
            "all_or_nothing or partial)",
            "exam_multiple_rule",
            "multiple_rule",
        )
    if spec.paper_mode == FIXED:
        items = spec.items
        if not 1 <= len(items) <= MAX_PAPER_QUESTIONS:
            raise _invalid(
                f"固定试卷应有 1–{MAX_PAPER_QUESTIONS} 道题 (a fixed paper has 1 to "
                f"{MAX_PAPER_QUESTIONS} questions)",
                "exam_paper_size",
                "items",
            )
        if len({i.question_id for i in items}) != len(items):
            raise _invalid(
                "试卷中有重复的题目 (a question appears twice in the paper)",
                "exam_paper_duplicate",
                "items",
            )
        _check_points((i.points for i in items), "items")
        spec = _with(spec, rules=())
    else:
        _validate_rules(spec.rules)
        spec = _with(spec, items=())
    total = total_points(spec) * q.CENTI
    if not 0 <= spec.pass_score <= total:
        raise _invalid(
            f"及格分应在 0 与总分 {total / q.CENTI:g} 之间 (pass_score must be between "
            f"0 and the total {total / q.CENTI:g})",
            "exam_pass_score",
            "pass_score",
        )
    if len(spec.audiences) > MAX_AUDIENCES:
        raise _invalid(
            f"参考范围最多 {MAX_AUDIENCES} 条 (at most {MAX_AUDIENCES} audiences)",
            "exam_audience_count",
            "audiences",
        )
    for a in spec.audiences:
        _validate_audience(a)
    return _with(spec, title=title, description=spec.description.strip())


def _with(spec: ExamSpec, **changes: Any) -> ExamSpec:
    return replace(spec, **changes)


def _check_points(points, field: str) -> None:
    if any(not MIN_POINTS <= p <= MAX_POINTS for p in points):
        raise _invalid(
            f"每题分值应为 {MIN_POINTS}–{MAX_POINTS} (points per question: "
            f"{MIN_POINTS} to {MAX_POINTS})",
            "exam_points",
            field,
        )


def _validate_rules(rules: Sequence[DrawRule]) -> None:
    if not 1 <= len(rules) <= MAX_RULES:
        raise _invalid(
            f"随机组卷应有 1–{MAX_RULES} 条抽题规则 (a random paper has 1 to "
            f"{MAX_RULES} draw rules)",
            "exam_rule_count",
            "rules",
        )
    if sum(r.count for r in rules) > MAX_PAPER_QUESTIONS:
        raise _invalid(
            f"试卷最多 {MAX_PAPER_QUESTIONS} 道题 (a paper has at most "
            f"{MAX_PAPER_QUESTIONS} questions)",
            "exam_paper_size",
            "rules",
        )
    _check_points((r.points for r in rules), "rules")
    for n, r in enumerate(rules, 1):
        where = f"rules[{n - 1}]"
        if not r.bank_ids:
            raise _invalid(
                f"规则 {n} 未选择题库 (rule {n} names no question bank)", "exam_rule_bank", where
            )
        if r.count < 1:
            raise _invalid(
                f"规则 {n} 的抽题数量应至少为 1 (rule {n} draws at least one question)",
                "exam_rule_count_positive",
                where,
            )
        if any(k not in q.KINDS for k in r.kinds):
            raise _invalid(
                f"规则 {n} 的题型无效 (rule {n} names an unknown kind)", "exam_rule_kind", where
            )
        if not q.MIN_DIFFICULTY <= r.difficulty_min <= r.difficulty_max <= q.MAX_DIFFICULTY:
            raise _invalid(
                f"规则 {n} 的难度范围无效（1–5） (rule {n}: difficulty range within "
                "1 to 5, min ≤ max)",
                "exam_rule_difficulty",
                where,
            )


def _validate_audience(a: AudienceSpec) -> None:
    ok = (
        (a.kind == "tenant" and a.org_id is None and not a.role and not a.learner_id)
        or (a.kind == "org_subtree" and a.org_id is not None)
        or (a.kind == "role" and bool(a.role))
        or (a.kind == "learner" and bool(a.learner_id))
    )
    if not ok:
        raise _invalid(
            "参考范围无效：tenant，或 org_subtree+org_id，或 role+role，或 learner+"
            "learner_id (an audience is tenant, org_subtree with org_id, role with "
            "role, or learner with learner_id)",
            "exam_audience",
            "audiences",
        )


# ---- drawing a random paper ----


@dataclass(frozen=True)
class Candidate:
    id: uuid.UUID
    bank_id: uuid.UUID
    kind: str
    tags: tuple[str, ...]
    difficulty: int


def rule_matches(rule: DrawRule, c: Candidate) -> bool:
    if c.bank_id not in rule.bank_ids:
        return False
    if rule.kinds and c.kind not in rule.kinds:
        return False
    if not rule.difficulty_min <= c.difficulty <= rule.difficulty_max:
        return False
    if rule.tags:
        wanted = {q.normalize_answer(t) for t in rule.tags}
        return any(q.normalize_answer(t) in wanted for t in c.tags)
    return True


def _too_few(n: int, rule: DrawRule, available: int) -> FailedPrecondition:
    return FailedPrecondition(
        f"题库中符合抽题规则 {n} 的题目不足：需要 {rule.count} 道，仅有 {available} 道 "
        f"(draw rule {n} needs {rule.count} questions; only {available} match)",
        code="exam_bank_too_small",
        field=f"rules[{n - 1}]",
    )


def draw(
    rules: Sequence[DrawRule], candidates: Sequence[Candidate], rng: random.Random
) -> list[PaperItem]:
    """One random paper: for each rule, `count` distinct questions not drawn by another rule,
    in rule order. The most constrained rules draw first, so a narrow rule is not starved by a
    broad one; a rule that cannot be met raises FailedPrecondition naming it."""
    matching = [[c for c in candidates if rule_matches(r, c)] for r in rules]
    for n, (rule, pool) in enumerate(zip(rules, matching, strict=True), 1):
        if len(pool) < rule.count:
            raise _too_few(n, rule, len(pool))
    taken: set[uuid.UUID] = set()
    picked: dict[int, list[uuid.UUID]] = {}
    for i in sorted(range(len(rules)), key=lambda i: (len(matching[i]) - rules[i].count, i)):
        pool = sorted((c.id for c in matching[i] if c.id not in taken), key=str)
        if len(pool) < rules[i].count:
            raise _too_few(i + 1, rules[i], len(pool))
        chosen = rng.sample(pool, rules[i].count)
        taken.update(chosen)
        picked[i] = chosen
    return [PaperItem(qid, rules[i].points) for i in range(len(rules)) for qid in picked[i]]


# ---- the frozen paper of an attempt ----


@dataclass(frozen=True)
class PaperQuestion:
    """One question as the attempt shows and grades it. `options` are in the original order;
    `order[d]` is the original index of the option displayed at position d."""

    question_id: uuid.UUID
    kind: str
    prompt: str
    points: int
    options: tuple[str, ...] = ()
    order: tuple[int, ...] = ()
    correct: tuple[int, ...] = ()  # original option indexes
    blanks: tuple[tuple[str, ...], ...] = ()
    reference_answer: str = ""
    explanation: str = ""

    @property
    def displayed_options(self) -> tuple[str, ...]:
        return tuple(self.options[i] for i in self.order)

    @property
    def displayed_correct(self) -> tuple[int, ...]:
        back = {orig: d for d, orig in enumerate(self.order)}
        return tuple(sorted(back[i] for i in self.correct))

    @property
    def blank_count(self) -> int:
        return len(self.blanks)

    def to_json(self) -> dict[str, Any]:
        return {
            "q": str(self.question_id),
            "k": self.kind,
            "p": self.prompt,
            "pts": self.points,
            "o": list(self.options),
            "ord": list(self.order),
            "c": list(self.correct),
            "b": [list(b) for b in self.blanks],
            "ref": self.reference_answer,
            "ex": self.explanation,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> PaperQuestion:
        return cls(
            question_id=uuid.UUID(d["q"]),
            kind=d["k"],
            prompt=d["p"],
            points=int(d["pts"]),
            options=tuple(d.get("o", ())),
            order=tuple(d.get("ord", ())),
            correct=tuple(d.get("c", ())),
            blanks=tuple(tuple(b) for b in d.get("b", ())),
            reference_answer=d.get("ref", ""),
            explanation=d.get("ex", ""),
        )


def snapshot(spec: q.QuestionSpec, question_id: uuid.UUID, points: int) -> PaperQuestion:
    return PaperQuestion(
        question_id=question_id,
        kind=spec.kind,
        prompt=spec.prompt,
        points=points,
        options=spec.options,
        order=tuple(range(len(spec.options))),
        correct=spec.answer,
        blanks=spec.blanks,
        reference_answer=spec.reference_answer,
        explanation=spec.explanation,
    )


def arrange(
    paper: Sequence[PaperQuestion],
    *,
    shuffle_questions: bool,
    shuffle_options: bool,
    rng: random.Random,
) -> list[PaperQuestion]:
    """The attempt's display order: questions shuffled, and the options of single and multiple
    choice questions (true/false keeps 正确, 错误)."""
    out = list(paper)
    if shuffle_questions:
        rng.shuffle(out)
    if shuffle_options:
        arranged = []
        for pq in out:
            if pq.kind in (q.SINGLE, q.MULTIPLE):
                order = list(range(len(pq.options)))
                rng.shuffle(order)
                pq = _with_order(pq, tuple(order))
            arranged.append(pq)
        out = arranged
    return out


def _with_order(pq: PaperQuestion, order: tuple[int, ...]) -> PaperQuestion:
    return replace(pq, order=order)


# ---- answers ----


@dataclass(frozen=True)
class Response:
    """What the learner answered, in displayed terms (option positions as shown)."""

    choices: tuple[int, ...] = ()
    blanks: tuple[str, ...] = ()
    text: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"c": list(self.choices), "b": list(self.blanks), "t": self.text}

    @classmethod
    def from_json(cls, d: Mapping[str, Any] | None) -> Response | None:
        if d is None:
            return None
        return cls(tuple(d.get("c", ())), tuple(d.get("b", ())), d.get("t", ""))

    @property
    def empty(self) -> bool:
        return (
            not self.choices and not any(b.strip() for b in self.blanks) and not self.text.strip()
        )


def validate_response(pq: PaperQuestion, r: Response) -> Response:
    """The response cleaned for storage, or InvalidArgument (nothing is written)."""
    if pq.kind in q.CHOICE_KINDS:
        if r.blanks or r.text:
            raise _invalid(
                "选择题请作答选项 (answer a choice question with choices)",
                "exam_answer_shape",
                "choices",
            )
        n = len(pq.options)
        if any(not 0 <= c < n for c in r.choices):
            raise _invalid(
                f"选项超出范围（共 {n} 个） (a choice is not one of the {n} options)",
                "exam_answer_choice_range",
                "choices",
            )
        choices = tuple(sorted(set(r.choices)))
        if pq.kind != q.MULTIPLE and len(choices) > 1:
            raise _invalid(
                "此题只能选择一个选项 (choose one option)", "exam_answer_one_choice", "choices"
            )
        return Response(choices=choices)
    if pq.kind == q.FILL_IN:
        if r.choices or r.text:
            raise _invalid(
                "填空题请填写各空 (answer a fill-in question with blanks)",
                "exam_answer_shape",
                "blanks",
            )
        if len(r.blanks) > pq.blank_count or any(len(b) > q.MAX_ACCEPTED_LENGTH for b in r.blanks):
            raise _invalid(
                f"本题有 {pq.blank_count} 个空，每空最多 {q.MAX_ACCEPTED_LENGTH} 个字符 "
                f"(this question has {pq.blank_count} blanks of at most "
                f"{q.MAX_ACCEPTED_LENGTH} characters)",
                "exam_answer_blanks",
                "blanks",
            )
        return Response(blanks=tuple(r.blanks))
    if r.choices or r.blanks:
        raise _invalid(
            "简答题请填写文字 (answer a short-answer question with text)",
            "exam_answer_shape",
            "text",
        )
    if len(r.text) > q.MAX_TEXT_RESPONSE:
        raise _invalid(
            f"作答最多 {q.MAX_TEXT_RESPONSE} 个字符 (the answer is too long)",
            "exam_answer_too_long",
            "text",
        )
    return Response(text=r.text)


def grade_answer(pq: PaperQuestion, r: Response | None, multiple_rule: str) -> q.Graded:
    """Objective questions at once; a short answer waits for a grader unless it is empty."""
    if pq.kind == q.SHORT_ANSWER:
        if r is None or r.empty:
            return q.Graded(0, False)  # nothing to grade
        return q.Graded(None, None)
    if pq.kind == q.FILL_IN:
        return q.grade_fill_in(pq.blanks, r.blanks if r else (), pq.points)
    displayed = r.choices if r else ()
    chosen = [pq.order[d] for d in displayed if 0 <= d < len(pq.order)]
    return q.grade_choice(pq.kind, pq.correct, chosen, pq.points, multiple_rule)


@dataclass(frozen=True)
class AttemptGrade:
    graded: list[q.Graded]
    auto_score: int  # centipoints of what is graded so far
    max_score: int
    pending: int  # answers waiting for a grader


def grade_attempt(
    paper: Sequence[PaperQuestion], responses: Mapping[int, Response], multiple_rule: str
) -> AttemptGrade:
    """Every question of the paper graded once, by position; unanswered ones score 0."""
    graded = [grade_answer(pq, responses.get(i), multiple_rule) for i, pq in enumerate(paper)]
    return AttemptGrade(
        graded=graded,
        auto_score=sum(g.score or 0 for g in graded),
        max_score=sum(pq.points for pq in paper) * q.CENTI,
        pending=sum(1 for g in graded if g.score is None),
    )


def passed(score: int, pass_score: int) -> bool:
    return score >= pass_score


# ---- time ----


def deadline_of(
    started_at: datetime, time_limit_minutes: int, closes_at: datetime | None
) -> datetime:
    """The time limit from the start, cut at the window's close."""
    limit = started_at + timedelta(minutes=time_limit_minutes)
    return min(limit, closes_at) if closes_at else limit


def window_problem(
    now: datetime, opens_at: datetime | None, closes_at: datetime | None
) -> FailedPrecondition | None:
    if opens_at and now < opens_at:
        return FailedPrecondition(
            "考试尚未开始 (the exam has not opened yet)", code="exam_not_open"
        )
    if closes_at and now >= closes_at:
        return FailedPrecondition("考试已结束 (the exam has closed)", code="exam_closed")
    return None


def results_visible(
    visibility: str, status: str, closes_at: datetime | None, now: datetime
) -> bool:
    """After submission, or only once the exam has closed (by its window or by the author)."""
    if visibility == AFTER_SUBMIT:
        return True
    return status == "closed" or (closes_at is not None and now >= closes_at)


@dataclass
class QuestionStats:
    """Aggregates of one question over submitted attempts (never per person)."""

    question_id: uuid.UUID
    kind: str
    prompt: str
    answered: int = 0
    correct: int = 0
    graded: int = 0
    score_sum: int = 0
    max_points: int = 0
    option_counts: list[int] = field(default_factory=list)

    @property
    def correct_rate(self) -> float:
        return self.correct / self.graded if self.graded else 0.0

    @property
    def average_score(self) -> int:
        return self.score_sum // self.graded if self.graded else 0
