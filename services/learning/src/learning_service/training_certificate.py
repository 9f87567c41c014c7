"""The certificate of a completed training class (结业证书): one landscape A4 page with the
class title, the person's name (as the organiser entered it: learning holds no ID numbers), days
and class hours, the dates, the organising organisation, a certificate number and a verification
code. Chinese text uses reportlab's built-in CID font STSong-Light (no font file to ship).

CPU-bound and synchronous: callers run it in a thread.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

from learning_service.domain.training import ClassKind, hours_text

PDF_TYPE = "application/pdf"
_FONT = "STSong-Light"
KIND_LABEL = {
    ClassKind.DEVELOPMENT_CANDIDATE: "发展对象短期集中培训",
    ClassKind.ACTIVIST: "入党积极分子培训",
    ClassKind.MEMBER_WINTER: "党员冬训",
    ClassKind.SECRETARY: "书记培训",
    ClassKind.OTHER: "培训",
}


@dataclass(frozen=True)
class CertificateData:
    class_title: str
    kind: ClassKind
    person_name: str
    organizer_name: str
    starts_on: date
    ends_on: date
    class_hours_hundredths: int
    days: int
    completed_on: date
    number: str
    verification_code: str


def day_zh(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def certificate_lines(c: CertificateData) -> list[str]:
    """The body text, paragraph by paragraph (tests read the same lines)."""
    span = day_zh(c.starts_on) if c.starts_on == c.ends_on else (
        f"{day_zh(c.starts_on)}至{day_zh(c.ends_on)}"
    )  # fmt: skip
    amount = [f"{c.days}天"] if c.days else []
    amount.append(f"{hours_text(c.class_hours_hundredths)}学时")
    return [
        f"{c.person_name}同志：",
        f"　　于{span}参加{c.organizer_name}举办的“{c.class_title}”（{KIND_LABEL[c.kind]}），"
        f"累计培训{'、'.join(amount)}，完成培训要求，准予结业。",
        "　　特发此证。",
    ]


def certificate_pdf(c: CertificateData) -> bytes:
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    if _FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(_FONT))
    buf = io.BytesIO()
    width, height = landscape(A4)
    pdf = canvas.Canvas(buf, pagesize=(width, height))
    pdf.setTitle(f"结业证书 {c.number}")
    pdf.setAuthor("红云 Hongyun")
    pdf.setSubject(c.class_title)
    margin = 48
    pdf.setStrokeColorRGB(0.7, 0.1, 0.1)
    pdf.setLineWidth(3)
    pdf.rect(margin, margin, width - 2 * margin, height - 2 * margin)
    pdf.setLineWidth(1)
    pdf.rect(margin + 8, margin + 8, width - 2 * margin - 16, height - 2 * margin - 16)
    pdf.setFillColorRGB(0.7, 0.1, 0.1)
    pdf.setFont(_FONT, 34)
    pdf.drawCentredString(width / 2, height - margin - 80, "结 业 证 书")
    pdf.setFillColorRGB(0, 0, 0)
    size, leading, left = 16, 30, margin + 70
    per_line = int((width - 2 * left) // size)
    y = height - margin - 150
    pdf.setFont(_FONT, size)
    for paragraph in certificate_lines(c):
        for chunk in _wrap(paragraph, per_line):
            pdf.drawString(left, y, chunk)
            y -= leading
    pdf.drawRightString(width - left, margin + 120, c.organizer_name)
    pdf.drawRightString(width - left, margin + 92, day_zh(c.completed_on))
    pdf.setFont(_FONT, 10)
    pdf.setFillColorRGB(0.35, 0.35, 0.35)
    pdf.drawString(left, margin + 40, f"证书编号：{c.number}")
    pdf.drawString(left, margin + 24, f"验证码：{c.verification_code}")
    pdf.showPage()
    pdf.save()
    return buf.getvalue()


def _wrap(text: str, width: int) -> list[str]:
    return [text[i : i + width] for i in range(0, len(text), width)] or [""]
