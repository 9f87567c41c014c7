"""Questions of a question bank (题库) and how one answer is graded (docs: issue 5).

Pure rules: what a valid question is (every problem is collected, so an import can report each
bad cell), how a learner's free text is compared with accepted answers, and the score of one
answer. Scores are integer hundredths of a point (centipoints), so partial credit never needs
floats.

Kinds:
- single / multiple: 2–10 options, `answer` = indexes of the correct options (one for single).
- true_false: the options are fixed (正确, 错误); `answer` = [0] for true, [1] for false.
- fill_in: 1–10 blanks, each with 1–10 accepted answers; compared after normalisation (trimmed,
  whitespace collapsed, full-width → half-width by NFKC, case-insensitive).
- short_answer: graded by a person; an optional reference answer helps the grader.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace

from hongyun_platform.errors import InvalidArgument

SINGLE = "single"
MULTIPLE = "multiple"
TRUE_FALSE = "true_false"
FILL_IN = "fill_in"
SHORT_ANSWER = "short_answer"
KINDS = (SINGLE, MULTIPLE, TRUE_FALSE, FILL_IN, SHORT_ANSWER)
CHOICE_KINDS = frozenset({SINGLE, MULTIPLE, TRUE_FALSE})
KIND_LABELS = {
    SINGLE: "单选",
    MULTIPLE: "多选",
    TRUE_FALSE: "判断",
    FILL_IN: "填空",
    SHORT_ANSWER: "简答",
}
TRUE_FALSE_OPTIONS = ("正确", "错误")

# How multiple-choice answers score (per exam): all-or-nothing (default), or "partial": a
# non-empty subset of the correct options with no wrong one earns half the points (少选得一半分，
# 错选不得分), the common rule of Chinese written exams.
ALL_OR_NOTHING = "all_or_nothing"
PARTIAL = "partial"
MULTIPLE_RULES = (ALL_OR_NOTHING, PARTIAL)

MIN_OPTIONS, MAX_OPTIONS = 2, 10
MAX_BLANKS, MAX_ACCEPTED = 10, 10
MAX_PROMPT, MAX_OPTION, MAX_ACCEPTED_LENGTH = 5000, 500, 200
MAX_EXPLANATION, MAX_REFERENCE = 5000, 5000
MAX_TAGS, MAX_TAG = 10, 30
MIN_DIFFICULTY, MAX_DIFFICULTY, DEFAULT_DIFFICULTY = 1, 5, 3
MAX_TEXT_RESPONSE = 10000
CENTI = 100  # hundredths per point


@dataclass(frozen=True)
class QuestionSpec:
    kind: str
    prompt: str
    options: tuple[str, ...] = ()
    answer: tuple[int, ...] = ()  # correct option indexes (choice kinds)
    blanks: tuple[tuple[str, ...], ...] = ()  # accepted answers of each blank (fill_in)
    reference_answer: str = ""  # short_answer
    tags: tuple[str, ...] = ()
    difficulty: int = DEFAULT_DIFFICULTY
    explanation: str = ""


@dataclass(frozen=True)
class Problem:
    field: str  # options, answer, blanks, prompt, tags, difficulty, ...
    code: str  # stable reason, e.g. question_answer_out_of_range
    message: str  # Chinese first, English in parentheses


def _clean(text: str) -> str:
    return (text or "").strip()


def clean_tags(tags: Sequence[str]) -> tuple[str, ...]:
    """Stripped, de-duplicated (first spelling kept), empty ones dropped."""
    out: list[str] = []
    seen: set[str] = set()
    for t in tags:
        t = " ".join(_clean(t).split())
        if t and normalize_answer(t) not in seen:
            seen.add(normalize_answer(t))
            out.append(t)
    return tuple(out)


def normalised_spec(spec: QuestionSpec) -> QuestionSpec:
    """Whitespace trimmed, tags cleaned, answers sorted; true/false options filled in; fields a
    kind does not use are emptied."""
    kind = _clean(spec.kind)
    base = replace(
        spec,
        kind=kind,
        prompt=_clean(spec.prompt),
        tags=clean_tags(spec.tags),
        explanation=_clean(spec.explanation),
        reference_answer="",
        options=(),
        answer=(),
        blanks=(),
    )
    if kind in (SINGLE, MULTIPLE):
        return replace(
            base,
            options=tuple(_clean(o) for o in spec.options),
            answer=tuple(sorted(set(spec.answer))),
        )
    if kind == TRUE_FALSE:
        return replace(base, options=TRUE_FALSE_OPTIONS, answer=tuple(sorted(set(spec.answer))))
    if kind == FILL_IN:
        blanks = tuple(
            tuple(a for a in (_clean(x) for x in accepted) if a) for accepted in spec.blanks
        )
        return replace(base, blanks=blanks)
    if kind == SHORT_ANSWER:
        return replace(base, reference_answer=_clean(spec.reference_answer))
    return base


def problems_of(spec: QuestionSpec) -> list[Problem]:
    """Every problem of a (normalised) question; [] when it is valid."""
    out: list[Problem] = []

    def bad(field: str, code: str, message: str) -> None:
        out.append(Problem(field, code, message))

    if spec.kind not in KINDS:
        bad(
            "kind",
            "question_unknown_kind",
            "题型应为 单选/多选/判断/填空/简答 (kind must be single, multiple, true_false, "
            "fill_in or short_answer)",
        )
        return out
    if not spec.prompt:
        bad("prompt", "question_prompt_required", "题干不能为空 (the prompt is required)")
    elif len(spec.prompt) > MAX_PROMPT:
        bad(
            "prompt",
            "question_prompt_too_long",
            f"题干最多 {MAX_PROMPT} 个字符 (the prompt is longer than {MAX_PROMPT})",
        )
    if not MIN_DIFFICULTY <= spec.difficulty <= MAX_DIFFICULTY:
        bad(
            "difficulty",
            "question_difficulty_range",
            f"难度应为 {MIN_DIFFICULTY}–{MAX_DIFFICULTY} (difficulty must be "
            f"{MIN_DIFFICULTY} to {MAX_DIFFICULTY})",
        )
    if len(spec.tags) > MAX_TAGS:
        bad("tags", "question_too_many_tags", f"标签最多 {MAX_TAGS} 个 (at most {MAX_TAGS} tags)")
    if any(len(t) > MAX_TAG for t in spec.tags):
        bad(
            "tags",
            "question_tag_too_long",
            f"每个标签最多 {MAX_TAG} 个字符 (a tag is longer than {MAX_TAG})",
        )
    if len(spec.explanation) > MAX_EXPLANATION:
        bad(
            "explanation",
            "question_explanation_too_long",
            f"解析最多 {MAX_EXPLANATION} 个字符 (the explanation is longer than {MAX_EXPLANATION})",
        )
    if spec.kind in (SINGLE, MULTIPLE):
        _choice_problems(spec, bad)
    elif spec.kind == TRUE_FALSE:
        if len(spec.answer) != 1 or spec.answer[0] not in (0, 1):
            bad(
                "answer",
                "question_true_false_answer",
                "判断题答案应为 正确 或 错误 (a true/false answer is true or false)",
            )
    elif spec.kind == FILL_IN:
        _blank_problems(spec, bad)
    elif len(spec.reference_answer) > MAX_REFERENCE:
        bad(
            "reference_answer",
            "question_reference_too_long",
            f"参考答案最多 {MAX_REFERENCE} 个字符 (the reference answer is longer than "
            f"{MAX_REFERENCE})",
        )
    return out


def _choice_problems(spec: QuestionSpec, bad) -> None:
    n = len(spec.options)
    if not MIN_OPTIONS <= n <= MAX_OPTIONS:
        bad(
            "options",
            "question_option_count",
            f"选项应为 {MIN_OPTIONS}–{MAX_OPTIONS} 个，现有 {n} 个 (a choice question has "
            f"{MIN_OPTIONS} to {MAX_OPTIONS} options, not {n})",
        )
    if any(not o for o in spec.options):
        bad("options", "question_option_empty", "选项不能为空 (an option is empty)")
    if any(len(o) > MAX_OPTION for o in spec.options):
        bad(
            "options",
            "question_option_too_long",
            f"每个选项最多 {MAX_OPTION} 个字符 (an option is longer than {MAX_OPTION})",
        )
    keys = [normalize_answer(o) for o in spec.options if o]
    if len(set(keys)) != len(keys):
        bad("options", "question_option_duplicate", "选项重复 (two options are the same)")
    if not spec.answer:
        bad("answer", "question_answer_required", "请给出正确答案 (the correct answer is required)")
        return
    if any(i < 0 or i >= n for i in spec.answer):
        bad(
            "answer",
            "question_answer_out_of_range",
            f"答案不在选项范围内（共 {n} 个选项） (an answer index is not one of the {n} options)",
        )
    if spec.kind == SINGLE and len(spec.answer) != 1:
        bad(
            "answer",
            "question_single_one_answer",
            "单选题只能有一个正确答案 (a single-choice question has exactly one answer)",
        )
    if spec.kind == MULTIPLE and len(spec.answer) < 2:
        bad(
            "answer",
            "question_multiple_two_answers",
            "多选题至少有两个正确答案 (a multiple-choice question has at least two answers)",
        )


def _blank_problems(spec: QuestionSpec, bad) -> None:
    if not 1 <= len(spec.blanks) <= MAX_BLANKS:
        bad(
            "blanks",
            "question_blank_count",
            f"填空题应有 1–{MAX_BLANKS} 个空 (a fill-in question has 1 to {MAX_BLANKS} blanks)",
        )
    for i, accepted in enumerate(spec.blanks, 1):
        if not accepted:
            bad(
                "blanks",
                "question_blank_no_answer",
                f"第 {i} 个空没有答案 (blank {i} has no accepted answer)",
            )
        elif len(accepted) > MAX_ACCEPTED:
            bad(
                "blanks",
                "question_blank_too_many_answers",
                f"第 {i} 个空最多 {MAX_ACCEPTED} 个可接受答案 (blank {i} has more than "
                f"{MAX_ACCEPTED} accepted answers)",
            )
        elif any(len(a) > MAX_ACCEPTED_LENGTH for a in accepted):
            bad(
                "blanks",
                "question_blank_answer_too_long",
                f"第 {i} 个空的答案最多 {MAX_ACCEPTED_LENGTH} 个字符 (an answer of blank {i} "
                f"is longer than {MAX_ACCEPTED_LENGTH})",
            )


def validate_question(spec: QuestionSpec) -> QuestionSpec:
    """The normalised question, or InvalidArgument naming the first problem."""
    spec = normalised_spec(spec)
    problems = problems_of(spec)
    if problems:
        p = problems[0]
        raise InvalidArgument(p.message, code=p.code, field=p.field)
    return spec


# ---- comparing and grading ----


def normalize_answer(text: str) -> str:
    """Full-width → half-width (NFKC: "ＡＢＣ１２３" → "ABC123", "，" → ","), whitespace trimmed
    and collapsed, case-insensitive."""
    return " ".join(unicodedata.normalize("NFKC", text or "").split()).casefold()


def blank_matches(response: str, accepted: Sequence[str]) -> bool:
    given = normalize_answer(response)
    return bool(given) and given in {normalize_answer(a) for a in accepted}


@dataclass(frozen=True)
class Graded:
    """The outcome of one answer. `score` None = waits for a grader (short answers)."""

    score: int | None  # centipoints
    correct: bool | None  # None for a short answer
    selected: tuple[int, ...] = ()  # original option indexes chosen (option distribution)
    blanks_correct: tuple[bool, ...] = ()


def grade_choice(
    kind: str, correct: Sequence[int], chosen: Sequence[int], points: int, multiple_rule: str
) -> Graded:
    """`chosen` and `correct` are original option indexes."""
    full = points * CENTI
    picked, right = frozenset(chosen), frozenset(correct)
    selected = tuple(sorted(picked))
    if picked == right:
        return Graded(full, True, selected)
    if (
        kind == MULTIPLE
        and multiple_rule == PARTIAL
        and picked
        and picked < right  # a strict subset: nothing wrong chosen
    ):
        return Graded(full // 2, False, selected)
    return Graded(0, False, selected)


def grade_fill_in(blanks: Sequence[Sequence[str]], given: Sequence[str], points: int) -> Graded:
    """Each blank earns an equal share of the points (rounded down to a hundredth); the answer
    is correct when every blank is."""
    n = len(blanks)
    flags = tuple(
        blank_matches(given[i] if i < len(given) else "", accepted)
        for i, accepted in enumerate(blanks)
    )
    right = sum(flags)
    score = points * CENTI if right == n else points * CENTI * right // max(n, 1)
    return Graded(score, right == n, (), flags)
