"""The national 16-item member template (全国党员信息采集模板) and the rules for one row of it.

Pure: columns, Chinese labels of the enumerations, cell parsing and row validation. Reading and
writing files is member_service.transfer_files; resolving organisation paths against a tenant and
duplicate checks against stored members are the import use case's (member_service.imports).

A row's problems are collected per cell (every bad cell is reported, not only the first); the
cross-field rules of the archive (domain.profile.validate_profile: gender and birth date against
the ID number, dates in order) run once the cells themselves are valid.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from hongyun_platform.errors import InvalidArgument
from hongyun_platform.validation import (
    InvalidIdNumber,
    InvalidPhone,
    validate_id_number,
    validate_mobile_phone,
)

from member_service.domain.profile import (
    MAX_LENGTHS,
    Category,
    Gender,
    PartyStatus,
    Profile,
    validate_profile,
)

ORGANIZATION_PATH = "organization_path"
PATH_SEPARATOR = "/"
MAX_PATH_LENGTH = 1000


@dataclass(frozen=True)
class Column:
    key: str  # a Profile field, or "organization_path"
    header: str  # the template's Chinese header
    kind: str  # text | id | date | enum | bool | phone | landline | org
    required: bool = False
    width: int = 14
    note: str = ""
    aliases: tuple[str, ...] = ()


# The 16 national items (失联 and 流动 each with their detail column), then the organisation.
COLUMNS: tuple[Column, ...] = (
    Column("name", "姓名", "text", True, 10, "必填"),
    Column("gender", "性别", "enum", False, 6, "男/女；可空，取自公民身份号码"),
    Column("id_number", "公民身份号码", "id", True, 22, "必填，18位，文本格式",
           ("身份证号", "身份证号码", "公民身份证号码", "身份证")),
    Column("ethnicity", "民族", "enum", False, 10, "如：汉族"),
    Column("birth_date", "出生日期", "date", False, 12, "YYYY-MM-DD；可空，取自公民身份号码"),
    Column("education", "学历", "text", False, 12, "如：大学本科"),
    Column("category", "人员类别", "enum", True, 10, "必填：正式党员/预备党员"),
    Column("joined_on", "入党日期", "date", True, 12, "必填，YYYY-MM-DD"),
    Column("converted_on", "转正日期", "date", False, 12, "YYYY-MM-DD，正式党员填写"),
    Column("job_post", "工作岗位", "text", False, 16, ""),
    Column("mobile_phone", "手机号码", "phone", False, 14, "11位手机号码", ("手机", "手机号")),
    Column("landline", "固定电话", "landline", False, 16, "如：010-12345678", ("座机",)),
    Column("home_address", "家庭住址", "text", False, 30, "", ("住址", "家庭地址")),
    Column("party_status", "党籍状态", "enum", False, 10, "可空，默认：正常"),
    Column("lost_contact", "是否失联", "bool", False, 8, "是/否，默认：否"),
    Column("lost_contact_since", "失联日期", "date", False, 12, "失联时填写"),
    Column("floating", "是否流动", "bool", False, 8, "是/否，默认：否", ("是否流动党员",)),
    Column("floating_destination", "外出流向", "text", False, 20, "流动时填写"),
    Column(ORGANIZATION_PATH, "所在党组织", "org", True, 30,
           "组织路径，从本租户根组织写起，用“/”分隔，如：红云示范党委/第一党支部",
           ("所在组织", "党组织", "所在党支部", "组织路径")),
)  # fmt: skip
HEADERS: tuple[str, ...] = tuple(c.header for c in COLUMNS)
BY_KEY: Mapping[str, Column] = {c.key: c for c in COLUMNS}

GENDER_LABELS = {Gender.MALE: "男", Gender.FEMALE: "女"}
CATEGORY_LABELS = {Category.FULL: "正式党员", Category.PROBATIONARY: "预备党员"}
PARTY_STATUS_LABELS = {
    PartyStatus.NORMAL: "正常",
    PartyStatus.RETAINED: "保留",
    PartyStatus.RESTORED: "恢复",
    PartyStatus.SUSPENDED: "停止",
    PartyStatus.EXPELLED: "开除/出党",
    PartyStatus.DECEASED: "死亡",
}
BOOL_LABELS = {True: "是", False: "否"}
# GB/T 3304 民族 names, in the standard's order.
ETHNICITIES: tuple[str, ...] = (
    "汉族", "蒙古族", "回族", "藏族", "维吾尔族", "苗族", "彝族", "壮族", "布依族", "朝鲜族",
    "满族", "侗族", "瑶族", "白族", "土家族", "哈尼族", "哈萨克族", "傣族", "黎族", "傈僳族",
    "佤族", "畲族", "高山族", "拉祜族", "水族", "东乡族", "纳西族", "景颇族", "柯尔克孜族",
    "土族", "达斡尔族", "仫佬族", "羌族", "布朗族", "撒拉族", "毛南族", "仡佬族", "锡伯族",
    "阿昌族", "普米族", "塔吉克族", "怒族", "乌孜别克族", "俄罗斯族", "鄂温克族", "德昂族",
    "保安族", "裕固族", "京族", "塔塔尔族", "独龙族", "鄂伦春族", "赫哲族", "门巴族", "珞巴族",
    "基诺族", "其他", "外国血统中国籍人士",
)  # fmt: skip
EDUCATION_SUGGESTIONS: tuple[str, ...] = (
    "研究生（博士）", "研究生（硕士）", "大学本科", "大学专科", "中等专科", "高中", "初中",
    "小学", "其他",
)  # fmt: skip

# Drop-down lists of the template (column key → allowed labels).
CHOICES: Mapping[str, tuple[str, ...]] = {
    "gender": tuple(GENDER_LABELS.values()),
    "ethnicity": ETHNICITIES,
    "education": EDUCATION_SUGGESTIONS,
    "category": tuple(CATEGORY_LABELS.values()),
    "party_status": tuple(PARTY_STATUS_LABELS.values()),
    "lost_contact": tuple(BOOL_LABELS.values()),
    "floating": tuple(BOOL_LABELS.values()),
}
STRICT_CHOICES = frozenset({"gender", "ethnicity", "category", "party_status", "lost_contact",
                            "floating"})  # fmt: skip

_ENUM_VALUES: Mapping[str, Mapping[str, Any]] = {
    "gender": {"男": Gender.MALE, "男性": Gender.MALE, "女": Gender.FEMALE, "女性": Gender.FEMALE},
    "category": {
        "正式党员": Category.FULL, "正式": Category.FULL,
        "预备党员": Category.PROBATIONARY, "预备": Category.PROBATIONARY,
    },
    "party_status": {
        "正常": PartyStatus.NORMAL,
        "保留": PartyStatus.RETAINED, "保留党籍": PartyStatus.RETAINED,
        "恢复": PartyStatus.RESTORED, "恢复党籍": PartyStatus.RESTORED,
        "停止": PartyStatus.SUSPENDED, "停止党籍": PartyStatus.SUSPENDED,
        "开除/出党": PartyStatus.EXPELLED, "开除": PartyStatus.EXPELLED,
        "出党": PartyStatus.EXPELLED, "开除党籍": PartyStatus.EXPELLED,
        "死亡": PartyStatus.DECEASED,
    },
    "ethnicity": {e: e for e in ETHNICITIES},
}  # fmt: skip
_BOOLS = {"是": True, "否": False, "y": True, "n": False, "yes": True, "no": False,
          "true": True, "false": False, "1": True, "0": False}  # fmt: skip
_DATE_PATTERNS = (
    re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日?"),
    re.compile(r"(\d{4})(\d{2})(\d{2})"),
)
_DATE_TIME_SUFFIX = re.compile(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$")
_LANDLINE = re.compile(r"[0-9+()\- ]{5,30}")
_EXCEL_EPOCH = date(1899, 12, 30)
_FORMULA_START = ("=", "+", "-", "@")
_MESSAGES = {
    "required": "必填",
    "too_long": "内容过长（最多 {limit} 个字符）",
    "invalid_date": "日期无效，应为 YYYY-MM-DD",
    "future_date": "日期不能晚于今天",
    "invalid_enum": "取值无效，应为：{choices}",
    "invalid_bool": "应填“是”或“否”",
    "numeric": "公民身份号码被存成了数字（已丢失精度），请把该列设为文本格式后重新填写",
    "format": "格式错误",
    "path_too_long": "组织路径过长",
}


@dataclass(frozen=True)
class RowError:
    field: str  # column key
    code: str  # reason within the field, e.g. "check_digit"
    message: str  # Chinese, for the error workbook

    @property
    def full_code(self) -> str:
        return f"{self.field}.{self.code}"

    @property
    def header(self) -> str:
        col = BY_KEY.get(self.field)
        return col.header if col else self.field

    def describe(self) -> str:
        return f"{self.header}：{self.message}"


@dataclass
class ParsedRow:
    row_number: int  # 1-based row in the sheet, as the user sees it
    raw: Sequence[Any]  # the original cells, in the file's column order
    profile: Profile | None = None  # validated and normalised; None when errors
    organization_path: str = ""
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def cells(self) -> list[str]:
        """The original cells as text (for the error workbook)."""
        return [cell_text(v) for v in self.raw]


class TemplateError(InvalidArgument):
    """The file as a whole cannot be imported (codes: bad_file, bad_header, empty_file, ...)."""


# ---- cells ----


def normalize_text(value: Any) -> str:
    """A cell as trimmed text. Numbers that are whole become integers ("13800000000", not
    "13800000000.0"); a leading apostrophe that protected a formula-like value is dropped."""
    if type(value) is str:  # the common case, kept fast (imports call this per cell)
        text = value.strip()
        if text and not text.isascii():
            text = unicodedata.normalize("NFC", text.replace("\u3000", " ")).strip()
        if len(text) > 1 and text[0] == "'" and text[1] in _FORMULA_START:
            text = text[1:]
        return text
    if value is None:
        return ""
    if isinstance(value, bool):
        return BOOL_LABELS[value]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        value = value.date() if not value.time() else value
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    text = unicodedata.normalize("NFC", str(value)).replace("\u3000", " ").strip()
    if len(text) > 1 and text[0] == "'" and text[1] in _FORMULA_START:
        text = text[1:]
    return text


def cell_text(value: Any) -> str:
    """How a cell is echoed back to the user (error workbook)."""
    return normalize_text(value)


def _key(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()


def parse_date(value: Any) -> date | None:
    """date/datetime cells, "YYYY-MM-DD" (also / . 年月日 and YYYYMMDD), Excel serial numbers."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        raise ValueError("not a date")
    if isinstance(value, int | float):
        number = float(value)
        if number.is_integer() and 19000101 <= number <= 29991231:
            return parse_date(str(int(number)))
        if 1 <= number < 2958466:  # Excel serial day numbers (1900 date system)
            return _EXCEL_EPOCH + timedelta(days=int(number))
        raise ValueError("not a date")
    text = _DATE_TIME_SUFFIX.sub("", unicodedata.normalize("NFKC", str(value)).strip())
    for pattern in _DATE_PATTERNS:
        m = pattern.fullmatch(text)
        if m:
            return date(int(m[1]), int(m[2]), int(m[3]))
    raise ValueError("not a date")


def parse_enum(key: str, value: Any) -> Any:
    text = normalize_text(value)
    if not text:
        return None
    table = _ENUM_VALUES[key]
    found = table.get(text) or table.get(_key(text))
    if found is None and key == "ethnicity":
        found = table.get(text + "族")
    if found is None:
        raise ValueError(text)
    return found


def parse_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = normalize_text(value)
    if not text:
        return None
    found = _BOOLS.get(_key(text))
    if found is None:
        raise ValueError(text)
    return found


def normalize_org_path(value: Any) -> str:
    """ "红云示范党委 / 第一党支部" → "红云示范党委/第一党支部" (also full-width ／ and ＼, > and →)."""
    text = unicodedata.normalize("NFKC", normalize_text(value))
    parts = re.split(r"[/\\>→]", text)
    return PATH_SEPARATOR.join(p.strip() for p in parts if p.strip())


def org_path_parts(path: str) -> tuple[str, ...]:
    return tuple(p for p in path.split(PATH_SEPARATOR) if p)


# ---- header ----


def header_key(text: Any) -> str | None:
    """The column a header cell names, tolerating "*姓名", "姓名（必填）" and the aliases."""
    t = _key(normalize_text(text)).strip("*")
    t = re.sub(r"[(（][^)）]*[)）]$", "", t).strip("*")
    return _HEADER_INDEX.get(t)


_HEADER_INDEX: dict[str, str] = {}
for _col in COLUMNS:
    for _name in (_col.header, *_col.aliases):
        _HEADER_INDEX[_key(_name)] = _col.key


def find_header(
    rows: Sequence[Sequence[Any]], *, search_rows: int = 10
) -> tuple[int, dict[int, str]]:
    """Index of the header row among the first rows (exports put a watermark line above it) and
    {column index: column key}. Raises TemplateError when no row names the required columns."""
    for i, row in enumerate(rows[:search_rows]):
        mapping: dict[int, str] = {}
        duplicate = None
        for j, cell in enumerate(row):
            key = header_key(cell)
            if key is None:
                continue
            if key in mapping.values():
                duplicate = key
            mapping[j] = key
        if {"name", "id_number"} <= set(mapping.values()):
            if duplicate:
                raise TemplateError(
                    f"表头第 {i + 1} 行中“{BY_KEY[duplicate].header}”出现了两次 "
                    "(a column appears twice in the header)",
                    code="bad_header",
                )
            return i, mapping
    raise TemplateError(
        "未找到表头：请使用全国党员信息采集模板，表头须包含“姓名”和“公民身份号码” "
        "(no header row with 姓名 and 公民身份号码; use the template)",
        code="bad_header",
    )


def missing_columns(mapping: Mapping[int, str], *, has_default_org: bool) -> list[str]:
    present = set(mapping.values())
    return [
        c.header
        for c in COLUMNS
        if c.required
        and c.key not in present
        and not (c.key == ORGANIZATION_PATH and has_default_org)
    ]


# ---- rows ----


def _error(key: str, code: str, **fmt: Any) -> RowError:
    return RowError(key, code, _MESSAGES[code].format(**fmt))


def parse_row(
    row_number: int,
    raw: Sequence[Any],
    mapping: Mapping[int, str],
    *,
    today: date,
    default_org_path: str = "",
) -> ParsedRow:
    """Validates one data row. Every bad cell is reported; the cross-field rules of the archive
    run when the cells are valid. The result's profile is normalised (ID number upper-case,
    gender and birth date filled from the ID number, party status defaulting to 正常)."""
    values: dict[str, Any] = {}
    for j, key in mapping.items():
        values[key] = raw[j] if j < len(raw) else None
    out = ParsedRow(row_number, raw)
    errs = out.errors
    parsed: dict[str, Any] = {}
    for col in COLUMNS:
        value = values.get(col.key)
        text = normalize_text(value)
        if col.kind == "org":
            path = normalize_org_path(value) or default_org_path
            if not path:
                errs.append(_error(col.key, "required"))
            elif len(path) > MAX_PATH_LENGTH:
                errs.append(_error(col.key, "path_too_long"))
            out.organization_path = path
            continue
        if not text:
            if col.required:
                errs.append(_error(col.key, "required"))
            continue
        try:
            if col.kind == "text":
                limit = MAX_LENGTHS.get(col.key)
                if limit and len(text) > limit:
                    errs.append(_error(col.key, "too_long", limit=limit))
                    continue
                parsed[col.key] = text
            elif col.kind == "id":
                if isinstance(value, int | float) and not isinstance(value, bool):
                    errs.append(_error(col.key, "numeric"))
                    continue
                parsed[col.key] = validate_id_number(text, today=today).normalized
            elif col.kind == "date":
                d = parse_date(value)
                if d and d > today:
                    errs.append(_error(col.key, "future_date"))
                    continue
                parsed[col.key] = d
            elif col.kind == "enum":
                parsed[col.key] = parse_enum(col.key, value)
            elif col.kind == "bool":
                parsed[col.key] = parse_bool(value)
            elif col.kind == "phone":
                parsed[col.key] = validate_mobile_phone(text)
            elif col.kind == "landline":
                if not _LANDLINE.fullmatch(text) or sum(c.isdigit() for c in text) < 5:
                    errs.append(RowError(col.key, "format", "格式错误（数字、+、-、括号）"))
                    continue
                parsed[col.key] = text
        except InvalidIdNumber as exc:
            errs.append(RowError(col.key, exc.reason, exc.message))
        except InvalidPhone as exc:
            errs.append(RowError(col.key, exc.reason, exc.message))
        except ValueError:
            if col.kind == "date":
                errs.append(_error(col.key, "invalid_date"))
            elif col.kind == "bool":
                errs.append(_error(col.key, "invalid_bool"))
            else:
                errs.append(_error(col.key, "invalid_enum", choices="/".join(CHOICES[col.key])))
    if errs:
        return out
    profile = Profile(
        name=parsed.get("name", ""),
        gender=parsed.get("gender") or Gender.UNSPECIFIED,
        id_number=parsed.get("id_number", ""),
        ethnicity=parsed.get("ethnicity", ""),
        birth_date=parsed.get("birth_date"),
        education=parsed.get("education", ""),
        category=parsed.get("category") or Category.UNSPECIFIED,
        joined_on=parsed.get("joined_on"),
        converted_on=parsed.get("converted_on"),
        job_post=parsed.get("job_post", ""),
        mobile_phone=parsed.get("mobile_phone", ""),
        landline=parsed.get("landline", ""),
        home_address=parsed.get("home_address", ""),
        party_status=parsed.get("party_status") or PartyStatus.UNSPECIFIED,
        lost_contact=bool(parsed.get("lost_contact")),
        lost_contact_since=parsed.get("lost_contact_since"),
        floating=bool(parsed.get("floating")),
        floating_destination=parsed.get("floating_destination", ""),
    )
    try:
        out.profile = validate_profile(profile, today=today)
    except InvalidArgument as exc:
        key = exc.field or "row"
        message = exc.message.split(" (", 1)[0]  # the Chinese part of "中文 (English)"
        errs.append(RowError(key, exc.code, message))
    return out


def profile_cells(profile: Profile, organization_path: str) -> list[Any]:
    """A member as one template row (dates stay dates; enums become their Chinese labels)."""
    p = profile
    return [
        p.name,
        GENDER_LABELS.get(p.gender, ""),
        p.id_number,
        p.ethnicity,
        p.birth_date,
        p.education,
        CATEGORY_LABELS.get(p.category, ""),
        p.joined_on,
        p.converted_on,
        p.job_post,
        p.mobile_phone,
        p.landline,
        p.home_address,
        PARTY_STATUS_LABELS.get(p.party_status, ""),
        BOOL_LABELS[bool(p.lost_contact)],
        p.lost_contact_since,
        BOOL_LABELS[bool(p.floating)],
        p.floating_destination,
        organization_path,
    ]


def safe_text(value: str) -> str:
    """Spreadsheet-safe text: a value that a spreadsheet would run as a formula gets a leading
    apostrophe (normalize_text removes it again on import)."""
    return "'" + value if value[:1] in _FORMULA_START and len(value) > 1 else value
