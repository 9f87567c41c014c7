"""The printed introduction letter: the three parts' text and a PDF page."""

from __future__ import annotations

import uuid
from datetime import date

from member_service.letter_models import Letter
from member_service.letter_print import letter_lines, letter_pdf


def letter(**kw) -> Letter:
    values = dict(
        id=uuid.uuid4(), tenant_id=uuid.uuid4(), member_id=uuid.uuid4(), scope="out_of_platform",
        state="issued", from_organization_id=uuid.uuid4(), from_organization_name="机关第一支部",
        destination="中共北京市海淀区委组织部", member_name="王小明", member_gender=1,
        member_birth_date=date(2004, 2, 29), member_ethnicity="回族", member_category=2,
        dues_paid_until=date(2026, 10, 1), reason="工作调动", letter_number="〔2026〕第00007号",
        valid_days=30, issued_on=date(2026, 2, 28), valid_until=date(2026, 3, 30),
    )  # fmt: skip
    values.update(kw)
    return Letter(**values)


def test_three_parts_carry_the_particulars():
    parts = letter_lines(letter(), "110105200402290011")
    assert set(parts) == {"stub", "letter", "receipt"}
    for lines in parts.values():
        assert "〔2026〕第00007号" in lines[0]
    body = "".join(parts["letter"])
    # Born on 29 February 2004: 22 on 28 February 2026 (no 29th that year).
    assert "王小明同志（男，22岁，回族），系中共预备党员" in body
    assert "身份证号码110105200402290011" in body and "党费已交到2026年10月" in body
    assert "（有效期30天，至2026年3月30日）" in body and "中共北京市海淀区委组织部：" in body
    assert "机关第一支部（盖章）" in body and "2026年2月28日" in body
    stub = "".join(parts["stub"])
    assert "组织关系由机关第一支部转到中共北京市海淀区委组织部" in stub and "工作调动" in stub
    receipt = "".join(parts["receipt"])
    assert (
        receipt.startswith("中国共产党党员组织关系介绍信（回执）") and "机关第一支部：" in receipt
    )
    assert "王小明同志的党员组织关系已转达我处" in receipt


def test_full_member_and_the_day_before_a_birthday():
    body = "".join(
        letter_lines(letter(member_category=1, member_birth_date=date(1990, 3, 1)), "x")["letter"]
    )
    assert "35岁" in body and "中共正式党员" in body  # 1990-03-01, on 2026-02-28


def test_pdf_page():
    data = letter_pdf(letter(), "110105200402290011", "admin · 2026-02-28 10:00")
    assert data.startswith(b"%PDF") and data.rstrip().endswith(b"%%EOF")
    assert b"/Count 1" in data  # one A4 page
