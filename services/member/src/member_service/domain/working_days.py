"""Working days (工作日): Monday to Friday, minus the public holidays that fall on weekdays, plus
the make-up working days (调休) that fall on weekends.

Both lists are rule data (calendar.working_days.adjustments), published every year by the State
Council's office; nothing here knows a holiday.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any


@dataclass(frozen=True)
class WorkCalendar:
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()

    @classmethod
    def from_rule(cls, value: Mapping[str, Any]) -> WorkCalendar:
        """From the value of calendar.working_days.adjustments: {"holidays": [...], "workdays": [...]}
        (ISO dates)."""
        return cls(
            holidays=frozenset(_days(value.get("holidays", ()))),
            workdays=frozenset(_days(value.get("workdays", ()))),
        )

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def count(self, first: date, last: date) -> int:
        """Working days from `first` to `last`, both included (0 when last < first)."""
        if last < first:
            return 0
        days = (last - first).days + 1
        weeks, rest = divmod(days, 7)
        n = weeks * 5
        for i in range(rest):
            if (first + timedelta(days=weeks * 7 + i)).weekday() < 5:
                n += 1
        # Adjustments inside the range: a holiday on a weekday removes one, a workday on a
        # weekend adds one (dates listed on the "wrong" kind of day change nothing).
        n -= sum(1 for d in self.holidays if first <= d <= last and d.weekday() < 5)
        n += sum(1 for d in self.workdays if first <= d <= last and d.weekday() >= 5)
        # A date in both lists is refused by the rule's shape; workdays win if it happens anyway.
        n += sum(1 for d in self.holidays & self.workdays if first <= d <= last and d.weekday() < 5)
        return n

    def add(self, first: date, n: int) -> date:
        """The n-th working day counting `first` as day 1 if it is a working day (n ≥ 1)."""
        if n < 1:
            raise ValueError("n must be at least 1")
        day, seen = first, 0
        while True:
            if self.is_working_day(day):
                seen += 1
                if seen == n:
                    return day
            day += timedelta(days=1)


def _days(values: Iterable[str]) -> Iterable[date]:
    return (date.fromisoformat(v) for v in values)
