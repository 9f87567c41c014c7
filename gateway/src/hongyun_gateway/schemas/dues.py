"""Bodies of party dues (党费, docs/adr/0017). Money is a decimal string in yuan ("12.50", at most
two decimals, never a JSON number: no float rounding); the member service counts integer fen.
Months are "YYYY-MM"."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from hongyun.member.v1 import member_dues_pb2 as dpb
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, JsonValue
from pydantic_core import PydanticCustomError

from hongyun_gateway.pagination import Page
from hongyun_gateway.schemas.common import PastDate, opt_str, text, timestamp
from hongyun_gateway.schemas.rules import RuleSource

_YUAN = re.compile(r"^\d{1,9}(\.\d{1,2})?$")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_SOURCE = {1: RuleSource.NATIONAL, 2: RuleSource.TENANT, 3: RuleSource.INHERITED}


def _yuan(value: object) -> str:
    if not isinstance(value, str):
        raise PydanticCustomError(
            "money_type",
            '金额应写成字符串，如 "12.50" (money is a string in yuan, e.g. "12.50")',
            {"reason": "type"},
        )
    value = value.strip()
    if value.startswith("-"):
        raise PydanticCustomError(
            "money_negative", "金额不能为负数 (money must not be negative)", {"reason": "negative"}
        )
    if not _YUAN.match(value):
        raise PydanticCustomError(
            "money_format",
            '金额为元，最多两位小数，如 "12.50" (yuan with at most two decimals, e.g. "12.50")',
            {"reason": "format"},
        )
    return value


def _month(value: object) -> str:
    if not isinstance(value, str) or not _MONTH.match(value.strip()) or value < "1900":
        raise PydanticCustomError(
            "month_format", "月份格式应为 YYYY-MM (month must be YYYY-MM)", {"reason": "format"}
        )
    return value.strip()


Yuan = Annotated[
    str,
    BeforeValidator(_yuan),
    Field(description="元, a decimal string with at most 2 decimals", examples=["12.50"],
          json_schema_extra={"pattern": _YUAN.pattern}),
]  # fmt: skip
Month = Annotated[
    str,
    BeforeValidator(_month),
    Field(description="YYYY-MM", examples=["2026-12"],
          json_schema_extra={"pattern": _MONTH.pattern}),
]  # fmt: skip


def to_fen(yuan: str | None) -> int:
    return int(Decimal(yuan) * 100) if yuan else 0


def from_fen(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


class DuesGroup(StrEnum):
    EMPLOYED = "employed"  # 在职: after-tax monthly wage
    RETIRED = "retired"  # 离退休: monthly pension
    FARMER = "farmer"  # 农民
    STUDENT = "student"  # 学生
    UNEMPLOYED = "unemployed"  # 下岗失业
    SUBSISTENCE = "subsistence"  # 享受低保


class HardshipStatus(StrEnum):
    REQUESTED = "requested"  # 支部已决定，待上级审批
    APPROVED = "approved"
    REJECTED = "rejected"


class MonthStatus(StrEnum):
    PAID = "paid"
    WAIVED = "waived"  # 困难免交
    UNPAID = "unpaid"
    NOT_DUE = "not_due"  # before the member's dues started
    NO_STANDARD = "no_standard"  # no standard declared yet


def _enum_from(enum_cls: Any, prefix: str, wrapper: Any, number: int) -> Any:
    if number == 0:
        return None
    try:
        return enum_cls[wrapper.Name(number).removeprefix(prefix)]
    except (ValueError, KeyError):
        return None


def group_to_proto(group: DuesGroup) -> int:
    return int(dpb.DuesGroup.Value("DUES_GROUP_" + group.name))


def _group(number: int) -> DuesGroup | None:
    return _enum_from(DuesGroup, "DUES_GROUP_", dpb.DuesGroup, number)


# ---- shared reads ----


class DuesRuleRead(BaseModel):
    """The rule behind a computation (GET /api/v1/rules/{key} shows it in full)."""

    key: str = Field(examples=["dues.rate.employed"])
    value: JsonValue
    citation: str
    source: RuleSource | None

    @classmethod
    def from_proto(cls, r: dpb.DuesRule) -> DuesRuleRead:
        return cls(
            key=r.key,
            value=json.loads(r.value_json) if r.value_json else None,
            citation=r.citation,
            source=_SOURCE.get(r.source),
        )


class DuesAccountRead(BaseModel):
    """Where a member's dues stand today."""

    member_id: str
    start_month: str = Field(description="First month owed: acceptance, or the first standard")
    paid_through: str | None = Field(description="Last month settled without a gap; null: none")
    first_unpaid_month: str
    months_owed: int = Field(description="Unsettled months up to and including this month")
    amount_owed: Yuan
    current_month: str
    open_flags: list[int] = Field(description="Arrears flags (months) raised in this episode")

    @classmethod
    def from_proto(cls, a: dpb.DuesAccount) -> DuesAccountRead:
        return cls(
            member_id=a.member_id,
            start_month=a.start_month,
            paid_through=opt_str(a.paid_through),
            first_unpaid_month=a.first_unpaid_month,
            months_owed=a.months_owed,
            amount_owed=from_fen(a.amount_owed_fen),
            current_month=a.current_month,
            open_flags=list(a.open_flags),
        )


# ---- standards ----


class DuesStandardWrite(BaseModel):
    """Declare a member's group and monthly base (申报党费基数). The base is personal data: stored
    encrypted, shown only on request (audited)."""

    model_config = ConfigDict(extra="forbid")

    group: DuesGroup
    declared_base: Yuan | None = Field(
        default=None,
        description="在职: after-tax monthly wage; 离退休: monthly pension; omit for fixed groups",
    )
    effective_month: Month | None = Field(default=None, description="Default: this month")
    opening_paid_through: Month | None = Field(
        default=None,
        description="期初已交至: paid through this month before recording began (only while no "
        "payment is recorded)",
    )

    def to_proto(self, member_id: str) -> dpb.SetStandardRequest:
        return dpb.SetStandardRequest(
            member_id=member_id,
            group=group_to_proto(self.group),  # type: ignore[arg-type]
            declared_base_fen=to_fen(self.declared_base),
            effective_month=self.effective_month or "",
            opening_paid_through=self.opening_paid_through or "",
        )


class DuesStandardRead(BaseModel):
    member_id: str
    effective_month: str
    group: DuesGroup | None
    declared_base: Yuan | None = Field(description="Null unless revealed (or just declared)")
    monthly_amount: Yuan = Field(description="The computed monthly dues 每月应交")
    rate_per_mille: int | None = Field(description="The bracket's rate in ‰; null: fixed amount")
    rate_rule: DuesRuleRead
    rounding_rule: DuesRuleRead | None
    explanation: str = Field(description="How the amount follows from the rule, 中文 (English)")
    created_by: str
    created_at: datetime | None

    @classmethod
    def from_proto(cls, s: dpb.DuesStandard) -> DuesStandardRead:
        return cls(
            member_id=s.member_id,
            effective_month=s.effective_month,
            group=_group(s.group),
            declared_base=from_fen(s.declared_base_fen) if s.base_revealed else None,
            monthly_amount=from_fen(s.monthly_fen),
            rate_per_mille=s.rate_per_mille or None,
            rate_rule=DuesRuleRead.from_proto(s.rate_rule),
            rounding_rule=(
                DuesRuleRead.from_proto(s.rounding_rule) if s.HasField("rounding_rule") else None
            ),
            explanation=s.explanation,
            created_by=s.created_by,
            created_at=timestamp(s, "created_at"),
        )


class DuesStandardSetRead(BaseModel):
    standard: DuesStandardRead
    account: DuesAccountRead


# ---- hardship ----


class DuesHardshipWrite(BaseModel):
    """The branch's decision to waive (免交) or reduce (减交) a member's dues for some months; it
    takes effect when the next level approves."""

    model_config = ConfigDict(extra="forbid")

    first_month: Month
    last_month: Month
    waived: bool = False
    reduced_monthly: Yuan | None = Field(
        default=None, description="Required unless waived: above 0 and below the standard"
    )
    reason: Annotated[str, text(1, 500)] = Field(description="困难情况, stored encrypted")

    def to_proto(self, member_id: str) -> dpb.RequestHardshipRequest:
        return dpb.RequestHardshipRequest(
            member_id=member_id,
            first_month=self.first_month,
            last_month=self.last_month,
            waived=self.waived,
            reduced_monthly_fen=to_fen(self.reduced_monthly),
            reason=self.reason,
        )


class DuesHardshipRead(BaseModel):
    id: str
    member_id: str
    first_month: str
    last_month: str
    waived: bool
    reduced_monthly: Yuan | None
    status: HardshipStatus | None
    requested_by: str
    requested_at: datetime | None
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None

    @classmethod
    def from_proto(cls, h: dpb.DuesHardship) -> DuesHardshipRead:
        return cls(
            id=h.id,
            member_id=h.member_id,
            first_month=h.first_month,
            last_month=h.last_month,
            waived=h.waived,
            reduced_monthly=from_fen(h.reduced_monthly_fen) if not h.waived else None,
            status=_enum_from(
                HardshipStatus, "DUES_HARDSHIP_STATUS_", dpb.DuesHardshipStatus, h.status
            ),
            requested_by=h.requested_by,
            requested_at=timestamp(h, "requested_at"),
            decided_by=opt_str(h.decided_by),
            decided_at=timestamp(h, "decided_at"),
            reason=opt_str(h.reason),
        )


class DuesHardshipDecisionRead(BaseModel):
    hardship: DuesHardshipRead
    account: DuesAccountRead


# ---- payments ----


class DuesPaymentWrite(BaseModel):
    """A payment received (no payment gateway: the secretary records it). Months are paid in
    order from the first unpaid month; more than due is recorded as a voluntary extra."""

    model_config = ConfigDict(extra="forbid")

    first_month: Month
    last_month: Month | None = Field(default=None, description="Default: first_month")
    amount: Yuan
    paid_on: PastDate | None = Field(default=None, description="YYYY-MM-DD; default today")
    method: Annotated[str, text(0, 40)] = Field(default="", examples=["微信"])
    receipt_number: Annotated[str, text(0, 60)] = Field(
        default="", description="Unique in the tenant when given"
    )

    def to_proto(self, member_id: str) -> dpb.RecordPaymentRequest:
        return dpb.RecordPaymentRequest(
            member_id=member_id,
            first_month=self.first_month,
            last_month=self.last_month or "",
            amount_fen=to_fen(self.amount),
            paid_on=self.paid_on.isoformat() if self.paid_on else "",
            method=self.method,
            receipt_number=self.receipt_number,
        )


class DuesPaymentRead(BaseModel):
    id: str
    member_id: str
    member_name: str
    first_month: str
    last_month: str
    months: int
    amount: Yuan
    due: Yuan = Field(description="What the months cost; amount − due is a voluntary extra")
    paid_on: date
    method: str
    receipt_number: str
    recorded_by: str
    recorded_at: datetime | None

    @classmethod
    def from_proto(cls, p: dpb.DuesPayment) -> DuesPaymentRead:
        return cls(
            id=p.id,
            member_id=p.member_id,
            member_name=p.member_name,
            first_month=p.first_month,
            last_month=p.last_month,
            months=p.months,
            amount=from_fen(p.amount_fen),
            due=from_fen(p.due_fen),
            paid_on=date.fromisoformat(p.paid_on),
            method=p.method,
            receipt_number=p.receipt_number,
            recorded_by=p.recorded_by,
            recorded_at=timestamp(p, "recorded_at"),
        )


class DuesPaymentRecordedRead(BaseModel):
    payment: DuesPaymentRead
    account: DuesAccountRead


DuesPaymentPage = Page[DuesPaymentRead]


# ---- a member, arrears, a month's roll ----


class MemberDuesRead(BaseModel):
    member_id: str
    member_name: str
    organization_id: str
    account: DuesAccountRead | None = Field(description="Null until a standard is declared")
    standard: DuesStandardRead | None = Field(description="In force this month; base hidden")
    hardships: list[DuesHardshipRead]

    @classmethod
    def from_proto(cls, member_id: str, r: dpb.GetMemberDuesResponse) -> MemberDuesRead:
        return cls(
            member_id=member_id,
            member_name=r.member_name,
            organization_id=r.organization_id,
            account=DuesAccountRead.from_proto(r.account) if r.HasField("account") else None,
            standard=DuesStandardRead.from_proto(r.standard) if r.HasField("standard") else None,
            hardships=[DuesHardshipRead.from_proto(h) for h in r.hardships],
        )


class DuesArrearsRead(BaseModel):
    member_id: str
    member_name: str
    organization_id: str
    organization_name: str
    paid_through: str | None
    first_unpaid_month: str
    months_owed: int
    amount_owed: Yuan
    flag_months: int | None = Field(description="The highest flag threshold reached")

    @classmethod
    def from_proto(cls, a: dpb.DuesArrears) -> DuesArrearsRead:
        return cls(
            member_id=a.member_id,
            member_name=a.member_name,
            organization_id=a.organization_id,
            organization_name=a.organization_name,
            paid_through=opt_str(a.paid_through),
            first_unpaid_month=a.first_unpaid_month,
            months_owed=a.months_owed,
            amount_owed=from_fen(a.amount_owed_fen),
            flag_months=a.flag_months or None,
        )


class DuesArrearsPage(Page[DuesArrearsRead]):
    total: int = Field(description="Members matching, all pages")
    min_months: int
    flag_rule: DuesRuleRead
    current_month: str


class DuesMonthEntryRead(BaseModel):
    member_id: str
    member_name: str
    organization_id: str
    status: MonthStatus | None
    due: Yuan
    payment_id: str | None


class DuesMonthRollRead(Page[DuesMonthEntryRead]):
    month: str
    members: int
    paid_members: int = Field(description="Paid or waived")
    unpaid_members: int
    due_total: Yuan
    paid_total: Yuan

    @classmethod
    def from_proto(cls, r: dpb.ListMonthRollResponse, next_cursor: str | None) -> DuesMonthRollRead:
        return cls(
            month=r.month,
            items=[
                DuesMonthEntryRead(
                    member_id=e.member_id,
                    member_name=e.member_name,
                    organization_id=e.organization_id,
                    status=_enum_from(
                        MonthStatus, "DUES_MONTH_STATUS_", dpb.DuesMonthStatus, e.status
                    ),
                    due=from_fen(e.due_fen),
                    payment_id=opt_str(e.payment_id),
                )
                for e in r.entries
            ],
            next_cursor=next_cursor,
            members=r.members,
            paid_members=r.paid_members,
            unpaid_members=r.unpaid_members,
            due_total=from_fen(r.due_fen_total),
            paid_total=from_fen(r.paid_fen_total),
        )
