"""Member archive bodies (党员档案): the 16 national baseline items, flat, snake_case.

Requests are validated here, before any gRPC call (format only; business rules are the member
service's). Responses pass the service's masking through unchanged.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from hongyun.member.v1 import member_pb2 as pb
from hongyun_platform.validation import validate_id_number
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from hongyun_gateway import enums
from hongyun_gateway.enums import Gender, MemberCategory, PartyStatus
from hongyun_gateway.pagination import Page
from hongyun_gateway.schemas.common import (
    IdNumber,
    Landline,
    MobilePhone,
    PastDate,
    opt_str,
    text,
    timestamp,
)

# Profile fields whose proto type is an enum, a date string, or a bool.
_ENUM_FIELDS = {"gender": Gender, "category": MemberCategory, "party_status": PartyStatus}
_DATE_FIELDS = {"birth_date", "joined_on", "converted_on", "lost_contact_since"}
_BOOL_FIELDS = {"lost_contact", "floating"}
# Fields a PATCH may not set to null (merge-patch null = clear; these cannot be cleared).
NOT_NULLABLE = (
    "organization_id",
    "name",
    "gender",
    "id_number",
    "birth_date",
    "category",
    "joined_on",
    "party_status",
    "lost_contact",
    "floating",
)


def _birth_date_matches_id(value: date | None, info: ValidationInfo) -> date | None:
    id_number = info.data.get("id_number")
    if value is not None and id_number and validate_id_number(id_number).birth_date != value:
        raise PydanticCustomError(
            "birth_date_mismatch",
            "出生日期与公民身份号码不一致 (birth date does not match the ID number)",
            {"reason": "id_number_mismatch"},
        )
    return value


def _profile_value(name: str, value: Any) -> Any:
    if name in _ENUM_FIELDS:
        return enums.to_proto(value, _ENUM_FIELDS[name])
    if name in _DATE_FIELDS:
        return value.isoformat() if value else ""
    if name in _BOOL_FIELDS:
        return bool(value)
    return value or ""


class _ProfileFields(BaseModel):
    """Declared in this order on purpose: id_number is validated before birth_date."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, text(1, 50)] | None = Field(default=None, description="姓名")
    gender: Gender | None = Field(default=None, description="性别")
    id_number: IdNumber | None = Field(default=None)
    ethnicity: Annotated[str, text(0, 30)] | None = Field(default=None, description="民族")
    birth_date: PastDate | None = Field(default=None, description="出生日期 YYYY-MM-DD")
    education: Annotated[str, text(0, 30)] | None = Field(default=None, description="学历")
    category: MemberCategory | None = Field(default=None, description="人员类别")
    joined_on: PastDate | None = Field(default=None, description="入党日期 YYYY-MM-DD")
    converted_on: PastDate | None = Field(default=None, description="转正日期 YYYY-MM-DD")
    job_post: Annotated[str, text(0, 50)] | None = Field(default=None, description="工作岗位")
    mobile_phone: MobilePhone | None = Field(default=None)
    landline: Landline | None = Field(default=None, description="固定电话")
    home_address: Annotated[str, text(0, 200)] | None = Field(default=None, description="家庭住址")
    party_status: PartyStatus | None = Field(default=None, description="党籍状态")
    lost_contact: bool | None = Field(default=None, description="是否失联")
    lost_contact_since: PastDate | None = Field(default=None, description="失联日期")
    floating: bool | None = Field(default=None, description="是否流动")
    floating_destination: Annotated[str, text(0, 200)] | None = Field(
        default=None, description="外出流向"
    )

    _check_birth_date = field_validator("birth_date")(_birth_date_matches_id)


PROFILE_FIELDS = tuple(_ProfileFields.model_fields)


class MemberCreate(_ProfileFields):
    """创建党员 Create a member. Required: organization_id, name, id_number, category, joined_on.
    Gender and birth date are read from the ID number when omitted (and must match it if given)."""

    organization_id: uuid.UUID
    name: Annotated[str, text(1, 50)] = Field(description="姓名", examples=["张三"])
    gender: Gender | None = Field(
        default=None, description="性别（缺省取自身份号码）", examples=["male"]
    )
    id_number: IdNumber
    birth_date: PastDate | None = Field(
        default=None, description="出生日期 YYYY-MM-DD（缺省取自身份号码）", examples=["1949-12-31"]
    )
    category: MemberCategory = Field(description="人员类别", examples=["full"])
    joined_on: PastDate = Field(description="入党日期 YYYY-MM-DD", examples=["1970-07-01"])
    party_status: PartyStatus = Field(default=PartyStatus.NORMAL, description="党籍状态")
    lost_contact: bool = Field(default=False, description="是否失联")
    floating: bool = Field(default=False, description="是否流动")

    _check_birth_date = field_validator("birth_date")(_birth_date_matches_id)

    def to_proto(self) -> pb.CreateMemberRequest:
        profile = pb.MemberProfile(
            **{f: _profile_value(f, getattr(self, f)) for f in PROFILE_FIELDS}
        )
        return pb.CreateMemberRequest(organization_id=str(self.organization_id), profile=profile)


class MemberUpdate(_ProfileFields):
    """Merge-style patch: only the fields present change; null clears an optional field.
    Setting organization_id moves the member to another organisation."""

    organization_id: uuid.UUID | None = None

    @field_validator(*NOT_NULLABLE, mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise PydanticCustomError(
                "not_nullable", "此字段不能清空 (this field cannot be null)", {"reason": "null"}
            )
        return value

    def changed_fields(self) -> list[str]:
        order = (*PROFILE_FIELDS, "organization_id")
        return [f for f in order if f in self.model_fields_set]

    def to_proto(self, member_id: uuid.UUID, expected_version: int) -> pb.UpdateMemberRequest:
        changed = self.changed_fields()
        profile = pb.MemberProfile(
            **{f: _profile_value(f, getattr(self, f)) for f in changed if f in PROFILE_FIELDS}
        )
        return pb.UpdateMemberRequest(
            id=str(member_id),
            profile=profile,
            update_mask=changed,
            organization_id=str(self.organization_id or ""),
            expected_version=expected_version,
        )


class MemberRead(BaseModel):
    """A member as the service returns it. id_number, mobile_phone, landline and home_address
    are masked unless ``revealed`` is true. Empty values are null."""

    id: str
    tenant_id: str
    organization_id: str
    name: str
    gender: Gender | None
    id_number: str | None
    ethnicity: str | None
    birth_date: str | None
    education: str | None
    category: MemberCategory | None
    joined_on: str | None
    converted_on: str | None
    job_post: str | None
    mobile_phone: str | None
    landline: str | None
    home_address: str | None
    party_status: PartyStatus | None
    lost_contact: bool
    lost_contact_since: str | None
    floating: bool
    floating_destination: str | None
    revealed: bool
    version: int
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def from_proto(cls, m: pb.Member) -> MemberRead:
        p = m.profile
        return cls(
            id=m.id,
            tenant_id=m.tenant_id,
            organization_id=m.organization_id,
            name=p.name,
            gender=enums.from_proto(Gender, p.gender),
            id_number=opt_str(p.id_number),
            ethnicity=opt_str(p.ethnicity),
            birth_date=opt_str(p.birth_date),
            education=opt_str(p.education),
            category=enums.from_proto(MemberCategory, p.category),
            joined_on=opt_str(p.joined_on),
            converted_on=opt_str(p.converted_on),
            job_post=opt_str(p.job_post),
            mobile_phone=opt_str(p.mobile_phone),
            landline=opt_str(p.landline),
            home_address=opt_str(p.home_address),
            party_status=enums.from_proto(PartyStatus, p.party_status),
            lost_contact=p.lost_contact,
            lost_contact_since=opt_str(p.lost_contact_since),
            floating=p.floating,
            floating_destination=opt_str(p.floating_destination),
            revealed=m.revealed,
            version=m.version,
            created_at=timestamp(m, "created_at"),
            updated_at=timestamp(m, "updated_at"),
        )


class MemberPage(Page[MemberRead]):
    pass
