"""Bodies of relationship transfers by introduction letter (组织关系转接, docs/adr/0016)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from hongyun.member.v1 import member_letters_pb2 as lpb
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from hongyun_gateway import enums
from hongyun_gateway.enums import Gender, MemberCategory
from hongyun_gateway.pagination import Page
from hongyun_gateway.schemas.common import PastDate, opt_str, text, timestamp
from hongyun_gateway.schemas.rules import RuleSource


class LetterScope(StrEnum):
    WITHIN_TENANT = "within_tenant"  # 本租户内
    CROSS_TENANT = "cross_tenant"  # 转往同级租户
    OUT_OF_PLATFORM = "out_of_platform"  # 转出平台（纸质介绍信）


class LetterState(StrEnum):
    DRAFT = "draft"  # 待审批
    APPROVED = "approved"  # 已审批
    ISSUED = "issued"  # 已开具
    RECEIVED = "received"  # 已报到
    RECEIPT_RETURNED = "receipt_returned"  # 回执已返回
    REVOKED = "revoked"  # 已撤销
    EXPIRED = "expired"  # 已过期


class LetterDirection(StrEnum):
    OUTGOING = "outgoing"  # 转出
    INCOMING = "incoming"  # 转入


def _to(prefix: str, wrapper, value: StrEnum | None) -> int:
    return int(wrapper.Value(prefix + value.name)) if value is not None else 0


def _from(enum_cls, prefix: str, wrapper, number: int):
    if number == 0:
        return None
    try:
        return enum_cls[wrapper.Name(number).removeprefix(prefix)]
    except (ValueError, KeyError):
        return None


def scope_to_proto(value: LetterScope | None) -> int:
    return _to("LETTER_SCOPE_", lpb.LetterScope, value)


def state_to_proto(value: LetterState | None) -> int:
    return _to("LETTER_STATE_", lpb.LetterState, value)


def direction_to_proto(value: LetterDirection | None) -> int:
    return _to("LETTER_DIRECTION_", lpb.LetterDirection, value)


def _date(value: str) -> date | None:
    return date.fromisoformat(value) if value else None


_SOURCE = {1: RuleSource.NATIONAL, 2: RuleSource.TENANT, 3: RuleSource.INHERITED}
DuesMonth = Annotated[
    str,
    Field(
        pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
        description="党费交至 YYYY-MM: the last month the dues are paid for",
        examples=["2026-11"],
    ),
]


_NEEDED = {
    LetterScope.WITHIN_TENANT: "to_organization_id",
    LetterScope.CROSS_TENANT: "receiving_tenant_id",
    LetterScope.OUT_OF_PLATFORM: "destination",
}


class LetterCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member_id: uuid.UUID = Field(description="党员 (inside your data scope)")
    scope: LetterScope = Field(description="转接范围")
    to_organization_id: uuid.UUID | None = Field(
        default=None, validate_default=True, description="接收组织: required within a tenant"
    )
    receiving_tenant_id: uuid.UUID | None = Field(
        default=None,
        validate_default=True,
        description="接收租户: required to a sibling tenant (see GET …/destinations)",
    )
    destination: Annotated[str, text(0, 200)] = Field(
        default="",
        validate_default=True,
        description="接收单位 as printed: required out of the platform; to a sibling tenant "
        "defaults to its name",
    )
    dues_paid_until: DuesMonth | None = Field(
        default=None,
        description="党费交至 YYYY-MM; omitted: the paid-through month of the member's dues "
        "records (422 `dues_paid_until_unknown` when there are none)",
        examples=["2026-11"],
    )
    reason: Annotated[str, text(1, 500)] = Field(description="转接原因", examples=["工作调动"])

    @field_validator("to_organization_id", "receiving_tenant_id", "destination")
    @classmethod
    def _required_for_scope(cls, value: object, info: ValidationInfo) -> object:
        scope = info.data.get("scope")
        if scope is not None and _NEEDED[scope] == info.field_name and not value:
            raise PydanticCustomError(
                "missing_for_scope",
                "该转接范围须填写此项 (required for scope {scope})",
                {"scope": scope.value, "reason": "required"},
            )
        return value

    def to_proto(self) -> lpb.CreateLetterRequest:
        return lpb.CreateLetterRequest(
            member_id=str(self.member_id),
            scope=scope_to_proto(self.scope),
            to_organization_id=str(self.to_organization_id or ""),
            receiving_tenant_id=str(self.receiving_tenant_id or ""),
            destination=self.destination,
            dues_paid_until=self.dues_paid_until or "",
            reason=self.reason,
        )


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expected_version: int | None = Field(
        default=None, ge=1, description="The letter's version you saw; 409 if it changed"
    )


class LetterApprove(_Step):
    pass


class LetterIssue(_Step):
    pass


class LetterReceive(_Step):
    organization_id: uuid.UUID = Field(description="报到组织: where the member reports in")
    reported_on: PastDate | None = Field(default=None, description="报到日期; default today")


class LetterConfirmReceipt(_Step):
    reported_on: PastDate | None = Field(
        default=None,
        description="回执上的报到日期: required for a letter out of the platform",
    )


class LetterRevoke(_Step):
    reason: Annotated[str, text(1, 500)] = Field(description="撤销原因")


class LetterRead(BaseModel):
    id: str
    tenant_id: str = Field(description="转出租户 the sending tenant")
    receiving_tenant_id: str | None
    scope: LetterScope | None
    state: LetterState | None
    direction: LetterDirection | None = Field(description="Seen from your tenant and scope")
    member_id: str = Field(description="The member's record in the sending tenant")
    member_name: str
    member_gender: Gender | None
    member_birth_date: date | None
    member_ethnicity: str
    member_category: MemberCategory | None
    member_id_number: str = Field(description="Masked; the printed letter has it in full")
    from_organization_id: str
    from_organization_name: str
    to_organization_id: str | None
    destination: str = Field(description="接收单位 as printed")
    placed_organization_id: str | None = Field(description="Where the member reported in")
    received_member_id: str | None = Field(description="The member's record there")
    dues_paid_until: str = Field(description="党费交至 YYYY-MM")
    reason: str
    letter_number: str | None
    valid_days: int | None
    issued_on: date | None
    valid_until: date | None = Field(description="有效期至: the last valid day")
    reported_on: date | None
    validity_source: RuleSource | None
    validity_citation: str | None = Field(description="依据 of the validity rule")
    created_at: datetime | None
    created_by: str
    approved_at: datetime | None
    approved_by: str | None
    issued_at: datetime | None
    issued_by: str | None
    received_at: datetime | None
    received_by: str | None
    receipt_at: datetime | None
    receipt_by: str | None
    revoked_at: datetime | None
    revoked_by: str | None
    revoke_reason: str | None
    expired_at: datetime | None
    version: int

    @classmethod
    def from_proto(cls, x: lpb.Letter) -> LetterRead:
        return cls(
            id=x.id, tenant_id=x.tenant_id, receiving_tenant_id=opt_str(x.receiving_tenant_id),
            scope=_from(LetterScope, "LETTER_SCOPE_", lpb.LetterScope, x.scope),
            state=_from(LetterState, "LETTER_STATE_", lpb.LetterState, x.state),
            direction=_from(LetterDirection, "LETTER_DIRECTION_", lpb.LetterDirection,
                            x.direction),
            member_id=x.member_id, member_name=x.member_name,
            member_gender=enums.from_proto(Gender, x.member_gender),
            member_birth_date=_date(x.member_birth_date), member_ethnicity=x.member_ethnicity,
            member_category=enums.from_proto(MemberCategory, x.member_category),
            member_id_number=x.member_id_number, from_organization_id=x.from_organization_id,
            from_organization_name=x.from_organization_name,
            to_organization_id=opt_str(x.to_organization_id), destination=x.destination,
            placed_organization_id=opt_str(x.placed_organization_id),
            received_member_id=opt_str(x.received_member_id),
            dues_paid_until=x.dues_paid_until, reason=x.reason,
            letter_number=opt_str(x.letter_number), valid_days=x.valid_days or None,
            issued_on=_date(x.issued_on), valid_until=_date(x.valid_until),
            reported_on=_date(x.reported_on), validity_source=_SOURCE.get(x.validity_source),
            validity_citation=opt_str(x.validity_citation),
            created_at=timestamp(x, "created_at"), created_by=x.created_by,
            approved_at=timestamp(x, "approved_at"), approved_by=opt_str(x.approved_by),
            issued_at=timestamp(x, "issued_at"), issued_by=opt_str(x.issued_by),
            received_at=timestamp(x, "received_at"), received_by=opt_str(x.received_by),
            receipt_at=timestamp(x, "receipt_at"), receipt_by=opt_str(x.receipt_by),
            revoked_at=timestamp(x, "revoked_at"), revoked_by=opt_str(x.revoked_by),
            revoke_reason=opt_str(x.revoke_reason), expired_at=timestamp(x, "expired_at"),
            version=x.version,
        )  # fmt: skip


class LetterPage(Page[LetterRead]):
    pass


class LetterDestinationRead(BaseModel):
    tenant_id: str
    name: str
    code: str


class LetterDestinations(BaseModel):
    items: list[LetterDestinationRead]
