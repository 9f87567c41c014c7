"""Files of the member import/export: reading .xlsx (python-calamine) and .csv (UTF-8 with or
without BOM, GB18030, UTF-16), writing the template, exports, the error workbook and the
archive (.xlsx with openpyxl, .pdf with reportlab). CPU-bound and synchronous: callers run these
in a worker thread. No database, no transport.

`python -m member_service.transfer_files` rewrites the shipped template
(member_service/templates/member_template.xlsx); a unit test checks it is current.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import python_calamine
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from member_service.domain.member_template import (
    BY_KEY,
    CHOICES,
    COLUMNS,
    HEADERS,
    STRICT_CHOICES,
    ParsedRow,
    TemplateError,
    safe_text,
)

TEMPLATE_PATH = Path(__file__).parent / "templates" / "member_template.xlsx"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"
PDF_TYPE = "application/pdf"
SHEET_TITLE = "党员信息"
OPTIONS_SHEET = "选项"
DATE_FORMAT = "yyyy-mm-dd"
_TEXT_COLUMNS = {"id_number", "mobile_phone", "landline"}
_DATE_COLUMNS = {c.key for c in COLUMNS if c.kind == "date"}
_HEADER_FILL = PatternFill("solid", fgColor="C00000")
_HEADER_FONT = Font(bold=True, color="FFFFFF")
_WATERMARK_FONT = Font(italic=True, color="C00000")
_XLSX_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls


@dataclass(frozen=True)
class SheetRows:
    rows: list[list[Any]]
    first_row_number: int  # the sheet row number of rows[0] (1-based)


# ---- reading ----


def sniff_format(data: bytes, file_name: str) -> str:
    """ "xlsx" or "csv", by content first (a renamed file still works), then by name."""
    if data.startswith(_XLSX_MAGIC):
        return "xlsx"
    if data.startswith(_OLE_MAGIC) or file_name.lower().endswith(".xls"):
        raise TemplateError(
            "不支持旧版 .xls 文件，请在 Excel 中另存为 .xlsx 后上传 (.xls is not supported; save as .xlsx)",
            code="bad_file",
        )
    if not data.strip():
        raise TemplateError("文件是空的 (the file is empty)", code="empty_file")
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise TemplateError(
            "无法识别的文件，请上传 .xlsx 或 .csv (not an .xlsx or .csv file)", code="bad_file"
        )
    return "csv"


def read_rows(data: bytes, fmt: str) -> SheetRows:
    return read_xlsx(data) if fmt == "xlsx" else read_csv(data)


def read_xlsx(data: bytes) -> SheetRows:
    try:
        wb = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        visible = [
            i
            for i, m in enumerate(wb.sheets_metadata)
            if str(m.visible).endswith("Visible") and str(m.typ).endswith("WorkSheet")
        ]
        sheet = wb.get_sheet_by_index(visible[0] if visible else 0)
        rows = sheet.to_python()
        start = sheet.start
    except Exception as exc:  # calamine raises its own types for zip/xml damage
        raise TemplateError(
            "无法读取 .xlsx 文件，文件可能已损坏 (the .xlsx file cannot be read)", code="bad_file"
        ) from exc
    return SheetRows(rows, (start[0] + 1) if start else 1)


def decode_text(data: bytes) -> str:
    """UTF-8 (BOM or not), UTF-16 with BOM (Excel's "Unicode text"), else GB18030 (Excel's
    default CSV encoding on Chinese Windows; a superset of GBK and GB2312)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise TemplateError(
            "无法识别 CSV 文件的编码，请保存为 UTF-8 或 GB18030 (CSV must be UTF-8 or GB18030)",
            code="bad_encoding",
        ) from exc


def read_csv(data: bytes) -> SheetRows:
    try:
        text = decode_text(data)
    except UnicodeDecodeError as exc:
        raise TemplateError("CSV 文件编码错误 (bad CSV encoding)", code="bad_encoding") from exc
    sample = text[:8192]
    first = sample.split("\n", 1)[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    try:
        rows = [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    except csv.Error as exc:
        raise TemplateError(f"CSV 文件格式错误 (bad CSV: {exc})", code="bad_file") from exc
    return SheetRows(rows, 1)


# ---- writing: helpers ----


def _cell(ws: Any, value: Any) -> Any:
    """Values become cells that no spreadsheet runs as a formula; dates get a date format."""
    if isinstance(value, str):
        if value[:1] in ("=", "+", "-", "@") and len(value) > 1:
            cell = WriteOnlyCell(ws, value)
            cell.data_type = "s"
            return cell
        return value
    if isinstance(value, date) and not isinstance(value, datetime):
        cell = WriteOnlyCell(ws, value)
        cell.number_format = DATE_FORMAT
        return cell
    return value


def _header_cells(ws: Any, headers: Sequence[str]) -> list[Any]:
    out = []
    for h in headers:
        cell = WriteOnlyCell(ws, h)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center")
        out.append(cell)
    return out


def _set_widths(ws: Any, widths: Sequence[int]) -> None:
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w


def _watermark(ws: Any, text: str) -> None:
    """Printed on every page (header and footer) and visible on screen (the first line)."""
    ws.oddHeader.center.text = text
    ws.oddHeader.center.size = 9
    ws.oddFooter.center.text = text + " · 第 &P 页 / 共 &N 页"
    ws.oddFooter.center.size = 9
    ws.evenHeader.center.text = text
    ws.evenFooter.center.text = text


def _add_validations(ws: Any, first_data_row: int, *, options_sheet: str | None) -> None:
    """Drop-down lists for the enumerated columns. Long lists live on a hidden sheet."""
    for idx, col in enumerate(COLUMNS, start=1):
        choices = CHOICES.get(col.key)
        letter = get_column_letter(idx)
        ref = f"{letter}{first_data_row}:{letter}1048576"
        if choices:
            inline = ",".join(choices)
            # Excel caps an inline list at 255 characters; long lists go to the hidden sheet.
            if len(choices) <= 12 or options_sheet is None:
                formula = f'"{inline}"'
            else:
                opt_col = get_column_letter(list(CHOICES).index(col.key) + 1)
                formula = f"'{options_sheet}'!${opt_col}$2:${opt_col}${len(choices) + 1}"
            strict = col.key in STRICT_CHOICES
            dv = DataValidation(
                type="list",
                formula1=formula,
                allow_blank=True,
                showErrorMessage=strict,
                errorStyle="stop" if strict else "information",
                errorTitle=col.header,
                error=f"请从下拉列表中选择{col.header}",
                promptTitle=col.header,
                prompt=col.note or None,
                showInputMessage=bool(col.note),
            )
        elif col.kind == "date":
            dv = DataValidation(
                type="date",
                operator="greaterThan",
                formula1="1",
                allow_blank=True,
                showErrorMessage=True,
                errorTitle=col.header,
                error="请填写日期，格式 YYYY-MM-DD",
                promptTitle=col.header,
                prompt=col.note or "YYYY-MM-DD",
                showInputMessage=True,
            )
        else:
            continue
        dv.add(ref)
        ws.data_validations.append(dv)


# ---- the template ----


def build_template_xlsx() -> bytes:
    """The empty template: header row, notes, text format for the ID and phone columns,
    drop-downs for the enumerations, a 填写说明 sheet and the hidden 选项 sheet."""
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET_TITLE
    for idx, col in enumerate(COLUMNS, start=1):
        cell = ws.cell(row=1, column=idx, value=col.header)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center")
        if col.note:
            cell.comment = Comment(col.note, "红云")
        letter = get_column_letter(idx)
        ws.column_dimensions[letter].width = col.width
        if col.key in _TEXT_COLUMNS:
            ws.column_dimensions[letter].number_format = "@"
        elif col.key in _DATE_COLUMNS:
            ws.column_dimensions[letter].number_format = DATE_FORMAT
    ws.freeze_panes = "A2"
    options = wb.create_sheet(OPTIONS_SHEET)
    for idx, (key, choices) in enumerate(CHOICES.items(), start=1):
        options.cell(row=1, column=idx, value=BY_KEY[key].header)
        for r, choice in enumerate(choices, start=2):
            options.cell(row=r, column=idx, value=choice)
    options.sheet_state = "hidden"
    _add_validations(ws, 2, options_sheet=OPTIONS_SHEET)
    notes = wb.create_sheet("填写说明")
    notes.column_dimensions["A"].width = 16
    notes.column_dimensions["B"].width = 90
    notes.append(["列", "填写要求"])
    for col in COLUMNS:
        req = "必填。" if col.required else ""
        notes.append([col.header, req + col.note])
    notes.append([])
    notes.append(["说明", "一行一名党员；从第 2 行开始填写，不要修改表头。"])
    notes.append(["说明", "日期格式 YYYY-MM-DD（如 2005-07-01）；也可填 2005/7/1、2005年7月1日。"])
    notes.append(["说明", "公民身份号码、手机号码请保持文本格式，避免被 Excel 转成科学计数法。"])
    notes.append(["说明", "已登记的公民身份号码会被跳过（不会重复导入，也不会覆盖已有信息）。"])
    for cell in notes[1]:
        cell.font = Font(bold=True)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def template_xlsx() -> bytes:
    return TEMPLATE_PATH.read_bytes()


def template_csv() -> bytes:
    return _csv_bytes([list(HEADERS)])


def _csv_bytes(rows: Iterable[Sequence[Any]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([_csv_value(v) for v in row])
    # UTF-8 with BOM: Excel on Chinese Windows then opens it without garbling.
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return safe_text(str(value))


# ---- exports ----


class MemberListWriter:
    """Streams rows into an .xlsx (openpyxl write-only) or a .csv spooled to a temp file."""

    def __init__(self, fmt: str, watermark: str):
        self.fmt = fmt
        self.rows = 0
        self._file = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
        if fmt == "xlsx":
            self._wb = Workbook(write_only=True)
            ws = self._wb.create_sheet(SHEET_TITLE)
            self._ws = ws
            _set_widths(ws, [c.width for c in COLUMNS])
            _watermark(ws, watermark)
            ws.freeze_panes = "A3"
            ws.print_title_rows = "1:2"
            mark = WriteOnlyCell(ws, watermark)
            mark.font = _WATERMARK_FONT
            ws.append([mark])
            ws.append(_header_cells(ws, HEADERS))
            _add_validations(ws, 3, options_sheet=None)
        else:
            self._csv = io.TextIOWrapper(self._file, encoding="utf-8-sig", newline="")
            self._writer = csv.writer(self._csv, lineterminator="\r\n")
            self._writer.writerow([watermark])
            self._writer.writerow(HEADERS)

    def add(self, cells: Sequence[Any]) -> None:
        self.rows += 1
        if self.fmt == "xlsx":
            self._ws.append([_cell(self._ws, v) for v in cells])
        else:
            self._writer.writerow([_csv_value(v) for v in cells])

    def finish(self) -> Any:
        """The finished file, positioned at its start (caller closes it)."""
        if self.fmt == "xlsx":
            self._wb.save(self._file)
        else:
            self._csv.flush()
            self._csv.detach()
        self._file.seek(0)
        return self._file


def error_workbook(
    headers: Sequence[str],
    rejected: Iterable[tuple[int, Sequence[str], Sequence[str], Sequence[str]]],
    skipped: Iterable[tuple[int, str, str]],
    *,
    title: str,
) -> bytes:
    """Sheet 错误行: 行号, the file's own columns, 错误原因 (Chinese), 错误代码 (stable codes).
    Sheet 已跳过: rows whose ID number was already registered."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("错误行")
    cols = ["行号", *headers, "错误原因", "错误代码"]
    _set_widths(ws, [8, *[14] * len(headers), 50, 30])
    ws.freeze_panes = "B3"
    mark = WriteOnlyCell(ws, title)
    mark.font = _WATERMARK_FONT
    ws.append([mark])
    ws.append(_header_cells(ws, cols))
    for row_number, cells, reasons, codes in rejected:
        padded = list(cells) + [""] * (len(headers) - len(cells))
        ws.append(
            [row_number, *[_cell(ws, c) for c in padded], "；".join(reasons), "; ".join(codes)]
        )
    sk = wb.create_sheet("已跳过")
    _set_widths(sk, [8, 14, 50, 16])
    sk.append(_header_cells(sk, ["行号", "姓名", "原因", "代码"]))
    for row_number, name, _ in skipped:
        sk.append([row_number, _cell(sk, name), "公民身份号码已登记，已跳过", "exists"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def rejected_entry(row: ParsedRow) -> dict[str, Any]:
    return {
        "row": row.row_number,
        "cells": list(row.cells),
        "reasons": [e.describe() for e in row.errors],
        "codes": [e.full_code for e in row.errors],
    }


# ---- one member's archive ----


@dataclass(frozen=True)
class ArchiveSection:
    """One part of the archive: label/value lines (基本信息), or a table (家庭成员: `columns`
    and one row per record in `records`), or both."""

    title: str
    rows: Sequence[tuple[str, str]] = ()  # (label, value)
    columns: Sequence[str] = ()
    records: Sequence[Sequence[str]] = ()
    note: str = ""  # a line under the title (what is hidden, what is left out)

    @property
    def is_table(self) -> bool:
        return bool(self.columns)


EMPTY_TABLE = "无记录"
_SHEET_NAME_BAD = str.maketrans({c: "_" for c in "[]:*?/\\"})


def _sheet_name(title: str, taken: set[str]) -> str:
    """Excel's limits: 31 characters, none of []:*?/\\, unique (case-insensitive)."""
    base = title.translate(_SHEET_NAME_BAD)[:31] or "Sheet"
    name, n = base, 2
    while name.lower() in taken:
        suffix = f"({n})"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(name.lower())
    return name


def archive_xlsx(name: str, sections: Sequence[ArchiveSection], watermark: str) -> bytes:
    """One sheet per section, each starting with the watermark line and the member's name, and
    carrying the watermark in its printed header and footer."""
    wb = Workbook(write_only=True)
    taken: set[str] = set()
    for section in sections:
        ws = wb.create_sheet(_sheet_name(section.title, taken))
        width = max(len(section.columns), 2)
        _set_widths(ws, [18, 60] if not section.is_table else [22] * width)
        _watermark(ws, watermark)
        mark = WriteOnlyCell(ws, watermark)
        mark.font = _WATERMARK_FONT
        ws.append([mark])
        title = WriteOnlyCell(ws, f"党员档案：{name} · {section.title}")
        title.font = Font(bold=True, size=14)
        ws.append([title])
        if section.note:
            ws.append([section.note])
        for label, value in section.rows:
            ws.append([label, _cell(ws, value)])
        if section.is_table:
            if section.rows:
                ws.append([])
            ws.append(_header_cells(ws, section.columns))
            for record in section.records:
                ws.append([_cell(ws, v) for v in record])
            if not section.records:
                ws.append([EMPTY_TABLE])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


_CJK_FONT = "STSong-Light"


def archive_pdf(
    name: str, sections: Sequence[ArchiveSection], watermark: str, *, compress: bool = True
) -> bytes:
    """A4 pages with one titled section each: label/value lines, and a table's records as
    numbered blocks of column/value lines (long text wraps); a diagonal watermark and a footer
    line naming the exporter on every page. Chinese text uses reportlab's built-in CID font."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    if _CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(_CJK_FONT))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, pageCompression=1 if compress else 0)
    c.setTitle(f"党员档案 {name}")
    c.setAuthor("红云 Hongyun")
    width, height = A4
    margin = 56
    page = [1]
    y = height - margin

    def decorate() -> None:
        c.saveState()
        c.setFillColorRGB(0.85, 0.1, 0.1, alpha=0.12)
        c.setFont(_CJK_FONT, 26)
        c.translate(width / 2, height / 2)
        c.rotate(35)
        for dy in (-160, 0, 160):
            c.drawCentredString(0, dy, watermark[:40])
        c.restoreState()
        c.saveState()
        c.setFont(_CJK_FONT, 8)
        c.setFillColorRGB(0.4, 0.4, 0.4)
        c.drawString(margin, 30, watermark)
        c.drawRightString(width - margin, 30, f"第 {page[0]} 页")
        c.restoreState()

    def room(needed: float) -> None:
        """A new page when fewer than `needed` points are left above the footer."""
        nonlocal y
        if y - needed < margin + 20:
            c.showPage()
            page[0] += 1
            decorate()
            y = height - margin
        c.setFont(_CJK_FONT, 10.5)

    def line(label: str, value: str, indent: float = 0) -> None:
        nonlocal y
        lines = _wrap(value or "—", 38 - int(indent // 10))
        room(16 * len(lines))
        c.drawString(margin + indent, y, label)
        for text in lines:
            c.drawString(margin + 110 + indent, y, text)
            y -= 16

    def paragraph(text: str) -> None:
        nonlocal y
        for part in _wrap(text, 46):
            room(16)
            c.drawString(margin, y, part)
            y -= 16

    decorate()
    c.setFont(_CJK_FONT, 18)
    c.drawString(margin, y, f"党员档案：{name}")
    y -= 34
    for section in sections:
        room(60)
        c.setFont(_CJK_FONT, 13)
        c.drawString(margin, y, section.title)
        y -= 6
        c.line(margin, y, width - margin, y)
        y -= 18
        c.setFont(_CJK_FONT, 10.5)
        if section.note:
            paragraph(section.note)
        for label, value in section.rows:
            line(label, value)
        if section.is_table and not section.records:
            paragraph(EMPTY_TABLE)
        for i, record in enumerate(section.records, start=1):
            room(16 * (len(section.columns) + 1))
            c.drawString(margin, y, f"（{i}）")
            y -= 16
            for label, value in zip(section.columns, record, strict=False):
                line(label, value, indent=12)
            y -= 4
        y -= 10
    c.showPage()
    c.save()
    return buf.getvalue()


def _wrap(text: str, width: int) -> list[str]:
    return [text[i : i + width] for i in range(0, len(text), width)] or [""]


def main() -> None:  # pragma: no cover - a maintenance command
    TEMPLATE_PATH.parent.mkdir(parents=True, exist_ok=True)
    TEMPLATE_PATH.write_bytes(build_template_xlsx())
    print(f"wrote {TEMPLATE_PATH}")


if __name__ == "__main__":  # pragma: no cover
    main()
