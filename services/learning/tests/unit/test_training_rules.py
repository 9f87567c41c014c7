"""The completion rule of training classes (domain/training.py) and the defaults per kind seeded by
the migration: 3 days OR 24 class hours for development candidates, attendance share, online
courses, partial attendance with what is missing, and the current attendance record."""

from __future__ import annotations

import importlib.util
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from learning_service.domain import training as t

MIGRATION = (
    Path(__file__).resolve().parents[2] / "migrations" / "versions" / "20261203_0004_training.py"
)
D = date(2026, 5, 4)


def offline(day: int, hours: int) -> t.SessionFact:
    return t.SessionFact(uuid.uuid4(), t.SessionMode.OFFLINE, D + timedelta(days=day), hours)


def online(hours: int) -> t.SessionFact:
    return t.SessionFact(uuid.uuid4(), t.SessionMode.ONLINE, None, hours, uuid.uuid4())


def facts(attended=(), completed=()) -> t.TraineeFacts:
    return t.TraineeFacts(
        frozenset(s.id for s in attended), frozenset(s.course_id for s in completed)
    )


def seeded() -> dict[str, t.CompletionRule]:
    spec = importlib.util.spec_from_file_location("training_migration", MIGRATION)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {
        kind: t.CompletionRule(pct, hours, days, t.DurationMode(mode), online_, citation, note)
        for kind, _, _, pct, hours, days, mode, online_, citation, note in module.DEFAULTS
    }


CANDIDATE = seeded()["development_candidate"]


def test_every_kind_has_a_usable_default_and_the_candidate_rule_carries_its_citation():
    rules = seeded()
    assert set(rules) == {k.value for k in t.ClassKind}
    for rule in rules.values():
        assert rule.check() is rule
    assert (CANDIDATE.min_days, CANDIDATE.min_class_hours_hundredths) == (3, 2400)
    assert CANDIDATE.duration_mode == t.DurationMode.ANY
    assert "《中国共产党发展党员工作细则》" in CANDIDATE.citation
    assert "不少于3天" in CANDIDATE.citation and "24个学时" in CANDIDATE.citation
    # Kinds without a national standard say so and default to attending every session.
    for kind in ("activist", "member_winter", "secretary", "other"):
        assert rules[kind].min_attendance_percent == 100 and "无统一" in rules[kind].note


def test_three_days_complete_a_candidate_even_below_24_hours():
    sessions = [offline(0, 600), offline(1, 600), offline(2, 600)]
    ev = t.evaluate(CANDIDATE, sessions, facts(sessions))
    assert ev.completed and (ev.days, ev.class_hours_hundredths) == (3, 1800)
    assert ev.missing == () and ev.last_attended_on == D + timedelta(days=2)


def test_24_hours_complete_a_candidate_in_two_days():
    sessions = [offline(0, 1200), offline(1, 1200)]
    ev = t.evaluate(CANDIDATE, sessions, facts(sessions))
    assert ev.completed and (ev.days, ev.class_hours_hundredths) == (2, 2400)


def test_partial_attendance_lists_what_is_missing():
    sessions = [offline(0, 800), offline(1, 800), offline(2, 800)]
    ev = t.evaluate(CANDIDATE, sessions, facts(sessions[:2]))
    assert not ev.completed
    assert (ev.days, ev.class_hours_hundredths, ev.offline_attended) == (2, 1600, 2)
    assert [(m.code, m.required, m.actual) for m in ev.missing] == [
        ("days", 3, 2), ("class_hours", 2400, 1600)]  # fmt: skip
    assert "或满足学时要求" in ev.missing[0].message and "16学时" in ev.missing[1].message


def test_days_are_distinct_dates_of_attended_sessions():
    morning, afternoon = offline(0, 400), offline(0, 400)
    sessions = [morning, afternoon, offline(1, 800)]
    ev = t.evaluate(CANDIDATE, sessions, facts([morning, afternoon]))
    assert (ev.days, ev.class_hours_hundredths) == (1, 800)


def test_all_mode_needs_both_days_and_hours():
    rule = t.CompletionRule(min_class_hours_hundredths=2400, min_days=3,
                            duration_mode=t.DurationMode.ALL)  # fmt: skip
    sessions = [offline(0, 600), offline(1, 600), offline(2, 600)]
    ev = t.evaluate(rule, sessions, facts(sessions))
    assert [(m.code, m.required, m.actual) for m in ev.missing] == [("class_hours", 2400, 1800)]
    assert "或" not in ev.missing[0].message


def test_attendance_share_counts_offline_sessions_only():
    sessions = [offline(i, 200) for i in range(4)] + [online(300)]
    rule = t.CompletionRule(min_attendance_percent=100, require_online_courses=False)
    ev = t.evaluate(rule, sessions, facts(sessions[:3]))
    assert (ev.attendance_percent, ev.offline_sessions, ev.offline_attended) == (75, 4, 3)
    assert [(m.code, m.required, m.actual) for m in ev.missing] == [("attendance", 100, 75)]
    relaxed = t.CompletionRule(min_attendance_percent=75, require_online_courses=False)
    assert t.evaluate(relaxed, sessions, facts(sessions[:3])).completed


def test_online_courses_count_when_completed_and_are_required_by_default():
    first, second = online(300), online(200)
    sessions = [offline(0, 800), first, second]
    rule = t.CompletionRule(min_class_hours_hundredths=1000)
    ev = t.evaluate(rule, sessions, facts(sessions[:1], [first]))
    assert ev.class_hours_hundredths == 1100 and (ev.online_completed, ev.online_sessions) == (1, 2)
    (missing,) = ev.missing
    assert missing.code == "online_courses" and missing.course_ids == (second.course_id,)
    assert (missing.required, missing.actual) == (2, 1)
    done = t.evaluate(rule, sessions, facts(sessions[:1], [first, second]))
    assert done.completed and done.class_hours_hundredths == 1300 and done.days == 1


def test_an_online_only_trainee_has_hours_but_no_days():
    course = online(2400)
    ev = t.evaluate(CANDIDATE, [course], facts(completed=[course]))
    assert ev.completed and (ev.days, ev.class_hours_hundredths) == (0, 2400)
    assert ev.last_attended_on is None


def test_nobody_completes_by_attending_nothing():
    rule = t.CompletionRule(min_attendance_percent=50)
    ev = t.evaluate(rule, [], facts())
    assert [m.code for m in ev.missing] == ["nothing_attended"]
    ev = t.evaluate(rule, [offline(0, 100)], facts())
    assert [m.code for m in ev.missing] == ["nothing_attended", "attendance"]


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        (t.CompletionRule(min_attendance_percent=0), "min_attendance_percent"),
        (t.CompletionRule(min_attendance_percent=101), "min_attendance_percent"),
        (t.CompletionRule(min_class_hours_hundredths=0), "min_class_hours_hundredths"),
        (t.CompletionRule(min_class_hours_hundredths=100_001), "min_class_hours_hundredths"),
        (t.CompletionRule(min_days=367), "min_days"),
        (t.CompletionRule(require_online_courses=False), "rule"),
    ],
)
def test_unusable_rules_are_refused(rule, field):
    with pytest.raises(t.RuleError) as e:
        rule.check()
    assert e.value.field == field and "(" in str(e.value)


def test_hours_are_written_as_people_write_them():
    assert [t.hours_text(h) for h in (0, 150, 2400, 1625, 5)] == ["0", "1.5", "24", "16.25", "0.05"]


def test_completed_on_and_auto_close_day():
    ev = t.evaluate(CANDIDATE, [], facts())
    assert t.completed_on(ev, date(2026, 5, 10), date(2026, 6, 1)) == date(2026, 5, 10)
    assert t.completed_on(ev, date(2026, 5, 10), date(2026, 5, 8)) == date(2026, 5, 8)
    assert not t.auto_close_due(date(2026, 5, 10), 0, date(2027, 1, 1))
    assert not t.auto_close_due(date(2026, 5, 10), 7, date(2026, 5, 17))
    assert t.auto_close_due(date(2026, 5, 10), 7, date(2026, 5, 18))


@dataclass
class Rec:
    id: uuid.UUID
    session_id: uuid.UUID
    enrolment_id: uuid.UUID
    recorded_at: datetime
    status: str


def test_the_latest_attendance_record_is_the_current_one():
    s, e1, e2 = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    at = datetime(2026, 5, 4, 9, tzinfo=UTC)
    first = Rec(uuid.uuid4(), s, e1, at, "absent")
    correction = Rec(uuid.uuid4(), s, e1, at + timedelta(hours=1), "present")
    other = Rec(uuid.uuid4(), s, e2, at, "leave")
    current = t.current_records([correction, first, other])
    assert current == {(s, e1): correction, (s, e2): other}
