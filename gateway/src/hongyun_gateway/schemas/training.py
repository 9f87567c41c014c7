"""Bodies of training classes (培训班) and class hours (学时) on the learning service's
TrainingService. Class hours are decimals with at most two places ("24", "1.5"; the service
counts hundredths); dates are YYYY-MM-DD, times HH:MM."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from hongyun.learning.v1 import learning_training_pb2 as pb
from pydantic import BaseModel, ConfigDict, Field

from hongyun_gateway.pagination import Page
from hongyun_gateway.schemas.common import IsoDate, text, timestamp

ClassHours = Annotated[
    Decimal,
    Field(ge=0, le=1000, decimal_places=2, description="学时 class hours, up to 2 decimals",
          examples=["8", "1.5"]),
]  # fmt: skip
ClockTime = Annotated[
    str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="HH:MM", examples=["08:30"])
]


class TrainingKind(StrEnum):
    DEVELOPMENT_CANDIDATE = "development_candidate"  # 发展对象短期集中培训
    ACTIVIST = "activist"  # 入党积极分子培训
    MEMBER_WINTER = "member_winter"  # 党员冬训
    SECRETARY = "secretary"  # 书记培训
    OTHER = "other"


class TrainingClassStatus(StrEnum):
    PLANNED = "planned"
    OPEN = "open"
    CLOSED = "closed"


class SessionMode(StrEnum):
    OFFLINE = "offline"
    ONLINE = "online"


class AttendanceStatus(StrEnum):
    PRESENT = "present"
    ABSENT = "absent"
    LEAVE = "leave"  # 请假


class DurationMode(StrEnum):
    ANY = "any"  # minimum days or minimum class hours suffices
    ALL = "all"  # both are needed


KIND_PB = {
    TrainingKind.DEVELOPMENT_CANDIDATE: pb.TRAINING_CLASS_KIND_DEVELOPMENT_CANDIDATE,
    TrainingKind.ACTIVIST: pb.TRAINING_CLASS_KIND_ACTIVIST,
    TrainingKind.MEMBER_WINTER: pb.TRAINING_CLASS_KIND_MEMBER_WINTER,
    TrainingKind.SECRETARY: pb.TRAINING_CLASS_KIND_SECRETARY,
    TrainingKind.OTHER: pb.TRAINING_CLASS_KIND_OTHER,
}
STATUS_PB = {
    TrainingClassStatus.PLANNED: pb.TRAINING_CLASS_STATUS_PLANNED,
    TrainingClassStatus.OPEN: pb.TRAINING_CLASS_STATUS_OPEN,
    TrainingClassStatus.CLOSED: pb.TRAINING_CLASS_STATUS_CLOSED,
}
MODE_PB = {
    SessionMode.OFFLINE: pb.TRAINING_SESSION_MODE_OFFLINE,
    SessionMode.ONLINE: pb.TRAINING_SESSION_MODE_ONLINE,
}
ATTENDANCE_PB = {
    AttendanceStatus.PRESENT: pb.TRAINING_ATTENDANCE_STATUS_PRESENT,
    AttendanceStatus.ABSENT: pb.TRAINING_ATTENDANCE_STATUS_ABSENT,
    AttendanceStatus.LEAVE: pb.TRAINING_ATTENDANCE_STATUS_LEAVE,
}
DURATION_PB = {
    DurationMode.ANY: pb.TRAINING_DURATION_MODE_ANY,
    DurationMode.ALL: pb.TRAINING_DURATION_MODE_ALL,
}
_KIND = {v: k for k, v in KIND_PB.items()}
_STATUS = {v: k for k, v in STATUS_PB.items()}
_MODE = {v: k for k, v in MODE_PB.items()}
_ATTENDANCE = {v: k for k, v in ATTENDANCE_PB.items()}
_DURATION = {v: k for k, v in DURATION_PB.items()}


def hours(hundredths: int) -> Decimal:
    return Decimal(hundredths) / 100


def hundredths(value: Decimal) -> int:
    return int(value * 100)


def _date(value: str) -> date | None:
    return date.fromisoformat(value) if value else None


# ---- writes ----


class CompletionRuleWrite(BaseModel):
    """结业条件. Unset minimums do not apply; at least one requirement is needed."""

    model_config = ConfigDict(extra="forbid")

    min_attendance_percent: int | None = Field(
        default=None, ge=1, le=100, description="出勤率 share of offline sessions attended, %"
    )
    min_class_hours: ClassHours | None = None
    min_days: int | None = Field(default=None, ge=1, le=366, description="distinct days attended")
    duration_mode: DurationMode = DurationMode.ANY
    require_online_courses: bool = Field(
        default=True, description="every online session's course completed"
    )
    citation: Annotated[str, text(0, 1000)] = ""
    note: Annotated[str, text(0, 1000)] = ""

    def to_proto(self) -> pb.TrainingCompletionRule:
        msg = pb.TrainingCompletionRule(
            duration_mode=DURATION_PB[self.duration_mode],
            require_online_courses=self.require_online_courses,
            citation=self.citation,
            note=self.note,
        )
        if self.min_attendance_percent is not None:
            msg.min_attendance_percent = self.min_attendance_percent
        if self.min_class_hours is not None:
            msg.min_class_hours_hundredths = hundredths(self.min_class_hours)
        if self.min_days is not None:
            msg.min_days = self.min_days
        return msg


class TrainingClassCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, text(1, 200)]
    kind: TrainingKind
    organizer_org_id: uuid.UUID = Field(description="举办党组织 the organising organisation")
    organizer_name: Annotated[str, text(1, 200)] = Field(
        description="举办党组织名称, as printed on certificates"
    )
    starts_on: IsoDate
    ends_on: IsoDate
    rule: CompletionRuleWrite | None = Field(
        default=None, description="结业条件; omitted: the kind's default (GET /kinds)"
    )
    auto_close_after_days: int = Field(
        default=0, ge=0, le=366, description="close automatically N days after ends_on; 0 = never"
    )

    def to_proto(self) -> pb.CreateTrainingClassRequest:
        msg = pb.CreateTrainingClassRequest(
            title=self.title, kind=KIND_PB[self.kind], organizer_org_id=str(self.organizer_org_id),
            organizer_name=self.organizer_name, starts_on=self.starts_on.isoformat(),
            ends_on=self.ends_on.isoformat(), auto_close_after_days=self.auto_close_after_days,
        )  # fmt: skip
        if self.rule is not None:
            msg.rule.CopyFrom(self.rule.to_proto())
        return msg


class EnrolmentCreate(BaseModel):
    """A person by the member service's ids (a member record and/or a development case)."""

    model_config = ConfigDict(extra="forbid")

    member_id: uuid.UUID | None = None
    development_case_id: uuid.UUID | None = Field(default=None, description="发展对象/积极分子")
    learner_account_id: uuid.UUID | None = Field(
        default=None, description="the account whose online course completion counts"
    )
    display_name: Annotated[str, text(1, 100)] = Field(description="姓名, as on the certificate")

    def to_proto(self, class_id: uuid.UUID) -> pb.EnrolTraineeRequest:
        return pb.EnrolTraineeRequest(
            class_id=str(class_id), member_id=str(self.member_id or ""),
            development_case_id=str(self.development_case_id or ""),
            learner_account_id=str(self.learner_account_id or ""), display_name=self.display_name,
        )  # fmt: skip


class SessionCreate(BaseModel):
    """Offline: held_on, class_hours (and optionally times and place). Online: course_id (a
    published course; class_hours defaults to the course's)."""

    model_config = ConfigDict(extra="forbid")

    mode: SessionMode
    title: Annotated[str, text(0, 200)] = ""
    held_on: IsoDate | None = None
    starts_at: ClockTime | None = None
    ends_at: ClockTime | None = None
    place: Annotated[str, text(0, 200)] = ""
    class_hours: ClassHours | None = None
    course_id: uuid.UUID | None = None

    def to_proto(self, class_id: uuid.UUID) -> pb.AddTrainingSessionRequest:
        msg = pb.AddTrainingSessionRequest(
            class_id=str(class_id), mode=MODE_PB[self.mode], title=self.title,
            held_on=self.held_on.isoformat() if self.held_on else "",
            starts_at=self.starts_at or "", ends_at=self.ends_at or "", place=self.place,
            course_id=str(self.course_id or ""),
        )  # fmt: skip
        if self.class_hours is not None:
            msg.class_hours_hundredths = hundredths(self.class_hours)
        return msg


class AttendanceEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enrolment_id: uuid.UUID
    status: AttendanceStatus
    note: Annotated[str, text(0, 200)] = ""


class AttendanceWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entries: list[AttendanceEntry] = Field(min_length=1, max_length=500)

    def to_proto(self, class_id: uuid.UUID, session_id: uuid.UUID):
        return pb.RecordTrainingAttendanceRequest(
            class_id=str(class_id), session_id=str(session_id),
            entries=[pb.TrainingAttendanceEntry(enrolment_id=str(e.enrolment_id),
                                                status=ATTENDANCE_PB[e.status], note=e.note)
                     for e in self.entries],
        )  # fmt: skip


# ---- reads ----


class CompletionRuleRead(BaseModel):
    min_attendance_percent: int | None
    min_class_hours: Decimal | None
    min_days: int | None
    duration_mode: DurationMode
    require_online_courses: bool
    citation: str = Field(description="依据 e.g. 《中国共产党发展党员工作细则》")
    note: str

    @classmethod
    def from_proto(cls, r: pb.TrainingCompletionRule) -> CompletionRuleRead:
        return cls(
            min_attendance_percent=(
                r.min_attendance_percent if r.HasField("min_attendance_percent") else None
            ),
            min_class_hours=(
                hours(r.min_class_hours_hundredths)
                if r.HasField("min_class_hours_hundredths") else None
            ),
            min_days=r.min_days if r.HasField("min_days") else None,
            duration_mode=_DURATION.get(r.duration_mode, DurationMode.ANY),
            require_online_courses=r.require_online_courses, citation=r.citation, note=r.note,
        )  # fmt: skip


class KindDefaultRead(BaseModel):
    kind: TrainingKind
    label: str
    rule: CompletionRuleRead


class KindDefaultList(BaseModel):
    items: list[KindDefaultRead]


class TrainingClassRead(BaseModel):
    id: uuid.UUID
    title: str
    kind: TrainingKind
    status: TrainingClassStatus
    organizer_org_id: uuid.UUID
    organizer_name: str
    starts_on: date
    ends_on: date
    rule: CompletionRuleRead
    auto_close_after_days: int
    enrolments: int
    sessions: int
    completions: int
    created_by: str
    created_at: datetime | None
    closed_by: str | None
    closed_at: datetime | None

    @classmethod
    def from_proto(cls, c: pb.TrainingClass) -> TrainingClassRead:
        return cls(
            id=uuid.UUID(c.id), title=c.title, kind=_KIND[c.kind], status=_STATUS[c.status],
            organizer_org_id=uuid.UUID(c.organizer_org_id), organizer_name=c.organizer_name,
            starts_on=date.fromisoformat(c.starts_on), ends_on=date.fromisoformat(c.ends_on),
            rule=CompletionRuleRead.from_proto(c.rule),
            auto_close_after_days=c.auto_close_after_days, enrolments=c.enrolments,
            sessions=c.sessions, completions=c.completions, created_by=c.created_by,
            created_at=timestamp(c, "created_at"), closed_by=c.closed_by or None,
            closed_at=timestamp(c, "closed_at"),
        )  # fmt: skip


TrainingClassPage = Page[TrainingClassRead]


class CompletionRead(BaseModel):
    id: uuid.UUID
    class_hours: Decimal
    days: int
    completed_on: date
    certificate_number: str
    verification_code: str
    recorded_at: datetime | None

    @classmethod
    def from_proto(cls, c: pb.TrainingCompletion) -> CompletionRead:
        return cls(
            id=uuid.UUID(c.id), class_hours=hours(c.class_hours_hundredths), days=c.days,
            completed_on=date.fromisoformat(c.completed_on),
            certificate_number=c.certificate_number, verification_code=c.verification_code,
            recorded_at=timestamp(c, "recorded_at"),
        )  # fmt: skip


class EnrolmentRead(BaseModel):
    id: uuid.UUID
    class_id: uuid.UUID
    member_id: uuid.UUID | None
    development_case_id: uuid.UUID | None
    learner_account_id: str | None
    display_name: str
    enrolled_by: str
    enrolled_at: datetime | None
    completion: CompletionRead | None = Field(description="结业 once completed")

    @classmethod
    def from_proto(cls, e: pb.TrainingEnrolment) -> EnrolmentRead:
        return cls(
            id=uuid.UUID(e.id), class_id=uuid.UUID(e.class_id),
            member_id=uuid.UUID(e.member_id) if e.member_id else None,
            development_case_id=(
                uuid.UUID(e.development_case_id) if e.development_case_id else None
            ),
            learner_account_id=e.learner_account_id or None, display_name=e.display_name,
            enrolled_by=e.enrolled_by, enrolled_at=timestamp(e, "enrolled_at"),
            completion=CompletionRead.from_proto(e.completion) if e.HasField("completion") else None,
        )  # fmt: skip


EnrolmentPage = Page[EnrolmentRead]


class SessionRead(BaseModel):
    id: uuid.UUID
    class_id: uuid.UUID
    mode: SessionMode
    title: str
    held_on: date | None
    starts_at: str | None
    ends_at: str | None
    place: str
    class_hours: Decimal
    course_id: uuid.UUID | None
    course_title: str | None
    created_by: str
    created_at: datetime | None

    @classmethod
    def from_proto(cls, s: pb.TrainingSession) -> SessionRead:
        return cls(
            id=uuid.UUID(s.id), class_id=uuid.UUID(s.class_id), mode=_MODE[s.mode], title=s.title,
            held_on=_date(s.held_on), starts_at=s.starts_at or None, ends_at=s.ends_at or None,
            place=s.place, class_hours=hours(s.class_hours_hundredths),
            course_id=uuid.UUID(s.course_id) if s.course_id else None,
            course_title=s.course_title or None, created_by=s.created_by,
            created_at=timestamp(s, "created_at"),
        )  # fmt: skip


class SessionList(BaseModel):
    items: list[SessionRead]


class AttendanceRecordRead(BaseModel):
    id: uuid.UUID
    session_id: uuid.UUID
    enrolment_id: uuid.UUID
    status: AttendanceStatus
    note: str
    recorded_by: str
    recorded_at: datetime | None
    supersedes_id: uuid.UUID | None = Field(description="the record this one corrects")

    @classmethod
    def from_proto(cls, r: pb.TrainingAttendanceRecord) -> AttendanceRecordRead:
        return cls(
            id=uuid.UUID(r.id), session_id=uuid.UUID(r.session_id),
            enrolment_id=uuid.UUID(r.enrolment_id), status=_ATTENDANCE[r.status], note=r.note,
            recorded_by=r.recorded_by, recorded_at=timestamp(r, "recorded_at"),
            supersedes_id=uuid.UUID(r.supersedes_id) if r.supersedes_id else None,
        )  # fmt: skip


class AttendanceList(BaseModel):
    items: list[AttendanceRecordRead]


class ShortfallRead(BaseModel):
    code: str = Field(
        description="attendance (percent) | days | class_hours (学时) | online_courses (courses) "
        "| nothing_attended"
    )
    required: Decimal
    actual: Decimal
    course_ids: list[uuid.UUID]
    message: str

    @classmethod
    def from_proto(cls, m: pb.TrainingShortfall) -> ShortfallRead:
        unit = hours if m.code == "class_hours" else Decimal
        return cls(
            code=m.code, required=unit(m.required), actual=unit(m.actual),
            course_ids=[uuid.UUID(c) for c in m.course_ids], message=m.message,
        )  # fmt: skip


class TraineeEvaluationRead(BaseModel):
    enrolment: EnrolmentRead
    completed: bool
    class_hours: Decimal
    days: int
    offline_attended: int
    offline_sessions: int
    attendance_percent: int
    online_completed: int
    online_sessions: int
    missing: list[ShortfallRead] = Field(description="what is missing against the rule")

    @classmethod
    def from_proto(cls, x: pb.TrainingEnrolmentEvaluation) -> TraineeEvaluationRead:
        return cls(
            enrolment=EnrolmentRead.from_proto(x.enrolment), completed=x.completed,
            class_hours=hours(x.class_hours_hundredths), days=x.days,
            offline_attended=x.offline_attended, offline_sessions=x.offline_sessions,
            attendance_percent=x.attendance_percent, online_completed=x.online_completed,
            online_sessions=x.online_sessions,
            missing=[ShortfallRead.from_proto(m) for m in x.missing],
        )  # fmt: skip


class ClassEvaluationRead(BaseModel):
    training_class: TrainingClassRead
    trainees: list[TraineeEvaluationRead]
    completed: int
    incomplete: int

    @classmethod
    def from_proto(cls, e: pb.TrainingClassEvaluation) -> ClassEvaluationRead:
        return cls(
            training_class=TrainingClassRead.from_proto(e.training_class),
            trainees=[TraineeEvaluationRead.from_proto(x) for x in e.trainees],
            completed=e.completed, incomplete=e.incomplete,
        )  # fmt: skip


class ClassClosedRead(ClassEvaluationRead):
    newly_completed: int = Field(description="completions recorded by this close")
