"""Bodies of the development pipeline (发展党员, docs/adr/0015): cases, steps, the evaluation
(stage, next step, deadline, blockers with their rule and citation), the timeline, probation
extensions, training and materials."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from hongyun.member.v1 import member_development_pb2 as dpb
from pydantic import BaseModel, ConfigDict, Field

from hongyun_gateway.enums import Gender
from hongyun_gateway.pagination import Page
from hongyun_gateway.schemas.common import IdNumber, IsoDate, PastDate, opt_str, text, timestamp

ClassHours = Annotated[
    Decimal,
    Field(ge=0, le=1000, decimal_places=2, description="学时 class hours, up to 2 decimals"),
]


class CaseStatus(StrEnum):
    OPEN = "open"  # 申请人、积极分子、发展对象
    ADMITTED = "admitted"  # 预备党员
    CONVERTED = "converted"  # 已转正
    CLOSED = "closed"  # 终止


class Decision(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"


class TimelineKind(StrEnum):
    STEP = "step"
    TRAINING = "training"
    PROBATION_EXTENDED = "probation_extended"
    CLOSED = "closed"


_STATUS_PB = {
    CaseStatus.OPEN: dpb.DEVELOPMENT_CASE_STATUS_OPEN,
    CaseStatus.ADMITTED: dpb.DEVELOPMENT_CASE_STATUS_ADMITTED,
    CaseStatus.CONVERTED: dpb.DEVELOPMENT_CASE_STATUS_CONVERTED,
    CaseStatus.CLOSED: dpb.DEVELOPMENT_CASE_STATUS_CLOSED,
}
_STATUS = {v: k for k, v in _STATUS_PB.items()}
_DECISION_PB = {
    Decision.APPROVED: dpb.DEVELOPMENT_DECISION_APPROVED,
    Decision.REJECTED: dpb.DEVELOPMENT_DECISION_REJECTED,
}
_DECISION = {v: k for k, v in _DECISION_PB.items()}
_TIMELINE = {
    dpb.DEVELOPMENT_TIMELINE_KIND_STEP: TimelineKind.STEP,
    dpb.DEVELOPMENT_TIMELINE_KIND_TRAINING: TimelineKind.TRAINING,
    dpb.DEVELOPMENT_TIMELINE_KIND_PROBATION_EXTENDED: TimelineKind.PROBATION_EXTENDED,
    dpb.DEVELOPMENT_TIMELINE_KIND_CLOSED: TimelineKind.CLOSED,
}
_GENDER = {1: Gender.MALE, 2: Gender.FEMALE}


def status_to_pb(status: CaseStatus | None) -> int:
    return _STATUS_PB[status] if status else dpb.DEVELOPMENT_CASE_STATUS_UNSPECIFIED


def _date(value: str) -> date | None:
    return date.fromisoformat(value) if value else None


def _hours(hundredths: int) -> Decimal:
    return Decimal(hundredths) / 100


def _hundredths(hours: Decimal) -> int:
    return int(hours * 100)


# ---- catalogue ----


class StageRead(BaseModel):
    number: int
    name_zh: str
    name_en: str


class StepSpecRead(BaseModel):
    number: int
    stage: int
    name_zh: str
    name_en: str
    actor_zh: str = Field(description="通常的执行主体 the usual acting body")
    records: list[str] = Field(
        description="What the step records besides date, acting body and note: contacts, "
        "introducers, votes, publicity, training, decision"
    )
    repeatable: bool


class CatalogueRead(BaseModel):
    stages: list[StageRead]
    steps: list[StepSpecRead]

    @classmethod
    def from_proto(cls, r: dpb.ListDevelopmentStepsResponse) -> CatalogueRead:
        return cls(
            stages=[StageRead(number=s.number, name_zh=s.name_zh, name_en=s.name_en)
                    for s in r.stages],
            steps=[StepSpecRead(number=s.number, stage=s.stage, name_zh=s.name_zh,
                                name_en=s.name_en, actor_zh=s.actor_zh, records=list(s.records),
                                repeatable=s.repeatable) for s in r.steps],
        )  # fmt: skip


# ---- requests ----


class CaseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organization_id: uuid.UUID = Field(description="党支部 the branch")
    name: Annotated[str, text(1, 50)]
    id_number: IdNumber
    ethnicity: Annotated[str, text(0, 20)] = ""
    education: Annotated[str, text(0, 30)] = ""
    application_date: PastDate = Field(description="递交入党申请书日期 (step 1)")
    acting: Annotated[str, text(0, 100)] = ""
    note: Annotated[str, text(0, 2000)] = ""
    late_reason: Annotated[str, text(0, 500)] = Field(
        default="", description="补录理由: required when application_date is before today"
    )

    def to_proto(self) -> dpb.OpenDevelopmentCaseRequest:
        return dpb.OpenDevelopmentCaseRequest(
            organization_id=str(self.organization_id), name=self.name, id_number=self.id_number,
            ethnicity=self.ethnicity, education=self.education,
            application_date=self.application_date.isoformat(), acting=self.acting,
            note=self.note, late_reason=self.late_reason,
        )  # fmt: skip


class Votes(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entitled: int = Field(ge=1, le=10_000, description="应到会有表决权的正式党员")
    present: int = Field(ge=0, le=10_000, description="实到有表决权人数")
    yes: int = Field(ge=0, le=10_000)
    no: int = Field(default=0, ge=0, le=10_000)
    abstain: int = Field(default=0, ge=0, le=10_000)


class StepCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: int = Field(ge=1, le=25, description="步骤 1–25 (GET /api/v1/development/steps)")
    date: PastDate
    acting: Annotated[str, text(0, 100)] = Field(default="", description="执行主体或人员")
    votes: Votes | None = Field(default=None, description="steps 15 and 23")
    member_ids: list[uuid.UUID] = Field(
        default_factory=list, max_length=10,
        description="培养联系人 (step 5) or 入党介绍人 (step 9): full members of the tenant",
    )  # fmt: skip
    decision: Decision | None = Field(default=None, description="steps 10, 17 and 24")
    publicity_from: IsoDate | None = Field(default=None, description="公示 first day (step 12)")
    publicity_to: IsoDate | None = Field(default=None, description="公示 last day (step 12)")
    training_days: int = Field(default=0, ge=0, le=366, description="step 11")
    training_class_hours: ClassHours = Decimal(0)
    note: Annotated[str, text(0, 2000)] = ""
    late_reason: Annotated[str, text(0, 500)] = Field(
        default="", description="补录理由: required when the date is before today"
    )
    expected_version: int = Field(default=0, ge=0, description="the case's version; 0 = any")

    def to_proto(self, case_id: uuid.UUID) -> dpb.RecordDevelopmentStepRequest:
        msg = dpb.RecordDevelopmentStepRequest(
            case_id=str(case_id), number=self.number, date=self.date.isoformat(),
            acting=self.acting, member_ids=[str(m) for m in self.member_ids],
            decision=_DECISION_PB[self.decision] if self.decision else 0,
            publicity_from=self.publicity_from.isoformat() if self.publicity_from else "",
            publicity_to=self.publicity_to.isoformat() if self.publicity_to else "",
            training_days=self.training_days,
            training_class_hours_hundredths=_hundredths(self.training_class_hours),
            note=self.note, late_reason=self.late_reason, expected_version=self.expected_version,
        )  # fmt: skip
        if self.votes:
            msg.votes.CopyFrom(dpb.DevelopmentVotes(**self.votes.model_dump()))
        return msg


class ProbationExtensionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: PastDate = Field(description="决定日期 the day it was decided")
    months: int = Field(ge=1, le=36, description="延长月数 (rule dev.probation.extension)")
    reason: Annotated[str, text(1, 500)]

    def to_proto(self, case_id: uuid.UUID) -> dpb.ExtendProbationRequest:
        return dpb.ExtendProbationRequest(
            case_id=str(case_id), date=self.date.isoformat(), months=self.months,
            reason=self.reason,
        )  # fmt: skip


class CaseClose(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: PastDate | None = Field(default=None, description="default today")
    reason: Annotated[str, text(1, 500)]

    def to_proto(self, case_id: uuid.UUID) -> dpb.CloseDevelopmentCaseRequest:
        return dpb.CloseDevelopmentCaseRequest(
            case_id=str(case_id), date=self.date.isoformat() if self.date else "",
            reason=self.reason,
        )  # fmt: skip


class TrainingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    completed_on: PastDate
    days: int = Field(default=0, ge=0, le=366)
    class_hours: ClassHours = Decimal(0)
    title: Annotated[str, text(0, 200)] = ""

    def to_proto(self, case_id: uuid.UUID) -> dpb.RecordDevelopmentTrainingRequest:
        return dpb.RecordDevelopmentTrainingRequest(
            case_id=str(case_id), completed_on=self.completed_on.isoformat(), days=self.days,
            class_hours_hundredths=_hundredths(self.class_hours), title=self.title,
        )  # fmt: skip


# ---- reads ----


class ReasonRead(BaseModel):
    rule_key: str = Field(description="规则 e.g. dev.candidate.min_activist_months")
    rule_citation: str = Field(description="依据 the rule's citation")
    message: str
    field: str | None = None
    clears_on: date | None = Field(default=None, description="a wait that ends by itself")

    @classmethod
    def from_proto(cls, r: dpb.DevelopmentReason) -> ReasonRead:
        return cls(rule_key=r.rule_key, rule_citation=r.rule_citation, message=r.message,
                   field=opt_str(r.field), clears_on=_date(r.clears_on))  # fmt: skip


class DeadlineRead(BaseModel):
    step: int
    step_name: str
    due_on: date
    overdue: bool
    days_left: int
    rule_key: str
    rule_citation: str

    @classmethod
    def from_proto(cls, d: dpb.DevelopmentDeadline) -> DeadlineRead:
        return cls(step=d.step, step_name=d.step_name, due_on=date.fromisoformat(d.due_on),
                   overdue=d.overdue, days_left=d.days_left, rule_key=d.rule_key,
                   rule_citation=d.rule_citation)  # fmt: skip


class EvaluationRead(BaseModel):
    as_of: date
    status: CaseStatus
    stage: int
    stage_name: str
    last_step: int
    next_step: int | None = Field(description="null when closed or complete")
    next_step_name: str | None
    deadline: DeadlineRead | None = Field(description="the date the case waits for")
    not_before: date | None = Field(description="earliest day for the next step, if a wait")
    blockers: list[ReasonRead] = Field(description="what stops the next step today, by rule")
    repeatable_step: int | None
    probation_ends_on: date | None
    political_review_expires_on: date | None
    training_days: int
    training_class_hours: Decimal

    @classmethod
    def from_proto(cls, e: dpb.DevelopmentEvaluation) -> EvaluationRead:
        return cls(
            as_of=date.fromisoformat(e.as_of), status=_STATUS[e.status], stage=e.stage,
            stage_name=e.stage_name, last_step=e.last_step, next_step=e.next_step or None,
            next_step_name=opt_str(e.next_step_name),
            deadline=DeadlineRead.from_proto(e.deadline) if e.deadline.due_on else None,
            not_before=_date(e.not_before), blockers=[ReasonRead.from_proto(b) for b in e.blockers],
            repeatable_step=e.repeatable_step or None,
            probation_ends_on=_date(e.probation_ends_on),
            political_review_expires_on=_date(e.political_review_expires_on),
            training_days=e.training_days,
            training_class_hours=_hours(e.training_class_hours_hundredths),
        )  # fmt: skip


class CaseRead(BaseModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    gender: Gender | None
    birth_date: date
    id_number: str = Field(description="masked unless revealed")
    ethnicity: str
    education: str
    status: CaseStatus
    current_step: int
    current_stage: int
    application_date: date
    member_id: uuid.UUID | None = Field(description="the member record once admitted")
    closed_on: date | None
    closed_reason: str | None
    version: int
    created_at: datetime | None
    created_by: str
    revealed: bool

    @classmethod
    def from_proto(cls, c: dpb.DevelopmentCase) -> CaseRead:
        return cls(
            id=uuid.UUID(c.id), organization_id=uuid.UUID(c.organization_id), name=c.name,
            gender=_GENDER.get(c.gender), birth_date=date.fromisoformat(c.birth_date),
            id_number=c.id_number, ethnicity=c.ethnicity, education=c.education,
            status=_STATUS[c.status], current_step=c.current_step,
            current_stage=c.current_stage, application_date=date.fromisoformat(c.application_date),
            member_id=uuid.UUID(c.member_id) if c.member_id else None,
            closed_on=_date(c.closed_on), closed_reason=opt_str(c.closed_reason),
            version=c.version, created_at=timestamp(c, "created_at"), created_by=c.created_by,
            revealed=c.revealed,
        )  # fmt: skip


class StepRead(BaseModel):
    id: uuid.UUID
    number: int
    occurrence: int
    date: date
    acting: str
    votes: Votes | None
    member_ids: list[uuid.UUID]
    decision: Decision | None
    publicity_from: date | None
    publicity_to: date | None
    training_days: int
    training_class_hours: Decimal
    note: str
    recorded_by: str
    recorded_at: datetime | None
    late: bool = Field(description="补录: entered after the day it happened")
    late_reason: str | None

    @classmethod
    def from_proto(cls, s: dpb.DevelopmentStepRecord) -> StepRead:
        votes = None
        if s.HasField("votes"):
            v = s.votes
            votes = Votes(entitled=v.entitled, present=v.present, yes=v.yes, no=v.no,
                          abstain=v.abstain)  # fmt: skip
        return cls(
            id=uuid.UUID(s.id), number=s.number, occurrence=s.occurrence,
            date=date.fromisoformat(s.date), acting=s.acting, votes=votes,
            member_ids=[uuid.UUID(m) for m in s.member_ids], decision=_DECISION.get(s.decision),
            publicity_from=_date(s.publicity_from), publicity_to=_date(s.publicity_to),
            training_days=s.training_days,
            training_class_hours=_hours(s.training_class_hours_hundredths), note=s.note,
            recorded_by=s.recorded_by, recorded_at=timestamp(s, "recorded_at"), late=s.late,
            late_reason=opt_str(s.late_reason),
        )  # fmt: skip


class ExtensionRead(BaseModel):
    id: uuid.UUID
    date: date
    months: int
    reason: str
    recorded_by: str
    recorded_at: datetime | None

    @classmethod
    def from_proto(cls, e: dpb.DevelopmentProbationExtension) -> ExtensionRead:
        return cls(id=uuid.UUID(e.id), date=date.fromisoformat(e.date), months=e.months,
                   reason=e.reason, recorded_by=e.recorded_by,
                   recorded_at=timestamp(e, "recorded_at"))  # fmt: skip


class TrainingRead(BaseModel):
    id: uuid.UUID
    completed_on: date
    days: int
    class_hours: Decimal
    title: str
    source: str = Field(description="manual | learning")
    recorded_by: str
    recorded_at: datetime | None

    @classmethod
    def from_proto(cls, t: dpb.DevelopmentTraining) -> TrainingRead:
        return cls(id=uuid.UUID(t.id), completed_on=date.fromisoformat(t.completed_on),
                   days=t.days, class_hours=_hours(t.class_hours_hundredths), title=t.title,
                   source=t.source, recorded_by=t.recorded_by,
                   recorded_at=timestamp(t, "recorded_at"))  # fmt: skip


class TimelineEntryRead(BaseModel):
    date: date
    kind: TimelineKind
    step: int | None
    title: str
    detail: str
    record_id: uuid.UUID | None
    recorded_by: str
    recorded_at: datetime | None
    late: bool

    @classmethod
    def from_proto(cls, t: dpb.DevelopmentTimelineEntry) -> TimelineEntryRead:
        return cls(
            date=date.fromisoformat(t.date), kind=_TIMELINE[t.kind], step=t.step or None,
            title=t.title, detail=t.detail,
            record_id=uuid.UUID(t.record_id) if t.record_id else None,
            recorded_by=t.recorded_by, recorded_at=timestamp(t, "recorded_at"), late=t.late,
        )  # fmt: skip


class MaterialRead(BaseModel):
    id: uuid.UUID
    step_record_id: uuid.UUID | None
    file_name: str
    content_type: str
    size: int
    uploaded_by: str
    uploaded_at: datetime | None

    @classmethod
    def from_proto(cls, m: dpb.DevelopmentMaterial) -> MaterialRead:
        return cls(
            id=uuid.UUID(m.id),
            step_record_id=uuid.UUID(m.step_record_id) if m.step_record_id else None,
            file_name=m.file_name, content_type=m.content_type, size=m.size,
            uploaded_by=m.uploaded_by, uploaded_at=timestamp(m, "uploaded_at"),
        )  # fmt: skip


class MaterialList(BaseModel):
    items: list[MaterialRead]


class DownloadRead(BaseModel):
    url: str = Field(description="short-lived; GET it to download")
    expires_at: datetime | None


class CaseOpenedRead(BaseModel):
    case: CaseRead
    evaluation: EvaluationRead


class CaseDetailRead(BaseModel):
    case: CaseRead
    evaluation: EvaluationRead
    steps: list[StepRead]
    extensions: list[ExtensionRead]
    training: list[TrainingRead]
    timeline: list[TimelineEntryRead]

    @classmethod
    def from_proto(cls, r: dpb.GetDevelopmentCaseResponse) -> CaseDetailRead:
        return cls(
            case=CaseRead.from_proto(r.case), evaluation=EvaluationRead.from_proto(r.evaluation),
            steps=[StepRead.from_proto(s) for s in r.steps],
            extensions=[ExtensionRead.from_proto(e) for e in r.extensions],
            training=[TrainingRead.from_proto(t) for t in r.training],
            timeline=[TimelineEntryRead.from_proto(t) for t in r.timeline],
        )  # fmt: skip


class CaseSummaryRead(BaseModel):
    case: CaseRead
    deadline: DeadlineRead | None

    @classmethod
    def from_proto(cls, s: dpb.DevelopmentCaseSummary) -> CaseSummaryRead:
        return cls(
            case=CaseRead.from_proto(s.case),
            deadline=DeadlineRead.from_proto(s.deadline) if s.deadline.due_on else None,
        )


CasePage = Page[CaseSummaryRead]


class StepRecordedRead(BaseModel):
    case: CaseRead
    step: StepRead
    evaluation: EvaluationRead


class ExtensionRecordedRead(BaseModel):
    case: CaseRead
    extension: ExtensionRead
    evaluation: EvaluationRead


class TrainingRecordedRead(BaseModel):
    training: TrainingRead
    evaluation: EvaluationRead
