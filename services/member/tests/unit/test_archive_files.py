"""The archive's files (transfer_files.archive_xlsx / archive_pdf): one sheet per section,
tables, empty tables, and a long table running over pages with the watermark on each."""

from __future__ import annotations

import io
import re

from member_service import transfer_files as tf
from openpyxl import load_workbook

FAMILY = tf.ArchiveSection(
    "家庭成员",
    columns=["姓名", "联系电话"],
    records=[["李梅", "139****1111"]],
    note="联系电话已脱敏",
)


def test_xlsx_has_a_sheet_per_section_with_header_and_records():
    sections = [
        tf.ArchiveSection("基本信息", [("姓名", "张三"), ("备注", "=SUM(A1)")]),
        FAMILY,
        tf.ArchiveSection("附件", columns=["类型", "文件名"]),
        tf.ArchiveSection("附件", [("x", "y")]),  # a repeated title still gets its own sheet
        tf.ArchiveSection("出国/出境:记录[一]", [("x", "y")]),
    ]
    wb = load_workbook(io.BytesIO(tf.archive_xlsx("张三", sections, "导出人：x")))
    assert wb.sheetnames == ["基本信息", "家庭成员", "附件", "附件(2)", "出国_出境_记录_一_"]
    rows = {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}
    for title, got in rows.items():
        assert got[0][0] == "导出人：x" and got[1][0].startswith("党员档案：张三 · "), title
        assert wb[title].oddFooter.center.text.startswith("导出人：x"), title
    assert ["备注", "=SUM(A1)"] in rows["基本信息"]  # text, not a formula
    assert wb["基本信息"]["B4"].data_type == "s"
    assert rows["家庭成员"][2:] == [["联系电话已脱敏", None], ["姓名", "联系电话"],
                                   ["李梅", "139****1111"]]  # fmt: skip
    assert rows["附件"][2:] == [["类型", "文件名"], ["无记录", None]]


def test_pdf_table_over_several_pages_keeps_the_watermark_on_each():
    many = tf.ArchiveSection(
        "党籍状态记录", columns=["生效日期", "原因"], records=[["2020-01-01", "说明" * 30]] * 60
    )
    data = tf.archive_pdf("张三", [FAMILY, many], "导出人：x", compress=False)
    pages = len(re.findall(rb"/Type /Page[\s/>]", data))
    assert pages >= 4
    mark = "导出人：x".encode("utf-16-be")
    escaped = "".join(
        f"\\{b:03o}" if b < 32 or b > 126 or chr(b) in "()\\" else chr(b) for b in mark
    )
    assert data.count(escaped.encode()) >= pages
