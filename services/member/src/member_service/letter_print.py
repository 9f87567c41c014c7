"""The printed introduction letter (docs/adr/0016): one A4 page in three parts separated by cut
lines — 存根 (the stub the sender keeps), 介绍信 (the letter the member carries) and 回执 (the
receipt the receiving organisation fills in and returns). The letter number is on all three.
Chinese text uses reportlab's built-in CID font (as the archive export does).

CPU-bound and synchronous: callers run it in a thread.
"""

from __future__ import annotations

import io
from datetime import date, timedelta, timezone

from member_service.domain.letters import age_on, dues_month_zh
from member_service.domain.profile import Category, Gender
from member_service.letter_models import Letter

CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
PDF_TYPE = "application/pdf"
_FONT = "STSong-Light"
_CATEGORY = {int(Category.FULL): "正式", int(Category.PROBATIONARY): "预备"}
_GENDER = {int(Gender.MALE): "男", int(Gender.FEMALE): "女"}


def _day_zh(d: date | None) -> str:
    return f"{d.year}年{d.month}月{d.day}日" if d else "    年  月  日"


def letter_lines(letter: Letter, id_number: str) -> dict[str, list[str]]:
    """The text of each part, paragraph by paragraph (tests read the same lines)."""
    assert letter.issued_on is not None and letter.valid_until is not None
    number = letter.letter_number or ""
    category = _CATEGORY.get(letter.member_category, "")
    age = age_on(letter.member_birth_date, letter.issued_on)
    gender = _GENDER.get(letter.member_gender, "")
    ethnicity = letter.member_ethnicity or ""
    dues = dues_month_zh(letter.dues_paid_until)
    validity = f"（有效期{letter.valid_days}天，至{_day_zh(letter.valid_until)}）"
    where = letter.destination
    return {
        "stub": [
            f"中国共产党党员组织关系介绍信（存根）　{number}",
            f"{letter.member_name}同志（{gender}，{age}岁，{ethnicity}），系中共{category}党员，"
            f"身份证号码{id_number}，组织关系由{letter.from_organization_name}转到{where}。",
            f"党费交到{dues}。{validity}",
            f"转接原因：{letter.reason}",
            f"开具日期：{_day_zh(letter.issued_on)}",
        ],
        "letter": [
            f"中国共产党党员组织关系介绍信　{number}",
            f"{where}：",
            f"　　兹介绍{letter.member_name}同志（{gender}，{age}岁，{ethnicity}），系中共{category}"
            f"党员，身份证号码{id_number}，前往你处，请转接组织关系。该同志党费已交到{dues}。",
            validity,
            f"{letter.from_organization_name}（盖章）",
            _day_zh(letter.issued_on),
        ],
        "receipt": [
            f"中国共产党党员组织关系介绍信（回执）　{number}",
            f"{letter.from_organization_name}：",
            f"　　{letter.member_name}同志的党员组织关系已转达我处，特此回复。",
            "接收党组织（盖章）",
            "报到日期：    年  月  日",
        ],
    }


def letter_pdf(letter: Letter, id_number: str, printed_by: str) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    if _FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(_FONT))
    parts = letter_lines(letter, id_number)
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    c.setTitle(f"党员组织关系介绍信 {letter.letter_number}")
    c.setAuthor("红云 Hongyun")
    width, height = A4
    margin, size, leading = 56, 11, 17
    per_line = int((width - 2 * margin) // size)
    part_height = (height - 2 * margin) / 3

    def block(top: float, lines: list[str], signature_from: int) -> None:
        y = top
        c.setFont(_FONT, 14)
        c.drawCentredString(width / 2, y, lines[0])
        y -= leading * 1.6
        c.setFont(_FONT, size)
        for i, text in enumerate(lines[1:], start=1):
            if i >= signature_from:  # seal and date, right-aligned
                c.drawRightString(width - margin, y, text)
                y -= leading
                continue
            for chunk in _wrap(text, per_line):
                c.drawString(margin, y, chunk)
                y -= leading

    def cut_line(y: float) -> None:
        c.saveState()
        c.setDash(4, 3)
        c.setStrokeColorRGB(0.5, 0.5, 0.5)
        c.line(margin - 20, y, width - margin + 20, y)
        c.setFont(_FONT, 8)
        c.setFillColorRGB(0.5, 0.5, 0.5)
        c.drawCentredString(width / 2, y + 3, f"骑缝　{letter.letter_number}")
        c.restoreState()

    top = height - margin
    block(top, parts["stub"], signature_from=99)
    cut_line(top - part_height + 10)
    block(top - part_height, parts["letter"], signature_from=4)
    cut_line(top - 2 * part_height + 10)
    block(top - 2 * part_height, parts["receipt"], signature_from=3)
    c.setFont(_FONT, 7)
    c.setFillColorRGB(0.4, 0.4, 0.4)
    c.drawString(margin, 24, f"红云 Hongyun 打印：{printed_by}")
    c.showPage()
    c.save()
    return buf.getvalue()


def _wrap(text: str, width: int) -> list[str]:
    return [text[i : i + width] for i in range(0, len(text), width)] or [""]
