"""The 16 national baseline items of a member (domain.md §2) and their validation rules."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import date
from enum import IntEnum

from hongyun_platform.errors import InvalidArgument
from hongyun_platform.validation import validate_id_number, validate_mobile_phone


class Gender(IntEnum):
    UNSPECIFIED = 0
    MALE = 1
    FEMALE = 2


class Category(IntEnum):  # 人员类别
    UNSPECIFIED = 0
    FULL = 1
    PROBATIONARY = 2


class PartyStatus(IntEnum):  # 党籍状态
    UNSPECIFIED = 0
    NORMAL = 1
    RETAINED = 2
    RESTORED = 3
    SUSPENDED = 4
    EXPELLED = 5
    DECEASED = 6


PERSONAL_FIELDS = ("id_number", "mobile_phone", "landline", "home_address")
MAX_LENGTHS = {
    "name": 50, "ethnicity": 20, "education": 30, "job_post": 100, "landline": 30,
    "home_address": 200, "floating_destination": 200,
}  # fmt: skip


@dataclass(frozen=True)
class Profile:
    name: str = ""
    gender: Gender = Gender.UNSPECIFIED
    id_number: str = ""
    ethnicity: str = ""
    birth_date: date | None = None
    education: str = ""
    category: Category = Category.UNSPECIFIED
    joined_on: date | None = None
    converted_on: date | None = None
    job_post: str = ""
    mobile_phone: str = ""
    landline: str = ""
    home_address: str = ""
    party_status: PartyStatus = PartyStatus.UNSPECIFIED
    lost_contact: bool = False
    lost_contact_since: date | None = None
    floating: bool = False
    floating_destination: str = ""


PROFILE_FIELDS = tuple(f.name for f in fields(Profile))


def parse_date(value: str, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidArgument(
            f"{field}: 日期格式应为 YYYY-MM-DD (date must be YYYY-MM-DD)",
            code="invalid_date",
            field=field,
        ) from exc


def validate_profile(p: Profile, *, today: date) -> Profile:
    """Returns the normalised profile or raises InvalidArgument naming the first bad field."""
    if not p.name.strip():
        raise InvalidArgument("姓名不能为空 (name is required)", code="required", field="name")
    for name, limit in MAX_LENGTHS.items():
        if len(getattr(p, name)) > limit:
            raise InvalidArgument(
                f"{name}: 最多 {limit} 个字符 (at most {limit} characters)",
                code="too_long",
                field=name,
            )
    info = validate_id_number(p.id_number, today=today)  # InvalidIdNumber is an InvalidArgument
    gender = Gender.MALE if info.gender == "male" else Gender.FEMALE
    if p.gender not in (Gender.UNSPECIFIED, gender):
        raise InvalidArgument(
            "性别与公民身份号码不符 (gender does not match the ID number)",
            code="gender_mismatch",
            field="gender",
        )
    if p.birth_date and p.birth_date != info.birth_date:
        raise InvalidArgument(
            "出生日期与公民身份号码不符 (birth date does not match the ID number)",
            code="birth_date_mismatch",
            field="birth_date",
        )
    if p.category == Category.UNSPECIFIED:
        raise InvalidArgument(
            "人员类别必填 (category is required)", code="required", field="category"
        )
    for name in ("joined_on", "converted_on", "lost_contact_since"):
        d = getattr(p, name)
        if d and d > today:
            raise InvalidArgument(
                f"{name}: 日期不能晚于今天 (date is in the future)", code="future_date", field=name
            )
    if p.joined_on and p.joined_on <= info.birth_date:
        raise InvalidArgument(
            "入党日期早于出生日期 (joined before birth)", code="invalid_date", field="joined_on"
        )
    if p.converted_on and p.joined_on and p.converted_on < p.joined_on:
        raise InvalidArgument(
            "转正日期早于入党日期 (converted before joining)",
            code="invalid_date",
            field="converted_on",
        )
    phone = ""
    if p.mobile_phone:
        phone = validate_mobile_phone(p.mobile_phone)
    return replace(
        p,
        name=p.name.strip(),
        id_number=info.normalized,
        gender=gender,
        birth_date=info.birth_date,
        mobile_phone=phone,
        party_status=p.party_status or PartyStatus.NORMAL,
        lost_contact_since=p.lost_contact_since if p.lost_contact else None,
        floating_destination=p.floating_destination if p.floating else "",
    )
