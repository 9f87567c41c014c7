"""Introduction letters (组织关系介绍信): every transition, allowed or refused, by scope; validity
boundaries (the day before, on and after expiry, leap years); reminders; the dues month."""

from __future__ import annotations

import itertools
from datetime import date

import pytest
from hongyun_platform.errors import FailedPrecondition, InvalidArgument
from member_service.domain import letters as L
from member_service.domain.letters import LetterAction as A
from member_service.domain.letters import LetterScope as S
from member_service.domain.letters import LetterState as St

ALLOWED = {
    # (state, action, scope) → next state
    **{(St.DRAFT, A.APPROVE, s): St.APPROVED for s in S},
    **{(St.APPROVED, A.ISSUE, s): St.ISSUED for s in S},
    (St.ISSUED, A.RECEIVE, S.WITHIN_TENANT): St.RECEIVED,
    (St.ISSUED, A.RECEIVE, S.CROSS_TENANT): St.RECEIVED,
    (St.RECEIVED, A.CONFIRM_RECEIPT, S.WITHIN_TENANT): St.RECEIPT_RETURNED,
    (St.RECEIVED, A.CONFIRM_RECEIPT, S.CROSS_TENANT): St.RECEIPT_RETURNED,
    (St.ISSUED, A.CONFIRM_RECEIPT, S.OUT_OF_PLATFORM): St.RECEIPT_RETURNED,
    (St.EXPIRED, A.CONFIRM_RECEIPT, S.OUT_OF_PLATFORM): St.RECEIPT_RETURNED,
    **{(st, A.REVOKE, s): St.REVOKED for st in (St.DRAFT, St.APPROVED, St.ISSUED, St.EXPIRED)
       for s in S},
    **{(St.ISSUED, A.EXPIRE, s): St.EXPIRED for s in S},
}  # fmt: skip


@pytest.mark.parametrize(
    ("state", "action", "scope"), sorted(ALLOWED, key=lambda k: tuple(map(str, k)))
)
def test_allowed_transition(state, action, scope):
    assert L.next_state(state, action, scope) is ALLOWED[(state, action, scope)]


REFUSED = [k for k in itertools.product(St, A, S) if k not in ALLOWED]


@pytest.mark.parametrize(("state", "action", "scope"), REFUSED)
def test_every_other_transition_is_refused(state, action, scope):
    with pytest.raises(FailedPrecondition) as err:
        L.next_state(state, action, scope)
    assert err.value.code in ("letter_state", "letter_scope")


def test_refusals_say_why_in_both_languages():
    with pytest.raises(FailedPrecondition) as err:
        L.next_state(St.REVOKED, A.RECEIVE, S.WITHIN_TENANT)
    assert err.value.code == "letter_state"
    assert "已撤销" in err.value.message and "cannot be received" in err.value.message
    with pytest.raises(FailedPrecondition) as err:
        L.next_state(St.DRAFT, A.RECEIVE, S.CROSS_TENANT)  # arriving before issue
    assert err.value.code == "letter_state" and "state draft" in err.value.message
    with pytest.raises(FailedPrecondition) as err:
        L.next_state(St.ISSUED, A.RECEIVE, S.OUT_OF_PLATFORM)
    assert err.value.code == "letter_scope" and "sender records" in err.value.message
    with pytest.raises(FailedPrecondition) as err:
        L.next_state(St.ISSUED, A.CONFIRM_RECEIPT, S.WITHIN_TENANT)
    assert err.value.code == "letter_scope" and "must receive" in err.value.message


def test_terminal_states_have_no_way_out_but_the_late_receipt():
    for state in (St.RECEIPT_RETURNED, St.REVOKED):
        assert not [a for a in A for s in S if (state, a, s) in ALLOWED]
    assert [(a, s) for a in A for s in S if (St.EXPIRED, a, s) in ALLOWED and a != A.REVOKE] == [
        (A.CONFIRM_RECEIPT, S.OUT_OF_PLATFORM)
    ]


def test_sides():
    assert L.side_of(St.ISSUED, A.RECEIVE) is L.Side.RECEIVER
    assert L.side_of(St.DRAFT, A.APPROVE) is L.Side.SENDER
    assert L.side_of(St.ISSUED, A.EXPIRE) is L.Side.SYSTEM
    assert L.side_of(St.REVOKED, A.RECEIVE) is None


def test_open_and_completed_states():
    assert {St.DRAFT, St.APPROVED, St.ISSUED} == L.OPEN_STATES
    assert {St.RECEIVED, St.RECEIPT_RETURNED} == L.COMPLETED_STATES


# ---- validity ----

VALUE = {"within_tenant": 30, "cross_tenant": 90, "out_of_platform": 60}


@pytest.mark.parametrize(("scope", "days"), [(S.WITHIN_TENANT, 30), (S.CROSS_TENANT, 90),
                                            (S.OUT_OF_PLATFORM, 60)])  # fmt: skip
def test_validity_days_by_scope(scope, days):
    assert L.validity_days(VALUE, scope) == days


@pytest.mark.parametrize("value", [{}, {"within_tenant": 0}, {"within_tenant": "30"},
                                   {"within_tenant": True}])  # fmt: skip
def test_validity_days_missing_is_refused(value):
    with pytest.raises(FailedPrecondition) as err:
        L.validity_days(value, S.WITHIN_TENANT)
    assert err.value.code == "rule_missing"


@pytest.mark.parametrize(
    ("issued", "days", "until"),
    [
        (date(2026, 3, 1), 30, date(2026, 3, 31)),  # the day of issue is not counted
        (date(2024, 2, 1), 30, date(2024, 3, 2)),  # leap year: February has 29 days
        (date(2023, 2, 1), 30, date(2023, 3, 3)),  # common year
        (date(2024, 2, 29), 1, date(2024, 3, 1)),  # issued on the leap day
        (date(2024, 2, 28), 1, date(2024, 2, 29)),
        (date(2023, 12, 31), 366, date(2024, 12, 31)),  # a year of 366 days
        (date(2026, 12, 20), 30, date(2027, 1, 19)),  # over the year's end
    ],
)
def test_valid_until_counts_calendar_days_from_the_next_day(issued, days, until):
    assert L.valid_until(issued, days) == until


@pytest.mark.parametrize(
    ("today", "expired"),
    [(date(2024, 3, 1), False), (date(2024, 3, 2), False), (date(2024, 3, 3), True)],
)
def test_expiry_day_before_on_and_after(today, expired):
    until = L.valid_until(date(2024, 2, 1), 30)  # 2024-03-02
    assert L.is_expired(until, today) is expired
    if expired:
        with pytest.raises(FailedPrecondition) as err:
            L.check_receivable(until, today, rule_key="transfer.letter.valid_days", citation="依据")
        assert err.value.code == "letter_expired"
        assert "transfer.letter.valid_days" in err.value.message and "依据" in err.value.message
        assert "2024-03-02" in err.value.message
    else:
        L.check_receivable(until, today, rule_key="transfer.letter.valid_days", citation="依据")


def test_days_left():
    assert L.days_left(date(2024, 3, 2), date(2024, 2, 28)) == 3
    assert L.days_left(date(2024, 3, 2), date(2024, 3, 3)) == -1


@pytest.mark.parametrize(
    ("today", "due"),
    [
        (date(2024, 2, 23), False),  # the day before the reminder
        (date(2024, 2, 24), True),  # 7 days before 2024-03-02 (through 29 February)
        (date(2024, 3, 2), True),  # the last valid day
        (date(2024, 3, 3), False),  # expired: the expiry event, not a reminder
    ],
)
def test_reminder_window(today, due):
    until = date(2024, 3, 2)
    assert L.reminder_on(until, 7) == date(2024, 2, 24)
    assert L.reminder_due(until, 7, today) is due


def test_reminder_in_a_common_year():
    assert L.reminder_on(date(2023, 3, 2), 7) == date(2023, 2, 23)


@pytest.mark.parametrize(
    ("reported", "error"),
    [
        (date(2026, 3, 1), None),  # the day of issue
        (date(2026, 3, 31), None),  # the last valid day
        (date(2026, 4, 1), "letter_expired"),  # the day after
        (date(2026, 2, 28), "reported_before_issue"),
        (date(2026, 4, 11), "future_date"),
    ],
)
def test_reported_on_of_a_returned_receipt(reported, error):
    kwargs = dict(issued_on=date(2026, 3, 1), until=date(2026, 3, 31), today=date(2026, 4, 10),
                  rule_key="transfer.letter.valid_days", citation="c")  # fmt: skip
    if error is None:
        L.check_reported_on(reported, **kwargs)
        return
    with pytest.raises((FailedPrecondition, InvalidArgument)) as err:
        L.check_reported_on(reported, **kwargs)
    assert err.value.code == error


# ---- dues month, numbers, age ----


@pytest.mark.parametrize(
    ("text", "month"), [("2026-11", date(2026, 11, 1)), (" 2024-02 ", date(2024, 2, 1))]
)
def test_dues_month(text, month):
    assert L.parse_dues_month(text) == month
    assert L.format_dues_month(month) == text.strip()
    assert L.dues_month_zh(month) == f"{month.year}年{month.month}月"


@pytest.mark.parametrize(
    "text", ["", "2026-13", "2026-00", "2026/11", "26-11", "2026-1", "1899-12"]
)
def test_dues_month_invalid(text):
    with pytest.raises(InvalidArgument) as err:
        L.parse_dues_month(text)
    assert err.value.code == "invalid_month" and err.value.field == "dues_paid_until"


def test_format_missing_month():
    assert L.format_dues_month(None) == ""


def test_letter_number():
    assert L.letter_number(2026, 12) == "〔2026〕第00012号"


@pytest.mark.parametrize(
    ("birth", "day", "age"),
    [
        (date(2000, 5, 10), date(2026, 5, 9), 25),
        (date(2000, 5, 10), date(2026, 5, 10), 26),
        (date(2004, 2, 29), date(2025, 2, 27), 20),
        (date(2004, 2, 29), date(2025, 2, 28), 21),  # no 29 February in 2025
        (date(2004, 2, 29), date(2028, 2, 28), 23),  # 2028 has one
        (date(2004, 2, 29), date(2028, 2, 29), 24),
    ],
)
def test_age_on(birth, day, age):
    assert L.age_on(birth, day) == age
