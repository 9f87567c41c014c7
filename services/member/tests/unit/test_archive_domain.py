"""Pure rules of the member archive: status history, flags, diffs, attachments, record values."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hongyun_platform.errors import FailedPrecondition, InvalidArgument
from member_service.domain.archive import (
    HIDDEN,
    AttachmentKind,
    AttachmentSpec,
    AwardKind,
    FlagChangeInput,
    MemberFlag,
    StatusEntry,
    add_months,
    award_personal_fields,
    check_flag_change,
    check_status_change,
    check_upload,
    diff_values,
    format_value,
    mask_history_value,
    normalize_tag,
    sniff_content_type,
    status_as_of,
    validate_attachment,
    validate_award,
    validate_family_member,
    validate_hardship,
    validate_travel,
)
from member_service.domain.profile import PartyStatus as S

TODAY = date(2026, 11, 28)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00"
PDF = b"%PDF-1.7\n"


def at(day: int) -> datetime:
    return datetime(2026, 1, day, tzinfo=UTC)


def e(status: S, on: str, recorded: int = 1) -> StatusEntry:
    return StatusEntry(status, date.fromisoformat(on), at(recorded))


HISTORY = [
    e(S.NORMAL, "2005-07-01"),
    e(S.RETAINED, "2015-03-01", 2),
    e(S.RESTORED, "2016-03-01", 3),
]


# ---- status as of a date ----


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        ("2005-06-30", None),  # before the history starts
        ("2005-07-01", S.NORMAL),  # effective on the day itself
        ("2015-02-28", S.NORMAL),
        ("2015-03-01", S.RETAINED),
        ("2016-02-29", S.RETAINED),
        ("2016-03-01", S.RESTORED),
        ("2026-11-28", S.RESTORED),
    ],
)
def test_status_as_of_a_date(as_of, expected):
    found = status_as_of(HISTORY, date.fromisoformat(as_of))
    assert (found.status if found else None) == expected


def test_status_as_of_order_of_entry_does_not_matter_and_same_day_later_record_wins():
    shuffled = [HISTORY[2], HISTORY[0], HISTORY[1]]
    assert status_as_of(shuffled, date(2020, 1, 1)).status == S.RESTORED
    same_day = [e(S.NORMAL, "2005-07-01", 1), e(S.DECEASED, "2020-01-01", 5),
                e(S.SUSPENDED, "2020-01-01", 4)]  # fmt: skip
    assert status_as_of(same_day, date(2020, 1, 1)).status == S.DECEASED


def test_status_change_follows_the_allowed_transitions():
    assert check_status_change(HISTORY, S.SUSPENDED, TODAY, today=TODAY).status == S.RESTORED
    with pytest.raises(FailedPrecondition) as exc:
        check_status_change([e(S.NORMAL, "2005-07-01")], S.RESTORED, TODAY, today=TODAY)
    assert exc.value.code == "invalid_status_transition"
    ended = [e(S.NORMAL, "2005-07-01"), e(S.DECEASED, "2020-01-01", 2)]
    with pytest.raises(FailedPrecondition):
        check_status_change(ended, S.RETAINED, TODAY, today=TODAY)


def test_back_dated_change_is_checked_against_both_neighbours():
    # 2015-06-01 falls between RETAINED (2015-03) and RESTORED (2016-03): SUSPENDED then
    # RESTORED is allowed.
    check_status_change(HISTORY, S.SUSPENDED, date(2015, 6, 1), today=TODAY)
    # DECEASED in 2015 would be followed by RESTORED in 2016: refused, naming the later change.
    with pytest.raises(FailedPrecondition) as exc:
        check_status_change(HISTORY, S.DECEASED, date(2015, 6, 1), today=TODAY)
    assert exc.value.field == "effective_on" and "2016-03-01" in exc.value.message


@pytest.mark.parametrize(
    ("status", "on", "code"),
    [
        (S.NORMAL, TODAY, "invalid_status"),  # "normal" is the start; back is "restored"
        (S.UNSPECIFIED, TODAY, "invalid_status"),
        (S.RETAINED, date(2026, 11, 29), "future_date"),
        (S.RETAINED, date(2000, 1, 1), "before_history"),
    ],
)
def test_status_change_bad_input(status, on, code):
    with pytest.raises(InvalidArgument) as exc:
        check_status_change(HISTORY, status, on, today=TODAY)
    assert exc.value.code == code


# ---- flags ----


def flag(f: MemberFlag, active: bool, on: date, destination: str = "") -> FlagChangeInput:
    return FlagChangeInput(f, active, on, destination, "")


@pytest.mark.parametrize(
    ("since", "months", "ok"),
    [
        (date(2026, 5, 28), 6, True),  # exactly 6 calendar months ago
        (date(2026, 5, 29), 6, False),
        (date(2026, 8, 28), 3, True),  # a tenant's override of 3 months
        (date(2026, 8, 29), 3, False),
    ],
)
def test_lost_contact_needs_the_rule_months(since, months, ok):
    change = flag(MemberFlag.LOST_CONTACT, True, since)
    if ok:
        assert (
            check_flag_change(
                change, currently_active=False, today=TODAY, lost_contact_min_months=months
            ).effective_on
            == since
        )
    else:
        with pytest.raises(FailedPrecondition) as exc:
            check_flag_change(
                change, currently_active=False, today=TODAY, lost_contact_min_months=months
            )
        assert exc.value.code == "lost_contact_too_recent"


def test_flag_rules():
    kw = dict(today=TODAY, lost_contact_min_months=6)
    with pytest.raises(InvalidArgument) as exc:  # floating needs a destination
        check_flag_change(flag(MemberFlag.FLOATING, True, TODAY), currently_active=False, **kw)
    assert exc.value.field == "destination"
    moved = check_flag_change(  # a floating member may move on: a new destination is a change
        flag(MemberFlag.FLOATING, True, TODAY, " 广东省深圳市 "), currently_active=True, **kw
    )
    assert moved.destination == "广东省深圳市"
    cleared = check_flag_change(
        flag(MemberFlag.FLOATING, False, TODAY, "x"), currently_active=True, **kw
    )
    assert cleared.destination == ""
    with pytest.raises(FailedPrecondition):  # clearing what is not set
        check_flag_change(flag(MemberFlag.LOST_CONTACT, False, TODAY), currently_active=False, **kw)
    with pytest.raises(InvalidArgument):
        check_flag_change(flag(MemberFlag.UNSPECIFIED, True, TODAY), currently_active=False, **kw)
    with pytest.raises(InvalidArgument):  # the future
        check_flag_change(
            flag(MemberFlag.FLOATING, True, date(2027, 1, 1), "x"), currently_active=False, **kw
        )


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        ("2024-08-31", 6, "2025-02-28"),
        ("2023-08-31", 6, "2024-02-29"),
        ("2026-05-28", 6, "2026-11-28"),
        ("2025-12-15", 1, "2026-01-15"),
    ],
)
def test_add_months_is_calendar_arithmetic(start, months, end):
    assert add_months(date.fromisoformat(start), months) == date.fromisoformat(end)


# ---- field history ----


def test_diff_lists_only_changed_fields_formatted():
    old = {"name": "张三", "party_status": S.NORMAL, "joined_on": date(2005, 7, 1),
           "floating": False, "phone": "", "kind": AwardKind.AWARD}  # fmt: skip
    new = {"name": "张三", "party_status": S.RETAINED, "joined_on": date(2005, 7, 1),
           "floating": True, "phone": "13800138000", "kind": AwardKind.AWARD}  # fmt: skip
    diffs = diff_values(old, new, old.keys(), prefix="x.")
    assert [(d.field, d.old, d.new) for d in diffs] == [
        ("x.party_status", "normal", "retained"),
        ("x.floating", "false", "true"),
        ("x.phone", "", "13800138000"),
    ]


def test_diff_of_a_created_and_a_deleted_record():
    values = {"title": "优秀共产党员", "decided_on": date(2021, 7, 1), "note": ""}
    created = diff_values({}, values, values.keys())
    assert [(d.field, d.old, d.new) for d in created] == [
        ("title", "", "优秀共产党员"), ("decided_on", "", "2021-07-01")]  # fmt: skip
    deleted = diff_values(values, {}, values.keys())
    assert {d.new for d in deleted} == {""}


def test_format_value():
    assert format_value(None) == "" and format_value(S.UNSPECIFIED) == ""
    assert format_value(True) == "true" and format_value(date(2020, 2, 29)) == "2020-02-29"


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("mobile_phone", "13812345678", "138****5678"),
        ("family_member.phone", "13812345678", "138****5678"),
        ("id_number", "11010519491231002X", "1101**********002X"),
        ("home_address", "广东省深圳市南山区科技园路1号", "广东省深圳市****"),
        ("award.title", "党内严重警告处分", HIDDEN),  # free text: hidden, length too
        ("hardship.description", "x", HIDDEN),
        ("award.title", "", ""),
    ],
)
def test_personal_history_values_are_masked(field, value, shown):
    assert mask_history_value(field, value) == shown


# ---- attachments ----

MAX = 1000


def spec(**kw) -> AttachmentSpec:
    values = dict(kind=AttachmentKind.SCAN, file_name="a.pdf", content_type="application/pdf",
                  size=100, sha256="")  # fmt: skip
    values.update(kw)
    return AttachmentSpec(**values)


def test_declared_attachment_is_normalised():
    s = validate_attachment(
        spec(file_name="C:\\scans\\入党志愿书.PDF", content_type="Application/PDF; q=1",
             sha256="AB" * 32),
        max_bytes=MAX,
    )  # fmt: skip
    assert (s.file_name, s.content_type, s.sha256) == (
        "入党志愿书.PDF",
        "application/pdf",
        "ab" * 32,
    )


@pytest.mark.parametrize(
    ("kw", "field", "code"),
    [
        ({"content_type": "image/gif"}, "content_type", "unsupported_type"),
        ({"content_type": "text/html"}, "content_type", "unsupported_type"),
        ({"kind": AttachmentKind.PHOTO}, "content_type", "unsupported_type"),  # PDF photo
        ({"size": MAX + 1}, "size", "too_large"),
        ({"size": 0}, "size", "invalid_size"),
        ({"file_name": "  "}, "file_name", "required"),
        ({"file_name": "a\x00.pdf"}, "file_name", "invalid_text"),
        ({"sha256": "xyz"}, "sha256", "invalid_sha256"),
        ({"kind": 0}, "kind", "invalid_enum"),
    ],
)
def test_declared_attachment_refused(kw, field, code):
    with pytest.raises(InvalidArgument) as exc:
        validate_attachment(spec(**kw), max_bytes=MAX)
    assert (exc.value.field, exc.value.code) == (field, code)


def test_sniffing():
    assert sniff_content_type(JPEG) == "image/jpeg"
    assert sniff_content_type(PNG) == "image/png"
    assert sniff_content_type(PDF) == "application/pdf"
    assert sniff_content_type(b"<html>") is None and sniff_content_type(b"") is None


def upload(**kw):
    values = dict(size=100, stored_content_type="application/pdf", head=PDF, sha256=None,
                  max_bytes=MAX)  # fmt: skip
    values.update(kw)
    return check_upload(spec(), **values)


def test_upload_accepted():
    assert upload() is None
    assert upload(stored_content_type=None) is None  # a backend that does not say


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"size": MAX + 1}, "too_large"),
        ({"size": 99}, "size_mismatch"),
        ({"head": b"MZ\x90\x00"}, "unsupported_type"),  # an executable named .pdf
        ({"head": JPEG}, "content_type_mismatch"),  # a JPEG declared as PDF
        ({"stored_content_type": "text/html"}, "content_type_mismatch"),
    ],
)
def test_upload_refused(kw, code):
    assert upload(**kw).code == code


def test_upload_checksum_when_declared():
    declared = spec(sha256="ab" * 32)
    kw = dict(size=100, stored_content_type=None, head=PDF, max_bytes=MAX)
    assert check_upload(declared, sha256="ab" * 32, **kw) is None
    assert check_upload(declared, sha256="cd" * 32, **kw).code == "sha256_mismatch"


# ---- record values ----


def test_family_member_values():
    v = validate_family_member(
        {"name": " 李四 ", "relation": "配偶", "phone": "+86 138-0013-8000"}, today=TODAY
    )
    assert v["name"] == "李四" and v["phone"] == "13800138000" and v["work_unit"] == ""
    with pytest.raises(InvalidArgument) as exc:
        validate_family_member({"name": "李四", "relation": "配偶", "phone": "12"}, today=TODAY)
    assert exc.value.field == "phone"
    with pytest.raises(InvalidArgument) as exc:
        validate_family_member({"name": "李四"}, today=TODAY)
    assert exc.value.field == "relation" and exc.value.code == "required"


def test_award_values_and_which_are_personal():
    v = validate_award({"kind": 2, "title": "警告", "decided_on": date(2020, 1, 1)}, today=TODAY)
    assert v["kind"] is AwardKind.PUNISHMENT
    assert award_personal_fields(v) == {"title", "issuing_body", "document_number", "note"}
    assert award_personal_fields({**v, "kind": AwardKind.AWARD}) == frozenset()
    with pytest.raises(InvalidArgument) as exc:
        validate_award({"kind": 1, "title": "x", "decided_on": date(2027, 1, 1)}, today=TODAY)
    assert exc.value.code == "future_date"


def test_travel_and_hardship_dates():
    trip = {"destination": "日本", "departed_on": date(2027, 1, 1)}  # approved ahead: allowed
    assert validate_travel(trip, today=TODAY)["returned_on"] is None
    with pytest.raises(InvalidArgument) as exc:
        validate_travel({**trip, "returned_on": date(2026, 12, 31)}, today=TODAY)
    assert exc.value.code == "invalid_date_range"
    with pytest.raises(InvalidArgument) as exc:
        validate_hardship({"kind": 2, "description": "x", "since": date(1899, 12, 31)}, today=TODAY)
    assert exc.value.code == "invalid_date"


@pytest.mark.parametrize(
    ("raw", "tag"),
    [(" 退役军人 ", "退役军人"), ("ＶＩＰ", "VIP"), ("a   b", "a b")],
)
def test_tags_are_normalised(raw, tag):
    assert normalize_tag(raw) == tag


@pytest.mark.parametrize("raw", ["", "   ", "x" * 21, "a,b"])
def test_bad_tags(raw):
    with pytest.raises(InvalidArgument):
        normalize_tag(raw)
