"""Exam rules: drawing a random paper, shuffling and mapping answers back, grading a paper,
deadlines, windows and when results are shown."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hongyun_platform.errors import FailedPrecondition, InvalidArgument
from learning_service.domain import exams as dx
from learning_service.domain import questions as q

BANK_A, BANK_B = uuid.uuid4(), uuid.uuid4()


def cand(bank=BANK_A, kind="single", tags=(), difficulty=3) -> dx.Candidate:
    return dx.Candidate(uuid.uuid4(), bank, kind, tuple(tags), difficulty)


def test_a_draw_respects_banks_kinds_tags_and_difficulty():
    pool = (
        [cand(tags=("党章",), difficulty=2) for _ in range(5)]
        + [cand(tags=("党史",), difficulty=2) for _ in range(5)]
        + [cand(tags=("党章",), difficulty=5) for _ in range(5)]
        + [cand(bank=BANK_B, tags=("党章",), difficulty=2) for _ in range(5)]
        + [cand(kind="multiple", tags=("党章",), difficulty=2) for _ in range(5)]
    )
    by_id = {c.id: c for c in pool}
    rule = dx.DrawRule(
        (BANK_A,),
        count=4,
        points=2,
        kinds=("single",),
        tags=("党章",),
        difficulty_min=1,
        difficulty_max=3,
    )
    for seed in range(20):
        paper = dx.draw([rule], pool, random.Random(seed))
        assert len(paper) == 4 and len({p.question_id for p in paper}) == 4
        for p in paper:
            c = by_id[p.question_id]
            assert (c.bank_id, c.kind, c.tags, c.difficulty) == (BANK_A, "single", ("党章",), 2)
            assert p.points == 2


def test_tags_match_any_of_the_rule_ignoring_width_and_case():
    c = cand(tags=("ＡＢ",))
    assert dx.rule_matches(dx.DrawRule((BANK_A,), 1, 1, tags=("ab", "x")), c)
    assert not dx.rule_matches(dx.DrawRule((BANK_A,), 1, 1, tags=("x",)), c)


def test_too_few_questions_fail_clearly_naming_the_rule():
    pool = [cand(tags=("党史",)) for _ in range(3)] + [cand() for _ in range(10)]
    rules = [dx.DrawRule((BANK_A,), 2, 1), dx.DrawRule((BANK_A,), 5, 1, tags=("党史",))]
    with pytest.raises(FailedPrecondition) as err:
        dx.draw(rules, pool, random.Random(1))
    assert err.value.code == "exam_bank_too_small" and err.value.field == "rules[1]"
    assert "规则 2" in err.value.message and "需要 5" in err.value.message
    assert "仅有 3" in err.value.message


def test_overlapping_rules_never_draw_a_question_twice_and_narrow_rules_go_first():
    narrow = [cand(tags=("党史",)) for _ in range(3)]
    pool = narrow + [cand() for _ in range(3)]
    # The broad rule (any tag) could starve the narrow one; drawing narrow first avoids it.
    rules = [dx.DrawRule((BANK_A,), 3, 1), dx.DrawRule((BANK_A,), 3, 2, tags=("党史",))]
    for seed in range(30):
        paper = dx.draw(rules, pool, random.Random(seed))
        assert len({p.question_id for p in paper}) == 6
        assert {p.question_id for p in paper[3:]} == {c.id for c in narrow}  # rule order kept
        assert [p.points for p in paper] == [1, 1, 1, 2, 2, 2]
    with pytest.raises(FailedPrecondition):
        dx.draw(
            [dx.DrawRule((BANK_A,), 4, 1), dx.DrawRule((BANK_A,), 3, 1)], pool, random.Random(0)
        )


def pq(kind="single", options=("A0", "A1", "A2", "A3"), correct=(2,), points=2, blanks=()):
    return dx.PaperQuestion(
        uuid.uuid4(),
        kind,
        f"{kind}?",
        points,
        tuple(options),
        tuple(range(len(options))),
        tuple(correct),
        tuple(blanks),
    )


def test_shuffled_options_are_graded_against_the_original_answer():
    paper = [pq(), pq("multiple", correct=(0, 3)), pq("true_false", ("正确", "错误"), (1,))]
    for seed in range(25):
        shown = dx.arrange(
            paper, shuffle_questions=True, shuffle_options=True, rng=random.Random(seed)
        )
        assert sorted(p.question_id for p in shown) == sorted(p.question_id for p in paper)
        for p in shown:
            if p.kind == "true_false":
                assert p.displayed_options == ("正确", "错误")  # never shuffled
            # Choosing what the learner sees at the displayed correct positions is correct.
            right = dx.Response(choices=p.displayed_correct)
            assert dx.grade_answer(p, right, q.ALL_OR_NOTHING).correct
            assert {p.displayed_options[d] for d in p.displayed_correct} == {
                p.options[i] for i in p.correct
            }
            wrong = dx.Response(
                choices=(next(d for d in range(len(p.order)) if d not in p.displayed_correct),)
            )
            assert dx.grade_answer(p, wrong, q.ALL_OR_NOTHING).score == 0


def test_the_frozen_paper_round_trips_through_json():
    p = dx.arrange(
        [pq("fill_in", (), (), 3, (("北京", "北京市"),))],
        shuffle_questions=False,
        shuffle_options=True,
        rng=random.Random(3),
    )[0]
    assert dx.PaperQuestion.from_json(p.to_json()) == p
    r = dx.Response(blanks=("北京",))
    assert dx.Response.from_json(r.to_json()) == r and dx.Response.from_json(None) is None


@pytest.mark.parametrize(
    ("question", "response", "code"),
    [
        (pq(), dx.Response(choices=(4,)), "exam_answer_choice_range"),
        (pq(), dx.Response(choices=(0, 1)), "exam_answer_one_choice"),
        (pq(), dx.Response(text="A"), "exam_answer_shape"),
        (pq("fill_in", (), (), 1, (("a",),)), dx.Response(blanks=("a", "b")), "exam_answer_blanks"),
        (pq("short_answer", (), ()), dx.Response(choices=(0,)), "exam_answer_shape"),
        (pq("short_answer", (), ()), dx.Response(text="x" * 10001), "exam_answer_too_long"),
    ],
)
def test_bad_responses_are_refused(question, response, code):
    with pytest.raises(InvalidArgument) as err:
        dx.validate_response(question, response)
    assert err.value.code == code


def test_a_paper_is_graded_once_per_question_with_short_answers_waiting():
    paper = [
        pq(points=2),
        pq("multiple", correct=(0, 1), points=4),
        pq("fill_in", (), (), 2, (("a",), ("b",))),
        pq("short_answer", (), (), 5),
        pq("short_answer", (), (), 5),
    ]  # the last one unanswered
    responses = {
        0: dx.Response(choices=(2,)),
        1: dx.Response(choices=(0,)),
        2: dx.Response(blanks=("A", "x")),
        3: dx.Response(text="我的理解"),
    }
    g = dx.grade_attempt(paper, responses, q.PARTIAL)
    assert [x.score for x in g.graded] == [200, 200, 100, None, 0]
    assert g.auto_score == 500 and g.max_score == 1800 and g.pending == 1
    assert dx.grade_attempt(paper, {}, q.ALL_OR_NOTHING).auto_score == 0


def test_deadline_window_and_result_visibility():
    start = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    assert dx.deadline_of(start, 30, None) == start + timedelta(minutes=30)
    assert dx.deadline_of(start, 30, start + timedelta(minutes=10)) == start + timedelta(minutes=10)
    opens, closes = start, start + timedelta(hours=1)
    assert dx.window_problem(start - timedelta(seconds=1), opens, closes).code == "exam_not_open"
    assert dx.window_problem(closes, opens, closes).code == "exam_closed"
    assert dx.window_problem(start, opens, closes) is None
    assert dx.results_visible(dx.AFTER_SUBMIT, "published", closes, start)
    assert not dx.results_visible(dx.AFTER_CLOSE, "published", closes, start)
    assert dx.results_visible(dx.AFTER_CLOSE, "published", closes, closes)
    assert dx.results_visible(dx.AFTER_CLOSE, "closed", None, start)


def exam(**kw) -> dx.ExamSpec:
    base = dict(title="党章知识测试", items=(dx.PaperItem(uuid.uuid4(), 5),), pass_score=300)
    base.update(kw)
    return dx.ExamSpec(**base)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        (dict(title=" "), "exam_title"),
        (dict(time_limit_minutes=0), "exam_time_limit"),
        (dict(max_attempts=0), "exam_max_attempts"),
        (dict(items=()), "exam_paper_size"),
        (dict(items=(dx.PaperItem(uuid.UUID(int=1), 5),) * 2), "exam_paper_duplicate"),
        (dict(items=(dx.PaperItem(uuid.uuid4(), 101),)), "exam_points"),
        (dict(pass_score=501), "exam_pass_score"),
        (dict(paper_mode="random", rules=()), "exam_rule_count"),
        (dict(paper_mode="random", rules=(dx.DrawRule((), 1, 1),)), "exam_rule_bank"),
        (
            dict(
                paper_mode="random",
                rules=(dx.DrawRule((BANK_A,), 1, 1, difficulty_min=4, difficulty_max=2),),
            ),
            "exam_rule_difficulty",
        ),
        (
            dict(
                opens_at=datetime(2026, 1, 2, tzinfo=UTC),
                closes_at=datetime(2026, 1, 1, tzinfo=UTC),
            ),
            "exam_window",
        ),
        (dict(audiences=(dx.AudienceSpec("org_subtree"),)), "exam_audience"),
        (dict(results_visibility="never"), "exam_results_visibility"),
    ],
)
def test_invalid_exams_name_the_field(changes, code):
    with pytest.raises(InvalidArgument) as err:
        dx.validate_exam(exam(**changes))
    assert err.value.code == code


def test_a_random_exam_totals_its_rules():
    spec = dx.validate_exam(
        exam(
            paper_mode="random",
            items=(dx.PaperItem(uuid.uuid4(), 1),),
            rules=(dx.DrawRule((BANK_A,), 10, 2), dx.DrawRule((BANK_B,), 5, 4)),
        )
    )
    assert spec.items == () and dx.total_points(spec) == 40
