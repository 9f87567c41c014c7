"""Use cases of training classes (培训班) and class hours (学时): classes with a completion rule
stored as data (the kind's default, with its citation, unless the organiser gives one),
enrolments, offline sessions with attendance (corrections are new records) and online sessions
whose course completion counts, evaluation, closing (a completion and one TrainingHoursRecorded
event per completed enrolment, never twice) and certificates.

Organisers are tenant admins (the whole tenant) and secretaries (classes organised by their
organisation or one below it); a class outside the caller's scope is NOT_FOUND. A trainee may
fetch their own certificate (the enrolment's learner account).

No transport imports; raises DomainError; never commits.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Protocol, TypeVar

from hongyun_platform.db import Page, UnitOfWork
from hongyun_platform.errors import (
    AlreadyExists,
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
from hongyun_platform.ids import new_id
from sqlalchemy.ext.asyncio import AsyncSession

from learning_service import training_certificate, training_events
from learning_service.domain import training as t
from learning_service.training_models import (
    TrainingAttendance,
    TrainingClass,
    TrainingCompletion,
    TrainingEnrolment,
    TrainingKindDefault,
    TrainingSession,
)
from learning_service.training_repository import (
    AttendanceRepository,
    ClassCounts,
    CompletionRepository,
    EnrolmentRepository,
    KindDefaultRepository,
    SessionRepository,
    TrainingClassRepository,
)

ORGANISERS = (ROLE_TENANT_ADMIN, ROLE_SECRETARY)
READERS = (*ORGANISERS, ROLE_DESCENDANT_READER)
MAX_TITLE = 200
MAX_NAME = 100
MAX_PLACE = 200
MAX_NOTE = 200
MAX_ACCOUNT_ID = 64
MAX_ENTRIES = 500
AUTO_CLOSE_ACTOR = "system:auto-close"
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ACCOUNT = re.compile(r"^[A-Za-z0-9._:@-]+$")
E = TypeVar("E", bound=StrEnum)
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read from paper


class OnlineCompletion(Protocol):
    """The seam to online progress: which (learner account, course) pairs are completed and not
    flagged by anti-gaming checks. Runs in the caller's transaction."""

    async def completed(
        self, session: AsyncSession, tenant_id: uuid.UUID, pairs: set[tuple[str, uuid.UUID]]
    ) -> set[tuple[str, uuid.UUID]]: ...


class NoOnlineCompletion:
    """Nothing is completed online (no progress source)."""

    async def completed(
        self, session: AsyncSession, tenant_id: uuid.UUID, pairs: set[tuple[str, uuid.UUID]]
    ) -> set[tuple[str, uuid.UUID]]:
        return set()


# ---- views ----


@dataclass(frozen=True)
class ClassView:
    row: TrainingClass
    counts: ClassCounts = field(default_factory=ClassCounts)

    @property
    def rule(self) -> t.CompletionRule:
        return rule_of(self.row)


@dataclass(frozen=True)
class EnrolmentView:
    row: TrainingEnrolment
    completion: TrainingCompletion | None = None


@dataclass(frozen=True)
class SessionView:
    row: TrainingSession
    course_title: str = ""


@dataclass(frozen=True)
class TraineeEvaluation:
    enrolment: EnrolmentView
    evaluation: t.Evaluation


@dataclass(frozen=True)
class ClassEvaluation:
    training_class: ClassView
    trainees: list[TraineeEvaluation] = field(default_factory=list)

    @property
    def completed(self) -> int:
        return sum(1 for x in self.trainees if x.evaluation.completed)


@dataclass(frozen=True)
class CloseResult:
    evaluation: ClassEvaluation
    newly_completed: int


@dataclass(frozen=True)
class Certificate:
    file_name: str
    content: bytes
    number: str
    content_type: str = training_certificate.PDF_TYPE


@dataclass(frozen=True)
class RuleInput:
    min_attendance_percent: int | None
    min_class_hours_hundredths: int | None
    min_days: int | None
    duration_mode: str  # "" = any
    require_online_courses: bool
    citation: str
    note: str


def _rule_from(
    row: TrainingClass | TrainingKindDefault, citation: str, note: str
) -> t.CompletionRule:
    return t.CompletionRule(
        min_attendance_percent=row.min_attendance_percent,
        min_class_hours_hundredths=row.min_class_hours_hundredths,
        min_days=row.min_days,
        duration_mode=t.DurationMode(row.duration_mode),
        require_online_courses=row.require_online_courses,
        citation=citation,
        note=note,
    )


def rule_of(row: TrainingClass) -> t.CompletionRule:
    """The completion rule stored on a class."""
    return _rule_from(row, row.rule_citation, row.rule_note)


def default_rule(row: TrainingKindDefault) -> t.CompletionRule:
    """A kind's default completion rule (seeded data)."""
    return _rule_from(row, row.citation, row.note)


# ---- input ----


def parse_uuid(value: str, field_name: str, *, required: bool = True) -> uuid.UUID | None:
    value = (value or "").strip()
    if not value:
        if required:
            raise InvalidArgument(
                f"缺少{field_name} ({field_name} is required)", code="invalid_id", field=field_name
            )
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidArgument(
            f"{field_name}不是有效的ID (not a valid id)", code="invalid_id", field=field_name
        ) from None


def _id(value: str, field_name: str) -> uuid.UUID:
    got = parse_uuid(value, field_name)
    assert got is not None
    return got


def _date(value: str, field_name: str) -> date:
    value = (value or "").strip()
    try:
        if not _DATE.match(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidArgument(
            "日期格式应为 YYYY-MM-DD (date must be YYYY-MM-DD)",
            code="invalid_date",
            field=field_name,
        ) from None


def _time(value: str, field_name: str) -> time | None:
    value = (value or "").strip()
    if not value:
        return None
    m = _TIME.match(value)
    if not m:
        raise InvalidArgument(
            "时间格式应为 HH:MM (time must be HH:MM)", code="invalid_time", field=field_name
        )
    return time(int(m.group(1)), int(m.group(2)))


def _text(value: str, field_name: str, max_length: int, *, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise InvalidArgument(
            f"{field_name}不能为空 ({field_name} is required)", code="invalid_text",
            field=field_name,
        )  # fmt: skip
    if len(value) > max_length:
        raise InvalidArgument(
            f"{field_name}过长，最多{max_length}字 (at most {max_length} characters)",
            code="invalid_text", field=field_name,
        )  # fmt: skip
    return value


def _enum(value: str, enum: type[E], field_name: str) -> E:
    try:
        return enum(value)
    except ValueError:
        raise InvalidArgument(
            f"{field_name}取值无效 (unknown {field_name})", code=f"invalid_{field_name}",
            field=field_name,
        ) from None  # fmt: skip


def _hours(value: int | None, field_name: str) -> int:
    if value is None or not 0 <= value <= t.MAX_CLASS_HOURS_HUNDREDTHS:
        raise InvalidArgument(
            "学时应在0到1000之间，以百分之一学时计 (class hours in hundredths, 0 to 100000)",
            code="invalid_class_hours", field=field_name,
        )  # fmt: skip
    return value


def _not_found_class() -> NotFound:
    return NotFound("培训班不存在 (training class not found)", code="training_class_not_found")


def _scope(caller: CallerContext, roles: Sequence[str] = ORGANISERS) -> uuid.UUID | None:
    """The organisation whose subtree the caller acts on; None = the whole tenant."""
    caller.require_tenant()
    if caller.has_role(ROLE_TENANT_ADMIN) or (
        ROLE_DESCENDANT_READER in roles and caller.has_role(ROLE_DESCENDANT_READER)
    ):
        return None
    if caller.has_role(ROLE_SECRETARY) and ROLE_SECRETARY in roles and caller.scope_org_id:
        return caller.scope_org_id
    raise PermissionDenied(
        "仅党组织管理员或书记可管理培训班 (only tenant admins and secretaries organise training)",
        code="training_organiser_required",
    )


def _new_code(length: int) -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(length))


class Training:
    def __init__(
        self,
        online: OnlineCompletion | None = None,
        *,
        today: Callable[[], date] = t.china_today,
    ):
        self.online = online or NoOnlineCompletion()
        self.today = today

    # ---- kinds ----

    async def kind_defaults(
        self, uow: UnitOfWork, caller: CallerContext
    ) -> list[TrainingKindDefault]:
        _scope(caller, READERS)
        return list(await KindDefaultRepository(uow.session).all())

    # ---- classes ----

    async def _class(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        class_id: str,
        *,
        roles: Sequence[str] = ORGANISERS,
        for_update: bool = False,
    ) -> TrainingClass:
        scope = _scope(caller, roles)
        cid = _id(class_id, "class_id")
        row = await TrainingClassRepository(uow.session).in_scope(
            caller.require_tenant(), cid, scope, for_update=for_update
        )
        if row is None:
            raise _not_found_class()
        return row

    async def _view(self, session: AsyncSession, row: TrainingClass) -> ClassView:
        counts = await TrainingClassRepository(session).counts([row.id])
        return ClassView(row, counts[row.id])

    async def create_class(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        *,
        title: str,
        kind: str,
        organizer_org_id: str,
        organizer_name: str,
        starts_on: str,
        ends_on: str,
        rule: RuleInput | None,
        auto_close_after_days: int = 0,
    ) -> ClassView:
        scope = _scope(caller)
        tenant_id = caller.require_tenant()
        title = _text(title, "title", MAX_TITLE)
        kind_ = _enum(kind, t.ClassKind, "kind")
        org_id = _id(organizer_org_id, "organizer_org_id")
        name = _text(organizer_name, "organizer_name", MAX_TITLE)
        start, end = _date(starts_on, "starts_on"), _date(ends_on, "ends_on")
        try:
            t.check_class_dates(start, end)
        except t.RuleError as exc:
            raise InvalidArgument(str(exc), code="invalid_dates", field=exc.field) from None
        if not 0 <= auto_close_after_days <= t.MAX_DAYS:
            raise InvalidArgument(
                "自动结业天数应在0到366之间 (auto_close_after_days: 0 to 366)",
                code="invalid_auto_close", field="auto_close_after_days",
            )  # fmt: skip
        classes = TrainingClassRepository(uow.session)
        path = await classes.org_path(tenant_id, org_id)
        if scope is not None and (scope not in path if path else org_id != scope):
            raise NotFound(
                "组织不存在或不在管辖范围内 (organisation not found or outside your scope)",
                code="organization_not_found", field="organizer_org_id",
            )  # fmt: skip
        chosen = await self._chosen_rule(uow.session, kind_, rule)
        row = TrainingClass(
            id=new_id(), tenant_id=tenant_id, title=title, kind=kind_.value,
            status=t.ClassStatus.PLANNED.value, organizer_org_id=org_id,
            org_path=path or [org_id], organizer_name=name, starts_on=start, ends_on=end,
            min_attendance_percent=chosen.min_attendance_percent,
            min_class_hours_hundredths=chosen.min_class_hours_hundredths,
            min_days=chosen.min_days, duration_mode=chosen.duration_mode.value,
            require_online_courses=chosen.require_online_courses,
            rule_citation=chosen.citation, rule_note=chosen.note,
            auto_close_after_days=auto_close_after_days, created_by=caller.user_id,
        )  # fmt: skip
        classes.add(row)
        await uow.session.flush()
        await uow.session.refresh(row)
        return ClassView(row)

    async def _chosen_rule(
        self, session: AsyncSession, kind: t.ClassKind, given: RuleInput | None
    ) -> t.CompletionRule:
        if given is None:
            default = await KindDefaultRepository(session).get(kind.value)
            if default is None:
                raise FailedPrecondition(
                    "该类培训没有默认结业条件，请填写 (no default rule for this kind: give one)",
                    code="training_rule_required", field="rule",
                )  # fmt: skip
            return default_rule(default)
        mode = _enum(given.duration_mode or "any", t.DurationMode, "duration_mode")
        rule = t.CompletionRule(
            min_attendance_percent=given.min_attendance_percent,
            min_class_hours_hundredths=given.min_class_hours_hundredths,
            min_days=given.min_days, duration_mode=mode,
            require_online_courses=given.require_online_courses,
            citation=_text(given.citation, "citation", 1000, required=False),
            note=_text(given.note, "note", 1000, required=False),
        )  # fmt: skip
        try:
            return rule.check()
        except t.RuleError as exc:
            raise InvalidArgument(str(exc), code="invalid_rule", field=exc.field) from None

    async def get_class(self, uow: UnitOfWork, caller: CallerContext, class_id: str) -> ClassView:
        row = await self._class(uow, caller, class_id, roles=READERS)
        return await self._view(uow.session, row)

    async def list_classes(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        *,
        organizer_org_id: str = "",
        status: str = "",
        kind: str = "",
        page_size: int = 0,
        page_token: str = "",
    ) -> Page[ClassView]:
        scope = _scope(caller, READERS)
        org_id = parse_uuid(organizer_org_id, "organizer_org_id", required=False)
        status_ = _enum(status, t.ClassStatus, "status").value if status else None
        kind_ = _enum(kind, t.ClassKind, "kind").value if kind else None
        classes = TrainingClassRepository(uow.session)
        page = await classes.page_in_scope(
            caller.require_tenant(), scope, org_id=org_id, status=status_, kind=kind_,
            page_size=page_size, page_token=page_token,
        )  # fmt: skip
        counts = await classes.counts([r.id for r in page.items])
        return Page([ClassView(r, counts[r.id]) for r in page.items], page.next_token)

    async def open_class(self, uow: UnitOfWork, caller: CallerContext, class_id: str) -> ClassView:
        row = await self._class(uow, caller, class_id, for_update=True)
        if row.status != t.ClassStatus.PLANNED:
            raise FailedPrecondition(
                "培训班已开班或已结业 (the class is already open or closed)",
                code="training_class_state",
            )
        row.status = t.ClassStatus.OPEN.value
        row.updated_at = datetime.now(UTC)
        return await self._view(uow.session, row)

    # ---- enrolments ----

    async def enrol(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        class_id: str,
        *,
        member_id: str,
        development_case_id: str,
        learner_account_id: str,
        display_name: str,
    ) -> EnrolmentView:
        row = await self._class(uow, caller, class_id)
        member = parse_uuid(member_id, "member_id", required=False)
        case = parse_uuid(development_case_id, "development_case_id", required=False)
        if member is None and case is None:
            raise InvalidArgument(
                "请填写党员ID或发展对象档案ID (a member id or a development case id is required)",
                code="training_person_required", field="member_id",
            )  # fmt: skip
        account = _text(learner_account_id, "learner_account_id", MAX_ACCOUNT_ID, required=False)
        if account and not _ACCOUNT.match(account):
            raise InvalidArgument(
                "学习账号ID无效 (learner_account_id is not a valid account id)",
                code="invalid_id", field="learner_account_id",
            )  # fmt: skip
        name = _text(display_name, "display_name", MAX_NAME)
        self._not_closed(row)
        enrolment = TrainingEnrolment(
            id=new_id(), tenant_id=row.tenant_id, class_id=row.id, member_id=member,
            development_case_id=case, learner_account_id=account or None, display_name=name,
            enrolled_by=caller.user_id, enrolled_at=datetime.now(UTC),
        )  # fmt: skip
        if not await EnrolmentRepository(uow.session).add_new(enrolment):
            raise AlreadyExists(
                "该人员已报名本培训班 (this person is already enrolled in the class)",
                code="training_already_enrolled",
            )
        return EnrolmentView(enrolment)

    @staticmethod
    def _not_closed(row: TrainingClass) -> None:
        if row.status == t.ClassStatus.CLOSED:
            raise FailedPrecondition(
                "培训班已结业，不能再修改 (the class is closed)", code="training_class_closed"
            )

    async def list_enrolments(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        class_id: str,
        *,
        page_size: int = 0,
        page_token: str = "",
    ) -> Page[EnrolmentView]:
        row = await self._class(uow, caller, class_id, roles=READERS)
        page = await EnrolmentRepository(uow.session).page_of_class(
            row.id, page_size=page_size, page_token=page_token
        )
        done = await CompletionRepository(uow.session).of_enrolments(e.id for e in page.items)
        return Page([EnrolmentView(e, done.get(e.id)) for e in page.items], page.next_token)

    # ---- sessions ----

    async def add_session(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        class_id: str,
        *,
        mode: str,
        title: str,
        held_on: str,
        starts_at: str,
        ends_at: str,
        place: str,
        class_hours_hundredths: int | None,
        course_id: str,
    ) -> SessionView:
        row = await self._class(uow, caller, class_id)
        mode_ = _enum(mode, t.SessionMode, "mode")
        title = _text(title, "title", MAX_TITLE, required=False)
        sessions = SessionRepository(uow.session)
        session = TrainingSession(
            id=new_id(), tenant_id=row.tenant_id, class_id=row.id, mode=mode_.value,
            title=title, created_by=caller.user_id, created_at=datetime.now(UTC),
        )  # fmt: skip
        course_title = ""
        if mode_ == t.SessionMode.OFFLINE:
            if course_id.strip():
                raise InvalidArgument(
                    "线下课程不关联线上课程 (an offline session has no course)",
                    code="training_session_mode", field="course_id",
                )  # fmt: skip
            day = _date(held_on, "held_on")
            if not t.session_in_class(day, row.starts_on, row.ends_on):
                raise InvalidArgument(
                    f"课程日期应在培训班日期内（{row.starts_on}至{row.ends_on}） (the session "
                    "date must be within the class dates)",
                    code="training_session_outside_class", field="held_on",
                )  # fmt: skip
            start, end = _time(starts_at, "starts_at"), _time(ends_at, "ends_at")
            if start and end and end <= start:
                raise InvalidArgument(
                    "结束时间应晚于开始时间 (ends_at must be after starts_at)",
                    code="invalid_time", field="ends_at",
                )  # fmt: skip
            session.held_on, session.starts_at, session.ends_at = day, start, end
            session.place = _text(place, "place", MAX_PLACE, required=False)
            session.class_hours_hundredths = _hours(
                class_hours_hundredths, "class_hours_hundredths"
            )
        else:
            if held_on.strip() or starts_at.strip() or ends_at.strip() or place.strip():
                raise InvalidArgument(
                    "线上课程不设日期、时间和地点 (an online session has no date, time or place)",
                    code="training_session_mode", field="held_on",
                )  # fmt: skip
            cid = _id(course_id, "course_id")
            course = await sessions.published_course(cid)
            if course is None:
                raise NotFound(
                    "课程不存在或未发布 (course not found or not published)",
                    code="course_not_found", field="course_id",
                )  # fmt: skip
            if any(s.course_id == cid for s in await sessions.of_class(row.id)):
                raise AlreadyExists(
                    "该课程已在本培训班中 (the course is already a session of this class)",
                    code="training_course_already_in_class",
                )
            session.course_id = cid
            session.class_hours_hundredths = (
                course.class_hours_hundredths
                if class_hours_hundredths is None
                else _hours(class_hours_hundredths, "class_hours_hundredths")
            )
            course_title = course.title
        self._not_closed(row)
        sessions.add(session)
        await uow.session.flush()
        return SessionView(session, course_title)

    async def list_sessions(
        self, uow: UnitOfWork, caller: CallerContext, class_id: str
    ) -> list[SessionView]:
        row = await self._class(uow, caller, class_id, roles=READERS)
        repo = SessionRepository(uow.session)
        rows = await repo.of_class(row.id)
        titles = await repo.course_titles(s.course_id for s in rows if s.course_id)
        return [SessionView(s, titles.get(s.course_id, "") if s.course_id else "") for s in rows]

    # ---- attendance ----

    async def record_attendance(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        class_id: str,
        session_id: str,
        entries: Sequence[tuple[str, str, str]],  # (enrolment id, status, note)
    ) -> list[TrainingAttendance]:
        row = await self._class(uow, caller, class_id)
        sid = _id(session_id, "session_id")
        parsed: dict[uuid.UUID, tuple[t.AttendanceStatus, str]] = {}
        if not entries or len(entries) > MAX_ENTRIES:
            raise InvalidArgument(
                f"每次登记1到{MAX_ENTRIES}人 (record 1 to {MAX_ENTRIES} entries at a time)",
                code="training_attendance_entries", field="entries",
            )  # fmt: skip
        for enrolment_id, status, note in entries:
            eid = _id(enrolment_id, "enrolment_id")
            if eid in parsed:
                raise InvalidArgument(
                    "同一人在一次登记中出现多次 (an enrolment appears twice)",
                    code="training_attendance_duplicate", field="entries",
                )  # fmt: skip
            parsed[eid] = (
                _enum(status, t.AttendanceStatus, "status"),
                _text(note, "note", MAX_NOTE, required=False),
            )
        session = await SessionRepository(uow.session).in_class(row.id, sid)
        if session is None:
            raise NotFound("课程不存在 (session not found)", code="training_session_not_found")
        if row.status == t.ClassStatus.PLANNED:
            raise FailedPrecondition(
                "培训班尚未开班 (the class is not open yet)", code="training_class_not_open"
            )
        self._not_closed(row)
        if session.mode != t.SessionMode.OFFLINE:
            raise FailedPrecondition(
                "线上课程按课程完成情况计，无需登记出勤 (online sessions count by course "
                "completion, not attendance)",
                code="training_session_online",
            )
        assert session.held_on is not None
        if session.held_on > self.today():
            raise FailedPrecondition(
                "课程尚未举行，不能登记出勤 (the session has not taken place yet)",
                code="training_session_in_future",
            )
        known = await EnrolmentRepository(uow.session).existing(row.id, parsed)
        if unknown := [str(e) for e in parsed if e not in known]:
            raise NotFound(
                f"报名记录不存在 (enrolment not found): {', '.join(unknown[:5])}",
                code="training_enrolment_not_found", field="entries",
            )  # fmt: skip
        attendance = AttendanceRepository(uow.session)
        current = t.current_records(await attendance.of_class(row.id, sid))
        now = datetime.now(UTC)
        out, new = [], []
        for eid, (status, note) in parsed.items():
            before = current.get((sid, eid))
            if before is not None and (before.status, before.note) == (status.value, note):
                out.append(before)  # unchanged: the same request again records nothing
                continue
            record = TrainingAttendance(
                id=new_id(), tenant_id=row.tenant_id, class_id=row.id, session_id=sid,
                enrolment_id=eid, status=status.value, note=note,
                supersedes_id=before.id if before else None, recorded_by=caller.user_id,
                recorded_at=now,
            )  # fmt: skip
            new.append(record)
            out.append(record)
        attendance.add_all(new)
        await uow.session.flush()
        return out

    async def list_attendance(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        class_id: str,
        *,
        session_id: str = "",
        history: bool = False,
    ) -> list[TrainingAttendance]:
        row = await self._class(uow, caller, class_id, roles=READERS)
        sid = parse_uuid(session_id, "session_id", required=False)
        if sid is not None and await SessionRepository(uow.session).in_class(row.id, sid) is None:
            raise NotFound("课程不存在 (session not found)", code="training_session_not_found")
        records = await AttendanceRepository(uow.session).of_class(row.id, sid)
        if history:
            return list(records)
        return sorted(t.current_records(records).values(), key=lambda r: (r.recorded_at, r.id))

    # ---- evaluation, closing ----

    async def _evaluate(self, session: AsyncSession, row: TrainingClass) -> ClassEvaluation:
        sessions = await SessionRepository(session).of_class(row.id)
        enrolments = await EnrolmentRepository(session).of_class(row.id)
        records = t.current_records(await AttendanceRepository(session).of_class(row.id))
        completions = await CompletionRepository(session).of_class(row.id)
        courses = {s.course_id for s in sessions if s.course_id is not None}
        pairs = {
            (e.learner_account_id, c) for e in enrolments if e.learner_account_id for c in courses
        }
        done = await self.online.completed(session, row.tenant_id, pairs) if pairs else set()
        facts = [
            t.SessionFact(
                id=s.id, mode=t.SessionMode(s.mode), held_on=s.held_on,
                class_hours_hundredths=s.class_hours_hundredths, course_id=s.course_id,
            )
            for s in sessions
        ]  # fmt: skip
        rule = rule_of(row)
        trainees = []
        for e in enrolments:
            present = frozenset(
                sid for (sid, eid), r in records.items()
                if eid == e.id and r.status == t.AttendanceStatus.PRESENT
            )  # fmt: skip
            completed = frozenset(
                c for c in courses if e.learner_account_id and (e.learner_account_id, c) in done
            )
            evaluation = t.evaluate(rule, facts, t.TraineeFacts(present, completed))
            trainees.append(TraineeEvaluation(EnrolmentView(e, completions.get(e.id)), evaluation))
        view = await self._view(session, row)
        return ClassEvaluation(view, trainees)

    async def evaluate(
        self, uow: UnitOfWork, caller: CallerContext, class_id: str
    ) -> ClassEvaluation:
        row = await self._class(uow, caller, class_id, roles=READERS)
        return await self._evaluate(uow.session, row)

    async def close_class(
        self, uow: UnitOfWork, caller: CallerContext, class_id: str
    ) -> CloseResult:
        row = await self._class(uow, caller, class_id, for_update=True)
        if row.status == t.ClassStatus.PLANNED:
            raise FailedPrecondition(
                "培训班尚未开班 (the class is not open yet)", code="training_class_not_open"
            )
        self._not_closed(row)
        return await self._close(uow.session, row, caller.user_id)

    async def close_due_class(
        self, uow: UnitOfWork, class_id: uuid.UUID, today: date
    ) -> CloseResult | None:
        """The auto-close job: the class (locked) if it is still open and past its day."""
        tenant_id = uow.tenant_id
        assert tenant_id is not None
        row = await TrainingClassRepository(uow.session).in_scope(
            tenant_id, class_id, None, for_update=True
        )
        if (
            row is None
            or row.status != t.ClassStatus.OPEN
            or not t.auto_close_due(row.ends_on, row.auto_close_after_days, today)
        ):
            return None
        return await self._close(uow.session, row, AUTO_CLOSE_ACTOR, today=today)

    async def _close(
        self, session: AsyncSession, row: TrainingClass, actor: str, today: date | None = None
    ) -> CloseResult:
        day = today or self.today()
        evaluation = await self._evaluate(session, row)
        completions = CompletionRepository(session)
        now = datetime.now(UTC)
        newly = 0
        for trainee in evaluation.trainees:
            ev, enrolment = trainee.evaluation, trainee.enrolment.row
            if not ev.completed or trainee.enrolment.completion is not None:
                continue
            completion_id = new_id()
            on = t.completed_on(ev, row.ends_on, day)
            values = dict(
                id=completion_id, tenant_id=row.tenant_id, class_id=row.id,
                enrolment_id=enrolment.id, class_hours_hundredths=ev.class_hours_hundredths,
                days=ev.days, completed_on=on,
                certificate_number=f"{on.year}-{_new_code(8)}", verification_code=_new_code(8),
                recorded_by=actor, recorded_at=now,
            )  # fmt: skip
            # Unique per enrolment: a concurrent or repeated close records nothing new.
            if not await completions.add_once(values):
                continue
            event_id = await training_events.hours_recorded(
                session, tenant_id=row.tenant_id, completion_id=completion_id,
                member_id=enrolment.member_id, development_case_id=enrolment.development_case_id,
                class_hours_hundredths=ev.class_hours_hundredths, days=ev.days,
                title=row.title, completed_on=on,
            )  # fmt: skip
            await completions.set_event(completion_id, event_id)
            newly += 1
        row.status = t.ClassStatus.CLOSED.value
        row.closed_by, row.closed_at, row.updated_at = actor, now, now
        await session.flush()
        return CloseResult(await self._evaluate(session, row), newly)

    # ---- certificates ----

    async def certificate(
        self, uow: UnitOfWork, caller: CallerContext, class_id: str, enrolment_id: str
    ) -> Certificate:
        tenant_id = caller.require_tenant()
        cid, eid = _id(class_id, "class_id"), _id(enrolment_id, "enrolment_id")
        classes = TrainingClassRepository(uow.session)
        enrolments = EnrolmentRepository(uow.session)
        enrolment = None
        if caller.has_role(*READERS):
            row = await self._class(uow, caller, str(cid), roles=READERS)
            enrolment = await enrolments.in_class(row.id, eid)
        else:  # the trainee's own certificate
            row = await classes.in_scope(tenant_id, cid, None)
            found = await enrolments.in_class(cid, eid) if row else None
            if found is not None and found.learner_account_id == caller.user_id:
                enrolment = found
        if row is None or enrolment is None:
            raise NotFound(
                "报名记录不存在 (enrolment not found)", code="training_enrolment_not_found"
            )
        completion = (await CompletionRepository(uow.session).of_enrolments([eid])).get(eid)
        if completion is None:
            raise FailedPrecondition(
                "尚未结业，没有结业证书 (not completed: no certificate)",
                code="training_not_completed",
            )
        data = training_certificate.CertificateData(
            class_title=row.title, kind=t.ClassKind(row.kind), person_name=enrolment.display_name,
            organizer_name=row.organizer_name, starts_on=row.starts_on, ends_on=row.ends_on,
            class_hours_hundredths=completion.class_hours_hundredths, days=completion.days,
            completed_on=completion.completed_on, number=completion.certificate_number,
            verification_code=completion.verification_code,
        )  # fmt: skip
        content = await asyncio.to_thread(training_certificate.certificate_pdf, data)
        return Certificate(
            file_name=f"结业证书-{completion.certificate_number}.pdf",
            content=content,
            number=completion.certificate_number,
        )
