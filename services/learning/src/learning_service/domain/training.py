"""Pure rules of training classes (培训班): the completion rule stored on a class and its
evaluation for one trainee, from the sessions of the class and what the trainee attended.

- days: distinct dates of offline sessions attended (present);
- class hours (hundredths, 150 = 1.5 学时): summed over attended offline sessions and completed
  online sessions;
- attendance share: offline sessions attended / offline sessions of the class (an online session
  counts through its course instead: `require_online_courses`);
- minimum days and minimum hours combine with ANY (发展对象: 3 days or 24 hours, either suffices)
  or ALL.

No I/O: the use cases gather the facts and store the outcome.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum
from typing import Protocol, TypeVar

CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")

# Bounds of what a rule or a session may say (input validation, not domain timing).
MAX_CLASS_HOURS_HUNDREDTHS = 100_000  # 1000 hours
MAX_DAYS = 366


def china_today() -> date:
    """Dates users see are calendar dates in China (UTC+8, no DST)."""
    return datetime.now(CHINA_TZ).date()


class ClassKind(StrEnum):
    DEVELOPMENT_CANDIDATE = "development_candidate"  # 发展对象短期集中培训
    ACTIVIST = "activist"  # 入党积极分子培训
    MEMBER_WINTER = "member_winter"  # 党员冬训
    SECRETARY = "secretary"  # 书记培训
    OTHER = "other"


class ClassStatus(StrEnum):
    PLANNED = "planned"
    OPEN = "open"
    CLOSED = "closed"


class SessionMode(StrEnum):
    OFFLINE = "offline"
    ONLINE = "online"


class AttendanceStatus(StrEnum):
    PRESENT = "present"
    ABSENT = "absent"
    LEAVE = "leave"  # 请假: excused, still not attended


class DurationMode(StrEnum):
    ANY = "any"  # minimum days or minimum hours suffices
    ALL = "all"  # both are needed


class RuleError(ValueError):
    """A rule that cannot be applied; `field` names the offending part."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class CompletionRule:
    min_attendance_percent: int | None = None
    min_class_hours_hundredths: int | None = None
    min_days: int | None = None
    duration_mode: DurationMode = DurationMode.ANY
    require_online_courses: bool = True
    citation: str = ""
    note: str = ""

    def check(self) -> CompletionRule:
        """The rule itself, if it is usable; RuleError otherwise."""
        p, h, d = self.min_attendance_percent, self.min_class_hours_hundredths, self.min_days
        if p is not None and not 1 <= p <= 100:
            raise RuleError(
                "出勤率要求应在1到100之间 (attendance share: 1 to 100 percent)",
                "min_attendance_percent",
            )
        if h is not None and not 1 <= h <= MAX_CLASS_HOURS_HUNDREDTHS:
            raise RuleError(
                "学时要求应大于0且不超过1000学时 (class hours: more than 0, at most 1000)",
                "min_class_hours_hundredths",
            )
        if d is not None and not 1 <= d <= MAX_DAYS:
            raise RuleError("天数要求应在1到366之间 (days: 1 to 366)", "min_days")
        if p is None and h is None and d is None and not self.require_online_courses:
            raise RuleError(
                "结业条件至少需要一项要求 (a completion rule needs at least one requirement)",
                "rule",
            )
        return self


@dataclass(frozen=True)
class SessionFact:
    id: uuid.UUID
    mode: SessionMode
    held_on: date | None  # offline sessions
    class_hours_hundredths: int
    course_id: uuid.UUID | None = None  # online sessions


@dataclass(frozen=True)
class TraineeFacts:
    present_session_ids: frozenset[uuid.UUID]  # offline sessions whose current record is present
    completed_course_ids: frozenset[uuid.UUID]  # online courses the trainee completed (un-flagged)


@dataclass(frozen=True)
class Shortfall:
    code: str  # attendance | days | class_hours | online_courses | nothing_attended
    required: int
    actual: int
    message: str
    course_ids: tuple[uuid.UUID, ...] = ()


@dataclass(frozen=True)
class Evaluation:
    completed: bool
    class_hours_hundredths: int
    days: int
    offline_attended: int
    offline_sessions: int
    attendance_percent: int  # rounded down; 100 when the class has no offline session
    online_completed: int
    online_sessions: int
    last_attended_on: date | None
    missing: tuple[Shortfall, ...] = field(default_factory=tuple)


def hours_text(hundredths: int) -> str:
    """150 → "1.5", 2400 → "24" (class hours as people write them)."""
    whole, frac = divmod(hundredths, 100)
    return f"{whole}" if not frac else f"{whole}.{frac:02d}".rstrip("0")


def evaluate(
    rule: CompletionRule, sessions: Sequence[SessionFact], facts: TraineeFacts
) -> Evaluation:
    offline = [s for s in sessions if s.mode == SessionMode.OFFLINE]
    online = [s for s in sessions if s.mode == SessionMode.ONLINE]
    attended = [s for s in offline if s.id in facts.present_session_ids]
    done = [s for s in online if s.course_id in facts.completed_course_ids]
    dates = {s.held_on for s in attended if s.held_on is not None}
    days = len(dates)
    hours = sum(s.class_hours_hundredths for s in attended) + sum(
        s.class_hours_hundredths for s in done
    )
    percent = (len(attended) * 100 // len(offline)) if offline else 100
    missing: list[Shortfall] = []

    if not attended and not done:
        missing.append(Shortfall("nothing_attended", 1, 0, "未参加任何课程 (attended no session)"))
    p = rule.min_attendance_percent
    if p is not None and offline and percent < p:
        missing.append(
            Shortfall(
                "attendance", p, percent,
                f"出勤率{percent}%，要求不低于{p}% (attended {percent}% of the sessions, "
                f"{p}% required)",
            )
        )  # fmt: skip
    missing += _duration_shortfalls(rule, days, hours)
    if rule.require_online_courses:
        not_done = tuple(
            sorted({s.course_id for s in online if s.course_id is not None}
                   - facts.completed_course_ids, key=str)
        )  # fmt: skip
        if not_done:
            total = len({s.course_id for s in online})
            missing.append(
                Shortfall(
                    "online_courses", total, total - len(not_done),
                    f"尚有{len(not_done)}门线上课程未完成 ({len(not_done)} online course(s) "
                    "not completed)",
                    not_done,
                )
            )  # fmt: skip
    return Evaluation(
        completed=not missing,
        class_hours_hundredths=hours,
        days=days,
        offline_attended=len(attended),
        offline_sessions=len(offline),
        attendance_percent=percent,
        online_completed=len(done),
        online_sessions=len(online),
        last_attended_on=max(dates) if dates else None,
        missing=tuple(missing),
    )


def _duration_shortfalls(rule: CompletionRule, days: int, hours: int) -> list[Shortfall]:
    d, h = rule.min_days, rule.min_class_hours_hundredths
    days_short = d is not None and days < d
    hours_short = h is not None and hours < h
    either = rule.duration_mode == DurationMode.ANY and d is not None and h is not None
    if either and not (days_short and hours_short):
        return []  # one of the two suffices
    out = []
    alt = "（或满足学时要求）" if either else ""
    alt_en = " (or the class hours)" if either else ""
    if days_short:
        assert d is not None
        out.append(
            Shortfall(
                "days", d, days,
                f"培训{days}天，要求不少于{d}天{alt} (trained {days} day(s), {d} required{alt_en})",
            )
        )  # fmt: skip
    alt = "（或满足天数要求）" if either else ""
    alt_en = " (or the days)" if either else ""
    if hours_short:
        assert h is not None
        out.append(
            Shortfall(
                "class_hours", h, hours,
                f"{hours_text(hours)}学时，要求不少于{hours_text(h)}学时{alt} "
                f"({hours_text(hours)} class hours, {hours_text(h)} required{alt_en})",
            )
        )  # fmt: skip
    return out


def completed_on(evaluation: Evaluation, ends_on: date, today: date) -> date:
    """The day the training was completed: the last attended session, else the class's end (or
    today, when it ends later: a class closed early)."""
    return evaluation.last_attended_on or min(ends_on, today)


def auto_close_due(ends_on: date, after_days: int, today: date) -> bool:
    """A class set to close itself `after_days` after its end (0 = by hand only)."""
    return after_days > 0 and today > ends_on + timedelta(days=after_days)


def check_class_dates(starts_on: date, ends_on: date) -> None:
    if ends_on < starts_on:
        raise RuleError("结束日期不能早于开始日期 (ends before it starts)", "ends_on")


def session_in_class(held_on: date, starts_on: date, ends_on: date) -> bool:
    return starts_on <= held_on <= ends_on


class AttendanceRow(Protocol):  # what current_records reads (an ORM row or a fake)
    id: uuid.UUID
    session_id: uuid.UUID
    enrolment_id: uuid.UUID
    recorded_at: datetime


R = TypeVar("R", bound=AttendanceRow)


def current_records(records: Iterable[R]) -> dict[tuple[uuid.UUID, uuid.UUID], R]:
    """The current attendance per (session, enrolment): the latest record (corrections are new
    records; ids are UUIDv7, so on equal times the later id is the later record)."""
    out: dict[tuple[uuid.UUID, uuid.UUID], R] = {}
    for r in records:
        key = (r.session_id, r.enrolment_id)
        if key not in out or (r.recorded_at, r.id) > (out[key].recorded_at, out[key].id):
            out[key] = r
    return out
