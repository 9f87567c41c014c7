"""Question rules: what a valid question is, answer normalisation and grading one answer."""

from __future__ import annotations

import pytest
from hongyun_platform.errors import InvalidArgument
from learning_service.domain import questions as q


def spec(**kw) -> q.QuestionSpec:
    base = dict(kind="single", prompt="党的根本宗旨？", options=("为人民服务", "其他"), answer=(0,))
    base.update(kw)
    return q.QuestionSpec(**base)


def codes(s: q.QuestionSpec) -> list[str]:
    return [p.code for p in q.problems_of(q.normalised_spec(s))]


def test_a_valid_single_choice_is_normalised():
    s = q.validate_question(spec(prompt="  题干  ", tags=(" 党章 ", "党章", "", "宗旨")))
    assert s.prompt == "题干" and s.tags == ("党章", "宗旨") and s.difficulty == 3


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        (dict(options=("only one",)), "question_option_count"),
        (dict(options=tuple(str(i) for i in range(11))), "question_option_count"),
        (dict(options=("a", "")), "question_option_empty"),
        (dict(options=("Ａ", "a")), "question_option_duplicate"),
        (dict(answer=()), "question_answer_required"),
        (dict(answer=(2,)), "question_answer_out_of_range"),
        (dict(answer=(0, 1)), "question_single_one_answer"),
        (dict(kind="multiple", answer=(1,)), "question_multiple_two_answers"),
        (dict(kind="true_false", options=(), answer=(2,)), "question_true_false_answer"),
        (dict(kind="fill_in", blanks=()), "question_blank_count"),
        (dict(kind="fill_in", blanks=(("北京",), ("", " "))), "question_blank_no_answer"),
        (dict(prompt="   "), "question_prompt_required"),
        (dict(difficulty=6), "question_difficulty_range"),
        (dict(tags=tuple(f"t{i}" for i in range(11))), "question_too_many_tags"),
        (dict(kind="essay"), "question_unknown_kind"),
    ],
)
def test_invalid_questions_name_the_problem(changes, code):
    assert code in codes(spec(**changes))
    with pytest.raises(InvalidArgument) as err:
        q.validate_question(spec(**changes))
    assert "(" in err.value.message  # Chinese with English


def test_every_problem_is_collected():
    found = codes(spec(prompt="", options=("a",), answer=(5,), difficulty=0))
    assert {
        "question_prompt_required",
        "question_option_count",
        "question_answer_out_of_range",
        "question_difficulty_range",
    } <= set(found)


def test_true_false_has_fixed_options_and_fields_of_other_kinds_are_dropped():
    s = q.validate_question(spec(kind="true_false", options=("x", "y", "z"), answer=(1,)))
    assert s.options == q.TRUE_FALSE_OPTIONS and s.answer == (1,)
    s = q.validate_question(spec(kind="short_answer", reference_answer=" 参考 ", answer=(0,)))
    assert s.options == () and s.answer == () and s.reference_answer == "参考"


def test_fill_in_comparison_ignores_width_case_and_spaces():
    assert q.normalize_answer("  ＡＢＣ　１２３ ") == "abc 123"
    assert q.blank_matches("  Beijing ", ["beijing"])
    assert q.blank_matches("ＢＥＩＪＩＮＧ", ["Beijing"])
    assert q.blank_matches("一九二一", ["1921", "一九二一"])
    assert q.blank_matches("中国  共产党", ["中国 共产党"])
    assert not q.blank_matches("", ["北京"])
    assert not q.blank_matches("北京市", ["北京"])


def test_single_and_true_false_score_exactly():
    assert q.grade_choice("single", [1], [1], 2, q.ALL_OR_NOTHING) == q.Graded(200, True, (1,))
    assert q.grade_choice("single", [1], [0], 2, q.ALL_OR_NOTHING).score == 0
    assert q.grade_choice("true_false", [0], [], 1, q.ALL_OR_NOTHING).score == 0


def test_multiple_is_all_or_nothing_unless_the_exam_allows_partial_credit():
    correct = [0, 2, 3]
    assert q.grade_choice("multiple", correct, [3, 0, 2], 4, q.ALL_OR_NOTHING).score == 400
    assert q.grade_choice("multiple", correct, [0, 2], 4, q.ALL_OR_NOTHING).score == 0
    partial = q.grade_choice("multiple", correct, [0, 2], 4, q.PARTIAL)
    assert partial.score == 200 and partial.correct is False and partial.selected == (0, 2)
    # A wrong option chosen, or nothing: no credit even with the partial rule.
    assert q.grade_choice("multiple", correct, [0, 1], 4, q.PARTIAL).score == 0
    assert q.grade_choice("multiple", correct, [], 4, q.PARTIAL).score == 0


def test_fill_in_scores_each_blank():
    blanks = [("北京", "北京市"), ("1921",), ("共产主义",)]
    full = q.grade_fill_in(blanks, ["北京市", "１９２１", "共产主义"], 3)
    assert full.score == 300 and full.correct and full.blanks_correct == (True, True, True)
    some = q.grade_fill_in(blanks, ["北京", "1920"], 3)
    assert some.score == 100 and some.correct is False
    assert some.blanks_correct == (True, False, False)
    # Shares round down to a hundredth: 1 of 3 blanks of 1 point = 0.33.
    assert q.grade_fill_in(blanks, ["北京"], 1).score == 33
