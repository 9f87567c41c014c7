"""Pure rules of the electronic member archive (docs/adr/0009): record kinds, 党籍 status
transitions and status-as-of-date, flag rules, field diffs, attachment checks, value checks.

No I/O. Thresholds (the 6 months of 失联) are passed in by the caller, who reads them as data.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum, IntEnum
from typing import Any

from hongyun_platform.errors import FailedPrecondition, InvalidArgument

from member_service.domain import masking
from member_service.domain.profile import PartyStatus

EARLIEST_DATE = date(1900, 1, 1)
HIDDEN = "****"  # what a hidden free-text value looks like in the field history


class AwardKind(IntEnum):  # 奖惩
    UNSPECIFIED = 0
    AWARD = 1  # 奖励
    PUNISHMENT = 2  # 惩处 (discipline: sensitive)


class HardshipKind(IntEnum):  # 困难类型
    UNSPECIFIED = 0
    LIVING = 1  # 生活困难
    ILLNESS = 2  # 疾病
    DISABILITY = 3  # 残疾
    UNEMPLOYMENT = 4  # 失业
    DISASTER = 5  # 受灾
    OTHER = 9  # 其他


class MemberFlag(IntEnum):
    UNSPECIFIED = 0
    LOST_CONTACT = 1  # 失联
    FLOATING = 2  # 流动


class AttachmentKind(IntEnum):
    UNSPECIFIED = 0
    PHOTO = 1  # 照片
    SCAN = 2  # 扫描件 (certificates, forms, decisions)


class AttachmentStatus(IntEnum):
    UNSPECIFIED = 0
    PENDING = 1  # created, waiting for the upload and the complete call
    AVAILABLE = 2  # checked; may be downloaded
    REJECTED = 3  # the upload broke a limit; the object was deleted


# ---- plain values ----------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(
    value: str, field: str, max_length: int, *, required: bool = False, multiline: bool = False
) -> str:
    """Stripped, NFC-normalised text of at most `max_length` characters; InvalidArgument else."""
    v = unicodedata.normalize("NFC", value or "").strip()
    if _CONTROL.search(v) or (not multiline and ("\n" in v or "\r" in v)):
        raise InvalidArgument(
            f"{field}: 不能包含控制字符 (no control characters)", code="invalid_text", field=field
        )
    if required and not v:
        raise InvalidArgument(f"{field}: 必填 (required)", code="required", field=field)
    if len(v) > max_length:
        raise InvalidArgument(
            f"{field}: 最多 {max_length} 个字符 (at most {max_length} characters)",
            code="too_long",
            field=field,
        )
    return v


def check_date(
    value: date | None, field: str, *, today: date, required: bool = False, past: bool = True
) -> date | None:
    if value is None:
        if required:
            raise InvalidArgument(f"{field}: 必填 (required)", code="required", field=field)
        return None
    if value < EARLIEST_DATE:
        raise InvalidArgument(
            f"{field}: 日期早于1900年 (date before 1900)", code="invalid_date", field=field
        )
    if past and value > today:
        raise InvalidArgument(
            f"{field}: 日期不能晚于今天 (date is in the future)", code="future_date", field=field
        )
    return value


def check_order(first: date | None, then: date | None, field: str) -> None:
    if first and then and then < first:
        raise InvalidArgument(
            f"{field}: 结束日期早于开始日期 (ends before it starts)",
            code="invalid_date_range",
            field=field,
        )


def check_enum(value: int, enum_cls: type[IntEnum], field: str) -> IntEnum:
    if value not in enum_cls._value2member_map_ or value == 0:
        raise InvalidArgument(
            f"{field}: 取值无效 (unknown value)", code="invalid_enum", field=field
        )
    return enum_cls(value)


def normalize_tag(value: str) -> str:
    """Free tags: NFKC (full-width → ASCII), inner whitespace collapsed, 1–20 characters."""
    v = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", value or "")).strip()
    if not v or len(v) > 20 or _CONTROL.search(v) or "," in v:
        raise InvalidArgument(
            "标签为 1–20 个字符，不含逗号 (tag: 1–20 characters, no comma)",
            code="invalid_tag",
            field="tag",
        )
    return v


def add_months(d: date, months: int) -> date:
    """Calendar months, clamped to the month's end (2024-08-31 + 6 months = 2025-02-28)."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


# ---- 党籍 status history -----------------------------------------------------------------

_ACTIVE = (PartyStatus.NORMAL, PartyStatus.RESTORED)
_ENDINGS = (PartyStatus.EXPELLED, PartyStatus.DECEASED)
# Which status may follow which. 开除/出党 and 死亡 end the history: re-joining is a new
# application, and an error is corrected through the member's profile (an audited correction).
ALLOWED_TRANSITIONS: Mapping[PartyStatus, frozenset[PartyStatus]] = {
    PartyStatus.NORMAL: frozenset({PartyStatus.RETAINED, PartyStatus.SUSPENDED, *_ENDINGS}),
    PartyStatus.RESTORED: frozenset({PartyStatus.RETAINED, PartyStatus.SUSPENDED, *_ENDINGS}),
    PartyStatus.RETAINED: frozenset({PartyStatus.RESTORED, PartyStatus.SUSPENDED, *_ENDINGS}),
    PartyStatus.SUSPENDED: frozenset({PartyStatus.RESTORED, *_ENDINGS}),
    PartyStatus.EXPELLED: frozenset(),
    PartyStatus.DECEASED: frozenset(),
}


@dataclass(frozen=True)
class StatusEntry:
    status: PartyStatus
    effective_on: date
    recorded_at: datetime  # ties on the same day: the later record wins
    id: Any = None


def _order(e: StatusEntry) -> tuple[date, datetime]:
    return (e.effective_on, e.recorded_at)


def status_as_of(entries: Iterable[StatusEntry], as_of: date) -> StatusEntry | None:
    """The entry in effect on `as_of`: the latest one effective on or before that day."""
    past = [e for e in entries if e.effective_on <= as_of]
    return max(past, key=_order) if past else None


def check_status_change(
    entries: Sequence[StatusEntry], new: PartyStatus, effective_on: date, *, today: date
) -> StatusEntry | None:
    """Checks a change against its neighbours in the history; returns the entry it follows.

    The change may be back-dated (inserted into the history), never future-dated: the
    member's current status is always the latest entry, with no job needed on the day.
    """
    if new in (PartyStatus.UNSPECIFIED, PartyStatus.NORMAL):
        raise InvalidArgument(
            "党籍状态只能变更为 保留/恢复/停止/开除(出党)/死亡 "
            "(a change is to retained, restored, suspended, expelled or deceased)",
            code="invalid_status",
            field="status",
        )
    if effective_on > today:
        raise InvalidArgument(
            "生效日期不能晚于今天 (effective date is in the future)",
            code="future_date",
            field="effective_on",
        )
    if entries and effective_on < min(e.effective_on for e in entries):
        raise InvalidArgument(
            "生效日期早于党籍记录的起点 (effective before the start of the status history)",
            code="before_history",
            field="effective_on",
        )
    before = status_as_of(entries, effective_on)
    if before is not None and new not in ALLOWED_TRANSITIONS[before.status]:
        raise FailedPrecondition(
            f"党籍状态不能从 {before.status.name.lower()} 变为 {new.name.lower()} "
            f"(status {before.status.name.lower()} cannot change to {new.name.lower()})",
            code="invalid_status_transition",
            field="status",
        )
    later = sorted((e for e in entries if e.effective_on > effective_on), key=_order)
    if later and later[0].status not in ALLOWED_TRANSITIONS[new]:
        raise FailedPrecondition(
            f"与之后的党籍记录冲突 (conflicts with the later change to "
            f"{later[0].status.name.lower()} on {later[0].effective_on.isoformat()})",
            code="invalid_status_transition",
            field="effective_on",
        )
    return before


# ---- 失联 / 流动 flags -------------------------------------------------------------------


@dataclass(frozen=True)
class FlagChangeInput:
    flag: MemberFlag
    active: bool
    effective_on: date
    destination: str = ""
    reason: str = ""


def check_flag_change(
    change: FlagChangeInput,
    *,
    currently_active: bool,
    today: date,
    lost_contact_min_months: int,
) -> FlagChangeInput:
    """Validates a set/clear of a flag. `lost_contact_min_months` is rule data (domain.md §2:
    out of contact ≥ 6 months), read by the caller from the rules store."""
    flag = check_enum(int(change.flag), MemberFlag, "flag")
    on = check_date(change.effective_on, "effective_on", today=today, required=True)
    assert on is not None
    destination = clean_text(change.destination, "destination", 200)
    reason = clean_text(change.reason, "reason", 500, multiline=True)
    if change.active == currently_active and not (change.active and flag == MemberFlag.FLOATING):
        raise FailedPrecondition(
            "标记状态未改变 (the flag is already in that state)",
            code="flag_unchanged",
            field="active",
        )
    too_recent = add_months(on, lost_contact_min_months) > today
    if change.active and flag == MemberFlag.LOST_CONTACT and too_recent:
        raise FailedPrecondition(
            f"失联满 {lost_contact_min_months} 个月才能标记为失联党员 "
            f"(lost contact must have lasted {lost_contact_min_months} months)",
            code="lost_contact_too_recent",
            field="effective_on",
        )
    if change.active and flag == MemberFlag.FLOATING and not destination:
        raise InvalidArgument(
            "流动党员需填写外出流向 (floating needs a destination)",
            code="required",
            field="destination",
        )
    if not change.active:
        destination = ""
    return FlagChangeInput(MemberFlag(flag), change.active, on, destination, reason)


# ---- field history -----------------------------------------------------------------------


@dataclass(frozen=True)
class FieldDiff:
    field: str
    old: str
    new: str


def format_value(value: Any) -> str:
    """How a value reads in the history: dates ISO, enums by lower-case name, bools true/false."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, IntEnum | Enum):
        return "" if value.value == 0 else value.name.lower()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def diff_values(
    old: Mapping[str, Any], new: Mapping[str, Any], fields: Iterable[str], *, prefix: str = ""
) -> list[FieldDiff]:
    """One FieldDiff per field whose formatted value differs; absent = empty."""
    out = []
    for f in fields:
        a, b = format_value(old.get(f)), format_value(new.get(f))
        if a != b:
            out.append(FieldDiff(prefix + f, a, b))
    return out


_HISTORY_MASKERS = {
    "id_number": masking.mask_id_number,
    "mobile_phone": masking.mask_phone,
    "landline": masking.mask_landline,
    "home_address": masking.mask_address,
    "family_member.phone": masking.mask_phone,
}


def mask_history_value(field: str, value: str) -> str:
    """Personal values in the history, for readers who did not (or may not) reveal them:
    the field's own mask, or a fixed placeholder for free text (length hidden)."""
    if not value:
        return ""
    masker = _HISTORY_MASKERS.get(field)
    return masker(value) if masker else HIDDEN


# ---- attachments -------------------------------------------------------------------------

# Allowed types and the first bytes each must start with (the declared type is only a claim).
SIGNATURES: Mapping[str, tuple[bytes, ...]] = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "application/pdf": (b"%PDF-",),
}
PHOTO_TYPES = frozenset({"image/jpeg", "image/png"})
SNIFF_BYTES = 8
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class AttachmentSpec:
    kind: AttachmentKind
    file_name: str
    content_type: str
    size: int
    sha256: str = ""


def validate_attachment(spec: AttachmentSpec, *, max_bytes: int) -> AttachmentSpec:
    """The declared upload, checked before a URL is handed out (and again after the upload)."""
    kind = check_enum(int(spec.kind), AttachmentKind, "kind")
    name = unicodedata.normalize("NFC", spec.file_name or "").replace("\\", "/").split("/")[-1]
    name = clean_text(name, "file_name", 200, required=True)
    if name in (".", ".."):
        raise InvalidArgument("file_name: 无效 (invalid)", code="invalid_text", field="file_name")
    content_type = (spec.content_type or "").split(";")[0].strip().lower()
    if content_type not in SIGNATURES:
        raise InvalidArgument(
            "只接受 JPEG、PNG 或 PDF 文件 (only JPEG, PNG or PDF files)",
            code="unsupported_type",
            field="content_type",
        )
    if kind == AttachmentKind.PHOTO and content_type not in PHOTO_TYPES:
        raise InvalidArgument(
            "照片须为 JPEG 或 PNG (a photo must be JPEG or PNG)",
            code="unsupported_type",
            field="content_type",
        )
    if not 0 < spec.size <= max_bytes:
        raise InvalidArgument(
            f"文件大小须在 1 字节到 {max_bytes} 字节之间 (size must be 1..{max_bytes} bytes)",
            code="too_large" if spec.size > max_bytes else "invalid_size",
            field="size",
        )
    sha = (spec.sha256 or "").strip().lower()
    if sha and not _SHA256.match(sha):
        raise InvalidArgument(
            "sha256 应为 64 位十六进制 (sha256: 64 hex digits)",
            code="invalid_sha256",
            field="sha256",
        )
    return AttachmentSpec(AttachmentKind(kind), name, content_type, spec.size, sha)


def sniff_content_type(head: bytes) -> str | None:
    for content_type, signatures in SIGNATURES.items():
        if any(head.startswith(s) for s in signatures):
            return content_type
    return None


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str


def check_upload(
    spec: AttachmentSpec,
    *,
    size: int,
    stored_content_type: str | None,
    head: bytes,
    sha256: str | None,
    max_bytes: int,
) -> Refusal | None:
    """What was actually uploaded, against the declaration and the limits; None = accept."""
    if size > max_bytes:
        return Refusal("too_large", f"文件超过 {max_bytes} 字节 (file exceeds {max_bytes} bytes)")
    if size != spec.size:
        return Refusal(
            "size_mismatch",
            f"上传大小 {size} 与声明的 {spec.size} 不符 (uploaded size differs from the declared)",
        )
    sniffed = sniff_content_type(head)
    if sniffed is None:
        return Refusal(
            "unsupported_type", "文件不是 JPEG、PNG 或 PDF (the file is not a JPEG, PNG or PDF)"
        )
    if sniffed != spec.content_type:
        return Refusal(
            "content_type_mismatch",
            f"文件内容是 {sniffed}，与声明的 {spec.content_type} 不符 (content differs from type)",
        )
    stored = (stored_content_type or "").split(";")[0].strip().lower()
    if stored and stored != spec.content_type:
        return Refusal(
            "content_type_mismatch",
            f"上传时的 Content-Type 应为 {spec.content_type} (upload with the declared type)",
        )
    if spec.sha256 and sha256 and sha256.lower() != spec.sha256:
        return Refusal("sha256_mismatch", "文件校验值不符 (sha256 does not match)")
    return None


# ---- sub-records -------------------------------------------------------------------------
# Each validator takes the record's values (str, date, int) and returns them normalised.

FAMILY_FIELDS = ("name", "relation", "work_unit", "political_status", "phone")
AWARD_FIELDS = ("kind", "title", "decided_on", "issuing_body", "document_number", "note")
TRAVEL_FIELDS = ("destination", "departed_on", "returned_on", "purpose", "approval")
HARDSHIP_FIELDS = ("kind", "description", "assistance", "since", "resolved_on")
EXTENSION_FIELDS = (
    "native_place", "degree", "school", "major", "work_unit", "position",
    "professional_title", "party_post", "photo_attachment_id",
)  # fmt: skip
_EXTENSION_LENGTHS = {
    "native_place": 100, "degree": 30, "school": 100, "major": 100, "work_unit": 200,
    "position": 100, "professional_title": 100, "party_post": 100,
}  # fmt: skip


def validate_family_member(v: Mapping[str, Any], *, today: date) -> dict[str, Any]:
    phone = v.get("phone") or ""
    if phone:
        try:
            phone = masking.validate_mobile_phone(phone)
        except masking.InvalidPhone as exc:
            raise InvalidArgument(exc.message, code=exc.code, field="phone") from None
    return {
        "name": clean_text(v.get("name", ""), "name", 50, required=True),
        "relation": clean_text(v.get("relation", ""), "relation", 20, required=True),
        "work_unit": clean_text(v.get("work_unit", ""), "work_unit", 200),
        "political_status": clean_text(v.get("political_status", ""), "political_status", 30),
        "phone": phone,
    }


def validate_award(v: Mapping[str, Any], *, today: date) -> dict[str, Any]:
    return {
        "kind": check_enum(int(v.get("kind") or 0), AwardKind, "kind"),
        "title": clean_text(v.get("title", ""), "title", 200, required=True),
        "decided_on": check_date(v.get("decided_on"), "decided_on", today=today, required=True),
        "issuing_body": clean_text(v.get("issuing_body", ""), "issuing_body", 200),
        "document_number": clean_text(v.get("document_number", ""), "document_number", 100),
        "note": clean_text(v.get("note", ""), "note", 1000, multiline=True),
    }


def validate_travel(v: Mapping[str, Any], *, today: date) -> dict[str, Any]:
    # Trips are recorded when approved, so dates may lie ahead.
    departed = check_date(
        v.get("departed_on"), "departed_on", today=today, required=True, past=False
    )
    returned = check_date(v.get("returned_on"), "returned_on", today=today, past=False)
    check_order(departed, returned, "returned_on")
    return {
        "destination": clean_text(v.get("destination", ""), "destination", 100, required=True),
        "departed_on": departed,
        "returned_on": returned,
        "purpose": clean_text(v.get("purpose", ""), "purpose", 200),
        "approval": clean_text(v.get("approval", ""), "approval", 200),
    }


def validate_hardship(v: Mapping[str, Any], *, today: date) -> dict[str, Any]:
    since = check_date(v.get("since"), "since", today=today, required=True)
    resolved = check_date(v.get("resolved_on"), "resolved_on", today=today)
    check_order(since, resolved, "resolved_on")
    return {
        "kind": check_enum(int(v.get("kind") or 0), HardshipKind, "kind"),
        "description": clean_text(
            v.get("description", ""), "description", 1000, required=True, multiline=True
        ),
        "assistance": clean_text(v.get("assistance", ""), "assistance", 1000, multiline=True),
        "since": since,
        "resolved_on": resolved,
    }


def validate_extension(v: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {f: clean_text(v.get(f, ""), f, n) for f, n in _EXTENSION_LENGTHS.items()}
    out["photo_attachment_id"] = v.get("photo_attachment_id") or None
    return out


def award_personal_fields(values: Mapping[str, Any]) -> frozenset[str]:
    """A punishment's content is sensitive (discipline records); an award's is not."""
    if values.get("kind") == AwardKind.PUNISHMENT:
        return frozenset({"title", "issuing_body", "document_number", "note"})
    return frozenset()
