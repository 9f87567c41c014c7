"""Masking for personal data shown to readers without full-view rights, and phone validation.

Rules (empty stays empty; a value too short for its rule is masked more, never shown whole):
- ID number: first 4 (province + prefecture, useful to tell people apart by place) and last 4
  kept; the birth date and sequence in between are hidden. 18 chars -> "1101**********002X".
- Mobile: first 3 and last 4 kept, the usual "138****5678".
- Landline: area code and last 4 digits kept, separators kept: "0755-****5678".
- Address: first 6 characters (province/city) + a fixed "****", so the length is hidden too.
"""

from __future__ import annotations

from hongyun_platform.validation import InvalidPhone, validate_mobile_phone

__all__ = [
    "InvalidPhone",
    "mask_address",
    "mask_id_number",
    "mask_landline",
    "mask_phone",
    "validate_mobile_phone",
]


def _keep_ends(value: str, head: int, tail: int) -> str:
    if len(value) <= head + tail:
        return "*" * len(value)
    return value[:head] + "*" * (len(value) - head - tail) + value[len(value) - tail :]


def mask_id_number(value: str) -> str:
    return _keep_ends(value.strip(), 4, 4)


def mask_phone(value: str) -> str:
    return _keep_ends(value.strip(), 3, 4)


def mask_landline(value: str) -> str:
    v = value.strip()
    # Mainland area codes: 3 digits for 01x/02x (Beijing, Shanghai, ...), otherwise 4.
    area = (3 if v[1:2] in ("1", "2") else 4) if v.startswith("0") else 0
    head, rest = v[:area], v[area:]
    if not rest:
        return "*" * len(v)
    digits = [i for i, c in enumerate(rest) if c.isdigit()]
    hidden = set(digits[:-4] if len(digits) > 4 else digits)
    return head + "".join("*" if i in hidden else c for i, c in enumerate(rest))


def mask_address(value: str) -> str:
    v = value.strip()
    if not v:
        return ""
    return v[: 6 if len(v) > 6 else len(v) // 2] + "****"
