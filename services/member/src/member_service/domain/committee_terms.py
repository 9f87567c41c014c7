"""Committee terms (届) and the reminders before they end (换届提醒).

The length of a term and the reminder offsets come from rules (docs/adr/0007); this module only
does the calendar arithmetic and decides which reminder is due.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from hongyun_platform.errors import InvalidArgument

from member_service.domain.dates import add_years, reminder_dates


class UnitKind(StrEnum):
    """Whose committee: the term rule differs for village and community organisations."""

    VILLAGE_COMMUNITY = "village_community"  # 村、社区
    OTHER = "other"  # 其他基层单位


@dataclass(frozen=True)
class Term:
    started_on: date
    ends_on: date  # the day the term expires (届满日); the term holds while today < ends_on
    committee_members: int | None = None

    def current_on(self, day: date) -> bool:
        return self.started_on <= day < self.ends_on


def term_years(rule_value: Mapping[str, Any], kind: UnitKind) -> int:
    return int(rule_value[kind.value])


def term_end(started_on: date, years: int) -> date:
    return add_years(started_on, years)


def check_committee_members(n: int | None) -> int | None:
    if n is not None and not 1 <= n <= 99:
        raise InvalidArgument(
            "委员人数应在 1–99 之间 (committee_members: 1–99)",
            code="invalid_committee_members",
            field="committee_members",
        )
    return n


@dataclass(frozen=True)
class ReminderDecision:
    send: int | None  # months ahead of the reminder to send now, if any
    skip: tuple[int, ...]  # reminders overtaken by a nearer one: recorded, never sent


def due_reminder(
    ends_on: date, months_ahead: Iterable[int], *, today: date, done: Collection[int]
) -> ReminderDecision:
    """Which reminder to send for a term ending on `ends_on`.

    A reminder is due from its date until the term ends; a late run (the service was down, the
    term was recorded late) still sends it. When several are due, only the nearest to the end is
    sent and the earlier ones are skipped, so a member never gets "6 months left" after "1 month
    left". `done`: offsets already sent or skipped.
    """
    if today >= ends_on:
        return ReminderDecision(None, ())
    due = [m for m, day in reminder_dates(ends_on, months_ahead) if day <= today and m not in done]
    if not due:
        return ReminderDecision(None, ())
    send = min(due)
    return ReminderDecision(send, tuple(sorted((m for m in due if m != send), reverse=True)))
