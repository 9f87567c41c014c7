"""Bodies of question banks and exams (题库与在线考试).

Question points are whole numbers (1–100). Scores and the pass mark are decimal numbers with at
most two decimals (9.5 = nine and a half points); the learning service counts hundredths.
Option positions are 0-based; a learner's answers use the positions as shown in their attempt.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from hongyun.learning.v1 import learning_exams_pb2 as pb
from pydantic import BaseModel, ConfigDict, Field

from hongyun_gateway.pagination import Page
from hongyun_gateway.schemas.common import opt_str, text, timestamp


class QuestionKind(StrEnum):
    SINGLE = "single"  # 单选
    MULTIPLE = "multiple"  # 多选
    TRUE_FALSE = "true_false"  # 判断: options 正确 (0), 错误 (1)
    FILL_IN = "fill_in"  # 填空
    SHORT_ANSWER = "short_answer"  # 简答, graded by a person


class ExamStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CLOSED = "closed"


class PaperMode(StrEnum):
    FIXED = "fixed"  # chosen questions
    RANDOM = "random"  # drawn per attempt by rules


class ResultsVisibility(StrEnum):
    AFTER_SUBMIT = "after_submit"
    AFTER_CLOSE = "after_close"


class MultipleRule(StrEnum):
    ALL_OR_NOTHING = "all_or_nothing"
    PARTIAL = "partial"  # a correct subset with no wrong option earns half the points


class AudienceKind(StrEnum):
    TENANT = "tenant"
    ORG_SUBTREE = "org_subtree"
    ROLE = "role"
    LEARNER = "learner"


class AttemptStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"  # short answers wait for a grader
    GRADED = "graded"


class SubmittedBy(StrEnum):
    LEARNER = "learner"
    DEADLINE = "deadline"  # submitted by the server when time ran out


def _pairs(enum: type[StrEnum], prefix: str, message: Any) -> dict[int, StrEnum]:
    return {message.Value(f"{prefix}_{m.name}"): m for m in enum}


KIND_FROM_PB = _pairs(QuestionKind, "QUESTION_KIND", pb.QuestionKind)
KIND_TO_PB = {v: k for k, v in KIND_FROM_PB.items()}
STATUS_FROM_PB = _pairs(ExamStatus, "EXAM_STATUS", pb.ExamStatus)
STATUS_TO_PB = {v: k for k, v in STATUS_FROM_PB.items()}
MODE_FROM_PB = _pairs(PaperMode, "EXAM_PAPER_MODE", pb.ExamPaperMode)
MODE_TO_PB = {v: k for k, v in MODE_FROM_PB.items()}
VISIBILITY_FROM_PB = _pairs(ResultsVisibility, "EXAM_RESULTS_VISIBILITY", pb.ExamResultsVisibility)
VISIBILITY_TO_PB = {v: k for k, v in VISIBILITY_FROM_PB.items()}
RULE_FROM_PB = _pairs(MultipleRule, "EXAM_MULTIPLE_RULE", pb.ExamMultipleRule)
RULE_TO_PB = {v: k for k, v in RULE_FROM_PB.items()}
AUDIENCE_FROM_PB = _pairs(AudienceKind, "EXAM_AUDIENCE_KIND", pb.ExamAudienceKind)
AUDIENCE_TO_PB = {v: k for k, v in AUDIENCE_FROM_PB.items()}
ATTEMPT_FROM_PB = _pairs(AttemptStatus, "EXAM_ATTEMPT_STATUS", pb.ExamAttemptStatus)
REASON_FROM_PB = _pairs(SubmittedBy, "EXAM_SUBMISSION_REASON", pb.ExamSubmissionReason)

Score = Annotated[
    Decimal,
    Field(
        ge=0, le=100_000, decimal_places=2, description="分数, at most 2 decimals", examples=[60]
    ),
]
Points = Annotated[int, Field(ge=1, le=100, description="每题分值 points (1–100)")]
Difficulty = Annotated[int, Field(ge=1, le=5, description="难度 1 (easiest) – 5")]


def to_hundredths(value: Decimal | None) -> int:
    return int(value * 100) if value is not None else 0


def from_hundredths(value: int) -> float:
    return round(value / 100, 2)


# ---- question banks ----


class QuestionBankWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, text(1, 100)]
    description: Annotated[str, text(0, 2000)] = ""
    org_id: uuid.UUID | None = Field(
        default=None,
        description="所属组织: empty = the whole tenant (tenant admins) or the secretary's own "
        "organisation",
    )


class QuestionBankUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, text(1, 100)]
    description: Annotated[str, text(0, 2000)] = ""


class QuestionBankRead(BaseModel):
    id: uuid.UUID
    name: str
    description: str
    org_id: uuid.UUID | None
    question_count: int
    can_manage: bool = Field(description="The caller may change it (else read and draw only)")
    created_by: str
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def from_proto(cls, m: pb.QuestionBank) -> QuestionBankRead:
        return cls(
            id=m.id,
            name=m.name,
            description=m.description,
            org_id=opt_str(m.org_id),
            question_count=m.question_count,
            can_manage=m.can_manage,
            created_by=m.created_by,
            created_at=timestamp(m, "created_at"),
            updated_at=timestamp(m, "updated_at"),
        )


class QuestionWrite(BaseModel):
    """A question. Options for single/multiple (2–10); `answer` = 0-based indexes of the correct
    options (true_false: [0] true, [1] false); `blanks` = the accepted answers of each blank
    (fill_in); `reference_answer` helps graders (short_answer)."""

    model_config = ConfigDict(extra="forbid")

    kind: QuestionKind
    prompt: Annotated[str, Field(max_length=5000)]
    options: Annotated[list[Annotated[str, Field(max_length=500)]], Field(max_length=10)] = []
    answer: Annotated[list[Annotated[int, Field(ge=0, le=9)]], Field(max_length=10)] = []
    blanks: Annotated[
        list[Annotated[list[Annotated[str, Field(max_length=200)]], Field(max_length=10)]],
        Field(max_length=10),
    ] = []
    reference_answer: Annotated[str, Field(max_length=5000)] = ""
    tags: Annotated[list[Annotated[str, Field(max_length=30)]], Field(max_length=10)] = []
    difficulty: Difficulty = 3
    explanation: Annotated[str, Field(max_length=5000)] = ""
    expected_version: int | None = Field(
        default=None, ge=1, description="On update: refuse (409) if the question changed since"
    )

    def to_proto(self) -> pb.QuestionInput:
        return pb.QuestionInput(
            kind=KIND_TO_PB[self.kind],
            prompt=self.prompt,
            options=self.options,
            answer=self.answer,
            blanks=[pb.QuestionBlank(accepted=b) for b in self.blanks],
            reference_answer=self.reference_answer,
            tags=self.tags,
            difficulty=self.difficulty,
            explanation=self.explanation,
        )


class QuestionRead(BaseModel):
    id: uuid.UUID
    bank_id: uuid.UUID
    kind: QuestionKind
    prompt: str
    options: list[str]
    answer: list[int]
    blanks: list[list[str]]
    reference_answer: str
    tags: list[str]
    difficulty: int
    explanation: str
    version: int
    created_by: str
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def from_proto(cls, m: pb.Question) -> QuestionRead:
        return cls(
            id=m.id,
            bank_id=m.bank_id,
            kind=KIND_FROM_PB[m.kind],
            prompt=m.prompt,
            options=list(m.options),
            answer=list(m.answer),
            blanks=[list(b.accepted) for b in m.blanks],
            reference_answer=m.reference_answer,
            tags=list(m.tags),
            difficulty=m.difficulty,
            explanation=m.explanation,
            version=m.version,
            created_by=m.created_by,
            created_at=timestamp(m, "created_at"),
            updated_at=timestamp(m, "updated_at"),
        )


class QuestionImportRead(BaseModel):
    """An accepted import (a rejected one is a 422 problem listing every bad cell)."""

    accepted: bool
    dry_run: bool
    row_count: int = Field(description="Question rows read")
    imported_count: int = Field(description="Questions written (0 for a dry run)")


# ---- exams (authors) ----


class PaperItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question_id: uuid.UUID
    points: Points


class DrawRule(BaseModel):
    """Draw `count` questions worth `points` each from the banks; optionally only some kinds,
    with any of the tags, within a difficulty range."""

    model_config = ConfigDict(extra="forbid")

    bank_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=20)]
    kinds: Annotated[list[QuestionKind], Field(max_length=5)] = []
    tags: Annotated[list[Annotated[str, Field(max_length=30)]], Field(max_length=10)] = []
    difficulty_min: Difficulty = 1
    difficulty_max: Difficulty = 5
    count: Annotated[int, Field(ge=1, le=200)]
    points: Points


class Audience(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: AudienceKind
    org_id: uuid.UUID | None = None
    role: Annotated[str, Field(max_length=32)] = ""
    learner_id: Annotated[str, Field(max_length=64)] = ""


class ExamWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, text(1, 200)]
    description: Annotated[str, text(0, 5000)] = ""
    org_id: uuid.UUID | None = Field(default=None, description="所属组织, like question banks")
    paper_mode: PaperMode = PaperMode.FIXED
    items: Annotated[list[PaperItem], Field(max_length=200)] = []
    rules: Annotated[list[DrawRule], Field(max_length=20)] = []
    time_limit_minutes: Annotated[int, Field(ge=1, le=1440)]
    max_attempts: Annotated[int, Field(ge=1, le=100)] = 1
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    pass_score: Score = Decimal(0)
    shuffle_questions: bool = False
    shuffle_options: bool = False
    results_visibility: ResultsVisibility = ResultsVisibility.AFTER_SUBMIT
    multiple_rule: MultipleRule = MultipleRule.ALL_OR_NOTHING
    audiences: Annotated[list[Audience], Field(max_length=200)] = []

    def to_proto(self) -> pb.ExamInput:
        m = pb.ExamInput(
            title=self.title,
            description=self.description,
            org_id=str(self.org_id or ""),
            paper_mode=MODE_TO_PB[self.paper_mode],
            items=[
                pb.ExamPaperItem(question_id=str(i.question_id), points=i.points)
                for i in self.items
            ],
            rules=[
                pb.ExamDrawRule(
                    bank_ids=[str(b) for b in r.bank_ids],
                    kinds=[KIND_TO_PB[k] for k in r.kinds],
                    tags=r.tags,
                    difficulty_min=r.difficulty_min,
                    difficulty_max=r.difficulty_max,
                    count=r.count,
                    points=r.points,
                )
                for r in self.rules
            ],
            time_limit_minutes=self.time_limit_minutes,
            max_attempts=self.max_attempts,
            pass_score_hundredths=to_hundredths(self.pass_score),
            shuffle_questions=self.shuffle_questions,
            shuffle_options=self.shuffle_options,
            results_visibility=VISIBILITY_TO_PB[self.results_visibility],
            multiple_rule=RULE_TO_PB[self.multiple_rule],
            audiences=[
                pb.ExamAudience(
                    kind=AUDIENCE_TO_PB[a.kind],
                    org_id=str(a.org_id or ""),
                    role=a.role,
                    learner_id=a.learner_id,
                )
                for a in self.audiences
            ],
        )
        if self.opens_at:
            m.opens_at.FromDatetime(self.opens_at)
        if self.closes_at:
            m.closes_at.FromDatetime(self.closes_at)
        return m


class ExamRead(BaseModel):
    id: uuid.UUID
    title: str
    description: str
    org_id: uuid.UUID | None
    status: ExamStatus
    paper_mode: PaperMode
    items: list[PaperItem]
    rules: list[DrawRule]
    time_limit_minutes: int
    max_attempts: int
    opens_at: datetime | None
    closes_at: datetime | None
    pass_score: float
    total_score: float
    question_count: int
    shuffle_questions: bool
    shuffle_options: bool
    results_visibility: ResultsVisibility
    multiple_rule: MultipleRule
    audiences: list[Audience]
    created_by: str
    published_at: datetime | None
    closed_at: datetime | None
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def from_proto(cls, m: pb.Exam) -> ExamRead:
        return cls(
            id=m.id,
            title=m.title,
            description=m.description,
            org_id=opt_str(m.org_id),
            status=STATUS_FROM_PB[m.status],
            paper_mode=MODE_FROM_PB[m.paper_mode],
            items=[PaperItem(question_id=i.question_id, points=i.points) for i in m.items],
            rules=[
                DrawRule(
                    bank_ids=list(r.bank_ids),
                    kinds=[KIND_FROM_PB[k] for k in r.kinds],
                    tags=list(r.tags),
                    difficulty_min=r.difficulty_min,
                    difficulty_max=r.difficulty_max,
                    count=r.count,
                    points=r.points,
                )
                for r in m.rules
            ],
            time_limit_minutes=m.time_limit_minutes,
            max_attempts=m.max_attempts,
            opens_at=timestamp(m, "opens_at"),
            closes_at=timestamp(m, "closes_at"),
            pass_score=from_hundredths(m.pass_score_hundredths),
            total_score=from_hundredths(m.total_score_hundredths),
            question_count=m.question_count,
            shuffle_questions=m.shuffle_questions,
            shuffle_options=m.shuffle_options,
            results_visibility=VISIBILITY_FROM_PB[m.results_visibility],
            multiple_rule=RULE_FROM_PB[m.multiple_rule],
            audiences=[
                Audience(
                    kind=AUDIENCE_FROM_PB[a.kind],
                    org_id=opt_str(a.org_id),
                    role=a.role,
                    learner_id=a.learner_id,
                )
                for a in m.audiences
            ],
            created_by=m.created_by,
            published_at=timestamp(m, "published_at"),
            closed_at=timestamp(m, "closed_at"),
            created_at=timestamp(m, "created_at"),
            updated_at=timestamp(m, "updated_at"),
        )


# ---- learners ----


class AvailableExamRead(BaseModel):
    id: uuid.UUID
    title: str
    description: str
    status: ExamStatus
    time_limit_minutes: int
    max_attempts: int
    attempts_used: int
    open_attempt_id: uuid.UUID | None = Field(description="The running attempt, to resume")
    opens_at: datetime | None
    closes_at: datetime | None
    question_count: int
    total_score: float
    pass_score: float
    results_visibility: ResultsVisibility
    can_start: bool

    @classmethod
    def from_proto(cls, m: pb.AvailableExam) -> AvailableExamRead:
        return cls(
            id=m.id,
            title=m.title,
            description=m.description,
            status=STATUS_FROM_PB[m.status],
            time_limit_minutes=m.time_limit_minutes,
            max_attempts=m.max_attempts,
            attempts_used=m.attempts_used,
            open_attempt_id=opt_str(m.open_attempt_id),
            opens_at=timestamp(m, "opens_at"),
            closes_at=timestamp(m, "closes_at"),
            question_count=m.question_count,
            total_score=from_hundredths(m.total_score_hundredths),
            pass_score=from_hundredths(m.pass_score_hundredths),
            results_visibility=VISIBILITY_FROM_PB[m.results_visibility],
            can_start=m.can_start,
        )


class AnswerContent(BaseModel):
    """choices: 0-based positions as shown (choice kinds); blanks: in order (fill_in);
    text (short_answer)."""

    model_config = ConfigDict(extra="forbid")

    choices: Annotated[list[Annotated[int, Field(ge=0, le=9)]], Field(max_length=10)] = []
    blanks: Annotated[list[Annotated[str, Field(max_length=200)]], Field(max_length=10)] = []
    text: Annotated[str, Field(max_length=10000)] = ""

    @classmethod
    def from_proto(cls, m: pb.ExamAnswerContent) -> AnswerContent:
        return cls(choices=list(m.choices), blanks=list(m.blanks), text=m.text)


class AnswerWrite(AnswerContent):
    version: Annotated[int, Field(ge=1, le=2**62)] = Field(
        description="The client's counter for this question, increased on every change: a save "
        "with a version not above the stored one changes nothing (safe to retry)"
    )


class AnswerSavedRead(BaseModel):
    position: int
    version: int = Field(description="The stored version")
    stored: bool = Field(description="false: an equal or newer version was already stored")
    saved_at: datetime | None
    remaining_seconds: int


class AttemptQuestionRead(BaseModel):
    position: int
    kind: QuestionKind
    prompt: str
    options: list[str] = Field(description="In this attempt's order")
    blank_count: int
    points: int
    answer: AnswerContent | None = Field(description="The saved answer, if any")
    answer_version: int
    saved_at: datetime | None


class AttemptRead(BaseModel):
    id: uuid.UUID
    exam_id: uuid.UUID
    exam_title: str
    number: int
    status: AttemptStatus
    started_at: datetime | None
    deadline_at: datetime | None = Field(description="The server's deadline")
    remaining_seconds: int
    server_time: datetime | None
    submitted_at: datetime | None
    submitted_by: SubmittedBy | None
    max_score: float
    questions: list[AttemptQuestionRead]

    @classmethod
    def from_proto(cls, m: pb.ExamAttempt) -> AttemptRead:
        return cls(
            id=m.id,
            exam_id=m.exam_id,
            exam_title=m.exam_title,
            number=m.number,
            status=ATTEMPT_FROM_PB[m.status],
            started_at=timestamp(m, "started_at"),
            deadline_at=timestamp(m, "deadline_at"),
            remaining_seconds=m.remaining_seconds,
            server_time=timestamp(m, "server_time"),
            submitted_at=timestamp(m, "submitted_at"),
            submitted_by=REASON_FROM_PB.get(m.submitted_by),
            max_score=from_hundredths(m.max_score_hundredths),
            questions=[
                AttemptQuestionRead(
                    position=q.position,
                    kind=KIND_FROM_PB[q.kind],
                    prompt=q.prompt,
                    options=list(q.options),
                    blank_count=q.blank_count,
                    points=q.points,
                    answer=AnswerContent.from_proto(q.answer) if q.HasField("answer") else None,
                    answer_version=q.answer_version,
                    saved_at=timestamp(q, "saved_at"),
                )
                for q in m.questions
            ],
        )


class AttemptStartRead(BaseModel):
    attempt: AttemptRead
    resumed: bool = Field(description="The running attempt was returned")


class QuestionResultRead(BaseModel):
    position: int
    kind: QuestionKind
    prompt: str
    options: list[str]
    answer: AnswerContent | None
    points: int
    score: float
    graded: bool = Field(description="false: a short answer waiting for a grader")
    correct: bool
    correct_choices: list[int] = Field(description="Positions as shown in the attempt")
    blanks: list[list[str]] = Field(description="Accepted answers of each blank")
    blanks_correct: list[bool]
    explanation: str
    reference_answer: str
    grader_comment: str


class AttemptResultRead(BaseModel):
    attempt_id: uuid.UUID
    exam_id: uuid.UUID
    exam_title: str
    number: int
    status: AttemptStatus
    results_visible: bool = Field(description="false: results are shown after the exam closes")
    results_available_at: datetime | None
    score: float | None
    max_score: float
    pass_score: float
    passed: bool | None = Field(description="Once every answer is graded")
    pending_grades: int
    submitted_by: SubmittedBy | None
    submitted_at: datetime | None
    graded_at: datetime | None
    questions: list[QuestionResultRead]

    @classmethod
    def from_proto(cls, m: pb.ExamAttemptResult) -> AttemptResultRead:
        visible = m.results_visible
        graded = m.status == pb.EXAM_ATTEMPT_STATUS_GRADED
        return cls(
            attempt_id=m.attempt_id,
            exam_id=m.exam_id,
            exam_title=m.exam_title,
            number=m.number,
            status=ATTEMPT_FROM_PB[m.status],
            results_visible=visible,
            results_available_at=timestamp(m, "results_available_at"),
            score=from_hundredths(m.score_hundredths) if visible else None,
            max_score=from_hundredths(m.max_score_hundredths),
            pass_score=from_hundredths(m.pass_score_hundredths),
            passed=m.passed if visible and graded else None,
            pending_grades=m.pending_grades,
            submitted_by=REASON_FROM_PB.get(m.submitted_by),
            submitted_at=timestamp(m, "submitted_at"),
            graded_at=timestamp(m, "graded_at"),
            questions=[
                QuestionResultRead(
                    position=q.position,
                    kind=KIND_FROM_PB[q.kind],
                    prompt=q.prompt,
                    options=list(q.options),
                    answer=AnswerContent.from_proto(q.answer) if q.HasField("answer") else None,
                    points=q.points,
                    score=from_hundredths(q.score_hundredths),
                    graded=q.graded,
                    correct=q.correct,
                    correct_choices=list(q.correct_choices),
                    blanks=[list(b.accepted) for b in q.blanks],
                    blanks_correct=list(q.blanks_correct),
                    explanation=q.explanation,
                    reference_answer=q.reference_answer,
                    grader_comment=q.grader_comment,
                )
                for q in m.questions
            ],
        )


# ---- graders and authors ----


class GradingItemRead(BaseModel):
    """A short answer to grade. The learner is not named: grade the answer, not the person."""

    attempt_id: uuid.UUID
    position: int
    exam_id: uuid.UUID
    question_id: uuid.UUID
    prompt: str
    reference_answer: str
    answer_text: str
    points: int
    submitted_at: datetime | None
    graded: bool
    score: float | None
    comment: str

    @classmethod
    def from_proto(cls, m: pb.GradingItem) -> GradingItemRead:
        return cls(
            attempt_id=m.attempt_id,
            position=m.position,
            exam_id=m.exam_id,
            question_id=m.question_id,
            prompt=m.prompt,
            reference_answer=m.reference_answer,
            answer_text=m.answer_text,
            points=m.points,
            submitted_at=timestamp(m, "submitted_at"),
            graded=m.graded,
            score=from_hundredths(m.score_hundredths) if m.graded else None,
            comment=m.comment,
        )


class GradeWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    score: Score
    comment: Annotated[str, text(0, 2000)] = ""


class GradeRead(BaseModel):
    item: GradingItemRead
    attempt_status: AttemptStatus
    pending_grades: int


class QuestionStatisticsRead(BaseModel):
    question_id: uuid.UUID
    kind: QuestionKind
    prompt: str
    options: list[str]
    answered: int = Field(description="Submitted attempts that had this question")
    graded: int
    correct: int
    correct_rate: float = Field(description="correct / graded, 0–1")
    average_score: float
    points: int
    option_counts: list[int] = Field(description="How often each option was chosen")


class ExamStatisticsRead(BaseModel):
    """Per-question statistics for authors; nothing here ranks people."""

    exam_id: uuid.UUID
    submitted_attempts: int
    graded_attempts: int
    passed_attempts: int
    average_score: float
    questions: list[QuestionStatisticsRead]

    @classmethod
    def from_proto(cls, m: pb.GetExamStatisticsResponse) -> ExamStatisticsRead:
        return cls(
            exam_id=m.exam_id,
            submitted_attempts=m.submitted_attempts,
            graded_attempts=m.graded_attempts,
            passed_attempts=m.passed_attempts,
            average_score=from_hundredths(m.average_score_hundredths),
            questions=[
                QuestionStatisticsRead(
                    question_id=q.question_id,
                    kind=KIND_FROM_PB[q.kind],
                    prompt=q.prompt,
                    options=list(q.options),
                    answered=q.answered,
                    graded=q.graded,
                    correct=q.correct,
                    correct_rate=q.correct_rate,
                    average_score=from_hundredths(q.average_score_hundredths),
                    points=q.points,
                    option_counts=list(q.option_counts),
                )
                for q in m.questions
            ],
        )


QuestionBankPage = Page[QuestionBankRead]
QuestionPage = Page[QuestionRead]
ExamPage = Page[ExamRead]
AvailableExamPage = Page[AvailableExamRead]
GradingPage = Page[GradingItemRead]
