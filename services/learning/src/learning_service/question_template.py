"""The question import template (题目导入模板, .xlsx) and reading a filled one.

The template is generated here with openpyxl (nothing is shipped as a binary): sheet 题目 has
Chinese headers, a drop-down for 题型 and 难度 and example rows (题干 starting with 【示例】 —
skipped by the import, so they may stay); sheet 填写说明 explains every column.

Reading turns each data row into a QuestionSpec and collects every problem of every cell (row
number as the spreadsheet shows it, the column header, a reason in Chinese with English); the
import use case (question_import) decides what to write. No I/O beyond bytes in and out.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from hongyun_platform.errors import InvalidArgument
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.datavalidation import DataValidation

from learning_service.domain import questions as q

FILE_NAME = "题目导入模板.xlsx"
CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET = "题目"
NOTES_SHEET = "填写说明"
EXAMPLE_MARK = "【示例】"

KIND = "题型"
PROMPT = "题干"
OPTION_LETTERS = "ABCDEFGHIJ"
OPTIONS = tuple(f"选项{c}" for c in OPTION_LETTERS)
ANSWER = "答案"
TAGS = "标签"
DIFFICULTY = "难度"
EXPLANATION = "解析"
HEADERS = (KIND, PROMPT, *OPTIONS, ANSWER, TAGS, DIFFICULTY, EXPLANATION)
REQUIRED_HEADERS = (KIND, PROMPT, ANSWER)
FIELD_COLUMNS = {
    "kind": KIND,
    "prompt": PROMPT,
    "options": "选项",
    "answer": ANSWER,
    "blanks": ANSWER,
    "reference_answer": ANSWER,
    "tags": TAGS,
    "difficulty": DIFFICULTY,
    "explanation": EXPLANATION,
}

KIND_WORDS = {
    "单选": q.SINGLE,
    "单选题": q.SINGLE,
    "单项选择": q.SINGLE,
    "单项选择题": q.SINGLE,
    "多选": q.MULTIPLE,
    "多选题": q.MULTIPLE,
    "多项选择": q.MULTIPLE,
    "多项选择题": q.MULTIPLE,
    "判断": q.TRUE_FALSE,
    "判断题": q.TRUE_FALSE,
    "填空": q.FILL_IN,
    "填空题": q.FILL_IN,
    "简答": q.SHORT_ANSWER,
    "简答题": q.SHORT_ANSWER,
    "问答": q.SHORT_ANSWER,
    **{k: k for k in q.KINDS},
}
TRUE_WORDS = {"正确", "对", "是", "√", "✓", "t", "true", "y", "yes", "1"}
FALSE_WORDS = {"错误", "错", "否", "×", "✗", "x", "f", "false", "n", "no", "0"}
_TAG_SPLIT = re.compile(r"[,，、;；]")
_LETTERS_SPLIT = re.compile(r"[\s,，、;；]+")

EXAMPLES = (
    (
        "单选",
        f"{EXAMPLE_MARK}中国共产党的根本宗旨是什么？",
        ("全心全意为人民服务", "实现共产主义", "发展生产力", "依法治国"),
        "A",
        "党章,宗旨",
        2,
        "党章总纲规定：党除了工人阶级和最广大人民群众的利益，没有自己特殊的利益。",
    ),
    (
        "多选",
        f"{EXAMPLE_MARK}党的组织制度包括哪些？",
        ("民主集中制", "集体领导", "个人分工负责", "一言堂"),
        "ABC",
        "党章,组织",
        3,
        "",
    ),
    ("判断", f"{EXAMPLE_MARK}预备党员的预备期为一年。", (), "正确", "党章", 1, ""),
    (
        "填空",
        f"{EXAMPLE_MARK}党的最高理想和最终目标是实现____。",
        (),
        "共产主义|共产主义社会",
        "党章",
        2,
        "多个空用分号；分隔，同一空的多个可接受答案用竖线 | 分隔",
    ),
    (
        "简答",
        f"{EXAMPLE_MARK}请简述“四个意识”的内容。",
        (),
        "政治意识、大局意识、核心意识、看齐意识",
        "理论",
        4,
        "答案栏填写参考答案（可空），由阅卷人评分",
    ),
)

NOTES = (
    ("列", "填写要求 (what to enter)"),
    (KIND, "必填：单选 / 多选 / 判断 / 填空 / 简答"),
    (
        PROMPT,
        f"必填，最多 {q.MAX_PROMPT} 字。以“{EXAMPLE_MARK}”开头的行不导入（示例行可保留或删除）",
    ),
    (
        "选项A–选项J",
        f"单选、多选题必填 {q.MIN_OPTIONS}–{q.MAX_OPTIONS} 个选项，从选项A起连续填写，"
        f"每个最多 {q.MAX_OPTION} 字；判断、填空、简答题不填",
    ),
    (
        ANSWER,
        "单选：一个字母，如 A；多选：两个或以上字母，如 ABD 或 A,B,D；判断：正确 或 错误"
        "（也可写 对/错、√/×）；填空：各空答案按顺序用分号 ; 分隔，同一空的多个可接受答案用"
        "竖线 | 分隔，如：北京|北京市;1921；简答：参考答案，可空",
    ),
    (TAGS, f"可空，多个标签用逗号或顿号分隔，最多 {q.MAX_TAGS} 个，每个最多 {q.MAX_TAG} 字"),
    (DIFFICULTY, "可空，1–5 的整数（1 最易，5 最难），空为 3"),
    (EXPLANATION, f"可空，答案解析，最多 {q.MAX_EXPLANATION} 字"),
    ("判分", "填空题比较时忽略首尾空格、全角/半角和大小写；简答题由阅卷人评分"),
    ("整体导入", "任何一行有错误时，整个文件都不导入，并列出所有错误的行和列；改正后重新上传"),
)


def build_template() -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    ws.append(list(HEADERS))
    head_font, head_fill = Font(bold=True), PatternFill("solid", fgColor="FDE9D9")
    for cell in ws[1]:
        cell.font, cell.fill = head_font, head_fill
        cell.alignment = Alignment(horizontal="center")
    example_font = Font(italic=True, color="808080")
    for kind, prompt, options, answer, tags, difficulty, explanation in EXAMPLES:
        opts = list(options) + [""] * (len(OPTIONS) - len(options))
        ws.append([kind, prompt, *opts, answer, tags, difficulty, explanation])
        for cell in ws[ws.max_row]:
            cell.font = example_font
    widths = {KIND: 8, PROMPT: 40, ANSWER: 24, TAGS: 14, DIFFICULTY: 6, EXPLANATION: 30}
    for i, header in enumerate(HEADERS, 1):
        ws.column_dimensions[ws.cell(1, i).column_letter].width = widths.get(header, 14)
    ws.freeze_panes = "A2"
    kinds = DataValidation(type="list", formula1='"单选,多选,判断,填空,简答"', allow_blank=True)
    levels = DataValidation(
        type="whole", operator="between", formula1="1", formula2="5", allow_blank=True
    )
    ws.add_data_validation(kinds)
    ws.add_data_validation(levels)
    kinds.add("A2:A5000")
    col = ws.cell(1, HEADERS.index(DIFFICULTY) + 1).column_letter
    levels.add(f"{col}2:{col}5000")
    notes = wb.create_sheet(NOTES_SHEET)
    for row in NOTES:
        notes.append(list(row))
    notes["A1"].font = notes["B1"].font = head_font
    notes.column_dimensions["A"].width = 14
    notes.column_dimensions["B"].width = 100
    for row in notes.iter_rows(min_row=2):
        row[1].alignment = Alignment(wrap_text=True, vertical="top")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# ---- reading ----


@dataclass(frozen=True)
class RowError:
    row: int
    column: str  # a header; "" for the whole row
    code: str
    message: str


@dataclass
class ParsedRow:
    row: int
    spec: q.QuestionSpec | None  # None when a cell could not be read
    errors: list[RowError] = field(default_factory=list)


def _bad_file(message: str, code: str) -> InvalidArgument:
    return InvalidArgument(message, code=code, field="file")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "正确" if value else "错误"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_rows(data: bytes, *, max_rows: int) -> tuple[list[str], Iterator[tuple[int, dict]]]:
    """The header of sheet 题目 (or the first sheet) and its data rows as {header: text}, with
    the spreadsheet's row numbers; empty rows and example rows are left out. File-level problems
    are InvalidArgument question_import_*."""
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise _bad_file(
            "文件不是有效的 .xlsx 工作簿，请使用导入模板 (the file is not an .xlsx "
            "workbook; use the import template)",
            "question_import_bad_file",
        ) from exc
    ws = wb[SHEET] if SHEET in wb.sheetnames else wb.worksheets[0]
    rows = ws.iter_rows(max_col=len(HEADERS) + 5, values_only=True)
    header_row = next(rows, None)
    header = [unicodedata.normalize("NFKC", _text(v)).replace(" ", "") for v in header_row or ()]
    unknown = [h for h in header if h and h not in HEADERS]
    missing = [h for h in REQUIRED_HEADERS if h not in header]
    if missing or unknown:
        wb.close()
        raise _bad_file(
            f"表头与模板不符：缺少 {'、'.join(missing) or '无'}，无法识别 {'、'.join(unknown) or '无'}"
            f" (the header does not match the template: missing {missing}, unknown {unknown})",
            "question_import_bad_header",
        )

    def data_rows() -> Iterator[tuple[int, dict]]:
        count = 0
        try:
            for number, values in enumerate(rows, 2):
                cells = {h: _text(v) for h, v in zip(header, values, strict=False) if h}
                if not any(cells.values()) or cells.get(PROMPT, "").startswith(EXAMPLE_MARK):
                    continue
                count += 1
                if count > max_rows:
                    raise _bad_file(
                        f"题目不能超过 {max_rows} 行，请分批导入 (more than {max_rows} question "
                        "rows; import in parts)",
                        "question_import_too_many_rows",
                    )
                yield number, cells
        finally:
            wb.close()

    return header, data_rows()


def _choice_answer(text: str, n_options: int) -> tuple[tuple[int, ...], str | None]:
    letters = unicodedata.normalize("NFKC", text).upper()
    parts = [p for p in _LETTERS_SPLIT.split(letters) if p]
    chars = [c for p in parts for c in p]
    if not chars:
        return (), None
    if any(c not in OPTION_LETTERS for c in chars):
        return (), "答案应为选项字母，如 A 或 ABD (the answer is option letters, e.g. A or ABD)"
    picked = tuple(sorted({OPTION_LETTERS.index(c) for c in chars}))
    if any(i >= n_options for i in picked):
        return picked, (
            f"答案字母超出已填写的 {n_options} 个选项 (an answer letter is beyond the "
            f"{n_options} options given)"
        )
    return picked, None


def _true_false(text: str) -> tuple[int, ...] | None:
    word = unicodedata.normalize("NFKC", text).strip().casefold()
    if word in TRUE_WORDS:
        return (0,)
    if word in FALSE_WORDS:
        return (1,)
    return None


def _blanks(text: str) -> tuple[tuple[str, ...], ...]:
    blanks = re.split(r"[;；]", text)
    return tuple(tuple(a.strip() for a in re.split(r"[|｜]", b)) for b in blanks if b.strip())


def parse_row(number: int, cells: dict[str, str]) -> ParsedRow:
    """One data row as a question, with every problem of its cells."""
    errors: list[RowError] = []

    def bad(column: str, code: str, message: str) -> None:
        errors.append(RowError(number, column, code, message))

    kind_text = unicodedata.normalize("NFKC", cells.get(KIND, "")).strip()
    kind = KIND_WORDS.get(kind_text.casefold()) or KIND_WORDS.get(kind_text)
    if kind is None:
        bad(
            KIND,
            "question_unknown_kind",
            "题型应为 单选/多选/判断/填空/简答 (kind must be 单选, 多选, 判断, 填空 or 简答)"
            if kind_text
            else "题型不能为空 (the kind is required)",
        )
    options_raw = [cells.get(h, "") for h in OPTIONS]
    last = max((i for i, o in enumerate(options_raw) if o), default=-1)
    options = tuple(options_raw[: last + 1])
    answer_text = cells.get(ANSWER, "")
    difficulty = q.DEFAULT_DIFFICULTY
    level = unicodedata.normalize("NFKC", cells.get(DIFFICULTY, "")).strip()
    if level:
        if level.isdigit():
            difficulty = int(level)
        else:
            bad(
                DIFFICULTY,
                "question_difficulty_range",
                "难度应为 1–5 的整数 (difficulty is a whole number 1 to 5)",
            )
    tags = tuple(t for t in _TAG_SPLIT.split(cells.get(TAGS, "")) if t.strip())
    spec = q.QuestionSpec(
        kind=kind or "",
        prompt=cells.get(PROMPT, ""),
        tags=tags,
        difficulty=difficulty,
        explanation=cells.get(EXPLANATION, ""),
    )
    if kind in (q.SINGLE, q.MULTIPLE):
        if any(not o for o in options):
            bad(
                OPTIONS[options.index("")],
                "question_option_gap",
                "选项应从选项A起连续填写，中间不能空 (options are filled from 选项A without gaps)",
            )
        answer, problem = _choice_answer(answer_text, len(options))
        if problem:
            bad(ANSWER, "question_answer_format", problem)
        spec = replace(spec, options=options, answer=answer)
    elif kind in (q.TRUE_FALSE, q.FILL_IN, q.SHORT_ANSWER):
        if options:
            bad(
                OPTIONS[0],
                "question_options_not_used",
                "判断、填空、简答题不填写选项 (true/false, fill-in and short-answer questions have "
                "no options)",
            )
        if kind == q.TRUE_FALSE:
            tf = _true_false(answer_text)
            if tf is None:
                bad(
                    ANSWER,
                    "question_true_false_answer",
                    "判断题答案应为 正确 或 错误 (a true/false answer is 正确 or 错误)",
                )
            spec = replace(spec, answer=tf or ())
        elif kind == q.FILL_IN:
            spec = replace(spec, blanks=_blanks(answer_text))
        else:
            spec = replace(spec, reference_answer=answer_text)
    # With the kind unknown, the cells that do not depend on it are still checked.
    common = ("prompt", "difficulty", "tags", "explanation")
    checked = q.normalised_spec(replace(spec, kind=kind or q.SHORT_ANSWER))
    # One reason per cell: the first problem found in it.
    reported = {"选项" if e.column.startswith("选项") else e.column for e in errors}
    for p in q.problems_of(checked):
        if kind is None and p.field not in common:
            continue
        column = FIELD_COLUMNS.get(p.field, "")
        if column not in reported:
            reported.add(column)
            bad(column, p.code, p.message)
    return ParsedRow(number, checked if not errors else None, errors)


def duplicate_key(spec: q.QuestionSpec) -> tuple[str, str]:
    return spec.kind, q.normalize_answer(spec.prompt)
