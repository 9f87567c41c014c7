"""Working days (domain/working_days.py) for the publicity period of the development pipeline:
Monday–Friday, minus holidays on weekdays, plus make-up working days (调休) on weekends."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from member_service.domain.working_days import WorkCalendar

PLAIN = WorkCalendar()
# 2024 National Day: holidays Oct 1–7 (Tue 1 … Mon 7 on weekdays), make-up Sun Sep 29, Sat Oct 12.
NATIONAL_DAY = WorkCalendar.from_rule(
    {
        "holidays": ["2024-10-01", "2024-10-02", "2024-10-03", "2024-10-04", "2024-10-07"],
        "workdays": ["2024-09-29", "2024-10-12"],
    }
)


def d(s: str) -> date:
    return date.fromisoformat(s)


def brute(cal: WorkCalendar, first: date, last: date) -> int:
    n, day = 0, first
    while day <= last:
        n += cal.is_working_day(day)
        day += timedelta(days=1)
    return n


@pytest.mark.parametrize(
    ("first", "last", "plain", "national_day"),
    [
        ("2024-09-02", "2024-09-06", 5, 5),  # Mon–Fri
        ("2024-09-07", "2024-09-08", 0, 0),  # a weekend
        ("2024-09-06", "2024-09-09", 2, 2),  # Fri–Mon
        ("2024-09-28", "2024-10-13", 10, 7),  # across the holiday and both make-up days
        ("2024-09-29", "2024-09-29", 0, 1),  # a make-up Sunday
        ("2024-10-01", "2024-10-07", 5, 0),  # the holiday week
        ("2024-02-26", "2024-03-04", 6, 6),  # across a leap day (Thu 29)
        ("2024-09-06", "2024-09-05", 0, 0),  # empty range
    ],
)
def test_working_days_in_a_range(first, last, plain, national_day):
    assert PLAIN.count(d(first), d(last)) == plain
    assert NATIONAL_DAY.count(d(first), d(last)) == national_day


def test_count_matches_day_by_day_over_long_ranges():
    start = d("2024-09-01")
    for span in range(0, 60):
        for offset in range(0, 7):
            first = start + timedelta(days=offset)
            last = first + timedelta(days=span)
            assert NATIONAL_DAY.count(first, last) == brute(NATIONAL_DAY, first, last)


def test_the_nth_working_day():
    assert PLAIN.add(d("2024-09-06"), 1) == d("2024-09-06")
    assert PLAIN.add(d("2024-09-07"), 1) == d("2024-09-09")
    assert PLAIN.add(d("2024-09-02"), 5) == d("2024-09-06")
    assert NATIONAL_DAY.add(d("2024-09-30"), 2) == d("2024-10-08")
    assert NATIONAL_DAY.add(d("2024-10-08"), 5) == d("2024-10-12")
    with pytest.raises(ValueError):
        PLAIN.add(d("2024-09-02"), 0)


def test_weekend_holidays_and_weekday_workdays_change_nothing():
    odd = WorkCalendar.from_rule({"holidays": ["2024-09-07"], "workdays": ["2024-09-09"]})
    assert odd.count(d("2024-09-02"), d("2024-09-15")) == 10
