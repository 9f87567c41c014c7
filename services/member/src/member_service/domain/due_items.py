"""What is due (待办提醒) for a secretary: one item per thing that needs doing by a date, computed
from the records and the rule data (docs/adr/0014). Each lifecycle part (development, transfer
letters, dues, committee terms) lists its own items; the view merges them by date.

Every item carries the rule behind its date, so the secretary can see why it is due.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class DueKind(StrEnum):
    DEVELOPMENT_STEP = "development_step"  # a development step due or overdue
    LETTER_EXPIRING = "letter_expiring"  # an introduction letter about to expire or expired
    COMMITTEE_TERM = "committee_term"  # a committee term ending (换届)
    DUES_ARREARS = "dues_arrears"  # a member behind with dues


@dataclass(frozen=True)
class DueItem:
    kind: DueKind
    organization_id: uuid.UUID  # where it is due (the branch of the person, the letter's sender …)
    subject_id: uuid.UUID  # the development case, letter, committee term or member
    subject_label: str  # a name to show (no personal data beyond the name)
    title: str  # what is due, "中文 (English)"
    due_on: date
    rule_key: str
    rule_citation: str
    rule_source: str  # national / tenant / inherited (RuleSource value)
    detail: str = ""  # what blocks it or what to do, "中文 (English)"

    def overdue(self, today: date) -> bool:
        return self.due_on < today

    def days_left(self, today: date) -> int:
        return (self.due_on - today).days


@dataclass(frozen=True)
class DuePage:
    """Items of one kind inside a scope, earliest first: `items` is at most the limit asked for,
    `total` and `overdue` count all of them."""

    items: list[DueItem]
    total: int
    overdue: int
