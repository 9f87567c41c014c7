"""The question import template and validating a filled one: every rejected cell is reported
(row, column, reason), file-level problems are clear, example rows are skipped."""

from __future__ import annotations

import io

import pytest
from hongyun_platform.errors import InvalidArgument
from learning_service import question_template as tpl
from learning_service.question_import import ImportLimits, validate_file
from openpyxl import Workbook, load_workbook


def workbook(rows, header=tpl.HEADERS) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = tpl.SHEET
    ws.append(list(header))
    for r in rows:
        ws.append([r.get(h, "") for h in header])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def row(kind="单选", prompt="题干", answer="A", **cells) -> dict:
    base = {tpl.KIND: kind, tpl.PROMPT: prompt, tpl.ANSWER: answer}
    if kind in ("单选", "多选") and "选项A" not in cells:
        cells = {"选项A": "甲", "选项B": "乙", "选项C": "丙", **cells}
    return {**base, **cells}


def test_the_template_has_chinese_headers_examples_and_notes():
    wb = load_workbook(io.BytesIO(tpl.build_template()))
    assert wb.sheetnames == [tpl.SHEET, tpl.NOTES_SHEET]
    sheet = wb[tpl.SHEET]
    assert [c.value for c in sheet[1]] == list(tpl.HEADERS)
    assert sheet.cell(2, 2).value.startswith(tpl.EXAMPLE_MARK)
    notes = " ".join(str(c.value) for r in wb[tpl.NOTES_SHEET].iter_rows() for c in r)
    assert "整个文件都不导入" in notes and "分号" in notes
    # The untouched template imports nothing: its rows are examples.
    with pytest.raises(InvalidArgument) as err:
        validate_file(tpl.build_template(), ImportLimits())
    assert err.value.code == "question_import_no_rows"


def test_example_rows_parse_as_valid_questions():
    for kind, prompt, options, answer, tags, level, expl in tpl.EXAMPLES:
        cells = {
            tpl.KIND: kind,
            tpl.PROMPT: prompt.removeprefix(tpl.EXAMPLE_MARK),
            tpl.ANSWER: answer,
            tpl.TAGS: tags,
            tpl.DIFFICULTY: str(level),
            tpl.EXPLANATION: expl,
            **dict(zip(tpl.OPTIONS, options, strict=False)),
        }
        parsed = tpl.parse_row(2, cells)
        assert parsed.errors == [] and parsed.spec is not None, (kind, parsed.errors)


def test_a_good_file_parses_every_kind():
    data = workbook(
        [
            row(answer="b", **{tpl.TAGS: "党章，宗旨、历史", tpl.DIFFICULTY: "2"}),
            row("多选", "多选题", "A, C"),
            row("判断", "判断题", "×"),
            row("填空", "填空题", "北京｜北京市；1921"),
            row("简答", "简答题", ""),
            {},  # an empty row is skipped
        ]
    )
    parsed, errors = validate_file(data, ImportLimits())
    assert errors == []
    specs = [p.spec for p in parsed]
    assert [s.kind for s in specs] == [
        "single",
        "multiple",
        "true_false",
        "fill_in",
        "short_answer",
    ]
    assert specs[0].answer == (1,) and specs[0].tags == ("党章", "宗旨", "历史")
    assert specs[0].difficulty == 2 and specs[1].answer == (0, 2) and specs[2].answer == (1,)
    assert specs[3].blanks == (("北京", "北京市"), ("1921",))
    assert [p.row for p in parsed] == [2, 3, 4, 5, 6]


def test_every_bad_row_and_cell_is_reported():
    data = workbook(
        [
            row(),  # row 2: fine
            row("问卷", "x", **{tpl.DIFFICULTY: "0"}),  # row 3: kind and difficulty
            row(answer="E"),  # row 4: letter beyond options
            row("多选", "多选", "A", **{tpl.DIFFICULTY: "9"}),  # row 5: one answer, difficulty
            row("判断", "", "也许"),  # row 6: prompt and answer
            row("填空", "填空", ""),  # row 7: no blanks
            row(**{"选项A": "甲", "选项B": "", "选项C": "丙"}),  # row 8: gap in options
            row(prompt=" 题干 "),  # row 9: same as row 2
        ]
    )
    _, errors = validate_file(data, ImportLimits())
    got = {(e.row, e.column, e.code) for e in errors}
    assert got == {
        (3, "题型", "question_unknown_kind"),
        (3, "难度", "question_difficulty_range"),
        (4, "答案", "question_answer_format"),
        (5, "答案", "question_multiple_two_answers"),
        (5, "难度", "question_difficulty_range"),
        (6, "题干", "question_prompt_required"),
        (6, "答案", "question_true_false_answer"),
        (7, "答案", "question_blank_count"),
        (8, "选项B", "question_option_gap"),
        (9, "题干", "question_import_duplicate"),
    }
    assert [e.row for e in errors] == sorted(e.row for e in errors)
    assert all("(" in e.message for e in errors)  # Chinese with English
    dup = next(e for e in errors if e.code == "question_import_duplicate")
    assert "第 2 行" in dup.message


@pytest.mark.parametrize(
    ("data", "limits", "code"),
    [
        (b"not a workbook", ImportLimits(), "question_import_bad_file"),
        (b"", ImportLimits(), "question_import_empty"),
        (b"x" * 101, ImportLimits(max_bytes=100), "question_import_too_large"),
        (workbook([row()], header=("题目", "答案")), ImportLimits(), "question_import_bad_header"),
        (
            workbook([row(prompt=f"题{i}") for i in range(4)]),
            ImportLimits(max_rows=3),
            "question_import_too_many_rows",
        ),
    ],
)
def test_file_level_problems_are_refused(data, limits, code):
    with pytest.raises(InvalidArgument) as err:
        validate_file(data, limits)
    assert err.value.code == code and err.value.field == "file"
