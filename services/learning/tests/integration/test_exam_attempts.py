"""Taking exams through the real service: start, autosave, reconnect, submit (idempotent), the
attempts limit, answers after the deadline refused, the deadline job submitting an expired
attempt, a race of autosaves against submissions losing nothing, events in the outbox, and
learners of another tenant or outside the audience getting NOT_FOUND with nothing written."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest
from hongyun.learning.v1 import learning_exams_pb2 as pb
from hongyun.learning.v1 import learning_exams_pb2_grpc as pbg
from hongyun_platform.grpc.context import CallerContext
from learning_service.exam_jobs import ExamDeadlineJob

pytestmark = pytest.mark.integration

# prompt → (kind, options, correct option indexes, accepted blanks, points)
QUESTIONS = {
    "党的根本宗旨？": (pb.QUESTION_KIND_SINGLE, ["为人民服务", "发展经济", "对外开放"], [0], [], 2),
    "党的组织原则？": (
        pb.QUESTION_KIND_MULTIPLE,
        ["民主集中制", "集体领导", "一言堂", "个人分工负责"],
        [0, 1, 3],
        [],
        4,
    ),
    "预备期为一年。": (pb.QUESTION_KIND_TRUE_FALSE, [], [0], [], 2),
    "党成立于____年，在____召开一大。": (pb.QUESTION_KIND_FILL_IN, [], [], [["1921"], ["上海"]], 2),
}


def admin(tenant) -> CallerContext:
    return CallerContext(
        user_id=f"admin-{tenant}", tenant_id=tenant, roles=frozenset({"tenant_admin"})
    )


def member(tenant, org, name=None) -> CallerContext:
    return CallerContext(
        user_id=name or f"m-{uuid.uuid4()}",
        tenant_id=tenant,
        roles=frozenset({"member"}),
        scope_org_id=org,
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
    """A tenant with branches A and B, a bank with the questions above, and a published exam
    for branch A: shuffled questions and options, 30 minutes, two attempts, pass mark 6 of 10."""
    tenant, root, a, b = (uuid.uuid4() for _ in range(4))
    owner_sql(
        "INSERT INTO learning.org_paths (tenant_id, org_id, path) VALUES "
        f"('{tenant}', '{root}', ARRAY['{root}']::uuid[]), "
        f"('{tenant}', '{a}', ARRAY['{root}', '{a}']::uuid[]), "
        f"('{tenant}', '{b}', ARRAY['{root}', '{b}']::uuid[])"
    )
    boss = admin(tenant)
    bank = (await api(boss, "CreateQuestionBank", pb.CreateQuestionBankRequest(name="题库"))).bank
    ids = {}
    for prompt, (kind, options, answer, blanks, _) in QUESTIONS.items():
        made = await api(
            boss,
            "CreateQuestion",
            pb.CreateQuestionRequest(
                bank_id=bank.id,
                question=pb.QuestionInput(
                    kind=kind,
                    prompt=prompt,
                    options=options,
                    answer=answer,
                    blanks=[pb.QuestionBlank(accepted=x) for x in blanks],
                ),
            ),
        )
        ids[prompt] = made.question.id
    w = dict(tenant=tenant, root=root, a=a, b=b, admin=boss, bank=bank.id, ids=ids)
    w["exam"] = await make_exam(api, w)
    return w


async def make_exam(api, w, publish=True, **changes) -> pb.Exam:
    spec = dict(
        title="党章知识测试",
        paper_mode=pb.EXAM_PAPER_MODE_FIXED,
        items=[
            pb.ExamPaperItem(question_id=w["ids"][p], points=v[4]) for p, v in QUESTIONS.items()
        ],
        time_limit_minutes=30,
        max_attempts=2,
        pass_score_hundredths=600,
        shuffle_questions=True,
        shuffle_options=True,
        audiences=[pb.ExamAudience(kind=pb.EXAM_AUDIENCE_KIND_ORG_SUBTREE, org_id=str(w["a"]))],
    )
    spec.update(changes)
    exam = (
        await api(w["admin"], "CreateExam", pb.CreateExamRequest(exam=pb.ExamInput(**spec)))
    ).exam
    if publish:
        exam = (await api(w["admin"], "PublishExam", pb.PublishExamRequest(id=exam.id))).exam
    return exam


def right_answer(q: pb.AttemptQuestion) -> pb.ExamAnswerContent:
    kind, options, answer, blanks, _ = QUESTIONS[q.prompt]
    if kind == pb.QUESTION_KIND_FILL_IN:
        return pb.ExamAnswerContent(blanks=[" " + x[0].upper() + " " for x in blanks])
    shown = list(q.options)
    original = options or ["正确", "错误"]
    return pb.ExamAnswerContent(choices=sorted(shown.index(original[i]) for i in answer))


def wrong_answer(q: pb.AttemptQuestion) -> pb.ExamAnswerContent:
    if q.kind == pb.QUESTION_KIND_FILL_IN:
        return pb.ExamAnswerContent(blanks=["1949", "北京"])
    right = set(right_answer(q).choices)
    return pb.ExamAnswerContent(choices=[next(i for i in range(len(q.options)) if i not in right)])


def rows(owner_sql, sql: str) -> list[str]:
    return [line for line in owner_sql(sql).splitlines() if line]


def events(owner_sql, tenant, event: str, message):
    out = rows(
        owner_sql,
        "SELECT encode(payload, 'hex') FROM learning.outbox "
        f"WHERE subject = 'learning.{tenant}.exam.{event}' ORDER BY occurred_at",
    )
    return [message.FromString(bytes.fromhex(h)) for h in out]


async def save(api, caller, attempt_id, position, answer, version):
    return await api(
        caller,
        "SaveExamAnswer",
        pb.SaveExamAnswerRequest(
            attempt_id=attempt_id, position=position, answer=answer, version=version
        ),
    )


async def test_start_autosave_reconnect_and_submit(api, world, owner_sql):
    t = world["tenant"]
    me = member(t, world["a"])
    started = await api(
        me, "StartExamAttempt", pb.StartExamAttemptRequest(exam_id=world["exam"].id)
    )
    attempt = started.attempt
    assert not started.resumed and attempt.number == 1 and len(attempt.questions) == 4
    assert 1790 <= attempt.remaining_seconds <= 1800 and attempt.max_score_hundredths == 1000
    assert attempt.status == pb.EXAM_ATTEMPT_STATUS_IN_PROGRESS
    assert all(not q.HasField("answer") for q in attempt.questions)
    # The learner never gets answers with the paper.
    assert "为人民服务" in str(attempt) and "1921" not in str(attempt)

    by_kind = {q.kind: q for q in attempt.questions}
    single = by_kind[pb.QUESTION_KIND_SINGLE]
    first = await save(api, me, attempt.id, single.position, wrong_answer(single), 1)
    assert first.stored and first.version == 1 and first.remaining_seconds > 0
    again = await save(api, me, attempt.id, single.position, wrong_answer(single), 1)
    assert not again.stored and again.version == 1  # a retry changes nothing
    assert (await save(api, me, attempt.id, single.position, right_answer(single), 3)).stored
    stale = await save(api, me, attempt.id, single.position, wrong_answer(single), 2)
    assert not stale.stored and stale.version == 3  # an older save arriving late is ignored
    for q in attempt.questions:
        if q.kind != pb.QUESTION_KIND_SINGLE:
            await save(api, me, attempt.id, q.position, right_answer(q), 1)
    await api.fails(
        me,
        "SaveExamAnswer",
        pb.SaveExamAnswerRequest(
            attempt_id=attempt.id, position=0, version=5, answer=pb.ExamAnswerContent(choices=[9])
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    await api.fails(
        me,
        "SaveExamAnswer",
        pb.SaveExamAnswerRequest(attempt_id=attempt.id, position=4, version=5),
        grpc.StatusCode.INVALID_ARGUMENT,
        "exam_answer_position",
    )

    # Reconnect: a second start and a read return the same paper, order and saved answers.
    resumed = await api(
        me, "StartExamAttempt", pb.StartExamAttemptRequest(exam_id=world["exam"].id)
    )
    assert resumed.resumed and resumed.attempt.id == attempt.id
    got = (await api(me, "GetExamAttempt", pb.GetExamAttemptRequest(id=attempt.id))).attempt
    assert [(q.prompt, list(q.options)) for q in got.questions] == [
        (q.prompt, list(q.options)) for q in attempt.questions
    ]
    assert got.questions[single.position].answer_version == 3
    assert got.questions[single.position].answer == right_answer(single)
    assert got.deadline_at == attempt.deadline_at

    result = (await api(me, "SubmitExamAttempt", pb.SubmitExamAttemptRequest(id=attempt.id))).result
    assert result.status == pb.EXAM_ATTEMPT_STATUS_GRADED and result.results_visible
    assert result.score_hundredths == 1000 and result.passed
    assert result.submitted_by == pb.EXAM_SUBMISSION_REASON_LEARNER
    assert all(q.correct and q.graded for q in result.questions)
    fill = next(q for q in result.questions if q.kind == pb.QUESTION_KIND_FILL_IN)
    assert list(fill.blanks_correct) == [True, True]
    twice = (await api(me, "SubmitExamAttempt", pb.SubmitExamAttemptRequest(id=attempt.id))).result
    assert twice == result
    await api.fails(
        me,
        "SaveExamAnswer",
        pb.SaveExamAnswerRequest(
            attempt_id=attempt.id, position=0, answer=right_answer(got.questions[0]), version=9
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
        "exam_attempt_closed",
    )

    submitted = [
        e for e in events(owner_sql, t, "submitted", pb.ExamSubmitted) if e.attempt_id == attempt.id
    ]
    graded = [
        e for e in events(owner_sql, t, "graded", pb.ExamGraded) if e.attempt_id == attempt.id
    ]
    assert len(submitted) == 1 and len(graded) == 1
    assert submitted[0].learner_id == me.user_id and submitted[0].attempt_number == 1
    assert submitted[0].submitted_by == pb.EXAM_SUBMISSION_REASON_LEARNER
    assert graded[0].score_hundredths == 1000 and graded[0].passed

    # Two attempts allowed: a second one, then no more.
    second = await api(me, "StartExamAttempt", pb.StartExamAttemptRequest(exam_id=world["exam"].id))
    assert second.attempt.number == 2 and not second.resumed
    wrong = (
        await api(me, "SubmitExamAttempt", pb.SubmitExamAttemptRequest(id=second.attempt.id))
    ).result
    assert wrong.score_hundredths == 0 and not wrong.passed
    await api.fails(
        me,
        "StartExamAttempt",
        pb.StartExamAttemptRequest(exam_id=world["exam"].id),
        grpc.StatusCode.FAILED_PRECONDITION,
        "exam_attempts_used_up",
    )
    mine = await api(
        me, "ListMyExamAttempts", pb.ListMyExamAttemptsRequest(exam_id=world["exam"].id)
    )
    assert [a.score_hundredths for a in mine.attempts] == [1000, 0]
    listed = await api(me, "ListAvailableExams", pb.ListAvailableExamsRequest())
    assert [(e.id, e.attempts_used, e.can_start) for e in listed.exams] == [
        (world["exam"].id, 2, False)
    ]


async def test_answers_after_the_deadline_are_refused_and_the_job_submits(
    api, world, owner_sql, learning_app
):
    t = world["tenant"]
    exam = await make_exam(api, world, title="一分钟测验", time_limit_minutes=1)
    me = member(t, world["a"])
    attempt = (
        await api(me, "StartExamAttempt", pb.StartExamAttemptRequest(exam_id=exam.id))
    ).attempt
    q = next(q for q in attempt.questions if q.kind == pb.QUESTION_KIND_SINGLE)
    await save(api, me, attempt.id, q.position, right_answer(q), 1)
    # Time passes: move the attempt into the past rather than sleeping.
    owner_sql(
        "UPDATE learning.exam_attempts SET started_at = now() - interval '2 minutes', "
        f"deadline_at = now() - interval '1 minute' WHERE id = '{attempt.id}'"
    )
    await api.fails(
        me,
        "SaveExamAnswer",
        pb.SaveExamAnswerRequest(
            attempt_id=attempt.id, position=q.position, answer=wrong_answer(q), version=2
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
        "exam_attempt_time_up",
    )
    stored = rows(
        owner_sql,
        f"SELECT version, finalised FROM learning.exam_answers WHERE attempt_id = '{attempt.id}'",
    )
    assert stored == ["1|f"]  # nothing written by the late save

    # A job instance that knows nothing of the attempt (as after a restart) finds it in the
    # database; the running service's own job may have got there first.
    job = ExamDeadlineJob(learning_app.db, interval_seconds=1)
    status: list[str] = []
    for _ in range(100):  # the service's job may hold the attempt (SKIP LOCKED) until it commits
        await job.run_once()
        status = rows(
            owner_sql,
            "SELECT status, submitted_by, auto_score FROM "
            f"learning.exam_attempts WHERE id = '{attempt.id}'",
        )
        if status != ["in_progress||0"]:
            break
        await asyncio.sleep(0.05)
    assert status == ["graded|deadline|200"]
    assert rows(
        owner_sql,
        "SELECT count(*) FROM learning.exam_answers "
        f"WHERE attempt_id = '{attempt.id}' AND finalised",
    ) == ["4"]
    sub = [
        e for e in events(owner_sql, t, "submitted", pb.ExamSubmitted) if e.attempt_id == attempt.id
    ]
    assert len(sub) == 1 and sub[0].submitted_by == pb.EXAM_SUBMISSION_REASON_DEADLINE
    assert await job.run_once() == 0  # nothing left, nothing submitted twice
    result = (
        await api(me, "GetExamAttemptResult", pb.GetExamAttemptResultRequest(id=attempt.id))
    ).result
    assert result.submitted_by == pb.EXAM_SUBMISSION_REASON_DEADLINE
    assert result.score_hundredths == 200


async def test_a_start_after_the_deadline_submits_the_expired_attempt_first(api, world, owner_sql):
    me = member(world["tenant"], world["a"])
    exam = await make_exam(api, world, title="过期后再开始", time_limit_minutes=1)
    first = (await api(me, "StartExamAttempt", pb.StartExamAttemptRequest(exam_id=exam.id))).attempt
    owner_sql(
        "UPDATE learning.exam_attempts SET deadline_at = now() - interval '1 second' "
        f"WHERE id = '{first.id}'"
    )
    second = await api(me, "StartExamAttempt", pb.StartExamAttemptRequest(exam_id=exam.id))
    assert second.attempt.id != first.id and second.attempt.number == 2
    assert rows(
        owner_sql, f"SELECT submitted_by FROM learning.exam_attempts WHERE id = '{first.id}'"
    ) == ["deadline"]


async def test_autosaves_racing_submissions_lose_nothing_and_grade_once(api, world, owner_sql):
    t = world["tenant"]
    exam = await make_exam(api, world, title="并发测验", max_attempts=1)
    me = member(t, world["a"])
    attempt = (
        await api(me, "StartExamAttempt", pb.StartExamAttemptRequest(exam_id=exam.id))
    ).attempt
    qs = attempt.questions

    async def attempt_save(i: int):
        q = qs[i % len(qs)]
        answer = right_answer(q) if i % 3 else wrong_answer(q)
        try:
            out = await save(api, me, attempt.id, q.position, answer, i + 1)
            return ("saved", q.position, i + 1, out.stored, answer)
        except grpc.aio.AioRpcError as err:
            assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
            assert code_of(err) == "exam_attempt_closed"
            return ("refused", q.position, i + 1, False, answer)

    async def submit():
        return (
            await api(me, "SubmitExamAttempt", pb.SubmitExamAttemptRequest(id=attempt.id))
        ).result

    tasks = [attempt_save(i) for i in range(40)]
    tasks[20:20] = [submit(), submit()]
    outcomes = await asyncio.gather(*tasks)
    results = [o for o in outcomes if isinstance(o, pb.ExamAttemptResult)]
    saves = [o for o in outcomes if isinstance(o, tuple)]
    assert results[0] == results[1]  # both submissions answer the same result

    stored = {}
    for line in rows(
        owner_sql,
        "SELECT position, version, finalised, coalesce(score, -1) FROM "
        f"learning.exam_answers WHERE attempt_id = '{attempt.id}'",
    ):
        pos, version, final, score = line.split("|")
        stored[int(pos)] = (int(version), final == "t", int(score))
    assert len(stored) == 4 and all(final for _, final, _ in stored.values())
    for pos in range(4):
        accepted = [v for kind, p, v, ok, _ in saves if p == pos and kind == "saved" and ok]
        # The newest accepted save of each position is the one graded; none was lost.
        assert stored[pos][0] == max(accepted, default=0)
        if accepted:
            latest = next(a for kind, p, v, ok, a in saves if p == pos and v == max(accepted))
            q = qs[pos]
            points = QUESTIONS[q.prompt][4] * 100
            assert stored[pos][2] == (points if latest == right_answer(q) else 0)
    total = sum(score for _, _, score in stored.values())
    assert results[0].score_hundredths == total
    assert (
        len(
            [
                e
                for e in events(owner_sql, t, "submitted", pb.ExamSubmitted)
                if e.attempt_id == attempt.id
            ]
        )
        == 1
    )


async def test_other_tenants_and_learners_outside_the_audience_get_not_found(api, world, owner_sql):
    t, exam = world["tenant"], world["exam"]
    before = rows(
        owner_sql, f"SELECT count(*) FROM learning.exam_attempts WHERE exam_id = '{exam.id}'"
    )
    stranger = member(uuid.uuid4(), uuid.uuid4())
    outsider = member(t, world["b"])  # branch B is not in the audience
    for who in (stranger, outsider):
        await api.fails(
            who,
            "StartExamAttempt",
            pb.StartExamAttemptRequest(exam_id=exam.id),
            grpc.StatusCode.NOT_FOUND,
            "exam_not_found",
        )
        await api.fails(
            who,
            "ListMyExamAttempts",
            pb.ListMyExamAttemptsRequest(exam_id=exam.id),
            grpc.StatusCode.NOT_FOUND,
            "exam_not_found",
        )
        assert not (await api(who, "ListAvailableExams", pb.ListAvailableExamsRequest())).exams
    other_admin = admin(uuid.uuid4())
    for rpc, req in (
        ("GetExam", pb.GetExamRequest(id=exam.id)),
        ("CloseExam", pb.CloseExamRequest(id=exam.id)),
        ("GetExamStatistics", pb.GetExamStatisticsRequest(exam_id=exam.id)),
        ("ListGradingQueue", pb.ListGradingQueueRequest(exam_id=exam.id)),
    ):
        await api.fails(other_admin, rpc, req, grpc.StatusCode.NOT_FOUND, "exam_not_found")
    assert rows(owner_sql, f"SELECT status FROM learning.exams WHERE id = '{exam.id}'") == [
        "published"
    ]

    # Someone else's attempt: not found for reading, saving or submitting; nothing written.
    me = member(t, world["a"])
    attempt = (
        await api(me, "StartExamAttempt", pb.StartExamAttemptRequest(exam_id=exam.id))
    ).attempt
    for who in (member(t, world["a"]), stranger, world["admin"]):
        await api.fails(
            who,
            "GetExamAttempt",
            pb.GetExamAttemptRequest(id=attempt.id),
            grpc.StatusCode.NOT_FOUND,
            "exam_attempt_not_found",
        )
        await api.fails(
            who,
            "SaveExamAnswer",
            pb.SaveExamAnswerRequest(
                attempt_id=attempt.id,
                position=0,
                answer=right_answer(attempt.questions[0]),
                version=1,
            ),
            grpc.StatusCode.NOT_FOUND,
            "exam_attempt_not_found",
        )
        await api.fails(
            who,
            "SubmitExamAttempt",
            pb.SubmitExamAttemptRequest(id=attempt.id),
            grpc.StatusCode.NOT_FOUND,
            "exam_attempt_not_found",
        )
    assert rows(
        owner_sql, f"SELECT count(*) FROM learning.exam_answers WHERE attempt_id = '{attempt.id}'"
    ) == ["0"]
    assert rows(
        owner_sql, f"SELECT count(*) FROM learning.exam_attempts WHERE exam_id = '{exam.id}'"
    ) == [str(int(before[0]) + 1)]


async def test_windows_and_exam_states(api, world):
    me = member(world["tenant"], world["a"])
    from google.protobuf.timestamp_pb2 import Timestamp

    later = Timestamp()
    later.GetCurrentTime()
    later.seconds += 3600
    future = await make_exam(api, world, title="未开始", opens_at=later)
    await api.fails(
        me,
        "StartExamAttempt",
        pb.StartExamAttemptRequest(exam_id=future.id),
        grpc.StatusCode.FAILED_PRECONDITION,
        "exam_not_open",
    )
    draft = await make_exam(api, world, publish=False, title="草稿")
    await api.fails(
        me,
        "StartExamAttempt",
        pb.StartExamAttemptRequest(exam_id=draft.id),
        grpc.StatusCode.NOT_FOUND,
        "exam_not_found",
    )
    closed = (await api(world["admin"], "CloseExam", pb.CloseExamRequest(id=future.id))).exam
    assert closed.status == pb.EXAM_STATUS_CLOSED
    await api.fails(
        me,
        "StartExamAttempt",
        pb.StartExamAttemptRequest(exam_id=future.id),
        grpc.StatusCode.FAILED_PRECONDITION,
        "exam_closed",
    )
