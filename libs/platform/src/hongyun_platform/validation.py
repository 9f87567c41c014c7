"""Format validators for national standards, shared by the gateway and services (like an e-mail
validator: the shape of a value, not a business rule).

- Citizen identity number (公民身份号码), GB 11643-1999: 6 region + 8 birth date + 3 sequence
  + 1 check character.
- Mainland mobile phone numbers.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Literal

from hongyun_platform.errors import InvalidArgument

Gender = Literal["male", "female"]

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_SHAPE = re.compile(r"[0-9]{17}[0-9X]")  # explicit ranges: \d would accept non-ASCII digits
_EARLIEST_BIRTH = date(1900, 1, 1)
_MOBILE = re.compile(r"(?:\+86|0086|86)?(1[3-9][0-9]{9})")
_PHONE_SEPARATORS = re.compile(r"[\s\-]")


_MESSAGES = {
    "format": "公民身份号码应由17位数字和1位数字或X组成",
    "length": "公民身份号码应为18位",
    "legacy_15_digit": "不支持15位旧版身份证号码，请填写18位公民身份号码",
    "birth_date": "公民身份号码中的出生日期无效",
    "check_digit": "公民身份号码校验位错误，请核对",
}


class InvalidIdNumber(InvalidArgument, ValueError):
    """`reason`: format | length | legacy_15_digit | birth_date | check_digit.

    Also a ValueError so schema validators can raise it directly. The message never
    repeats the number: it may end up in logs.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(_MESSAGES[reason], code=reason, field="id_number")
        self.reason = reason


@dataclass(frozen=True)
class IdNumberInfo:
    normalized: str
    birth_date: date
    gender: Gender
    region_code: str  # not checked against the division table: codes change, cards don't


def normalize_id_number(value: str) -> str:
    # NFKC turns full-width digits and "Ｘ" (common from Chinese IMEs) into ASCII.
    return unicodedata.normalize("NFKC", value).strip().upper()


def check_character(first17: str) -> str:
    total = sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def validate_id_number(value: str, *, today: date | None = None) -> IdNumberInfo:
    v = normalize_id_number(value or "")
    if len(v) == 15 and v.isascii() and v.isdigit():
        raise InvalidIdNumber("legacy_15_digit")
    if len(v) != 18:
        raise InvalidIdNumber("length")
    if not _SHAPE.fullmatch(v):
        raise InvalidIdNumber("format")
    try:
        born = date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        raise InvalidIdNumber("birth_date") from None
    if not _EARLIEST_BIRTH <= born <= (today or date.today()):
        raise InvalidIdNumber("birth_date")
    if check_character(v[:17]) != v[17]:
        raise InvalidIdNumber("check_digit")
    return IdNumberInfo(
        normalized=v,
        birth_date=born,
        gender="male" if int(v[16]) % 2 else "female",
        region_code=v[:6],
    )


def id_number_suffix(value: str, n: int = 4) -> str:
    """Last `n` characters of the normalised number (for "尾号" display and search).

    Capped at 4: longer suffixes start to reveal the birth date."""
    if not 1 <= n <= 4:
        raise ValueError("suffix length must be between 1 and 4")
    v = normalize_id_number(value)
    if len(v) <= n:
        raise ValueError("value is too short to take a suffix from")
    return v[-n:]


class InvalidPhone(InvalidArgument, ValueError):
    def __init__(self, reason: str = "format") -> None:
        message = "手机号码格式错误，应为11位中国大陆手机号码"
        super().__init__(message, code=reason, field="mobile_phone")
        self.reason = reason


def validate_mobile_phone(value: str) -> str:
    """Mainland mobile number normalised to 11 digits; "+86"/"86" prefix and spaces/dashes go."""
    v = _PHONE_SEPARATORS.sub("", unicodedata.normalize("NFKC", value or ""))
    match = _MOBILE.fullmatch(v)
    if not match:
        raise InvalidPhone()
    return match.group(1)


normalize_mobile_phone = validate_mobile_phone
