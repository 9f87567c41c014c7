"""Calendar arithmetic of terms and reminders (month ends, leap years), which reminder is due, and
the branch-rule warnings a secretary sees."""

from __future__ import annotations

from datetime import date

import pytest
from member_service.domain import rules as r
from member_service.domain.committee_terms import Term, UnitKind, due_reminder, term_end, term_years
from member_service.domain.dates import add_months, add_years, reminder_dates
from member_service.domain.org_health import Counts, rules_needed, warnings
from member_service.domain.org_history import OrgType

D = date.fromisoformat


# ---- dates ----


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        ("2024-01-31", 1, "2024-02-29"),  # leap February
        ("2023-01-31", 1, "2023-02-28"),
        ("2024-03-31", -1, "2024-02-29"),
        ("2027-03-31", -1, "2027-02-28"),
        ("2028-08-31", -6, "2028-02-29"),
        ("2027-08-31", -6, "2027-02-28"),
        ("2024-12-15", 1, "2025-01-15"),
        ("2025-01-15", -1, "2024-12-15"),
        ("2024-05-31", -18, "2022-11-30"),
    ],
)
def test_add_months_clamps_to_the_month_end(start, months, expected):
    assert add_months(D(start), months) == D(expected)


def test_terms_starting_on_29_february():
    assert add_years(D("2024-02-29"), 3) == D("2027-02-28")
    assert add_years(D("2024-02-29"), 4) == D("2028-02-29")
    assert term_end(D("2023-02-28"), 5) == D("2028-02-28")


def test_reminders_for_a_term_ending_on_29_february_2028():
    assert reminder_dates(D("2028-02-29"), [1, 6]) == [(6, D("2027-08-29")), (1, D("2028-01-29"))]


def test_reminders_for_a_term_ending_on_a_month_end():
    assert reminder_dates(D("2027-03-31"), [6, 1]) == [(6, D("2026-09-30")), (1, D("2027-02-28"))]


def test_term_years_come_from_the_rule_value():
    value = {"village_community": 5, "other": 3}
    assert term_years(value, UnitKind.VILLAGE_COMMUNITY) == 5
    assert term_years(value, UnitKind.OTHER) == 3


# ---- which reminder is due ----

END = D("2028-02-29")


@pytest.mark.parametrize(
    ("today", "done", "send", "skip"),
    [
        ("2027-08-28", set(), None, ()),  # nothing due yet
        ("2027-08-29", set(), 6, ()),  # six months ahead, on the day
        ("2027-10-01", set(), 6, ()),  # late run still sends it
        ("2027-10-01", {6}, None, ()),  # sent already
        ("2028-01-29", {6}, 1, ()),
        ("2028-01-29", set(), 1, (6,)),  # both due: the nearer one wins, the other is skipped
        ("2028-02-28", {6, 1}, None, ()),
        ("2028-02-29", set(), None, ()),  # the term has ended
    ],
)
def test_due_reminder(today, done, send, skip):
    decision = due_reminder(END, [6, 1], today=D(today), done=done)
    assert (decision.send, decision.skip) == (send, skip)


# ---- warnings ----


def rule(key: str, value) -> r.EffectiveRule:
    return r.EffectiveRule(
        key, value, f"citation of {key}", D("2018-11-25"), "", r.RuleSource.NATIONAL, None, None
    )


RULES = {
    r.BRANCH_MIN_FULL_MEMBERS: rule(r.BRANCH_MIN_FULL_MEMBERS, 3),
    r.BRANCH_COMMITTEE_MIN_FULL_MEMBERS: rule(r.BRANCH_COMMITTEE_MIN_FULL_MEMBERS, 7),
    r.BRANCH_COMMITTEE_SIZE: rule(r.BRANCH_COMMITTEE_SIZE, {"min": 3, "max": 5, "hard_max": 7}),
    r.BRANCH_MAX_MEMBERS: rule(r.BRANCH_MAX_MEMBERS, 50),
    r.COMMITTEE_TERM_YEARS: rule(r.COMMITTEE_TERM_YEARS, {"village_community": 5, "other": 3}),
}
TODAY = D("2026-11-28")
CURRENT = Term(D("2025-01-10"), D("2028-01-10"), 5)


def codes(org_type=OrgType.BRANCH, full=5, total=8, term=CURRENT, rules=RULES):
    found = warnings(
        org_type=org_type, counts=Counts(full, total), latest_term=term, rules=rules, today=TODAY
    )
    return [w.code for w in found]


def test_healthy_branch_has_no_warnings():
    assert codes() == []


def test_too_few_full_members_names_rule_value_and_citation():
    found = warnings(org_type=OrgType.BRANCH, counts=Counts(2, 6), latest_term=None,
                     rules=RULES, today=TODAY)  # fmt: skip
    (w,) = found
    assert w.code == "branch_too_few_full_members"
    assert w.rule.key == r.BRANCH_MIN_FULL_MEMBERS and w.rule.value == 3
    assert w.rule.citation == f"citation of {r.BRANCH_MIN_FULL_MEMBERS}"
    assert "2" in w.message_zh and "3" in w.message_zh and "fewer than the 3" in w.message_en


def test_seven_full_members_without_a_committee():
    assert codes(full=7, total=7, term=None) == ["branch_committee_missing"]
    assert codes(full=6, total=9, term=None) == []


def test_more_than_fifty_members():
    assert codes(full=40, total=51) == ["branch_too_many_members"]
    assert codes(full=40, total=50) == []


def test_committee_size_outside_the_hard_range():
    assert codes(term=Term(D("2025-01-10"), D("2028-01-10"), 8)) == ["committee_size_out_of_range"]
    assert codes(term=Term(D("2025-01-10"), D("2028-01-10"), 2)) == ["committee_size_out_of_range"]
    assert codes(term=Term(D("2025-01-10"), D("2028-01-10"), 7)) == []
    assert codes(term=Term(D("2025-01-10"), D("2028-01-10"), None)) == []


def test_expired_term_is_reported_instead_of_a_missing_committee():
    expired = Term(D("2023-01-10"), D("2026-01-10"), 5)
    assert codes(full=9, total=9, term=expired) == ["committee_term_expired"]
    assert codes(org_type=OrgType.COMMITTEE, full=900, total=900, term=expired) == [
        "committee_term_expired"
    ]


def test_overridden_threshold_changes_the_warning():
    stricter = {**RULES, r.BRANCH_MAX_MEMBERS: rule(r.BRANCH_MAX_MEMBERS, 30)}
    assert codes(full=20, total=31, rules=stricter) == ["branch_too_many_members"]


def test_branch_rules_apply_to_branches_and_joint_branches_only():
    assert codes(org_type=OrgType.JOINT_BRANCH, full=1, total=1) == ["branch_too_few_full_members"]
    assert codes(org_type=OrgType.GENERAL_BRANCH, full=1, total=80, term=None) == []
    assert codes(org_type=OrgType.GROUP, full=1, total=1, term=None, rules={}) == []
    assert rules_needed(OrgType.GROUP) == ()
    assert r.BRANCH_MAX_MEMBERS in rules_needed(OrgType.BRANCH)


def test_no_number_is_hard_coded_in_the_warnings():
    """Every threshold comes from the rules passed in."""
    odd = {
        **RULES,
        r.BRANCH_MIN_FULL_MEMBERS: rule(r.BRANCH_MIN_FULL_MEMBERS, 11),
        r.BRANCH_COMMITTEE_MIN_FULL_MEMBERS: rule(r.BRANCH_COMMITTEE_MIN_FULL_MEMBERS, 13),
    }
    assert codes(full=12, total=12, term=None, rules=odd) == []
    assert codes(full=10, total=10, term=None, rules=odd) == ["branch_too_few_full_members"]
