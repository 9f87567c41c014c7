"""Authoring, grading and statistics through the real service: draft rules and publishing,
random papers frozen per attempt, the grading queue of short answers (graders in scope, never
their own attempt, each answer graded once), results after the exam closes, and per-question
statistics without any ranking of people."""

from __future__ import annotations

import uuid

import grpc
import pytest
from hongyun.learning.v1 import learning_exams_pb2 as pb
from hongyun.learning.v1 import learning_exams_pb2_grpc as pbg
from hongyun_platform.grpc.context import CallerContext

pytestmark = pytest.mark.integration


def admin(tenant) -> CallerContext:
    return CallerContext(
        user_id=f"admin-{tenant}", tenant_id=tenant, roles=frozenset({"tenant_admin"})
    )


def secretary(tenant, org) -> CallerContext:
    return CallerContext(
        user_id=f"sec-{org}", tenant_id=tenant, roles=frozenset({"secretary"}), scope_org_id=org
    )


def member(tenant, org) -> CallerContext:
    return CallerContext(
        user_id=f"m-{uuid.uuid4()}", tenant_id=tenant, roles=frozenset({"member"}), scope_org_id=org
    )


def code_of(err: grpc.aio.AioRpcError) -> str:
    return dict(err.trailing_metadata() or ()).get("x-hongyun-error-code", "")


class Api:
    def __init__(self, channel):
        self.banks = pbg.QuestionBankServiceStub(channel)
        self.exams = pbg.ExamServiceStub(channel)

    async def __call__(self, caller, rpc, request):
        stub = self.banks if hasattr(self.banks, rpc) else self.exams
        return await getattr(stub, rpc)(request, metadata=caller.to_metadata())

    async def fails(self, caller, rpc, request, status, code=None):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await self(caller, rpc, request)
        assert err.value.code() == status, err.value.details()
        if code:
            assert code_of(err.value) == code, err.value.details()
        return err.value


@pytest.fixture(scope="module")
async def api(learning_app):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{learning_app.port}") as channel:
        yield Api(channel)


@pytest.fixture
async def world(api, owner_sql):
    tenant, root, a, b = (uuid.uuid4() for _ in range(4))
    owner_sql(
        "INSERT INTO learning.org_paths (tenant_id, org_id, path) VALUES "
        f"('{tenant}', '{root}', ARRAY['{root}']::uuid[]), "
        f"('{tenant}', '{a}', ARRAY['{root}', '{a}']::uuid[]), "
        f"('{tenant}', '{b}', ARRAY['{root}', '{b}']::uuid[])"
    )
    boss = admin(tenant)
    bank = (await api(boss, "CreateQuestionBank", pb.CreateQuestionBankRequest(name="题库"))).bank
    return dict(tenant=tenant, root=root, a=a, b=b, admin=boss, bank=bank.id)


async def question(api, w, **kw) -> str:
    made = await api(
        w["admin"],
        "CreateQuestion",
        pb.CreateQuestionRequest(bank_id=w["bank"], question=pb.QuestionInput(**kw)),
    )
    return made.question.id


def single(prompt: str, tags=(), difficulty=3) -> dict:
    return dict(
        kind=pb.QUESTION_KIND_SINGLE,
        prompt=prompt,
        options=["对的", "错的", "也错"],
        answer=[0],
        tags=list(tags),
        difficulty=difficulty,
    )


def for_branch(org) -> list[pb.ExamAudience]:
    return [pb.ExamAudience(kind=pb.EXAM_AUDIENCE_KIND_ORG_SUBTREE, org_id=str(org))]


async def exam(api, w, caller=None, publish=True, **spec) -> pb.Exam:
    base = dict(title="测验", time_limit_minutes=30, audiences=for_branch(w["a"]))
    base.update(spec)
    who = caller or w["admin"]
    made = (await api(who, "CreateExam", pb.CreateExamRequest(exam=pb.ExamInput(**base)))).exam
    if publish:
        made = (await api(who, "PublishExam", pb.PublishExamRequest(id=made.id))).exam
    return made


def rows(owner_sql, sql: str) -> list[str]:
    return [line for line in owner_sql(sql).splitlines() if line]


async def take(api, caller, exam_id, answers) -> pb.ExamAttemptResult:
    """Starts, answers by prompt (a function of the shown question), submits."""
    attempt = (
        await api(caller, "StartExamAttempt", pb.StartExamAttemptRequest(exam_id=exam_id))
    ).attempt
    for q in attempt.questions:
        content = answers(q)
        if content is not None:
            await api(
                caller,
                "SaveExamAnswer",
                pb.SaveExamAnswerRequest(
                    attempt_id=attempt.id, position=q.position, answer=content, version=1
                ),
            )
    return (
        await api(caller, "SubmitExamAttempt", pb.SubmitExamAttemptRequest(id=attempt.id))
    ).result


async def test_drafts_publishing_and_authoring_rules(api, world):
    w = world
    qid = await question(api, w, **single("题一"))
    draft = await exam(
        api,
        w,
        publish=False,
        audiences=[],
        items=[pb.ExamPaperItem(question_id=qid, points=5)],
        pass_score_hundredths=300,
    )
    assert draft.status == pb.EXAM_STATUS_DRAFT and draft.total_score_hundredths == 500
    await api.fails(
        w["admin"],
        "PublishExam",
        pb.PublishExamRequest(id=draft.id),
        grpc.StatusCode.FAILED_PRECONDITION,
        "exam_no_audience",
    )
    await api.fails(
        w["admin"],
        "CreateExam",
        pb.CreateExamRequest(
            exam=pb.ExamInput(
                title="超过总分",
                time_limit_minutes=10,
                pass_score_hundredths=600,
                items=[pb.ExamPaperItem(question_id=qid, points=5)],
            )
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "exam_pass_score",
    )
    await api.fails(
        w["admin"],
        "CreateExam",
        pb.CreateExamRequest(
            exam=pb.ExamInput(
                title="不存在的题",
                time_limit_minutes=10,
                items=[pb.ExamPaperItem(question_id=str(uuid.uuid4()), points=5)],
            )
        ),
        grpc.StatusCode.NOT_FOUND,
        "question_not_found",
    )
    updated = (
        await api(
            w["admin"],
            "UpdateExam",
            pb.UpdateExamRequest(
                id=draft.id,
                exam=pb.ExamInput(
                    title="改名",
                    time_limit_minutes=20,
                    audiences=for_branch(w["a"]),
                    items=[pb.ExamPaperItem(question_id=qid, points=5)],
                ),
            ),
        )
    ).exam
    assert updated.title == "改名" and len(updated.audiences) == 1
    published = (await api(w["admin"], "PublishExam", pb.PublishExamRequest(id=draft.id))).exam
    assert published.status == pb.EXAM_STATUS_PUBLISHED
    await api.fails(
        w["admin"],
        "UpdateExam",
        pb.UpdateExamRequest(
            id=draft.id,
            exam=pb.ExamInput(
                title="x", time_limit_minutes=5, items=[pb.ExamPaperItem(question_id=qid, points=1)]
            ),
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
        "exam_not_draft",
    )
    # A question on a fixed paper cannot be deleted; nor its bank.
    await api.fails(
        w["admin"],
        "DeleteQuestion",
        pb.DeleteQuestionRequest(id=qid),
        grpc.StatusCode.FAILED_PRECONDITION,
        "question_in_use",
    )
    await api.fails(
        w["admin"],
        "DeleteQuestionBank",
        pb.DeleteQuestionBankRequest(id=w["bank"]),
        grpc.StatusCode.FAILED_PRECONDITION,
        "question_bank_in_use",
    )

    # Secretaries author for their subtree only, and see their own exams.
    sec_a, sec_b = secretary(w["tenant"], w["a"]), secretary(w["tenant"], w["b"])
    await api.fails(
        sec_a,
        "CreateExam",
        pb.CreateExamRequest(
            exam=pb.ExamInput(
                title="全租户",
                time_limit_minutes=10,
                items=[pb.ExamPaperItem(question_id=qid, points=1)],
                audiences=[pb.ExamAudience(kind=pb.EXAM_AUDIENCE_KIND_TENANT)],
            )
        ),
        grpc.StatusCode.PERMISSION_DENIED,
        "exam_audience_scope",
    )
    await api.fails(
        sec_a,
        "CreateExam",
        pb.CreateExamRequest(
            exam=pb.ExamInput(
                title="别的支部",
                time_limit_minutes=10,
                items=[pb.ExamPaperItem(question_id=qid, points=1)],
                audiences=for_branch(w["b"]),
            )
        ),
        grpc.StatusCode.NOT_FOUND,
        "organization_not_found",
    )
    own = await exam(api, w, caller=sec_a, items=[pb.ExamPaperItem(question_id=qid, points=1)])
    assert own.org_id == str(w["a"])
    await api.fails(
        sec_b, "GetExam", pb.GetExamRequest(id=own.id), grpc.StatusCode.NOT_FOUND, "exam_not_found"
    )
    listed = await api(sec_b, "ListExams", pb.ListExamsRequest())
    assert own.id not in {e.id for e in listed.exams} and draft.id in {e.id for e in listed.exams}


async def test_a_random_paper_is_drawn_per_attempt_and_frozen(api, world, owner_sql):
    w = world
    tagged = [
        await question(api, w, **single(f"党史{i}", tags=["党史"], difficulty=2)) for i in range(3)
    ]
    await question(api, w, **single("太难", tags=["党史"], difficulty=5))
    await question(api, w, **single("无关", tags=["其他"], difficulty=2))
    rule = pb.ExamDrawRule(bank_ids=[w["bank"]], tags=["党史"], difficulty_max=3, count=2, points=5)
    too_many = await exam(
        api,
        w,
        publish=False,
        paper_mode=pb.EXAM_PAPER_MODE_RANDOM,
        rules=[
            pb.ExamDrawRule(
                bank_ids=[w["bank"]], tags=["党史"], difficulty_max=3, count=4, points=5
            )
        ],
    )
    err = await api.fails(
        w["admin"],
        "PublishExam",
        pb.PublishExamRequest(id=too_many.id),
        grpc.StatusCode.FAILED_PRECONDITION,
        "exam_bank_too_small",
    )
    assert "需要 4 道" in err.details() and "仅有 3 道" in err.details()

    drawn = await exam(
        api, w, paper_mode=pb.EXAM_PAPER_MODE_RANDOM, rules=[rule], pass_score_hundredths=500
    )
    assert drawn.question_count == 2 and drawn.total_score_hundredths == 1000
    me = member(w["tenant"], w["a"])
    attempt = (
        await api(me, "StartExamAttempt", pb.StartExamAttemptRequest(exam_id=drawn.id))
    ).attempt
    prompts = [q.prompt for q in attempt.questions]
    assert len(set(prompts)) == 2 and all(p.startswith("党史") for p in prompts)
    # The author edits a drawn question: the running attempt keeps what it was shown.
    changed = next(
        t
        for t in tagged
        if rows(owner_sql, f"SELECT prompt FROM learning.questions WHERE id = '{t}'")[0]
        == prompts[0]
    )
    await api(
        w["admin"],
        "UpdateQuestion",
        pb.UpdateQuestionRequest(
            id=changed,
            question=pb.QuestionInput(
                kind=pb.QUESTION_KIND_SINGLE, prompt="改过了", options=["新甲", "新乙"], answer=[1]
            ),
        ),
    )
    again = (await api(me, "GetExamAttempt", pb.GetExamAttemptRequest(id=attempt.id))).attempt
    assert [q.prompt for q in again.questions] == prompts
    result = await take(
        api, me, drawn.id, lambda q: pb.ExamAnswerContent(choices=[list(q.options).index("对的")])
    )
    assert result.score_hundredths == 1000 and result.passed


async def test_short_answers_are_graded_once_by_graders_in_scope(api, world, owner_sql):
    w = world
    sq = await question(api, w, **single("单选"))
    essay = await question(
        api,
        w,
        kind=pb.QUESTION_KIND_SHORT_ANSWER,
        prompt="谈谈体会",
        reference_answer="要点：学习、实践",
    )
    ex = await exam(
        api,
        w,
        pass_score_hundredths=800,
        items=[
            pb.ExamPaperItem(question_id=sq, points=2),
            pb.ExamPaperItem(question_id=essay, points=10),
        ],
    )
    learner = member(w["tenant"], w["a"])

    def answers(q):
        if q.kind == pb.QUESTION_KIND_SHORT_ANSWER:
            return pb.ExamAnswerContent(text="我认为要学习并实践")
        return pb.ExamAnswerContent(choices=[list(q.options).index("对的")])

    result = await take(api, learner, ex.id, answers)
    assert result.status == pb.EXAM_ATTEMPT_STATUS_SUBMITTED and result.pending_grades == 1
    assert result.score_hundredths == 200
    essay_result = next(q for q in result.questions if q.kind == pb.QUESTION_KIND_SHORT_ANSWER)
    assert not essay_result.graded and essay_result.reference_answer == "要点：学习、实践"
    assert not rows(
        owner_sql,
        f"SELECT 1 FROM learning.outbox WHERE subject = 'learning.{w['tenant']}.exam.graded'",
    )

    # A secretary of the branch is also a learner in the audience: their own attempt is never
    # theirs to grade.
    sec_a, sec_b = secretary(w["tenant"], w["a"]), secretary(w["tenant"], w["b"])
    own = await take(api, sec_a, ex.id, answers)
    queue = (await api(sec_a, "ListGradingQueue", pb.ListGradingQueueRequest(exam_id=ex.id))).items
    assert [(i.attempt_id, i.answer_text, i.points) for i in queue] == [
        (result.attempt_id, "我认为要学习并实践", 10)
    ]
    assert queue[0].reference_answer == "要点：学习、实践"
    assert learner.user_id not in str(queue[0])  # grade the answer, not the person
    await api.fails(
        sec_a,
        "GradeExamAnswer",
        pb.GradeExamAnswerRequest(
            attempt_id=own.attempt_id, position=queue[0].position, score_hundredths=1000
        ),
        grpc.StatusCode.NOT_FOUND,
        "exam_attempt_not_found",
    )
    # Another branch's secretary sees nothing and cannot grade; a learner cannot either.
    assert not (
        await api(sec_b, "ListGradingQueue", pb.ListGradingQueueRequest(exam_id=ex.id))
    ).items
    await api.fails(
        sec_b,
        "GradeExamAnswer",
        pb.GradeExamAnswerRequest(
            attempt_id=result.attempt_id, position=queue[0].position, score_hundredths=500
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    await api.fails(
        learner,
        "ListGradingQueue",
        pb.ListGradingQueueRequest(exam_id=ex.id),
        grpc.StatusCode.PERMISSION_DENIED,
    )
    await api.fails(
        sec_a,
        "GradeExamAnswer",
        pb.GradeExamAnswerRequest(
            attempt_id=result.attempt_id, position=queue[0].position, score_hundredths=1001
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "exam_grade_score_range",
    )

    graded = await api(
        sec_a,
        "GradeExamAnswer",
        pb.GradeExamAnswerRequest(
            attempt_id=result.attempt_id,
            position=queue[0].position,
            score_hundredths=750,
            comment="理解到位，略欠展开",
        ),
    )
    assert graded.attempt_status == pb.EXAM_ATTEMPT_STATUS_GRADED and graded.pending_grades == 0
    await api.fails(
        w["admin"],
        "GradeExamAnswer",
        pb.GradeExamAnswerRequest(
            attempt_id=result.attempt_id, position=queue[0].position, score_hundredths=1000
        ),
        grpc.StatusCode.ALREADY_EXISTS,
        "exam_answer_already_graded",
    )
    final = (
        await api(
            learner, "GetExamAttemptResult", pb.GetExamAttemptResultRequest(id=result.attempt_id)
        )
    ).result
    assert final.status == pb.EXAM_ATTEMPT_STATUS_GRADED and final.score_hundredths == 950
    assert final.passed
    essay_final = next(q for q in final.questions if q.kind == pb.QUESTION_KIND_SHORT_ANSWER)
    assert essay_final.graded and essay_final.grader_comment == "理解到位，略欠展开"
    hexes = rows(
        owner_sql,
        "SELECT encode(payload, 'hex') FROM learning.outbox WHERE subject = "
        f"'learning.{w['tenant']}.exam.graded'",
    )
    assert [pb.ExamGraded.FromString(bytes.fromhex(h)).score_hundredths for h in hexes] == [950]


async def test_results_after_close_and_statistics(api, world):
    w = world
    q1 = await question(api, w, **single("统计题一"))
    q2 = await question(
        api,
        w,
        kind=pb.QUESTION_KIND_MULTIPLE,
        prompt="统计题二",
        options=["甲", "乙", "丙"],
        answer=[0, 1],
    )
    ex = await exam(
        api,
        w,
        results_visibility=pb.EXAM_RESULTS_VISIBILITY_AFTER_CLOSE,
        multiple_rule=pb.EXAM_MULTIPLE_RULE_PARTIAL,
        pass_score_hundredths=400,
        items=[
            pb.ExamPaperItem(question_id=q1, points=2),
            pb.ExamPaperItem(question_id=q2, points=4),
        ],
    )
    picks = [
        ({"统计题一": ["对的"], "统计题二": ["甲", "乙"]}),
        ({"统计题一": ["错的"], "统计题二": ["甲"]}),
        ({"统计题一": ["对的"], "统计题二": ["丙"]}),
    ]
    learners = [member(w["tenant"], w["a"]) for _ in picks]
    results = []
    for who, choice in zip(learners, picks, strict=True):

        def answers(q, choice=choice):
            return pb.ExamAnswerContent(
                choices=[list(q.options).index(o) for o in choice[q.prompt]]
            )

        results.append(await take(api, who, ex.id, answers))
    # Results wait for the close: only the status now.
    assert all(
        not r.results_visible and not r.questions and r.score_hundredths == 0 for r in results
    )
    await api(w["admin"], "CloseExam", pb.CloseExamRequest(id=ex.id))
    shown = (
        await api(
            learners[1],
            "GetExamAttemptResult",
            pb.GetExamAttemptResultRequest(id=results[1].attempt_id),
        )
    ).result
    assert shown.results_visible and shown.score_hundredths == 200 and not shown.passed
    multi = next(q for q in shown.questions if q.prompt == "统计题二")
    assert multi.score_hundredths == 200 and not multi.correct  # half points: partial rule
    assert {multi.options[i] for i in multi.correct_choices} == {"甲", "乙"}

    stats = await api(w["admin"], "GetExamStatistics", pb.GetExamStatisticsRequest(exam_id=ex.id))
    assert (stats.submitted_attempts, stats.graded_attempts, stats.passed_attempts) == (3, 3, 1)
    assert stats.average_score_hundredths == (600 + 200 + 200) // 3
    first, second = stats.questions
    assert first.prompt == "统计题一" and (first.answered, first.correct) == (3, 2)
    assert list(first.option_counts) == [2, 1, 0] and first.average_score_hundredths == 133
    assert second.prompt == "统计题二" and list(second.options) == ["甲", "乙", "丙"]
    assert list(second.option_counts) == [2, 1, 1] and second.correct == 1
    assert abs(second.correct_rate - 1 / 3) < 0.001
    for who in learners:  # never a ranking of people
        assert who.user_id not in str(stats)
    await api.fails(
        secretary(w["tenant"], w["a"]),
        "GetExamStatistics",
        pb.GetExamStatisticsRequest(exam_id=ex.id),
        grpc.StatusCode.NOT_FOUND,
    )
