"""组织关系介绍信 Introduction letters of a relationship transfer (domain.md §6, docs/adr/0016):
states, the transitions each side may make, validity and the "dues paid up to" month.

    draft ──approve──▶ approved ──issue──▶ issued ──receive──▶ received ──confirm──▶ receipt_returned
      │                  │                  │  ╲                                         ▲
      └──── revoke ──────┴───── revoke ─────┘   ╲──confirm (out of platform)────────────┘
                                            │
                                         expire ──▶ expired ──revoke──▶ revoked
                                                       ╲──confirm (out of platform, reported in time)

- `receive` (报到) is the receiving side's step inside the platform: the member moves. A letter
  out of the platform has no receiver inside; its sender records the returned receipt (回执)
  instead, which is when the member leaves the platform.
- `confirm` (回执已返回) is the sending side's step: for letters inside the platform it files the
  receipt of a letter already received; out of the platform it completes the transfer, even after
  expiry when the receipt shows the member reported in while the letter was valid (the paper came
  back late).
- `revoke` (撤销) is the sender's, before the member reported in; an expired letter may be revoked
  to close it.
- Validity: `transfer.letter.valid_days` by scope, in calendar days from the day of issue. The
  day of issue is not counted (《民法典》第二百零一条: a period in days starts the next day), so a
  letter of 30 days issued on 1 March is valid to the end of 31 March.

Pure: no I/O. Refusals are FailedPrecondition with a stable code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from hongyun_platform.errors import FailedPrecondition, InvalidArgument

from member_service.domain.dates import add_years


class LetterState(StrEnum):
    DRAFT = "draft"  # 已填写，待审批 created, waiting for approval
    APPROVED = "approved"  # 已审批，待开具
    ISSUED = "issued"  # 已开具 (printed, numbered, validity running)
    RECEIVED = "received"  # 已报到 the member reported in on the receiving side
    RECEIPT_RETURNED = "receipt_returned"  # 回执已返回
    REVOKED = "revoked"  # 已撤销
    EXPIRED = "expired"  # 已过期 (not received within its validity)


class LetterScope(StrEnum):
    WITHIN_TENANT = "within_tenant"  # organisation to organisation of one tenant
    CROSS_TENANT = "cross_tenant"  # to a sibling tenant (same parent tenant)
    OUT_OF_PLATFORM = "out_of_platform"  # printed; no receiver inside the platform


class LetterAction(StrEnum):
    APPROVE = "approve"
    ISSUE = "issue"
    RECEIVE = "receive"
    CONFIRM_RECEIPT = "confirm_receipt"
    REVOKE = "revoke"
    EXPIRE = "expire"


class Side(StrEnum):
    SENDER = "sender"
    RECEIVER = "receiver"
    SYSTEM = "system"  # the expiry job


STATE_NAMES = {
    LetterState.DRAFT: "待审批 (draft)",
    LetterState.APPROVED: "已审批 (approved)",
    LetterState.ISSUED: "已开具 (issued)",
    LetterState.RECEIVED: "已报到 (received)",
    LetterState.RECEIPT_RETURNED: "回执已返回 (receipt returned)",
    LetterState.REVOKED: "已撤销 (revoked)",
    LetterState.EXPIRED: "已过期 (expired)",
}
ACTION_NAMES = {
    LetterAction.APPROVE: "审批 (approve)",
    LetterAction.ISSUE: "开具 (issue)",
    LetterAction.RECEIVE: "报到接收 (receive)",
    LetterAction.CONFIRM_RECEIPT: "回执确认 (confirm the receipt)",
    LetterAction.REVOKE: "撤销 (revoke)",
    LetterAction.EXPIRE: "过期 (expire)",
}

# A member has at most one open letter (a partial unique index says the same in the database).
OPEN_STATES = frozenset({LetterState.DRAFT, LetterState.APPROVED, LetterState.ISSUED})
# States in which the member has left the sending organisation for good.
COMPLETED_STATES = frozenset({LetterState.RECEIVED, LetterState.RECEIPT_RETURNED})
IN_PLATFORM = frozenset({LetterScope.WITHIN_TENANT, LetterScope.CROSS_TENANT})


@dataclass(frozen=True)
class Move:
    to: LetterState
    side: Side
    scopes: frozenset[LetterScope] = frozenset(LetterScope)


TRANSITIONS: Mapping[tuple[LetterState, LetterAction], Move] = {
    (LetterState.DRAFT, LetterAction.APPROVE): Move(LetterState.APPROVED, Side.SENDER),
    (LetterState.APPROVED, LetterAction.ISSUE): Move(LetterState.ISSUED, Side.SENDER),
    (LetterState.ISSUED, LetterAction.RECEIVE): Move(LetterState.RECEIVED, Side.RECEIVER, IN_PLATFORM),
    (LetterState.RECEIVED, LetterAction.CONFIRM_RECEIPT): Move(
        LetterState.RECEIPT_RETURNED, Side.SENDER, IN_PLATFORM),
    (LetterState.ISSUED, LetterAction.CONFIRM_RECEIPT): Move(
        LetterState.RECEIPT_RETURNED, Side.SENDER, frozenset({LetterScope.OUT_OF_PLATFORM})),
    (LetterState.EXPIRED, LetterAction.CONFIRM_RECEIPT): Move(
        LetterState.RECEIPT_RETURNED, Side.SENDER, frozenset({LetterScope.OUT_OF_PLATFORM})),
    (LetterState.DRAFT, LetterAction.REVOKE): Move(LetterState.REVOKED, Side.SENDER),
    (LetterState.APPROVED, LetterAction.REVOKE): Move(LetterState.REVOKED, Side.SENDER),
    (LetterState.ISSUED, LetterAction.REVOKE): Move(LetterState.REVOKED, Side.SENDER),
    (LetterState.EXPIRED, LetterAction.REVOKE): Move(LetterState.REVOKED, Side.SENDER),
    (LetterState.ISSUED, LetterAction.EXPIRE): Move(LetterState.EXPIRED, Side.SYSTEM),
}  # fmt: skip


def next_state(state: LetterState, action: LetterAction, scope: LetterScope) -> LetterState:
    """The state after `action`, or FailedPrecondition (code letter_state / letter_scope)."""
    move = TRANSITIONS.get((state, action))
    if move is None:
        raise FailedPrecondition(
            f"介绍信当前状态为{STATE_NAMES[state].split(' ')[0]}，不能{ACTION_NAMES[action].split(' ')[0]}"
            f" (a letter in state {state.value} cannot be {_past(action)})",
            code="letter_state",
        )
    if scope not in move.scopes:
        raise FailedPrecondition(
            _scope_refusal(action, scope),
            code="letter_scope",
        )
    return move.to


def side_of(state: LetterState, action: LetterAction) -> Side | None:
    move = TRANSITIONS.get((state, action))
    return move.side if move else None


def _past(action: LetterAction) -> str:
    return {
        LetterAction.APPROVE: "approved",
        LetterAction.ISSUE: "issued",
        LetterAction.RECEIVE: "received",
        LetterAction.CONFIRM_RECEIPT: "confirmed as returned",
        LetterAction.REVOKE: "revoked",
        LetterAction.EXPIRE: "expired",
    }[action]


def _scope_refusal(action: LetterAction, scope: LetterScope) -> str:
    if action is LetterAction.RECEIVE:
        return (
            "转出平台的介绍信没有平台内的接收方，请由转出方登记回执"
            " (a letter out of the platform has no receiver inside it: the sender records the"
            " returned receipt)"
        )
    if scope is LetterScope.OUT_OF_PLATFORM:
        return "转出平台的介绍信不经报到环节 (a letter out of the platform is never received inside it)"
    return (
        "平台内的介绍信须先由接收方报到，才能登记回执"
        " (inside the platform the receiving side must receive the letter before its receipt)"
    )


# ---- validity ----


def validity_days(rule_value: Mapping[str, Any], scope: LetterScope) -> int:
    """The days a letter of `scope` stays valid, from the rule transfer.letter.valid_days."""
    days = rule_value.get(scope.value)
    if not isinstance(days, int) or isinstance(days, bool) or days < 1:
        raise FailedPrecondition(
            f"规则 transfer.letter.valid_days 缺少 {scope.value} 的天数"
            f" (the rule has no day count for {scope.value})",
            code="rule_missing",
        )
    return days


def valid_until(issued_on: date, days: int) -> date:
    """The last day the letter is valid: the day of issue is not counted (民法典 §201)."""
    return issued_on + timedelta(days=days)


def is_expired(until: date, today: date) -> bool:
    return today > until


def days_left(until: date, today: date) -> int:
    return (until - today).days


def reminder_on(until: date, lead_days: int) -> date:
    """The day the expiry reminder becomes due (rule transfer.letter.expiry_reminder_days)."""
    return until - timedelta(days=lead_days)


def reminder_due(until: date, lead_days: int, today: date) -> bool:
    """Within the reminder lead and not yet expired."""
    return reminder_on(until, lead_days) <= today <= until


def rule_note(key: str, citation: str) -> str:
    return f"（规则 {key}：{citation}）" if citation else f"（规则 {key}）"


def check_receivable(until: date, today: date, *, rule_key: str, citation: str) -> None:
    """The receiving side reports the member in while the letter is valid."""
    if is_expired(until, today):
        raise FailedPrecondition(
            f"介绍信有效期至 {until.isoformat()}，已过期，请转出方重新开具{rule_note(rule_key, citation)}"
            f" (the letter expired on {until.isoformat()}; the sender must issue a new one)",
            code="letter_expired",
        )


def check_reported_on(
    reported_on: date, *, issued_on: date, until: date, today: date, rule_key: str, citation: str
) -> None:
    """The day on a returned receipt (out of the platform): within the letter's validity and
    not in the future."""
    if reported_on > today:
        raise InvalidArgument(
            "报到日期不能晚于今天 (the day of reporting in is in the future)",
            code="future_date",
            field="reported_on",
        )
    if reported_on < issued_on:
        raise InvalidArgument(
            f"报到日期早于开具日期 {issued_on.isoformat()} (reported in before the letter was issued)",
            code="reported_before_issue",
            field="reported_on",
        )
    if reported_on > until:
        raise FailedPrecondition(
            f"回执显示报到日期晚于有效期 {until.isoformat()}，介绍信已失效{rule_note(rule_key, citation)}"
            f" (the receipt shows the member reported in after the letter expired on"
            f" {until.isoformat()})",
            code="letter_expired",
        )


# ---- "dues paid up to" (党费交至) ----

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_dues_month(value: str, field: str = "dues_paid_until") -> date:
    """'YYYY-MM' → the first day of that month."""
    m = _MONTH.match(value.strip())
    if not m or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 1900:
        raise InvalidArgument(
            "党费交至月份格式为 YYYY-MM (dues paid up to: a month as YYYY-MM)",
            code="invalid_month",
            field=field,
        )
    return date(int(m.group(1)), int(m.group(2)), 1)


def format_dues_month(d: date | None) -> str:
    return f"{d.year:04d}-{d.month:02d}" if d else ""


def dues_month_zh(d: date) -> str:
    return f"{d.year}年{d.month}月"


# ---- letter numbers ----


def letter_number(year: int, seq: int) -> str:
    """The number printed on the three parts: year and a per-tenant sequence (〔2026〕第00012号)."""
    return f"〔{year}〕第{seq:05d}号"


def age_on(birth: date, day: date) -> int:
    """Whole years of age on `day`; a 29 February birthday falls on 28 February in other years
    (dates.add_years clamps, as the age rule of development does)."""
    years = day.year - birth.year
    return years - 1 if add_years(birth, years) > day else years
