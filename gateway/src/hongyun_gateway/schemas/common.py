"""Field types shared by the request bodies, and proto ↔ JSON helpers."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Annotated

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from hongyun_platform.validation import (
    InvalidIdNumber,
    InvalidPhone,
    normalize_mobile_phone,
    validate_id_number,
)
from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints
from pydantic_core import PydanticCustomError

# Dates users enter are calendar dates in China (UTC+8, no DST); "today" is today there.
CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LANDLINE = re.compile(r"^[0-9+()\- ]{5,30}$")


def china_today() -> date:
    return datetime.now(CHINA_TZ).date()


def _iso_date(value: object) -> object:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise PydanticCustomError(
            "date_format", "日期格式应为 YYYY-MM-DD (date must be YYYY-MM-DD)", {"reason": "format"}
        )
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError(
            "date_format", "日期无效 (not a real calendar date)", {"reason": "invalid_date"}
        ) from None


def _not_future(value: date) -> date:
    if value > china_today():
        raise PydanticCustomError(
            "date_in_future",
            "日期不能晚于今天 (date must not be in the future)",
            {"reason": "future"},
        )
    if value.year < 1900:
        raise PydanticCustomError(
            "date_range", "日期早于1900年 (date before 1900)", {"reason": "too_early"}
        )
    return value


def _id_number(value: str) -> str:
    try:
        return validate_id_number(value, today=china_today()).normalized
    except InvalidIdNumber as exc:
        raise PydanticCustomError(
            "id_number", "{detail}", {"reason": exc.reason, "detail": str(exc)}
        ) from None


def _mobile(value: str) -> str:
    try:
        return normalize_mobile_phone(value)
    except InvalidPhone as exc:
        raise PydanticCustomError(
            "mobile_phone",
            "{detail}",
            {"reason": getattr(exc, "reason", "format"), "detail": str(exc)},
        ) from None


def _landline(value: str) -> str:
    if not _LANDLINE.match(value) or sum(c.isdigit() for c in value) < 5:
        raise PydanticCustomError(
            "landline",
            "固定电话格式错误 (landline: digits, +, -, parentheses)",
            {"reason": "format"},
        )
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
PastDate = Annotated[date, BeforeValidator(_iso_date), AfterValidator(_not_future)]
IdNumber = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=18),
    AfterValidator(_id_number),
    Field(description="公民身份号码 GB 11643, 18 characters", examples=["11010519491231002X"]),
]
MobilePhone = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=20),
    AfterValidator(_mobile),
    Field(description="手机号码, 11 digits (+86 prefix allowed)", examples=["13800138000"]),
]
Landline = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=30), AfterValidator(_landline)
]


def text(min_length: int, max_length: int) -> StringConstraints:
    """Stripped string of bounded length: ``Annotated[str, text(1, 50)]``."""
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)


# ---- proto → JSON ----


def timestamp(msg: Message, field_name: str) -> datetime | None:
    if not msg.HasField(field_name):
        return None
    ts: Timestamp = getattr(msg, field_name)
    return ts.ToDatetime(tzinfo=UTC)


def opt_str(value: str) -> str | None:
    return value or None
