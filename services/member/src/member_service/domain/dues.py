"""Party dues (党费, domain.md §5; docs/adr/0017): the monthly standard from the declared monthly
base, hardship reductions and waivers, rounding, months and arrears.

Pure: rule values come in as arguments (read with RuleBook by the caller), money is integer fen
(分) and exact fractions, never float. A month is the `date` of its first day.

- Employed members pay a per-mille of the after-tax monthly wage, retired members of the monthly
  pension, by bracket (rules dues.rate.employed / dues.rate.retired). Upper bounds are inclusive:
  exactly 3000.00 元 is in the "up to 3000" bracket. The rate applies to the whole base.
- Farmers, students, the unemployed and members on subsistence allowance (低保) pay a fixed
  amount in fen (rule dues.rate.fixed_monthly_fen); they declare no base.
- A computed amount is rounded to a multiple of step_fen (half_up or up), never below min_fen
  (rule dues.amount.rounding). Fixed amounts are taken as the rule gives them.
- A hardship decision (branch decides, next level approves) reduces the monthly amount or waives
  it for a range of months.
- Months owed run from the month after "paid through" to the current month, inclusive: a month
  is owed from its first day. Flags are raised at the month counts of dues.arrears.flag_months.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from fractions import Fraction
from typing import Any

from hongyun_platform.errors import InvalidArgument

from member_service.domain import lifecycle_rules as lr
from member_service.domain.dates import add_months
from member_service.domain.profile import PartyStatus

DUES_MAX_MONTHS_AHEAD = lr.DUES_MAX_MONTHS_AHEAD  # how far ahead payments etc. may reach

# Who pays: members in good standing. 保留党籍 (retained), 停止党籍 (suspended), expelled and
# deceased members owe nothing and are never in arrears.
PAYING_STATUSES = (PartyStatus.NORMAL, PartyStatus.RESTORED)
MAX_BASE_FEN = 100_000_000_00  # 1亿元: a typing error, not a wage
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class DuesGroup(StrEnum):
    EMPLOYED = "employed"  # 在职: after-tax monthly wage
    RETIRED = "retired"  # 离退休: monthly pension
    FARMER = "farmer"  # 农民
    STUDENT = "student"  # 学生
    UNEMPLOYED = "unemployed"  # 下岗失业
    SUBSISTENCE = "subsistence"  # 低保

    @property
    def rated(self) -> bool:
        """Pays a rate of a declared base (else a fixed amount)."""
        return self in (DuesGroup.EMPLOYED, DuesGroup.RETIRED)

    @property
    def rule_key(self) -> str:
        return {
            DuesGroup.EMPLOYED: lr.DUES_EMPLOYED,
            DuesGroup.RETIRED: lr.DUES_RETIRED,
        }.get(self, lr.DUES_FIXED_MONTHLY_FEN)


GROUP_ZH = {
    DuesGroup.EMPLOYED: "在职党员",
    DuesGroup.RETIRED: "离退休党员",
    DuesGroup.FARMER: "农民党员",
    DuesGroup.STUDENT: "学生党员",
    DuesGroup.UNEMPLOYED: "下岗失业党员",
    DuesGroup.SUBSISTENCE: "享受低保党员",
}
BASE_ZH = {DuesGroup.EMPLOYED: "税后月工资收入", DuesGroup.RETIRED: "月养老金"}


# ---- months ----


def month_of(day: date) -> date:
    return day.replace(day=1)


def month_index(month: date) -> int:
    return month.year * 12 + month.month - 1


def next_month(month: date) -> date:
    return add_months(month_of(month), 1)


def months_between(first: date, last: date) -> list[date]:
    """Every month from `first` to `last`, both included (empty when last < first)."""
    out, m = [], month_of(first)
    while m <= last:
        out.append(m)
        m = next_month(m)
    return out


def fmt_month(month: date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def parse_month(value: str, field_name: str) -> date | None:
    """ "YYYY-MM" → the month's first day; "" → None."""
    if not value:
        return None
    found = _MONTH.match(value.strip())
    if found and 1 <= int(found[2]) <= 12 and int(found[1]) >= 1900:
        return date(int(found[1]), int(found[2]), 1)
    raise InvalidArgument(
        f"{field_name}: 月份格式应为 YYYY-MM (month must be YYYY-MM)",
        code="invalid_month",
        field=field_name,
    )


def yuan(fen: int) -> str:
    """12.50 for 1250 fen (for messages; the API carries fen)."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


# ---- rounding and the standard ----


@dataclass(frozen=True)
class Rounding:
    step_fen: int
    mode: str  # half_up | up
    min_fen: int

    @classmethod
    def from_rule(cls, value: dict[str, Any]) -> Rounding:
        return cls(int(value["step_fen"]), str(value["mode"]), int(value["min_fen"]))

    def apply(self, exact: Fraction) -> int:
        steps = exact / self.step_fen
        # half_up: halves round up (amounts are never negative)
        whole = math.ceil(steps) if self.mode == "up" else math.floor(steps + Fraction(1, 2))
        return max(whole * self.step_fen, self.min_fen)


@dataclass(frozen=True)
class Standard:
    """The computed monthly standard and how it was reached."""

    group: DuesGroup
    base_fen: int | None  # declared monthly base; None for fixed groups
    monthly_fen: int
    rule_key: str
    per_mille: int | None = None  # rate of the bracket; None for fixed groups
    bracket_up_to_yuan: int | None = None  # inclusive upper bound; None = the open bracket
    exact: Fraction = Fraction(0)  # base × rate before rounding (fixed: the amount)

    def explanation(self) -> str:
        """How the amount follows from the rule, "中文 (English)"."""
        group = GROUP_ZH[self.group]
        if self.base_fen is None:
            return (
                f"{group}每月交纳 {yuan(self.monthly_fen)} 元（规则 {self.rule_key}）"
                f" ({self.group.value}: fixed {yuan(self.monthly_fen)} yuan a month)"
            )
        bound = (
            f"{self.bracket_up_to_yuan} 元以下（含）"
            if self.bracket_up_to_yuan is not None
            else "最高档"
        )
        bound_en = (
            f"up to {self.bracket_up_to_yuan} yuan inclusive"
            if self.bracket_up_to_yuan is not None
            else "the top bracket"
        )
        pct = _percent(self.per_mille or 0)
        exact = _fen_text(self.exact)
        return (
            f"{group}{BASE_ZH[self.group]} {yuan(self.base_fen)} 元，{bound}按 {pct}% 交纳："
            f"{exact} 分，取整后 {yuan(self.monthly_fen)} 元（规则 {self.rule_key}）"
            f" ({self.group.value}: {yuan(self.base_fen)} yuan, {bound_en}, {pct}% = {exact} fen,"
            f" rounded to {yuan(self.monthly_fen)} yuan)"
        )


def _percent(per_mille: int) -> str:
    return str(Fraction(per_mille, 10)) if per_mille % 10 else str(per_mille // 10)


def _fen_text(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    return f"{float(value):.3f}".rstrip("0")  # display only


def parse_group(value: str) -> DuesGroup:
    try:
        return DuesGroup(value)
    except ValueError:
        raise InvalidArgument(
            "党费分类无效：应为在职、离退休、农民、学生、下岗失业或低保 "
            "(group: employed, retired, farmer, student, unemployed or subsistence)",
            code="dues_unknown_group",
            field="group",
        ) from None


def compute_standard(
    group: DuesGroup,
    base_fen: int | None,
    *,
    rate_rule: Any,
    rounding_rule: dict[str, Any],
) -> Standard:
    """The monthly amount for a group and declared base. `rate_rule` is the value of
    group.rule_key: brackets for employed/retired, the per-group fixed fen otherwise."""
    if not group.rated:
        if base_fen:
            raise InvalidArgument(
                f"{GROUP_ZH[group]}按固定标准交纳，无需申报收入 "
                f"({group.value} members pay a fixed amount: declare no base)",
                code="dues_base_not_used",
                field="declared_base",
            )
        amount = int(rate_rule[group.value])
        return Standard(group, None, amount, group.rule_key, exact=Fraction(amount))
    if base_fen is None or base_fen <= 0:
        raise InvalidArgument(
            f"{BASE_ZH[group]}须为正数 (the declared monthly base must be positive)",
            code="dues_invalid_base",
            field="declared_base",
        )
    if base_fen > MAX_BASE_FEN:
        raise InvalidArgument(
            "申报收入超出范围 (the declared monthly base is out of range)",
            code="dues_invalid_base",
            field="declared_base",
        )
    bracket = _bracket(rate_rule, base_fen)
    per_mille = int(bracket["per_mille"])
    exact = Fraction(base_fen * per_mille, 1000)
    return Standard(
        group,
        base_fen,
        Rounding.from_rule(rounding_rule).apply(exact),
        group.rule_key,
        per_mille=per_mille,
        bracket_up_to_yuan=bracket["up_to_yuan"],
        exact=exact,
    )


def _bracket(brackets: Sequence[dict[str, Any]], base_fen: int) -> dict[str, Any]:
    for b in brackets:
        if b["up_to_yuan"] is None or base_fen <= int(b["up_to_yuan"]) * 100:
            return b
    return brackets[-1]  # a valid rule ends with an open bracket


# ---- what a month costs ----


@dataclass(frozen=True)
class StandardPeriod:
    effective_month: date
    monthly_fen: int


@dataclass(frozen=True)
class Relief:
    """An approved hardship decision: waived, or reduced to reduced_fen a month."""

    first_month: date
    last_month: date
    waived: bool
    reduced_fen: int | None = None

    def covers(self, month: date) -> bool:
        return self.first_month <= month <= self.last_month


def standard_for(month: date, standards: Sequence[StandardPeriod]) -> StandardPeriod | None:
    """The standard in force in `month`: the latest effective on or before it; before the first
    standard, the first one (the platform knows no earlier amount)."""
    if not standards:
        return None
    ordered = sorted(standards, key=lambda s: s.effective_month)
    found = ordered[0]
    for s in ordered:
        if s.effective_month <= month:
            found = s
    return found


def due_for(month: date, standards: Sequence[StandardPeriod], reliefs: Sequence[Relief]) -> int:
    """What `month` costs, after any approved hardship decision that covers it."""
    for r in reliefs:
        if r.covers(month):
            return 0 if r.waived else int(r.reduced_fen or 0)
    s = standard_for(month, standards)
    return s.monthly_fen if s else 0


def amount_due(
    months: Iterable[date], standards: Sequence[StandardPeriod], reliefs: Sequence[Relief]
) -> int:
    return sum(due_for(m, standards, reliefs) for m in months)


# ---- the account: start, paid through, arrears ----


def start_month(joined_on: date | None, first_standard_month: date) -> date:
    """Dues are owed from acceptance (a probationary member pays from the month of joining), and
    the platform knows amounts from the first declared standard: the later of the two."""
    if joined_on is None:
        return first_standard_month
    return max(month_of(joined_on), first_standard_month)


def nothing_paid(start: date) -> date:
    """The paid-through month of an account with nothing settled: the month before its start."""
    return add_months(start, -1)


def months_owed(paid_through: date, today: date) -> int:
    """Months from the month after `paid_through` to the current month, both included."""
    return max(0, month_index(month_of(today)) - month_index(paid_through))


def owed_months(paid_through: date, today: date) -> list[date]:
    return months_between(next_month(paid_through), month_of(today))


def advance(paid_through: date, settled: Iterable[date]) -> date:
    """`paid_through` moved over every settled month that follows it without a gap."""
    done = set(settled)
    while next_month(paid_through) in done:
        paid_through = next_month(paid_through)
    return paid_through


def flag_thresholds(rule_value: Iterable[int]) -> list[int]:
    """The month counts of dues.arrears.flag_months, smallest first."""
    return sorted({int(v) for v in rule_value})


def reached_on(paid_through: date, threshold: int) -> date:
    """The day a member with this paid-through month reaches `threshold` months owed."""
    return add_months(paid_through, threshold)


@dataclass(frozen=True)
class FlagDecision:
    send: int | None  # the threshold to flag now (the highest newly reached)
    skip: list[int] = field(default_factory=list)  # lower ones overtaken, recorded unsent


def flags_due(owed: int, thresholds: Sequence[int], done: Iterable[int]) -> FlagDecision:
    """Which flag to raise for `owed` months: one event per episode and threshold; when several
    thresholds are reached at once, only the highest is sent and the others are recorded."""
    sent = set(done)
    reached = [t for t in thresholds if t <= owed and t not in sent]
    if not reached:
        return FlagDecision(None)
    top = max(reached)
    return FlagDecision(top, sorted(t for t in reached if t != top))


# ---- checks on months people enter ----


def latest_allowed(today: date, max_months_ahead: int) -> date:
    return add_months(month_of(today), max_months_ahead)


def check_not_too_far(
    month: date, today: date, max_months_ahead: int, field_name: str, citation: str
) -> None:
    last = latest_allowed(today, max_months_ahead)
    if month > last:
        raise InvalidArgument(
            f"{field_name}: 最多可提前 {max_months_ahead} 个月（至 {fmt_month(last)}）"
            f"（规则 {DUES_MAX_MONTHS_AHEAD}：{citation}）"
            f" (at most {max_months_ahead} months ahead, up to {fmt_month(last)})",
            code="dues_month_too_far",
            field=field_name,
        )


def check_range(first: date, last: date, first_field: str, last_field: str) -> list[date]:
    if last < first:
        raise InvalidArgument(
            f"{last_field}: 结束月份早于开始月份 (the last month is before the first)",
            code="invalid_month_range",
            field=last_field,
        )
    return months_between(first, last)
