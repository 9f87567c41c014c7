"""gRPC transport of TrainingService: proto in, use case in one unit of work, proto out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from hongyun.learning.v1 import learning_training_pb2 as pb
from hongyun.learning.v1 import learning_training_pb2_grpc
from hongyun_platform.db import Database
from hongyun_platform.db.caller_uow import caller_unit_of_work
from hongyun_platform.grpc.context import CallerContext, current_caller

from learning_service.domain import training as t
from learning_service.training import (
    ClassEvaluation,
    ClassView,
    EnrolmentView,
    RuleInput,
    SessionView,
    Training,
    default_rule,
)
from learning_service.training_models import TrainingAttendance, TrainingCompletion

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["TrainingService"].full_name

KIND = {
    t.ClassKind.DEVELOPMENT_CANDIDATE: pb.TRAINING_CLASS_KIND_DEVELOPMENT_CANDIDATE,
    t.ClassKind.ACTIVIST: pb.TRAINING_CLASS_KIND_ACTIVIST,
    t.ClassKind.MEMBER_WINTER: pb.TRAINING_CLASS_KIND_MEMBER_WINTER,
    t.ClassKind.SECRETARY: pb.TRAINING_CLASS_KIND_SECRETARY,
    t.ClassKind.OTHER: pb.TRAINING_CLASS_KIND_OTHER,
}
STATUS = {
    t.ClassStatus.PLANNED: pb.TRAINING_CLASS_STATUS_PLANNED,
    t.ClassStatus.OPEN: pb.TRAINING_CLASS_STATUS_OPEN,
    t.ClassStatus.CLOSED: pb.TRAINING_CLASS_STATUS_CLOSED,
}
MODE = {
    t.SessionMode.OFFLINE: pb.TRAINING_SESSION_MODE_OFFLINE,
    t.SessionMode.ONLINE: pb.TRAINING_SESSION_MODE_ONLINE,
}
ATTENDANCE = {
    t.AttendanceStatus.PRESENT: pb.TRAINING_ATTENDANCE_STATUS_PRESENT,
    t.AttendanceStatus.ABSENT: pb.TRAINING_ATTENDANCE_STATUS_ABSENT,
    t.AttendanceStatus.LEAVE: pb.TRAINING_ATTENDANCE_STATUS_LEAVE,
}
DURATION = {
    t.DurationMode.ANY: pb.TRAINING_DURATION_MODE_ANY,
    t.DurationMode.ALL: pb.TRAINING_DURATION_MODE_ALL,
}


def _back(table: dict) -> dict[int, str]:
    """proto enum value → domain value; UNSPECIFIED (and unknown numbers) → "" (invalid)."""
    return {v: k.value for k, v in table.items()}


KIND_FROM, STATUS_FROM, MODE_FROM = _back(KIND), _back(STATUS), _back(MODE)
ATTENDANCE_FROM, DURATION_FROM = _back(ATTENDANCE), _back(DURATION)


def _ts(msg: Any, name: str, value: datetime | None) -> None:
    if value is not None:
        ts = Timestamp()
        ts.FromDatetime(value)
        getattr(msg, name).CopyFrom(ts)


def rule_pb(rule: t.CompletionRule) -> pb.TrainingCompletionRule:
    msg = pb.TrainingCompletionRule(
        duration_mode=DURATION[rule.duration_mode],
        require_online_courses=rule.require_online_courses,
        citation=rule.citation,
        note=rule.note,
    )
    if rule.min_attendance_percent is not None:
        msg.min_attendance_percent = rule.min_attendance_percent
    if rule.min_class_hours_hundredths is not None:
        msg.min_class_hours_hundredths = rule.min_class_hours_hundredths
    if rule.min_days is not None:
        msg.min_days = rule.min_days
    return msg


def rule_input(msg: pb.TrainingCompletionRule) -> RuleInput:
    def opt(name: str) -> int | None:
        return getattr(msg, name) if msg.HasField(name) else None

    mode = DURATION_FROM.get(msg.duration_mode, "invalid") if msg.duration_mode else ""
    return RuleInput(
        min_attendance_percent=opt("min_attendance_percent"),
        min_class_hours_hundredths=opt("min_class_hours_hundredths"),
        min_days=opt("min_days"),
        duration_mode=mode,
        require_online_courses=msg.require_online_courses,
        citation=msg.citation,
        note=msg.note,
    )


def class_pb(v: ClassView) -> pb.TrainingClass:
    r = v.row
    msg = pb.TrainingClass(
        id=str(r.id), title=r.title, kind=KIND[t.ClassKind(r.kind)],
        status=STATUS[t.ClassStatus(r.status)], organizer_org_id=str(r.organizer_org_id),
        organizer_name=r.organizer_name, starts_on=r.starts_on.isoformat(),
        ends_on=r.ends_on.isoformat(), rule=rule_pb(v.rule),
        auto_close_after_days=r.auto_close_after_days, enrolments=v.counts.enrolments,
        sessions=v.counts.sessions, completions=v.counts.completions, created_by=r.created_by,
        closed_by=r.closed_by,
    )  # fmt: skip
    _ts(msg, "created_at", r.created_at)
    _ts(msg, "closed_at", r.closed_at)
    return msg


def completion_pb(c: TrainingCompletion) -> pb.TrainingCompletion:
    msg = pb.TrainingCompletion(
        id=str(c.id), class_hours_hundredths=c.class_hours_hundredths, days=c.days,
        completed_on=c.completed_on.isoformat(), certificate_number=c.certificate_number,
        verification_code=c.verification_code,
    )  # fmt: skip
    _ts(msg, "recorded_at", c.recorded_at)
    return msg


def enrolment_pb(v: EnrolmentView) -> pb.TrainingEnrolment:
    e = v.row
    msg = pb.TrainingEnrolment(
        id=str(e.id), class_id=str(e.class_id), member_id=str(e.member_id or ""),
        development_case_id=str(e.development_case_id or ""),
        learner_account_id=e.learner_account_id or "", display_name=e.display_name,
        enrolled_by=e.enrolled_by,
    )  # fmt: skip
    _ts(msg, "enrolled_at", e.enrolled_at)
    if v.completion is not None:
        msg.completion.CopyFrom(completion_pb(v.completion))
    return msg


def session_pb(v: SessionView) -> pb.TrainingSession:
    s = v.row
    msg = pb.TrainingSession(
        id=str(s.id), class_id=str(s.class_id), mode=MODE[t.SessionMode(s.mode)], title=s.title,
        held_on=s.held_on.isoformat() if s.held_on else "",
        starts_at=s.starts_at.strftime("%H:%M") if s.starts_at else "",
        ends_at=s.ends_at.strftime("%H:%M") if s.ends_at else "", place=s.place,
        class_hours_hundredths=s.class_hours_hundredths, course_id=str(s.course_id or ""),
        course_title=v.course_title, created_by=s.created_by,
    )  # fmt: skip
    _ts(msg, "created_at", s.created_at)
    return msg


def attendance_pb(r: TrainingAttendance) -> pb.TrainingAttendanceRecord:
    msg = pb.TrainingAttendanceRecord(
        id=str(r.id), session_id=str(r.session_id), enrolment_id=str(r.enrolment_id),
        status=ATTENDANCE[t.AttendanceStatus(r.status)], note=r.note,
        recorded_by=r.recorded_by, supersedes_id=str(r.supersedes_id or ""),
    )  # fmt: skip
    _ts(msg, "recorded_at", r.recorded_at)
    return msg


def evaluation_pb(e: ClassEvaluation) -> pb.TrainingClassEvaluation:
    trainees = []
    for x in e.trainees:
        ev = x.evaluation
        trainees.append(
            pb.TrainingEnrolmentEvaluation(
                enrolment=enrolment_pb(x.enrolment), completed=ev.completed,
                class_hours_hundredths=ev.class_hours_hundredths, days=ev.days,
                offline_attended=ev.offline_attended, offline_sessions=ev.offline_sessions,
                attendance_percent=ev.attendance_percent, online_completed=ev.online_completed,
                online_sessions=ev.online_sessions,
                missing=[
                    pb.TrainingShortfall(
                        code=m.code, required=m.required, actual=m.actual, message=m.message,
                        course_ids=[str(c) for c in m.course_ids],
                    )
                    for m in ev.missing
                ],
            )
        )  # fmt: skip
    return pb.TrainingClassEvaluation(
        training_class=class_pb(e.training_class),
        trainees=trainees,
        completed=e.completed,
        incomplete=len(e.trainees) - e.completed,
    )


class TrainingServicer(learning_training_pb2_grpc.TrainingServiceServicer):
    def __init__(self, db: Database, training: Training, *, after_commit: Callable[[], None]):
        self.db = db
        self.training = training
        self.after_commit = after_commit  # wakes the outbox relay

    def _uow(self, caller: CallerContext, *, writes: bool = True):
        return caller_unit_of_work(self.db, caller, self.after_commit, writes=writes)

    async def ListTrainingKindDefaults(self, request, context):
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            rows = await self.training.kind_defaults(uow, caller)
            return pb.ListTrainingKindDefaultsResponse(
                defaults=[
                    pb.TrainingKindDefault(
                        kind=KIND[t.ClassKind(r.kind)], label=r.label, rule=rule_pb(default_rule(r))
                    )
                    for r in rows
                ]
            )

    async def CreateTrainingClass(self, request, context):
        caller = current_caller()
        async with self._uow(caller) as uow:
            view = await self.training.create_class(
                uow, caller, title=request.title, kind=KIND_FROM.get(request.kind, ""),
                organizer_org_id=request.organizer_org_id, organizer_name=request.organizer_name,
                starts_on=request.starts_on, ends_on=request.ends_on,
                rule=rule_input(request.rule) if request.HasField("rule") else None,
                auto_close_after_days=request.auto_close_after_days,
            )  # fmt: skip
            return pb.CreateTrainingClassResponse(training_class=class_pb(view))

    async def GetTrainingClass(self, request, context):
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            view = await self.training.get_class(uow, caller, request.id)
            return pb.GetTrainingClassResponse(training_class=class_pb(view))

    async def ListTrainingClasses(self, request, context):
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            page = await self.training.list_classes(
                uow, caller, organizer_org_id=request.organizer_org_id,
                status=STATUS_FROM.get(request.status, "invalid") if request.status else "",
                kind=KIND_FROM.get(request.kind, "invalid") if request.kind else "",
                page_size=request.page_size, page_token=request.page_token,
            )  # fmt: skip
            return pb.ListTrainingClassesResponse(
                training_classes=[class_pb(v) for v in page.items],
                next_page_token=page.next_token,
            )

    async def OpenTrainingClass(self, request, context):
        caller = current_caller()
        async with self._uow(caller) as uow:
            view = await self.training.open_class(uow, caller, request.id)
            return pb.OpenTrainingClassResponse(training_class=class_pb(view))

    async def EnrolTrainee(self, request, context):
        caller = current_caller()
        async with self._uow(caller) as uow:
            view = await self.training.enrol(
                uow, caller, request.class_id, member_id=request.member_id,
                development_case_id=request.development_case_id,
                learner_account_id=request.learner_account_id, display_name=request.display_name,
            )  # fmt: skip
            return pb.EnrolTraineeResponse(enrolment=enrolment_pb(view))

    async def ListTrainingEnrolments(self, request, context):
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            page = await self.training.list_enrolments(
                uow, caller, request.class_id, page_size=request.page_size,
                page_token=request.page_token,
            )  # fmt: skip
            return pb.ListTrainingEnrolmentsResponse(
                enrolments=[enrolment_pb(v) for v in page.items], next_page_token=page.next_token
            )

    async def AddTrainingSession(self, request, context):
        caller = current_caller()
        async with self._uow(caller) as uow:
            view = await self.training.add_session(
                uow, caller, request.class_id, mode=MODE_FROM.get(request.mode, ""),
                title=request.title, held_on=request.held_on, starts_at=request.starts_at,
                ends_at=request.ends_at, place=request.place,
                class_hours_hundredths=(
                    request.class_hours_hundredths
                    if request.HasField("class_hours_hundredths") else None
                ),
                course_id=request.course_id,
            )  # fmt: skip
            return pb.AddTrainingSessionResponse(session=session_pb(view))

    async def ListTrainingSessions(self, request, context):
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            views = await self.training.list_sessions(uow, caller, request.class_id)
            return pb.ListTrainingSessionsResponse(sessions=[session_pb(v) for v in views])

    async def RecordTrainingAttendance(self, request, context):
        caller = current_caller()
        async with self._uow(caller) as uow:
            records = await self.training.record_attendance(
                uow, caller, request.class_id, request.session_id,
                [(e.enrolment_id, ATTENDANCE_FROM.get(e.status, ""), e.note)
                 for e in request.entries],
            )  # fmt: skip
            return pb.RecordTrainingAttendanceResponse(records=[attendance_pb(r) for r in records])

    async def ListTrainingAttendance(self, request, context):
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            records = await self.training.list_attendance(
                uow, caller, request.class_id, session_id=request.session_id,
                history=request.history,
            )  # fmt: skip
            return pb.ListTrainingAttendanceResponse(records=[attendance_pb(r) for r in records])

    async def EvaluateTrainingClass(self, request, context):
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            evaluation = await self.training.evaluate(uow, caller, request.id)
            return pb.EvaluateTrainingClassResponse(evaluation=evaluation_pb(evaluation))

    async def CloseTrainingClass(self, request, context):
        caller = current_caller()
        async with self._uow(caller) as uow:
            result = await self.training.close_class(uow, caller, request.id)
            return pb.CloseTrainingClassResponse(
                evaluation=evaluation_pb(result.evaluation),
                newly_completed=result.newly_completed,
            )

    async def GetTrainingCertificate(self, request, context):
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            cert = await self.training.certificate(
                uow, caller, request.class_id, request.enrolment_id
            )
            return pb.GetTrainingCertificateResponse(
                file_name=cert.file_name, content_type=cert.content_type, content=cert.content,
                certificate_number=cert.number,
            )  # fmt: skip
