"""The development pipeline's pure rules (domain/development.py): the catalogue, every rule with
its boundary dates (the day before, on and after each limit; leap days), and `evaluate`.

Rule values and citations are the national defaults seeded by migration 20261203_0011, loaded
from the migration itself; overrides are built as a tenant would set them."""

from __future__ import annotations

import importlib.util
import uuid
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from hongyun_platform.errors import InvalidArgument
from member_service.domain import development as dev
from member_service.domain import lifecycle_rules as lr
from member_service.domain.development import (
    CaseFacts,
    CaseStatus,
    Decision,
    DueStep,
    Extension,
    MemberFacts,
    RuleViolation,
    Step,
    Training,
    Votes,
)
from member_service.domain.profile import Category, PartyStatus
from member_service.domain.rules import EffectiveRule, RuleSource

SEED = Path(__file__).parents[2] / "migrations" / "versions" / "20261203_0011_lifecycle_rules.py"
TODAY = date(2027, 6, 1)


def _national() -> dict[str, EffectiveRule]:
    spec = importlib.util.spec_from_file_location("lifecycle_seed_dev", SEED)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {
        key: EffectiveRule(key, value, citation, since, note, RuleSource.NATIONAL, None, None)
        for key, value, citation, since, note in module.NATIONAL
    }


NATIONAL = _national()


def rules(**overrides) -> dict[str, EffectiveRule]:
    """National rules with some values overridden, e.g. rules(**{lr.DEV_INTRODUCERS: 3})."""
    out = dict(NATIONAL)
    for key, value in overrides.items():
        out[key] = replace(out[key], value=value, citation=f"本省规定 {key}",
                           source=RuleSource.TENANT)  # fmt: skip
    return out


R = rules()
FULL = MemberFacts(Category.FULL, PartyStatus.NORMAL, "老党员")
PROBATIONARY = MemberFacts(Category.PROBATIONARY, PartyStatus.NORMAL, "预备党员")
SUSPENDED = MemberFacts(Category.FULL, PartyStatus.SUSPENDED, "停止党籍")
A, B, C = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
MEMBERS = {A: FULL, B: FULL, C: FULL}
ADULT = CaseFacts(birth_date=date(1990, 5, 1))
VOTES_OK = Votes(entitled=10, present=8, yes=7, no=1)
YES = Decision.APPROVED


def d(s: str) -> date:
    return date.fromisoformat(s)


def step(n: int, on: str | date, **kw) -> Step:
    on = d(on) if isinstance(on, str) else on
    defaults: dict = {}
    if n == 5:
        defaults["member_ids"] = (A,)
    if n == 9:
        defaults["member_ids"] = (A, B)
    if n in (10, 17, 24):
        defaults["decision"] = YES
    if n in (15, 23):
        defaults["votes"] = VOTES_OK
    if n == 11:
        defaults["training_days"] = 3
    if n == 12:
        defaults["publicity_from"] = on - timedelta(days=14)
        defaults["publicity_to"] = on - timedelta(days=1)
    defaults.update(kw)
    return Step(number=n, on=on, **defaults)


def pipeline(upto: int, start: str = "2024-01-10") -> list[Step]:
    """Steps 1..upto at dates that satisfy every national rule."""
    day = d(start)
    dates = {1: day}
    for n in range(2, 26):
        gap = {7: 370, 17: 20, 24: 370}.get(n, 5)
        dates[n] = dates[n - 1] + timedelta(days=gap)
    return [step(n, dates[n]) for n in range(1, upto + 1)]


def status_for(steps: list[Step]) -> CaseStatus:
    last = steps[-1].number if steps else 0
    if last >= 24:
        return CaseStatus.CONVERTED
    if last >= 17:
        return CaseStatus.ADMITTED
    return CaseStatus.OPEN


def check(steps: list[Step], new: Step, *, case: CaseFacts = ADULT, rules_=R, members=MEMBERS,
          training=(), today: date = TODAY) -> None:  # fmt: skip
    case = replace(case, status=status_for(steps)) if case.status == CaseStatus.OPEN else case
    dev.check_step(case, steps, new, rules_, members=members, training=training, today=today)


def refused(steps: list[Step], new: Step, **kw) -> RuleViolation:
    with pytest.raises(RuleViolation) as exc:
        check(steps, new, **kw)
    return exc.value


# ---- the catalogue ----


def test_the_catalogue_has_25_steps_in_5_stages_in_order():
    assert sorted(dev.STEPS) == list(range(1, 26))
    stages = [dev.STEPS[n].stage for n in range(1, 26)]
    assert stages == sorted(stages) and set(stages) == {1, 2, 3, 4, 5}
    assert [n for n in range(1, 26) if dev.STEPS[n].stage == 1] == [1, 2]
    assert [n for n in range(1, 26) if dev.STEPS[n].stage == 4] == list(range(12, 19))
    assert dev.STEPS[6].repeatable and not dev.STEPS[7].repeatable
    assert dev.STEPS[5].records == {dev.Record.CONTACTS}
    assert dev.STEPS[9].records == {dev.Record.INTRODUCERS}
    assert dev.STEPS[15].records == dev.STEPS[23].records == {dev.Record.VOTES}
    assert dev.STEPS[17].records == {dev.Record.DECISION}
    assert dev.STEPS[12].records == {dev.Record.PUBLICITY}
    assert dev.STEPS[11].records == {dev.Record.TRAINING}
    assert all(s.name_zh and s.name_en and s.actor_zh for s in dev.STEPS.values())


def test_every_rule_key_the_pipeline_reads_is_a_lifecycle_rule():
    keys = {s.key for s in lr.SPECS}
    assert set(dev.RULE_KEYS) <= keys
    assert set(dev.DUE_RULE.values()) <= keys


def test_a_full_pipeline_at_valid_dates_passes_every_check():
    steps = pipeline(25)
    for i in range(len(steps)):
        check(steps[:i], steps[i])


# ---- order ----


def test_steps_go_in_order_and_name_the_missing_one():
    steps = pipeline(2)
    err = refused(steps, step(4, "2024-03-01"))
    assert err.code == "rule_violated" and err.rule_key == dev.STEP_ORDER
    assert "第3步" in err.message and dev.STEP_ORDER_CITATION in err.message
    assert refused([], step(2, "2024-01-10")).rule_key == dev.STEP_ORDER
    assert "已记录" in refused(steps, step(2, "2024-03-01")).message
    assert "已记录" in refused(steps, step(1, "2024-03-01")).message


def test_the_activist_review_may_repeat_but_other_steps_may_not():
    steps = pipeline(6)
    check(steps, step(6, steps[-1].on + timedelta(days=180)))
    steps5 = pipeline(5)
    refused(steps5, step(5, steps5[-1].on + timedelta(days=1)))


def test_a_step_cannot_be_dated_before_the_previous_one():
    steps = pipeline(3)
    err = refused(steps, step(4, steps[-1].on - timedelta(days=1)))
    assert err.rule_key == dev.STEP_ORDER and err.field == "date"
    check(steps, step(4, steps[-1].on))  # the same day is fine


def test_a_closed_case_takes_no_steps():
    steps = pipeline(3)
    case = replace(ADULT, status=CaseStatus.CLOSED)
    with pytest.raises(RuleViolation):
        dev.check_step(case, steps, step(4, "2024-06-01"), R, today=TODAY)


def test_a_future_date_and_records_a_step_does_not_take_are_invalid():
    with pytest.raises(InvalidArgument) as exc:
        check([], step(1, TODAY + timedelta(days=1)))
    assert exc.value.code == "future_date"
    check([], step(1, TODAY))
    steps = pipeline(2)
    with pytest.raises(InvalidArgument) as exc:
        check(steps, step(3, "2024-03-01", votes=VOTES_OK))
    assert exc.value.field == "votes"
    with pytest.raises(InvalidArgument):
        check(pipeline(14), step(15, "2024-06-01", votes=None))
    with pytest.raises(InvalidArgument):
        check(pipeline(16), step(17, "2024-06-01", decision=Decision.NONE))
    with pytest.raises(InvalidArgument) as exc:
        check(pipeline(8), step(9, "2024-06-01", member_ids=(A, A)))
    assert exc.value.code == "duplicate_member"
    with pytest.raises(InvalidArgument) as exc:
        check(pipeline(25), step(26, "2024-06-01"))
    assert exc.value.code == "unknown_step"


# ---- age at application ----


@pytest.mark.parametrize(
    ("born", "applied", "ok"),
    [
        # Born on a leap day: the 18th birthday is 2026-02-28 (clamped), not 2026-03-01.
        ("2008-02-29", "2026-02-27", False),
        ("2008-02-29", "2026-02-28", True),
        ("2008-02-29", "2026-03-01", True),
        ("2008-03-01", "2026-02-28", False),
        ("2008-03-01", "2026-03-01", True),
        ("2006-06-15", "2024-06-14", False),
        ("2006-06-15", "2024-06-15", True),
        ("2006-06-15", "2024-06-16", True),
    ],
)
def test_the_applicant_is_of_age_on_the_application_date(born, applied, ok):
    case = CaseFacts(birth_date=d(born))
    if ok:
        check([], step(1, applied), case=case)
        return
    err = refused([], step(1, applied), case=case)
    assert err.rule_key == lr.DEV_MIN_AGE_YEARS and err.field == "date"
    assert NATIONAL[lr.DEV_MIN_AGE_YEARS].citation in err.message
    assert "未满18周岁" in err.message and "under 18" in err.message


def test_the_minimum_age_follows_the_tenant_rule():
    case = CaseFacts(birth_date=d("2006-06-15"))
    err = refused([], step(1, "2024-06-15"), case=case,
                  rules_=rules(**{lr.DEV_MIN_AGE_YEARS: 19}))  # fmt: skip
    assert "本省规定" in err.citation and "19" in err.message


# ---- stage 1 and 2 timings ----


def test_the_talk_is_due_a_month_after_the_application_and_never_blocks():
    steps = [step(1, "2024-01-31")]
    ev = dev.evaluate(ADULT, steps, R, d("2024-02-29"))
    assert ev.next_step == 2 and ev.stage == 1
    assert ev.deadline == dev.Deadline(
        2, d("2024-02-29"), lr.DEV_TALK_WITHIN_MONTHS, R[lr.DEV_TALK_WITHIN_MONTHS].citation
    )
    assert not ev.overdue(d("2024-02-29")) and ev.overdue(d("2024-03-01"))
    assert ev.blockers == []
    check(steps, step(2, "2024-05-01"))  # late, but allowed


@pytest.mark.parametrize(
    ("day", "ok"), [("2025-02-27", False), ("2025-02-28", True), ("2025-03-01", True)]
)
def test_an_activist_only_after_the_tenant_wait_from_the_application(day, ok):
    six = rules(**{lr.DEV_ACTIVIST_MIN_MONTHS_AFTER_APPLICATION: 6})
    steps = [step(1, "2024-08-31"), step(2, "2024-09-05")]
    if ok:
        check(steps, step(3, day), rules_=six)
    else:
        err = refused(steps, step(3, day), rules_=six)
        assert err.rule_key == lr.DEV_ACTIVIST_MIN_MONTHS_AFTER_APPLICATION
        assert err.reason.clears_on == d("2025-02-28")


def test_the_national_wait_for_an_activist_is_none():
    steps = [step(1, "2024-08-31"), step(2, "2024-08-31")]
    check(steps, step(3, "2024-08-31"))


def test_contact_persons_are_one_or_two_full_members_of_the_tenant():
    steps = pipeline(4)
    on = steps[-1].on + timedelta(days=1)
    check(steps, step(5, on, member_ids=(A,)))
    check(steps, step(5, on, member_ids=(A, B)))
    err = refused(steps, step(5, on, member_ids=(A, B, C)))
    assert err.rule_key == lr.DEV_ACTIVIST_CONTACTS and "1至2名" in err.message
    stranger = uuid.uuid4()
    err = refused(steps, step(5, on, member_ids=(A, stranger)))
    assert "不是本单位党员" in err.message
    p = uuid.uuid4()
    err = refused(steps, step(5, on, member_ids=(p,)), members={**MEMBERS, p: PROBATIONARY})
    assert err.rule_key == lr.DEV_ACTIVIST_CONTACTS and "预备党员不能担任" in err.message
    s = uuid.uuid4()
    refused(steps, step(5, on, member_ids=(s,)), members={s: SUSPENDED})


def test_activist_reviews_are_due_every_six_months_from_designation_then_the_last_review():
    steps = [*pipeline(2), step(3, "2024-03-31")]
    ev = dev.evaluate(ADULT, steps, R, d("2024-04-01"))
    assert ev.stage == 2 and ev.next_step == 4
    assert (ev.deadline.step, ev.deadline.due_on) == (6, d("2024-09-30"))
    assert ev.deadline.rule_key == lr.DEV_ACTIVIST_REVIEW_MONTHS
    assert not ev.overdue(d("2024-09-30")) and ev.overdue(d("2024-10-01"))
    steps += [step(4, "2024-04-02"), step(5, "2024-04-03", member_ids=(A,)),
              step(6, "2024-09-15")]  # fmt: skip
    ev = dev.evaluate(ADULT, steps, R, d("2024-09-16"))
    assert ev.next_step == 7 and ev.repeatable_step == 6
    assert ev.deadline.due_on == d("2025-03-15")
    steps.append(step(6, "2025-03-10"))
    assert dev.evaluate(ADULT, steps, R, d("2025-03-11")).deadline.due_on == d("2025-09-10")


# ---- stage 3 ----


@pytest.mark.parametrize(
    ("day", "ok"), [("2025-02-27", False), ("2025-02-28", True), ("2025-03-01", True)]
)
def test_a_development_candidate_only_after_a_year_as_activist(day, ok):
    steps = [step(1, "2024-01-02"), step(2, "2024-01-10"), step(3, "2024-02-29"),
             step(4, "2024-03-01"), step(5, "2024-03-02"), step(6, "2024-08-01")]  # fmt: skip
    if ok:
        check(steps, step(7, day))
        return
    err = refused(steps, step(7, day))
    assert err.rule_key == lr.DEV_CANDIDATE_MIN_ACTIVIST_MONTHS
    assert NATIONAL[lr.DEV_CANDIDATE_MIN_ACTIVIST_MONTHS].citation in err.message
    ev = dev.evaluate(ADULT, steps, R, d(day))
    assert ev.next_step == 7 and ev.not_before == d("2025-02-28")
    assert [b.rule_key for b in ev.blockers] == [lr.DEV_CANDIDATE_MIN_ACTIVIST_MONTHS]


def test_introducers_are_exactly_two_full_members():
    steps = pipeline(8)
    on = steps[-1].on + timedelta(days=1)
    check(steps, step(9, on, member_ids=(A, B)))
    assert refused(steps, step(9, on, member_ids=(A,))).rule_key == lr.DEV_INTRODUCERS
    assert "应为2名" in refused(steps, step(9, on, member_ids=(A, B, C))).message
    p = uuid.uuid4()
    err = refused(steps, step(9, on, member_ids=(A, p)), members={**MEMBERS, p: PROBATIONARY})
    assert err.rule_key == lr.DEV_INTRODUCERS and "正式党员" in err.message
    three = rules(**{lr.DEV_INTRODUCERS: 3})
    check(steps, step(9, on, member_ids=(A, B, C)), rules_=three)


def test_a_rejected_political_review_ends_the_case():
    steps = pipeline(9)
    rejected = step(10, steps[-1].on, decision=Decision.REJECTED)
    check(steps, rejected)
    assert dev.status_after(replace(ADULT, status=CaseStatus.OPEN), rejected) == CaseStatus.CLOSED


# ---- stage 4 ----


def _before_12(training_days: int = 0, hours_centi: int = 0) -> list[Step]:
    steps = pipeline(10)
    steps.append(step(11, steps[-1].on + timedelta(days=1), training_days=training_days,
                      training_hours_centi=hours_centi))  # fmt: skip
    return steps


def test_training_of_three_days_or_24_class_hours_before_the_committee_review():
    on = _before_12()[-1].on + timedelta(days=30)
    check(_before_12(3), step(12, on))
    check(_before_12(0, 2400), step(12, on))
    err = refused(_before_12(2, 2399), step(12, on))
    assert err.rule_key == lr.DEV_TRAINING_MIN and err.field == "training"
    assert "2天" in err.message and "23.99学时" in err.message
    # Hours from the learning service count, until the day of the review.
    extra = [Training(on - timedelta(days=1), hours_centi=1)]
    check(_before_12(2, 2399), step(12, on), training=extra)
    late = [Training(on + timedelta(days=1), hours_centi=100)]
    refused(_before_12(2, 2399), step(12, on), training=late)


def test_training_blocks_the_next_step_in_the_evaluation():
    steps = _before_12(1, 800)
    ev = dev.evaluate(ADULT, steps, R, steps[-1].on, training=[Training(steps[-1].on, days=1)])
    assert ev.next_step == 12 and ev.training_days == 2 and ev.training_hours_centi == 800
    assert [b.rule_key for b in ev.blockers] == [lr.DEV_TRAINING_MIN]
    assert ev.blockers[0].clears_on is None


# 2024-09-30 is a Monday; 2024-10-01..07 National Day holidays; 2024-10-12 (Sat) a workday.
CALENDAR = {
    lr.CALENDAR_ADJUSTED_DAYS: {
        "holidays": ["2024-10-01", "2024-10-02", "2024-10-03", "2024-10-04", "2024-10-07"],
        "workdays": ["2024-09-29", "2024-10-12"],
    }
}


@pytest.mark.parametrize(
    ("first", "last", "review", "ok"),
    [
        ("2024-09-02", "2024-09-06", "2024-09-07", True),  # Mon–Fri: 5 working days
        ("2024-09-02", "2024-09-05", "2024-09-07", False),  # 4
        ("2024-09-04", "2024-09-10", "2024-09-11", True),  # Wed–Tue over a weekend: 5
        ("2024-09-02", "2024-09-06", "2024-09-06", False),  # ends on the review day
        ("2024-09-30", "2024-10-08", "2024-10-09", False),  # holidays: Mon 30, Tue 8 = 2
        ("2024-10-08", "2024-10-12", "2024-10-13", True),  # Tue–Fri + workday Sat 12 = 5
        ("2024-10-08", "2024-10-11", "2024-10-13", False),  # 4
    ],
)
def test_publicity_lasts_five_working_days_and_ends_before_the_review(first, last, review, ok):
    cal = rules(**CALENDAR)
    steps = [replace(s, on=min(s.on, d(first))) for s in _before_12(3)]
    new = step(12, review, publicity_from=d(first), publicity_to=d(last))
    if ok:
        check(steps, new, rules_=cal)
    else:
        err = refused(steps, new, rules_=cal)
        assert err.rule_key == lr.DEV_PUBLICITY_MIN_WORKING_DAYS and err.field == "publicity"


def test_seven_working_days_of_publicity_where_the_tenant_says_so():
    seven = rules(**{lr.DEV_PUBLICITY_MIN_WORKING_DAYS: 7})
    steps = [replace(s, on=min(s.on, d("2024-09-01"))) for s in _before_12(3)]
    new = step(12, "2024-09-11", publicity_from=d("2024-09-02"), publicity_to=d("2024-09-10"))
    check(steps, new, rules_=seven)
    new = step(12, "2024-09-11", publicity_from=d("2024-09-03"), publicity_to=d("2024-09-10"))
    assert "6个工作日" in refused(steps, new, rules_=seven).message


@pytest.mark.parametrize(
    ("present", "yes", "ok", "fld"),
    [
        (5, 5, False, "votes.present"),  # exactly half present: not more than half
        (6, 5, False, "votes.yes"),  # exactly half yes of those entitled
        (6, 6, True, ""),
        (10, 6, True, ""),
    ],
)
def test_the_branch_meeting_needs_more_than_half_present_and_yes_of_those_entitled(
    present, yes, ok, fld
):
    steps = pipeline(14)
    new = step(15, steps[-1].on, votes=Votes(entitled=10, present=present, yes=yes))
    if ok:
        check(steps, new)
        return
    err = refused(steps, new)
    assert err.rule_key == lr.DEV_BRANCH_VOTE and err.field == fld
    assert NATIONAL[lr.DEV_BRANCH_VOTE].citation in err.message


def test_the_conversion_meeting_votes_the_same_way():
    steps = pipeline(22)
    check(steps, step(23, steps[-1].on, votes=Votes(entitled=9, present=5, yes=5)))
    refused(steps, step(23, steps[-1].on, votes=Votes(entitled=9, present=4, yes=4)))


def test_impossible_vote_counts_are_invalid():
    steps = pipeline(14)
    for votes in (Votes(10, 11, 5), Votes(10, 6, 5, 2), Votes(0, 0, 0), Votes(10, 6, -1)):
        with pytest.raises(InvalidArgument) as exc:
            check(steps, step(15, steps[-1].on, votes=votes))
        assert exc.value.code == "invalid_votes"


def _to_16(meeting: str) -> list[Step]:
    m = d(meeting)
    steps = [replace(s, on=min(s.on, m)) for s in pipeline(14, "2023-01-05")]
    return [*steps, step(15, m), step(16, m)]


@pytest.mark.parametrize(
    ("day", "ok"), [("2025-02-27", True), ("2025-02-28", True), ("2025-03-01", False)]
)
def test_approval_at_most_six_months_after_the_branch_meeting(day, ok):
    steps = _to_16("2024-08-31")
    fresh = rules(**{lr.DEV_POLITICAL_REVIEW_VALID_MONTHS: 60})
    if ok:
        check(steps, step(17, day), rules_=fresh)
    else:
        err = refused(steps, step(17, day), rules_=fresh)
        assert err.rule_key == lr.DEV_APPROVAL_MONTHS and "6个月" in err.message
        # A rejection is always possible.
        check(steps, step(17, day, decision=Decision.REJECTED), rules_=fresh)


def test_approval_is_due_within_three_months_and_blocked_after_six():
    steps = _to_16("2024-08-31")
    fresh = rules(**{lr.DEV_POLITICAL_REVIEW_VALID_MONTHS: 60})
    ev = dev.evaluate(ADULT, steps, fresh, d("2024-11-30"))
    assert ev.next_step == 17 and ev.deadline.due_on == d("2024-11-30")
    assert ev.deadline.rule_key == lr.DEV_APPROVAL_MONTHS and ev.blockers == []
    assert ev.overdue(d("2024-12-01"))
    late = dev.evaluate(ADULT, steps, fresh, d("2025-03-01"))
    assert [b.rule_key for b in late.blockers] == [lr.DEV_APPROVAL_MONTHS]
    assert dev.evaluate(ADULT, steps[:-1], fresh, d("2024-09-01")).deadline.step == 17


@pytest.mark.parametrize(
    ("day", "ok"), [("2025-02-28", True), ("2025-03-01", True), ("2025-03-02", False)]
)
def test_the_political_review_must_still_be_valid_at_approval(day, ok):
    steps = _to_16("2025-01-10")
    steps = [s if s.number != 10 else replace(s, on=d("2024-03-01")) for s in steps]
    if ok:
        check(steps, step(17, day))
    else:
        err = refused(steps, step(17, day))
        assert err.rule_key == lr.DEV_POLITICAL_REVIEW_VALID_MONTHS
    ev = dev.evaluate(ADULT, steps, R, d(day))
    assert ev.political_review_expires_on == d("2025-03-01")


def test_approval_admits_and_a_rejection_closes():
    case = replace(ADULT, status=CaseStatus.OPEN)
    assert dev.status_after(case, step(17, "2025-01-01")) == CaseStatus.ADMITTED
    rejected = step(17, "2025-01-01", decision=Decision.REJECTED)
    assert dev.status_after(case, rejected) == CaseStatus.CLOSED
    admitted = replace(ADULT, status=CaseStatus.ADMITTED)
    assert dev.status_after(admitted, step(24, "2026-01-01")) == CaseStatus.CONVERTED
    assert dev.status_after(admitted, step(20, "2025-02-01")) == CaseStatus.ADMITTED


# ---- stage 5 ----


def _probation(meeting: str, upto: int) -> list[Step]:
    m = d(meeting)
    steps = [replace(s, on=min(s.on, m)) for s in pipeline(14, "2022-01-05")]
    steps.append(step(15, m))
    return steps + [step(n, m) for n in range(16, upto + 1)]


ADMITTED = replace(ADULT, status=CaseStatus.ADMITTED)


@pytest.mark.parametrize(
    ("day", "ok"), [("2025-02-27", False), ("2025-02-28", True), ("2025-03-01", True)]
)
def test_conversion_not_before_a_year_from_the_leap_day_meeting(day, ok):
    steps = _probation("2024-02-29", 23)
    if ok:
        check(steps, step(24, day), case=ADMITTED)
        return
    err = refused(steps, step(24, day), case=ADMITTED)
    assert err.rule_key == lr.DEV_PROBATION_MONTHS and err.reason.clears_on == d("2025-02-28")
    # A rejection (取消预备党员资格) needs no wait.
    check(steps, step(24, day, decision=Decision.REJECTED), case=ADMITTED)


def test_the_conversion_application_is_due_a_month_before_probation_ends():
    steps = _probation("2024-03-31", 20)
    ev = dev.evaluate(ADMITTED, steps, R, d("2024-06-01"))
    assert ev.stage == 5 and ev.next_step == 21
    assert ev.probation_ends_on == d("2025-03-31")
    assert ev.deadline == dev.Deadline(
        22, d("2025-02-28"), lr.DEV_CONVERSION_APPLY_BEFORE_MONTHS,
        R[lr.DEV_CONVERSION_APPLY_BEFORE_MONTHS].citation,
    )  # fmt: skip
    steps = _probation("2024-03-31", 22)
    ev = dev.evaluate(ADMITTED, steps, R, d("2025-03-01"))
    assert (ev.deadline.step, ev.deadline.due_on) == (23, d("2025-03-31"))
    assert ev.deadline.rule_key == lr.DEV_PROBATION_MONTHS
    steps = _probation("2024-03-31", 23)
    ev = dev.evaluate(ADMITTED, steps, R, d("2025-03-30"))
    assert ev.next_step == 24 and ev.not_before == d("2025-03-31") and ev.deadline is None


def test_probation_is_extended_once_by_six_to_twelve_months_during_probation():
    steps = _probation("2024-03-31", 23)
    on = d("2025-03-20")
    for months, ok in ((5, False), (6, True), (12, True), (13, False)):
        found = dev.extension_refusals(ADMITTED, steps, Extension(on, months), R, today=TODAY)
        assert (found == []) is ok, months
        if not ok:
            assert found[0].rule_key == lr.DEV_PROBATION_EXTENSION and found[0].field == "months"
    # Only during probation: the day it ends is in, the day after is out.
    assert dev.extension_refusals(ADMITTED, steps, Extension(d("2025-03-31"), 6), R,
                                  today=TODAY) == []  # fmt: skip
    late = dev.extension_refusals(ADMITTED, steps, Extension(d("2025-04-01"), 6), R, today=TODAY)
    assert [r.field for r in late] == ["date"]
    once = replace(ADMITTED, extensions=(Extension(on, 6),))
    again = dev.extension_refusals(once, steps, Extension(d("2025-09-01"), 6), R, today=TODAY)
    assert "只能延长1次" in again[0].message
    with pytest.raises(RuleViolation) as exc:
        dev.check_extension(once, steps, Extension(d("2025-09-01"), 6), R, today=TODAY)
    assert exc.value.rule_key == lr.DEV_PROBATION_EXTENSION
    twice = rules(**{lr.DEV_PROBATION_EXTENSION: {"min_months": 6, "max_months": 12, "times": 2}})
    assert dev.extension_refusals(once, steps, Extension(d("2025-09-01"), 6), twice,
                                  today=TODAY) == []  # fmt: skip
    open_case = dev.extension_refusals(ADULT, steps[:14], Extension(on, 6), R, today=TODAY)
    assert open_case[0].rule_key == lr.DEV_PROBATION_EXTENSION


def test_an_extension_moves_the_end_of_probation_and_the_conversion():
    steps = _probation("2024-03-31", 23)
    extended = replace(ADMITTED, extensions=(Extension(d("2025-03-20"), 6),))
    ev = dev.evaluate(extended, steps, R, d("2025-04-01"))
    assert ev.probation_ends_on == d("2025-09-30") and ev.not_before == d("2025-09-30")
    assert ev.blockers[0].rule_key == lr.DEV_PROBATION_EXTENSION
    err = refused(steps, step(24, "2025-09-29"), case=extended)
    assert err.rule_key == lr.DEV_PROBATION_EXTENSION
    check(steps, step(24, "2025-09-30"), case=extended)
    steps22 = _probation("2024-03-31", 22)
    ev = dev.evaluate(extended, steps22, R, d("2025-04-01"))
    assert (ev.deadline.due_on, ev.deadline.rule_key) == (
        d("2025-09-30"), lr.DEV_PROBATION_EXTENSION)  # fmt: skip


def test_after_an_extension_the_member_applies_for_conversion_again():
    steps22 = _probation("2024-03-31", 22)  # applied (step 22) on 2024-03-31
    extended = replace(ADMITTED, extensions=(Extension(d("2025-03-20"), 6),))
    check(steps22, step(22, "2025-08-30"), case=extended)
    # Without an extension, or with one decided before the application, it is recorded once.
    err = refused(steps22, step(22, "2025-08-30"), case=ADMITTED)
    assert err.rule_key == "dev.steps.order" and "已记录" in err.message
    earlier = replace(ADMITTED, extensions=(Extension(d("2024-03-30"), 6),))
    assert refused(steps22, step(22, "2025-08-30"), case=earlier).rule_key == "dev.steps.order"


# ---- evaluate ----


def test_evaluate_follows_the_case_from_application_to_the_archive():
    steps = pipeline(25)
    stages = []
    for i in range(1, 26):
        case = replace(ADULT, status=status_for(steps[:i]))
        ev = dev.evaluate(case, steps[:i], R, steps[i - 1].on)
        stages.append(ev.stage)
        assert ev.last_step == i
        assert ev.next_step == (i + 1 if i < 25 else None)
    assert stages == [dev.STEPS[n].stage for n in range(1, 26)]
    done = dev.evaluate(replace(ADULT, status=CaseStatus.CONVERTED), steps, R, TODAY)
    assert done.deadline is None and done.blockers == [] and done.probation_ends_on


def test_a_closed_case_has_no_next_step():
    steps = [*pipeline(9), step(10, "2025-06-01", decision=Decision.REJECTED)]
    ev = dev.evaluate(replace(ADULT, status=CaseStatus.CLOSED), steps, R, TODAY)
    assert ev.next_step is None and ev.deadline is None and ev.stage == 3


def test_a_rejected_approval_shows_no_probation():
    steps = [*_to_16("2024-08-31"), step(17, "2024-09-10", decision=Decision.REJECTED)]
    ev = dev.evaluate(replace(ADULT, status=CaseStatus.CLOSED), steps, R, TODAY)
    assert ev.probation_ends_on is None


def test_a_blocker_names_its_rule_and_citation_in_both_languages():
    steps = pipeline(6)
    ev = dev.evaluate(ADULT, steps, R, steps[-1].on)
    (b,) = ev.blockers
    assert b.citation == NATIONAL[lr.DEV_CANDIDATE_MIN_ACTIVIST_MONTHS].citation
    assert b.message.startswith(b.zh) and f"规则 {b.rule_key}" in b.message and b.en in b.message


# ---- due anchors (the same arithmetic as the SQL of development_due.py) ----


def test_due_anchor_and_deadline_of_each_kind():
    steps = pipeline(25)
    by_last = {
        1: DueStep.TALK, 2: DueStep.NONE, 3: DueStep.REVIEW, 5: DueStep.REVIEW,
        6: DueStep.REVIEW, 7: DueStep.NONE, 14: DueStep.NONE, 15: DueStep.APPROVAL,
        16: DueStep.APPROVAL, 17: DueStep.CONVERSION_APPLICATION, 21: DueStep.CONVERSION_APPLICATION,
        22: DueStep.CONVERSION_MEETING, 23: DueStep.NONE, 24: DueStep.NONE,
    }  # fmt: skip
    for last, kind in by_last.items():
        got, anchor = dev.due_anchor(status_for(steps[:last]), steps[:last])
        assert got == kind, last
        if kind == DueStep.TALK:
            assert anchor == steps[0].on
        if kind in (DueStep.APPROVAL, DueStep.CONVERSION_APPLICATION):
            assert anchor == steps[14].on
    assert dev.due_anchor(CaseStatus.CLOSED, steps[:3]) == (DueStep.NONE, None)
    assert dev.due_on(DueStep.CONVERSION_MEETING, d("2024-01-31"), R, 1) == d("2025-02-28")
    assert dev.due_on(DueStep.REVIEW, d("2024-08-31"), R) == d("2025-02-28")
    with pytest.raises(ValueError):
        dev.due_on(DueStep.NONE, d("2024-01-31"), R)


# ---- reminders ----


def test_reminders_are_due_from_their_day_until_the_deadline_nearest_first():
    due = d("2025-02-28")
    offsets = [30, 7]
    assert dev.due_reminder(due, offsets, today=d("2025-01-28"), done=set()).send is None
    assert dev.due_reminder(due, offsets, today=d("2025-01-29"), done=set()).send == 30
    assert dev.due_reminder(due, offsets, today=d("2025-02-20"), done={30}).send is None
    assert dev.due_reminder(due, offsets, today=d("2025-02-21"), done={30}).send == 7
    late = dev.due_reminder(due, offsets, today=d("2025-02-25"), done=set())
    assert (late.send, late.skip) == (7, (30,))
    assert dev.due_reminder(due, offsets, today=due, done={30}).send == 7  # the last day
    assert dev.due_reminder(due, offsets, today=d("2025-03-01"), done=set()).send is None
