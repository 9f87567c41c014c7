"""Calendar arithmetic for rules expressed in months and years (terms, reminders, deadlines).

Rules say "3 years" or "6 months before", never a number of days: a term that starts on
2024-02-29 and lasts 3 years ends on 2027-02-28, and the month before 2027-03-31 is 2027-02-28.
When the target month is shorter, the day is clamped to its last day.
Dates users enter and "today" are calendar dates in China (UTC+8, no daylight saving).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta, timezone

CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")


def china_today() -> date:
    return datetime.now(UTC).astimezone(CHINA_TZ).date()


def add_months(day: date, months: int) -> date:
    """`day` moved by whole calendar months (negative goes back), clamped to the month's end."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))


def add_years(day: date, years: int) -> date:
    return add_months(day, 12 * years)


def months_before(day: date, months: int) -> date:
    return add_months(day, -months)


def reminder_dates(ends_on: date, months_ahead: Iterable[int]) -> list[tuple[int, date]]:
    """(months ahead, date to remind) for each offset, the earliest reminder first."""
    return sorted(((m, months_before(ends_on, m)) for m in set(months_ahead)), key=lambda p: p[1])
