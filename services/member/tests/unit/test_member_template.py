"""The national member template: header, Chinese labels, cell parsing, every rejection reason,
and the file formats (xlsx via calamine; CSV in UTF-8 with and without BOM, GB18030, UTF-16)."""

from __future__ import annotations

import html
import io
import zipfile
from datetime import date, datetime

import pytest
import python_calamine
from hongyun_platform.validation import check_character
from member_service import transfer_files
from member_service.domain import member_template as tpl
from member_service.domain.profile import Category, Gender, PartyStatus
from openpyxl import Workbook, load_workbook

TODAY = date(2026, 11, 28)
NATIONAL_HEADERS = (
    "姓名", "性别", "公民身份号码", "民族", "出生日期", "学历", "人员类别", "入党日期", "转正日期",
    "工作岗位", "手机号码", "固定电话", "家庭住址", "党籍状态", "是否失联", "失联日期", "是否流动",
    "外出流向", "所在党组织",
)  # fmt: skip
MAPPING = dict(enumerate(c.key for c in tpl.COLUMNS))


def id_number(seq: int = 1, birth: str = "19800101") -> str:
    first17 = f"110105{birth}{seq:03d}"
    return first17 + check_character(first17)


def cells(**kw) -> list:
    values = {
        "姓名": "张三", "性别": "男", "公民身份号码": id_number(1), "民族": "汉族",
        "出生日期": "1980-01-01", "学历": "大学本科", "人员类别": "正式党员", "入党日期": "2005-07-01",
        "转正日期": "2006-07-01", "工作岗位": "职员", "手机号码": "13812345678",
        "固定电话": "010-12345678", "家庭住址": "北京市东城区1号", "党籍状态": "正常",
        "是否失联": "否", "失联日期": "", "是否流动": "否", "外出流向": "", "所在党组织": "红云/一支部",
    }  # fmt: skip
    values.update(kw)
    return [values[h] for h in NATIONAL_HEADERS]


def parse(**kw) -> tpl.ParsedRow:
    return tpl.parse_row(2, cells(**kw), MAPPING, today=TODAY)


def codes(row: tpl.ParsedRow) -> list[str]:
    return [e.full_code for e in row.errors]


# ---- the template ----


def test_template_columns_are_the_16_national_items_plus_the_organisation():
    assert tpl.HEADERS == NATIONAL_HEADERS


def test_shipped_template_is_current():
    """services/member/src/member_service/templates/member_template.xlsx is what the generator
    makes (regenerate with `python -m member_service.transfer_files`)."""
    shipped = load_workbook(transfer_files.TEMPLATE_PATH)
    fresh = load_workbook(io.BytesIO(transfer_files.build_template_xlsx()))
    assert shipped.sheetnames == fresh.sheetnames == ["党员信息", "选项", "填写说明"]
    for name in shipped.sheetnames:
        assert [[c.value for c in r] for r in shipped[name].iter_rows()] == [
            [c.value for c in r] for r in fresh[name].iter_rows()
        ]

    def validations(wb):
        return sorted(
            (str(v.sqref), v.type, v.formula1)
            for v in wb["党员信息"].data_validations.dataValidation
        )

    assert validations(shipped) == validations(fresh)
    assert shipped["选项"].sheet_state == "hidden"


def test_template_has_drop_downs_for_every_enumeration():
    wb = load_workbook(io.BytesIO(transfer_files.build_template_xlsx()))
    dv = {str(v.sqref).split(":")[0][:1]: v for v in wb["党员信息"].data_validations.dataValidation}
    col = {c.key: chr(ord("A") + i) for i, c in enumerate(tpl.COLUMNS)}
    assert dv[col["gender"]].formula1 == '"男,女"'
    assert dv[col["category"]].formula1 == '"正式党员,预备党员"'
    assert dv[col["party_status"]].formula1 == '"正常,保留,恢复,停止,开除/出党,死亡"'
    assert dv[col["lost_contact"]].formula1 == dv[col["floating"]].formula1 == '"是,否"'
    assert dv[col["ethnicity"]].formula1.startswith("'选项'!$")  # 58 names: on the hidden sheet
    assert dv[col["joined_on"]].type == "date"
    options = wb["选项"]
    assert [c.value for c in options["B"]][1:3] == ["汉族", "蒙古族"]
    # The ID and phone columns are text, so Excel does not turn them into 1.1E+17.
    assert wb["党员信息"].column_dimensions[col["id_number"]].number_format == "@"


def test_csv_template_is_the_header_with_a_bom():
    data = transfer_files.template_csv()
    assert data.startswith(b"\xef\xbb\xbf")
    assert data[3:].decode().strip() == ",".join(NATIONAL_HEADERS)


# ---- headers ----


def test_header_found_below_a_watermark_line_in_any_order_with_aliases():
    rows = [
        ["导出人：x 导出时间：2026-11-28"],
        ["*身份证号", "姓名（必填）", "所在组织", "人员类别", "入党日期"],
        ["x"],
    ]
    index, mapping = tpl.find_header(rows)
    assert index == 1
    assert mapping == {
        0: "id_number",
        1: "name",
        2: "organization_path",
        3: "category",
        4: "joined_on",
    }
    assert tpl.missing_columns(mapping, has_default_org=False) == []


def test_missing_and_duplicate_columns():
    _, mapping = tpl.find_header([["姓名", "公民身份号码"]])
    assert tpl.missing_columns(mapping, has_default_org=False) == [
        "人员类别",
        "入党日期",
        "所在党组织",
    ]
    assert tpl.missing_columns(mapping, has_default_org=True) == ["人员类别", "入党日期"]
    with pytest.raises(tpl.TemplateError) as e:
        tpl.find_header([["姓名", "公民身份号码", "身份证号"]])
    assert e.value.code == "bad_header"
    with pytest.raises(tpl.TemplateError) as e:
        tpl.find_header([["名字", "号码"], ["张三", "1"]])
    assert e.value.code == "bad_header"


# ---- rows ----


def test_a_valid_row_is_normalised():
    r = parse(公民身份号码=id_number(1).lower().replace("x", "x"), 性别="", 出生日期="")
    assert r.ok, r.errors
    p = r.profile
    assert p.gender == Gender.MALE and p.birth_date == date(1980, 1, 1)
    assert p.category == Category.FULL and p.party_status == PartyStatus.NORMAL
    assert p.joined_on == date(2005, 7, 1) and r.organization_path == "红云/一支部"


@pytest.mark.parametrize(
    ("label", "field", "value"),
    [
        ("男", "gender", Gender.MALE), ("女", "gender", Gender.FEMALE),
        ("正式党员", "category", Category.FULL), ("预备党员", "category", Category.PROBATIONARY),
        ("预备", "category", Category.PROBATIONARY),
        ("正常", "party_status", PartyStatus.NORMAL), ("保留", "party_status", PartyStatus.RETAINED),
        ("恢复", "party_status", PartyStatus.RESTORED), ("停止", "party_status", PartyStatus.SUSPENDED),
        ("开除/出党", "party_status", PartyStatus.EXPELLED), ("出党", "party_status", PartyStatus.EXPELLED),
        ("死亡", "party_status", PartyStatus.DECEASED), ("保留党籍", "party_status", PartyStatus.RETAINED),
    ],
)  # fmt: skip
def test_chinese_enum_labels(label, field, value):
    assert tpl.parse_enum(field, label) == value
    assert tpl.parse_enum(field, f" {label} ") == value


def test_labels_round_trip_through_profile_cells():
    r = parse(人员类别="预备党员", 转正日期="", 党籍状态="保留", 是否流动="是", 外出流向="上海")
    assert r.ok, r.errors
    out = tpl.profile_cells(r.profile, r.organization_path)
    assert out[1] == "男" and out[6] == "预备党员" and out[13] == "保留"
    assert out[16] == "是" and out[17] == "上海" and out[-1] == "红云/一支部"
    again = tpl.parse_row(3, out, MAPPING, today=TODAY)
    assert again.ok and again.profile == r.profile


def test_ethnicity_accepts_the_short_form_and_rejects_unknown_names():
    assert parse(民族="汉").profile.ethnicity == "汉族"
    assert codes(parse(民族="火星族")) == ["ethnicity.invalid_enum"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2005-07-01", date(2005, 7, 1)), ("2005/7/1", date(2005, 7, 1)), ("2005.07.01", date(2005, 7, 1)),
        ("2005年7月1日", date(2005, 7, 1)), ("20050701", date(2005, 7, 1)), (20050701, date(2005, 7, 1)),
        (38534.0, date(2005, 7, 1)), (date(2005, 7, 1), date(2005, 7, 1)),
        (datetime(2005, 7, 1, 0, 0), date(2005, 7, 1)), ("2005-07-01 00:00:00", date(2005, 7, 1)),
        ("", None), (None, None),
    ],
)  # fmt: skip
def test_dates_in_the_forms_people_type(value, expected):
    assert tpl.parse_date(value) == expected


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"姓名": ""}, ["name.required"]),
        ({"姓名": "张" * 51}, ["name.too_long"]),
        ({"公民身份号码": ""}, ["id_number.required"]),
        ({"公民身份号码": id_number(1)[:-1] + ("0" if id_number(1)[-1] != "0" else "1")}, ["id_number.check_digit"]),
        ({"公民身份号码": "11010519800101123"}, ["id_number.length"]),
        ({"公民身份号码": "110105198001011"}, ["id_number.legacy_15_digit"]),
        ({"公民身份号码": "11010519800101123A"}, ["id_number.format"]),
        ({"公民身份号码": "110105198013011234"}, ["id_number.birth_date"]),
        ({"公民身份号码": 110105198001011230.0}, ["id_number.numeric"]),
        ({"性别": "女"}, ["gender.gender_mismatch"]),
        ({"性别": "未知"}, ["gender.invalid_enum"]),
        ({"出生日期": "1981-01-01"}, ["birth_date.birth_date_mismatch"]),
        ({"人员类别": ""}, ["category.required"]),
        ({"人员类别": "群众"}, ["category.invalid_enum"]),
        ({"入党日期": ""}, ["joined_on.required"]),
        ({"入党日期": "2005-02-30"}, ["joined_on.invalid_date"]),
        ({"入党日期": "明年"}, ["joined_on.invalid_date"]),
        ({"入党日期": "2099-01-01", "转正日期": ""}, ["joined_on.future_date"]),
        ({"入党日期": "1970-01-01", "转正日期": ""}, ["joined_on.invalid_date"]),  # before birth
        ({"转正日期": "2004-01-01"}, ["converted_on.invalid_date"]),  # before joining
        ({"手机号码": "12345"}, ["mobile_phone.format"]),
        ({"固定电话": "电话"}, ["landline.format"]),
        ({"党籍状态": "良好"}, ["party_status.invalid_enum"]),
        ({"是否失联": "也许"}, ["lost_contact.invalid_bool"]),
        ({"失联日期": "昨天"}, ["lost_contact_since.invalid_date"]),
        ({"所在党组织": ""}, ["organization_path.required"]),
        ({"所在党组织": "支" * 1001}, ["organization_path.path_too_long"]),
        ({"姓名": "", "手机号码": "1", "是否流动": "?"}, ["name.required", "mobile_phone.format", "floating.invalid_bool"]),
    ],
)  # fmt: skip
def test_every_rejection_reason(change, expected):
    row = parse(**change)
    assert codes(row) == expected
    assert row.profile is None
    assert all(e.message and "：" in e.describe() for e in row.errors)


def test_default_organisation_path_fills_empty_cells():
    r = tpl.parse_row(2, cells(所在党组织=""), MAPPING, today=TODAY, default_org_path="红云/二支部")
    assert r.ok and r.organization_path == "红云/二支部"


def test_org_paths_are_normalised():
    assert tpl.normalize_org_path(" 红云示范党委 ／ 第一党支部 ") == "红云示范党委/第一党支部"
    assert tpl.normalize_org_path("红云示范党委>第一党支部") == "红云示范党委/第一党支部"


def test_numbers_from_spreadsheets_become_text():
    r = parse(手机号码=13812345678.0, 固定电话="'+86 10 12345678")
    assert r.ok, r.errors
    assert r.profile.mobile_phone == "13812345678" and r.profile.landline == "+86 10 12345678"


def test_formula_like_text_is_escaped_for_spreadsheets_and_unescaped_on_import():
    assert tpl.safe_text("=1+1") == "'=1+1" and tpl.safe_text("-") == "-"
    assert tpl.normalize_text("'=1+1") == "=1+1" and tpl.normalize_text("'abc") == "'abc"


# ---- files ----


def _xlsx(rows: list[list]) -> bytes:
    wb = Workbook()
    for r in rows:
        wb.active.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030", "utf-16"])
def test_csv_encodings(encoding):
    text = ",".join(NATIONAL_HEADERS) + "\r\n" + ",".join(str(c) for c in cells()) + "\r\n"
    data = text.encode(encoding)
    assert transfer_files.sniff_format(data, "m.csv") == "csv"
    sheet = transfer_files.read_csv(data)
    assert sheet.rows[0] == list(NATIONAL_HEADERS)
    assert sheet.rows[1][0] == "张三" and sheet.rows[1][-1] == "红云/一支部"


def test_tab_separated_text_and_bad_encodings():
    data = ("\t".join(NATIONAL_HEADERS) + "\n").encode("utf-8")
    assert transfer_files.read_csv(data).rows[0] == list(NATIONAL_HEADERS)
    with pytest.raises(tpl.TemplateError) as e:
        transfer_files.read_csv(b"\x81\x30\xff\xff")  # neither UTF-8 nor GB18030
    assert e.value.code == "bad_encoding"


def test_sniffing_by_content_and_refusing_other_files():
    assert transfer_files.sniff_format(_xlsx([["a"]]), "renamed.csv") == "xlsx"
    for data, name, code in [
        (b"\xd0\xcf\x11\xe0....", "old.xls", "bad_file"),
        (b"", "empty.csv", "empty_file"),
        (b"\x00\x01\x02binary", "x.bin", "bad_file"),
    ]:
        with pytest.raises(tpl.TemplateError) as e:
            transfer_files.sniff_format(data, name)
        assert e.value.code == code


def test_xlsx_rows_keep_sheet_row_numbers_and_cell_types():
    data = _xlsx(
        [[None], ["姓名", "公民身份号码"], ["张三", 13812345678], ["李四", date(2020, 1, 2)]]
    )
    sheet = transfer_files.read_xlsx(data)
    index, _ = tpl.find_header(sheet.rows)
    assert sheet.first_row_number + index == 2  # the header is on row 2 of the sheet
    assert sheet.rows[index + 1] == ["张三", 13812345678.0]
    assert sheet.rows[index + 2][1] == date(2020, 1, 2)
    with pytest.raises(tpl.TemplateError) as e:
        transfer_files.read_xlsx(data[:200])
    assert e.value.code == "bad_file"


def test_error_workbook_lists_rows_cells_reasons_and_codes():
    row = parse(公民身份号码="123", 手机号码="1")
    entry = transfer_files.rejected_entry(row)
    data = transfer_files.error_workbook(
        list(NATIONAL_HEADERS),
        [(entry["row"], entry["cells"], entry["reasons"], entry["codes"])],
        [(5, "李四", "exists")],
        title="导入错误明细",
    )
    wb = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    rows = wb.get_sheet_by_index(0).to_python()
    assert rows[0][0] == "导入错误明细" and rows[1][0] == "行号" and rows[1][1] == "姓名"
    assert rows[2][0] == 2 and rows[2][3] == "123"
    assert rows[2][-1] == "id_number.length; mobile_phone.format"
    assert "公民身份号码：公民身份号码应为18位" in rows[2][-2]
    assert wb.get_sheet_by_index(1).to_python()[1] == [
        5,
        "李四",
        "公民身份号码已登记，已跳过",
        "exists",
    ]


def test_member_list_export_is_watermarked_and_formula_safe():
    for fmt in ("xlsx", "csv"):
        w = transfer_files.MemberListWriter(
            fmt, "导出人：张书记（u1） 导出时间：2026-11-28 10:00:00"
        )
        w.add(tpl.profile_cells(parse().profile, '=HYPERLINK("x")'))
        body = w.finish().read()
        if fmt == "xlsx":
            rows = (
                python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(body))
                .get_sheet_by_index(0)
                .to_python()
            )
            # Character references resolved: the XML writer may escape non-ASCII text.
            xml = html.unescape(
                zipfile.ZipFile(io.BytesIO(body)).read("xl/worksheets/sheet1.xml").decode()
            )
            assert "<f>" not in xml and "&C导出人：张书记" in xml  # no formula; header/footer mark
        else:
            import csv

            rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
            assert rows[2][-1].startswith("'=")
        assert rows[0][0].startswith("导出人：张书记") and rows[1] == list(NATIONAL_HEADERS)
        assert rows[2][0] == "张三"


def test_archive_pdf_is_a_pdf_with_the_watermark_on_every_page():
    sections = [
        transfer_files.ArchiveSection(f"节{i}", [("项", "值" * 100)] * 20) for i in range(4)
    ]
    data = transfer_files.archive_pdf("张三", sections, "导出人：x", compress=False)
    assert data.startswith(b"%PDF-")
    pages = data.count(b"/Type /Page\n") + data.count(b"/Type /Page ")
    assert pages >= 2
    mark = "导出人：x".encode("utf-16-be")
    # reportlab writes CID text as UTF-16BE with octal escapes; count the footer mark per page.
    escaped = "".join(
        f"\\{b:03o}" if b < 32 or b > 126 or chr(b) in "()\\" else chr(b) for b in mark
    )
    assert data.count(escaped.encode()) >= pages
