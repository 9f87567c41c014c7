"""Learning progress through the gRPC API against real PostgreSQL and NATS: a sequence of player
reports to completion (server clock: the tests move the learner's stored times back instead of
sleeping), checkpoints wrong then right, anti-gaming flags recorded without points, restarting
to redo, course completion with class hours, events in the outbox once per crossing, optional
points kept inside the branch, and tenancy / audience / subtree scope (404, nothing written)."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import nats
import pytest
from hongyun.learning.v1 import learning_progress_pb2 as pb
from hongyun.learning.v1 import learning_progress_pb2_grpc
from hongyun_platform.grpc.context import (
    ROLE_MEMBER,
    ROLE_SECRETARY,
    ROLE_TENANT_ADMIN,
    CallerContext,
)
from learning_service import progress

pytestmark = pytest.mark.integration

A, B = uuid.uuid4(), uuid.uuid4()
ROOT, BR1, BR2, ROOT_B = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def who(user: str, tenant: uuid.UUID, org: uuid.UUID | None, *roles: str) -> CallerContext:
    return CallerContext(user_id=user, tenant_id=tenant, roles=frozenset(roles or {ROLE_MEMBER}),
                         scope_org_id=org)  # fmt: skip


ADMIN = who("admin-a", A, None, ROLE_TENANT_ADMIN)
ADMIN_B = who("admin-b", B, None, ROLE_TENANT_ADMIN)
SEC1 = who("sec-br1", A, BR1, ROLE_SECRETARY)
SEC2 = who("sec-br2", A, BR2, ROLE_SECRETARY)


async def call(method, request, caller: CallerContext):
    return await method(request, metadata=caller.to_metadata(), timeout=10)


async def fails(method, request, caller: CallerContext) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await call(method, request, caller)
    return e.value


def code_of(err: grpc.aio.AioRpcError) -> str:
    return dict(err.trailing_metadata() or ()).get("x-hongyun-error-code", "")


def _course_sql(tenant, course, chapter, items, audience, *, hours=150) -> str:
    sql = [
        f"INSERT INTO learning.courses (id, tenant_id, title, status, version, "
        f"class_hours_hundredths, published_at) VALUES ('{course}', '{tenant}', '课程{course.hex[:4]}', "
        f"'published', 1, {hours}, now());",
        f"INSERT INTO learning.chapters (id, tenant_id, course_id, position, title) VALUES "
        f"('{chapter}', '{tenant}', '{course}', 1, '第一章');",
        f"INSERT INTO learning.course_audiences (id, tenant_id, course_id, {audience[0]}) VALUES "
        f"('{uuid.uuid4()}', '{tenant}', '{course}', {audience[1]});",
    ]
    for pos, (item, kind, length, required) in enumerate(items, 1):
        sql.append(
            f"INSERT INTO learning.items (id, tenant_id, course_id, chapter_id, position, kind, "
            f"title, length, required) VALUES ('{item}', '{tenant}', '{course}', '{chapter}', "
            f"{pos}, '{kind}', '内容{pos}', {length}, {str(required).lower()});"
        )
    return "\n".join(sql)


@pytest.fixture(scope="module")
def world(learning_settings_fx, owner_sql):
    w = {k: uuid.uuid4() for k in ("c1", "c2", "cb", "v1", "v2", "d1", "r1", "l1", "x2", "xb",
                                   "cp1", "cp_r")}  # fmt: skip
    owner_sql(
        f"INSERT INTO learning.org_paths (tenant_id, org_id, path) VALUES "
        f"('{A}', '{ROOT}', ARRAY['{ROOT}']::uuid[]), "
        f"('{A}', '{BR1}', ARRAY['{ROOT}','{BR1}']::uuid[]), "
        f"('{A}', '{BR2}', ARRAY['{ROOT}','{BR2}']::uuid[]), "
        f"('{B}', '{ROOT_B}', ARRAY['{ROOT_B}']::uuid[]);"
    )
    owner_sql(_course_sql(A, w["c1"], uuid.uuid4(), [
        (w["v1"], "video", 120, True), (w["d1"], "document", 4, True),
        (w["r1"], "rich_text", 0, True), (w["l1"], "link", 0, False),
        (w["v2"], "video", 600, False),
    ], ("kind", "'tenant'")))  # fmt: skip
    owner_sql(
        f"INSERT INTO learning.checkpoints (id, tenant_id, item_id, position, kind, prompt, "
        f"options, answer, explanation) VALUES ('{w['cp1']}', '{A}', '{w['v1']}', 60, 'single', "
        f"'党的根本宗旨是什么？', '[\"A\", \"全心全意为人民服务\", \"C\"]', '{{1}}', "
        f"'党的根本宗旨是全心全意为人民服务。');"
    )
    # Only for branch 2, and another tenant's course.
    owner_sql(_course_sql(A, w["c2"], uuid.uuid4(), [(w["x2"], "video", 60, True)],
                          ("kind, org_id", f"'org_subtree', '{BR2}'")))  # fmt: skip
    owner_sql(_course_sql(B, w["cb"], uuid.uuid4(), [(w["xb"], "video", 60, True)],
                          ("kind", "'tenant'")))  # fmt: skip
    return w


@pytest.fixture(scope="module")
async def stub(learning_app):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{learning_app.port}") as channel:
        yield learning_progress_pb2_grpc.ProgressServiceStub(channel)


@pytest.fixture(scope="module")
def elapse(owner_sql):
    """Moves a learner's stored report times back: as if `seconds` passed on the server."""

    def run(learner: CallerContext, seconds: float) -> None:
        cols = ("started_at", "last_report_at", "last_advanced_at", "prev_session_at")
        sets = ", ".join(f"{c} = {c} - make_interval(secs => {seconds})" for c in cols)
        owner_sql(
            f"UPDATE learning.item_progress SET {sets} WHERE learner_id = '{learner.user_id}'"
        )

    return run


@pytest.fixture(scope="module")
def outbox(owner_sql):
    """Events of one learner in the outbox: [(event, payload message)] in order."""
    types = {"learning_progressed": pb.LearningProgressed, "item_completed": pb.ItemCompleted,
             "course_completed": pb.CourseCompleted}  # fmt: skip

    def run(learner: CallerContext) -> list[tuple[str, object]]:
        out = owner_sql(
            "SELECT subject, encode(payload, 'hex') FROM learning.outbox "
            "WHERE subject LIKE 'learning.%.progress.%' ORDER BY occurred_at, id"
        )
        events = []
        for line in out.splitlines():
            subject, payload = line.split("|")
            name = subject.rsplit(".", 1)[1]
            msg = types[name].FromString(bytes.fromhex(payload))
            if msg.learner_id == learner.user_id:
                events.append((name, msg))
        return events

    return run


def report(item, position, session, **kw) -> pb.ReportProgressRequest:
    return pb.ReportProgressRequest(item_id=str(item), session_id=str(session),
                                    position=position, **kw)  # fmt: skip


async def test_reports_to_completion_with_checkpoints_events_and_class_hours(
    stub, world, elapse, outbox, learning_app, owner_sql
):
    me = who("learner-1", A, BR1)
    s = uuid.uuid4()
    r = await call(stub.ReportProgress, report(world["v1"], 0, s), me)
    assert r.progress.started and r.progress.position == 0 and not r.progress.completed
    for pos in (30, 60, 90, 120):
        elapse(me, 30)
        r = await call(stub.ReportProgress, report(world["v1"], pos, s), me)
    p = r.progress
    assert p.furthest == 120 and p.percent == 100 and not r.new_flags
    assert p.reached_end and not p.completed  # the checkpoint is still open
    assert (p.checkpoints_total, p.checkpoints_correct) == (1, 0)
    # The same report again changes nothing and emits nothing.
    before = outbox(me)
    await call(stub.ReportProgress, report(world["v1"], 120, s), me)
    assert outbox(me) == before
    assert [(n, m.percent) for n, m in before] == [
        ("learning_progressed", 25),
        ("learning_progressed", 50),
        ("learning_progressed", 75),
    ]

    answer = pb.AnswerCheckpointRequest(item_id=str(world["v1"]), checkpoint_id=str(world["cp1"]))
    wrong = await call(stub.AnswerCheckpoint, pb.AnswerCheckpointRequest(
        item_id=str(world["v1"]), checkpoint_id=str(world["cp1"]), selected=[0]), me)  # fmt: skip
    assert not wrong.correct and wrong.attempts == 1 and wrong.explanation == ""
    assert not wrong.progress.completed
    answer.selected.append(1)
    right = await call(stub.AnswerCheckpoint, answer, me)
    assert right.correct and right.attempts == 2 and "全心全意" in right.explanation
    assert right.progress.completed and not right.progress.completion_flagged
    assert right.points_awarded == 0  # points are off by default
    assert not right.course_completed

    # The document page by page, then the rich text (opened = read).
    s2 = uuid.uuid4()
    await call(stub.ReportProgress, report(world["d1"], 0, s2), me)
    for page in (1, 2, 3):
        elapse(me, 20)
        r = await call(stub.ReportProgress, report(world["d1"], page, s2), me)
    assert r.progress.completed and not r.new_flags
    r = await call(stub.ReportProgress, report(world["r1"], 0, uuid.uuid4()), me)
    assert r.progress.completed and r.course_completed  # the link is optional

    events = outbox(me)
    names = [n for n, _ in events]
    assert names.count("item_completed") == 3 and names.count("course_completed") == 1
    done = next(m for n, m in events if n == "course_completed")
    assert done.class_hours_hundredths == 150 and not done.flagged
    assert done.course_id == str(world["c1"]) and done.org_id == str(BR1)
    # Nothing more on a repeat.
    await call(stub.ReportProgress, report(world["r1"], 0, uuid.uuid4()), me)
    assert len(outbox(me)) == len(events)

    view = await call(stub.GetMyCourseProgress, pb.GetMyCourseProgressRequest(
        course_id=str(world["c1"])), me)  # fmt: skip
    assert view.completion.completed and view.completion.class_hours_hundredths == 150
    assert (view.required_items, view.required_completed) == (3, 3)
    v1 = next(e for e in view.items if e.item_id == str(world["v1"]))
    assert v1.checkpoints[0].correct and v1.checkpoints[0].attempts == 2
    assert view.continue_item_id == str(world["l1"])  # what is left: the optional link

    # The relay published them to NATS: one CourseCompleted on the tenant's subject.
    for _ in range(100):
        pending = owner_sql("SELECT count(*) FROM learning.outbox WHERE published_at IS NULL")
        if pending.strip() == "0":
            break
        await asyncio.sleep(0.1)
    nc = await nats.connect(learning_app.settings.nats_url)
    try:
        subject = f"learning.{A}.progress.course_completed"
        info = await nc.jetstream().stream_info("LEARNING", subjects_filter=subject)
    finally:
        await nc.close()
    assert info.state.subjects == {subject: 1}

    # What the training area reads.
    async with learning_app.db.unit_of_work(A) as uow:
        got = await progress.course_completions(uow.session, A, me.user_id, [world["c1"]])
    assert got[world["c1"]].class_hours_hundredths == 150 and not got[world["c1"]].flagged


async def test_gaming_is_flagged_without_points_and_a_redo_earns_them(
    stub, world, elapse, outbox, learning_app
):
    await call(stub.UpdateProgressSettings, pb.UpdateProgressSettingsRequest(
        overrides=pb.ProgressSettingsOverrides(points_enabled=True, points_per_item=5,
                                               points_per_checkpoint=2)), ADMIN)  # fmt: skip
    me = who("learner-2", A, BR1)
    s = uuid.uuid4()
    await call(stub.ReportProgress, report(world["v1"], 0, s), me)
    elapse(me, 30)
    r = await call(stub.ReportProgress, report(world["v1"], 120, s), me)  # the whole video in 30 s
    assert list(r.new_flags) == [pb.PROGRESS_FLAG_KIND_TOO_FAST]
    assert r.progress.furthest == 0 and not r.progress.reached_end and r.progress.position == 120
    assert r.progress.attempt_flag_notes and "快" in r.progress.attempt_flag_notes[0]
    # The learner goes back and watches; the attempt stays flagged: no points at all.
    await call(stub.ReportProgress, report(world["v1"], 0, s, seeked=True), me)
    for pos in (30, 60, 90, 120):
        elapse(me, 30)
        await call(stub.ReportProgress, report(world["v1"], pos, s), me)
    ans = await call(stub.AnswerCheckpoint, pb.AnswerCheckpointRequest(
        item_id=str(world["v1"]), checkpoint_id=str(world["cp1"]), selected=[1]), me)  # fmt: skip
    assert ans.correct and ans.progress.completed and ans.progress.completion_flagged
    assert ans.points_awarded == 0
    assert (await call(stub.GetMyPoints, pb.GetMyPointsRequest(), me)).total == 0

    flags = await call(stub.ListLearnerFlags, pb.ListLearnerFlagsRequest(learner_id=me.user_id),
                       SEC1)  # fmt: skip
    assert [f.kind for f in flags.flags] == [pb.PROGRESS_FLAG_KIND_TOO_FAST]
    assert "120" in flags.flags[0].detail and flags.flags[0].item_id == str(world["v1"])

    # The rest of the course done cleanly: the course completes, flagged, with no class hours.
    s2 = uuid.uuid4()
    await call(stub.ReportProgress, report(world["d1"], 0, s2), me)
    for page in (1, 2, 3):
        elapse(me, 20)
        await call(stub.ReportProgress, report(world["d1"], page, s2), me)
    r = await call(stub.ReportProgress, report(world["r1"], 0, uuid.uuid4()), me)
    assert r.course_completed
    async with learning_app.db.unit_of_work(A) as uow:
        got = await progress.course_completions(uow.session, A, me.user_id, [world["c1"]])
    assert got[world["c1"]].flagged and got[world["c1"]].class_hours_hundredths == 0

    # Redo: a new attempt without flags replaces the flagged completion and earns the points.
    restarted = await call(stub.RestartItem, pb.RestartItemRequest(item_id=str(world["v1"])), me)
    assert restarted.progress.attempt == 2 and restarted.progress.furthest == 0
    assert restarted.progress.completed and restarted.progress.completion_flagged
    s = uuid.uuid4()
    await call(stub.ReportProgress, report(world["v1"], 0, s), me)
    for pos in (30, 60, 90, 120):
        elapse(me, 30)
        r = await call(stub.ReportProgress, report(world["v1"], pos, s), me)
    assert r.progress.completed and not r.progress.completion_flagged and not r.new_flags
    assert r.course_completed  # the course completion is clean now
    v1_done = [m.flagged for n, m in outbox(me) if n == "item_completed"
               and m.item_id == str(world["v1"])]  # fmt: skip
    assert v1_done == [True, False]
    courses = [(m.flagged, m.class_hours_hundredths) for n, m in outbox(me)
               if n == "course_completed"]  # fmt: skip
    assert courses == [(True, 0), (False, 150)]
    async with learning_app.db.unit_of_work(A) as uow:
        got = await progress.course_completions(uow.session, A, me.user_id, [world["c1"]])
    assert not got[world["c1"]].flagged and got[world["c1"]].class_hours_hundredths == 150
    # Points: the document and the rich text (5 each) and the redone video (5); the checkpoint
    # was answered in the flagged attempt and earns nothing.
    points = await call(stub.GetMyPoints, pb.GetMyPointsRequest(), me)
    assert (points.total, points.today) == (15, 15)
    # Flags stay on record for the secretary.
    flags = await call(stub.ListLearnerFlags, pb.ListLearnerFlagsRequest(learner_id=me.user_id),
                       SEC1)  # fmt: skip
    assert len(flags.flags) == 1


async def test_parallel_playback_of_two_videos_is_flagged(stub, world, elapse, owner_sql):
    me = who("learner-4", A, BR1)
    s1, s2 = uuid.uuid4(), uuid.uuid4()
    await call(stub.ReportProgress, report(world["v1"], 0, s1), me)
    await call(stub.ReportProgress, report(world["v2"], 0, s2), me)
    elapse(me, 30)
    first = await call(stub.ReportProgress, report(world["v1"], 30, s1), me)
    assert not first.new_flags
    second = await call(stub.ReportProgress, report(world["v2"], 30, s2), me)
    assert list(second.new_flags) == [pb.PROGRESS_FLAG_KIND_PARALLEL_PLAYBACK]
    assert owner_sql(
        f"SELECT kind FROM learning.progress_flags WHERE learner_id = '{me.user_id}'"
    ).split() == ["parallel_playback"]


async def test_bad_reports_are_refused_and_write_nothing(stub, world, owner_sql):
    me = who("learner-5", A, BR1)
    err = await fails(stub.ReportProgress, report(world["v1"], 121, uuid.uuid4()), me)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert code_of(err) == "progress_position_out_of_range" and "超出" in err.details()
    err = await fails(stub.ReportProgress, pb.ReportProgressRequest(
        item_id=str(world["v1"]), session_id="not-a-uuid"), me)  # fmt: skip
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    err = await fails(stub.AnswerCheckpoint, pb.AnswerCheckpointRequest(
        item_id=str(world["v1"]), checkpoint_id=str(world["cp1"]), selected=[0, 1]), me)  # fmt: skip
    assert code_of(err) == "checkpoint_invalid_selection"
    assert (
        owner_sql(
            f"SELECT count(*) FROM learning.item_progress WHERE learner_id = '{me.user_id}'"
        ).strip()
        == "0"
    )
    assert (
        owner_sql(
            f"SELECT count(*) FROM learning.checkpoint_answers WHERE learner_id = '{me.user_id}'"
        ).strip()
        == "0"
    )


async def test_another_tenants_item_and_a_course_for_another_branch_are_not_found(
    stub, world, owner_sql
):
    me = who("learner-6", A, BR1)
    outbox_before = owner_sql("SELECT count(*) FROM learning.outbox").strip()
    for item in (world["xb"], world["x2"], uuid.uuid4()):
        err = await fails(stub.ReportProgress, report(item, 0, uuid.uuid4()), me)
        assert err.code() == grpc.StatusCode.NOT_FOUND and code_of(err) == "item_not_found"
        assert "学习内容不存在" in err.details()
        err = await fails(stub.RestartItem, pb.RestartItemRequest(item_id=str(item)), me)
        assert err.code() == grpc.StatusCode.NOT_FOUND
    err = await fails(stub.AnswerCheckpoint, pb.AnswerCheckpointRequest(
        item_id=str(world["xb"]), checkpoint_id=str(world["cp1"]), selected=[1]), me)  # fmt: skip
    assert err.code() == grpc.StatusCode.NOT_FOUND
    for course in (world["cb"], world["c2"]):
        err = await fails(stub.GetMyCourseProgress, pb.GetMyCourseProgressRequest(
            course_id=str(course)), me)  # fmt: skip
        assert err.code() == grpc.StatusCode.NOT_FOUND and code_of(err) == "course_not_found"
    # A branch-2 learner reaches the branch-2 course.
    ok = await call(stub.ReportProgress, report(world["x2"], 0, uuid.uuid4()),
                    who("learner-7", A, BR2))  # fmt: skip
    assert ok.progress.started
    assert (
        owner_sql(
            f"SELECT count(*) FROM learning.item_progress WHERE learner_id = '{me.user_id}'"
        ).strip()
        == "0"
    )
    assert owner_sql("SELECT count(*) FROM learning.outbox").strip() == outbox_before
    # Tenant B's admin sees no learner of tenant A.
    err = await fails(stub.ListLearnerFlags, pb.ListLearnerFlagsRequest(learner_id="learner-2"),
                      ADMIN_B)  # fmt: skip
    assert err.code() == grpc.StatusCode.NOT_FOUND
    err = await fails(stub.ListCourseLearners, pb.ListCourseLearnersRequest(
        course_id=str(world["c1"])), ADMIN_B)  # fmt: skip
    assert err.code() == grpc.StatusCode.NOT_FOUND


async def test_audience_changes_and_org_moves_count_from_the_next_report(stub, owner_sql):
    """Nothing is cached per process: each report checks the audience and the learner's place
    in the organisation tree as they are now."""
    br3, course, item = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    owner_sql(f"INSERT INTO learning.org_paths (tenant_id, org_id, path) VALUES "
              f"('{A}', '{br3}', ARRAY['{ROOT}','{br3}']::uuid[]);")  # fmt: skip
    owner_sql(_course_sql(A, course, uuid.uuid4(), [(item, "video", 600, True)],
                          ("kind, org_id", f"'org_subtree', '{br3}'")))  # fmt: skip
    me, session = who("learner-9", A, br3), uuid.uuid4()
    ok = await call(stub.ReportProgress, report(item, 0, session), me)
    assert ok.progress.started

    def stored() -> str:
        return owner_sql(
            f"SELECT revision, org_path FROM learning.item_progress "
            f"WHERE learner_id = '{me.user_id}' AND item_id = '{item}'"
        ).strip()

    before = stored()
    # The course is given to branch 2 instead: the very next report is refused, nothing written.
    owner_sql(f"UPDATE learning.course_audiences SET org_id = '{BR2}' WHERE course_id = '{course}'")
    err = await fails(stub.ReportProgress, report(item, 10, session), me)
    assert err.code() == grpc.StatusCode.NOT_FOUND and code_of(err) == "item_not_found"
    assert stored() == before
    # The learner's branch moves under branch 2: the course is open to them again at once, and
    # the row records where they sit now.
    owner_sql(f"UPDATE learning.org_paths SET path = ARRAY['{ROOT}','{BR2}','{br3}']::uuid[] "
              f"WHERE org_id = '{br3}'")  # fmt: skip
    again = await call(stub.ReportProgress, report(item, 0, session), me)
    assert again.progress.started
    assert stored() == f"2|{{{ROOT},{BR2},{br3}}}"


async def test_report_access_follows_the_course_access_rule(stub, learning_app, owner_sql):
    """The report path decides access inside its own prebuilt statement: it opens exactly the
    items whose course course_access.course_for_learner opens — every audience kind, drafts, and
    courses of the parent tenant shared down or not."""
    from learning_service.course_access import course_for_learner
    from learning_service.learner import load_learner

    parent, child = uuid.uuid4(), uuid.uuid4()
    root, br, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    owner_sql(
        f"INSERT INTO learning.org_paths (tenant_id, org_id, path) VALUES "
        f"('{child}', '{root}', ARRAY['{root}']::uuid[]), "
        f"('{child}', '{br}', ARRAY['{root}','{br}']::uuid[]), "
        f"('{child}', '{other}', ARRAY['{root}','{other}']::uuid[]); "
        f"INSERT INTO learning.tenant_ancestry (tenant_id, ancestors) VALUES "
        f"('{child}', ARRAY['{parent}']::uuid[]);"
    )
    audiences = {
        "tenant": (child, ("kind", "'tenant'")),
        "subtree_root": (child, ("kind, org_id", f"'org_subtree', '{root}'")),
        "subtree_other": (child, ("kind, org_id", f"'org_subtree', '{other}'")),
        "role_secretary": (child, ("kind, role", "'role', 'secretary'")),
        "learner_x": (child, ("kind, learner_id", "'learner', 'learner-x'")),
        "draft": (child, ("kind", "'tenant'")),
        "parent_shared": (parent, ("kind", "'tenant'")),
        "parent_unshared": (parent, ("kind", "'tenant'")),
    }
    items = {}
    for name, (tenant, audience) in audiences.items():
        course, item = uuid.uuid4(), uuid.uuid4()
        owner_sql(_course_sql(tenant, course, uuid.uuid4(), [(item, "video", 600, True)], audience))
        items[name] = (course, item)
    owner_sql(
        f"UPDATE learning.courses SET status = 'draft' WHERE id = '{items['draft'][0]}'; "
        f"UPDATE learning.courses SET shared_down = 'optional' "
        f"WHERE id = '{items['parent_shared'][0]}';"
    )
    callers = [
        who("learner-x", child, br),
        who("learner-y", child, other),
        who("sec-y", child, other, ROLE_SECRETARY),
        who("learner-z", child, None),
        who("learner-w", child, uuid.uuid4()),  # an organisation the projection has not seen
    ]
    seen = set()
    for caller in callers:
        for name, (course, item) in items.items():
            async with learning_app.db.unit_of_work(child) as uow:
                learner = await load_learner(uow.session, caller)
                expected = await course_for_learner(uow.session, learner, course) is not None
            try:
                await call(stub.ReportProgress, report(item, 0, uuid.uuid4()), caller)
                opened = True
            except grpc.aio.AioRpcError as err:
                assert err.code() == grpc.StatusCode.NOT_FOUND
                opened = False
            assert opened == expected, (caller.user_id, name)
            seen.add((name, opened))
    # Every course was opened by someone and refused to someone, except those no one may open.
    assert {n for n, o in seen if o} == {
        "tenant", "subtree_root", "subtree_other", "role_secretary", "learner_x", "parent_shared"
    }  # fmt: skip
    assert {n for n, o in seen if not o} >= {"draft", "parent_unshared", "subtree_other"}


async def test_secretaries_see_their_subtree_only(stub, world):
    mine = await call(stub.ListCourseLearners, pb.ListCourseLearnersRequest(
        course_id=str(world["c1"])), SEC1)  # fmt: skip
    ids = [v.learner_id for v in mine.learners]
    assert ids == sorted(ids) and {"learner-1", "learner-2"} <= set(ids)
    one = next(v for v in mine.learners if v.learner_id == "learner-1")
    assert one.completion.completed and one.required_completed == 3 and one.org_id == str(BR1)
    two = next(v for v in mine.learners if v.learner_id == "learner-2")
    assert two.flags == 1
    sibling = await call(stub.ListCourseLearners, pb.ListCourseLearnersRequest(
        course_id=str(world["c1"])), SEC2)  # fmt: skip
    assert not {"learner-1", "learner-2"} & {v.learner_id for v in sibling.learners}
    err = await fails(stub.ListLearnerFlags, pb.ListLearnerFlagsRequest(learner_id="learner-2"),
                      SEC2)  # fmt: skip
    assert err.code() == grpc.StatusCode.NOT_FOUND and code_of(err) == "learner_not_found"
    err = await fails(stub.ListCourseLearners, pb.ListCourseLearnersRequest(
        course_id=str(world["c1"]), org_id=str(BR1)), SEC2)  # fmt: skip
    assert err.code() == grpc.StatusCode.NOT_FOUND
    everyone = await call(stub.ListCourseLearners, pb.ListCourseLearnersRequest(
        course_id=str(world["c1"]), page_size=1), ADMIN)  # fmt: skip
    assert len(everyone.learners) == 1 and everyone.next_page_token
    err = await fails(stub.ListCourseLearners, pb.ListCourseLearnersRequest(
        course_id=str(world["c1"])), who("learner-1", A, BR1))  # fmt: skip
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_points_stay_inside_the_branch_and_are_never_ranked_across_it(stub, world):
    mine = await call(stub.ListBranchPoints, pb.ListBranchPointsRequest(), SEC1)
    assert mine.org_id == str(BR1)
    assert [(m.learner_id, m.total) for m in mine.members] == [("learner-2", 15)]
    # The tenant admin asking for a list across branches is refused: no such list exists.
    err = await fails(stub.ListBranchPoints, pb.ListBranchPointsRequest(), ADMIN)
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    assert code_of(err) == "points_branch_only" and "跨支部" in err.details()
    other = await call(stub.ListBranchPoints, pb.ListBranchPointsRequest(), SEC2)
    assert [m.learner_id for m in other.members] == []
    # Points are off in tenant B: nothing is shown.
    err = await fails(stub.GetMyPoints, pb.GetMyPointsRequest(), who("b-1", B, ROOT_B))
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION and code_of(err) == "points_disabled"


async def test_settings_are_the_tenant_admins(stub):
    got = await call(stub.GetProgressSettings, pb.GetProgressSettingsRequest(), ADMIN)
    s = got.settings
    assert s.points_enabled and s.sources["points_enabled"] == pb.SETTING_SOURCE_TENANT
    assert (
        s.max_playback_rate == 2.0 and s.sources["max_playback_rate"] == pb.SETTING_SOURCE_DEFAULT
    )
    assert "形式主义" in s.citation
    b = await call(stub.GetProgressSettings, pb.GetProgressSettingsRequest(), ADMIN_B)
    assert not b.settings.points_enabled  # off by default, per tenant
    err = await fails(stub.UpdateProgressSettings, pb.UpdateProgressSettingsRequest(
        overrides=pb.ProgressSettingsOverrides(max_playback_rate=0.2)), ADMIN)  # fmt: skip
    assert code_of(err) == "progress_setting_out_of_range"
    err = await fails(stub.UpdateProgressSettings, pb.UpdateProgressSettingsRequest(), SEC1)
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    err = await fails(stub.GetProgressSettings, pb.GetProgressSettingsRequest(),
                      who("learner-1", A, BR1))  # fmt: skip
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_continue_where_i_left_off(stub, world, elapse):
    me = who("learner-8", A, BR1)
    none = await call(stub.GetContinueLearning, pb.GetContinueLearningRequest(), me)
    assert not none.found
    s = uuid.uuid4()
    await call(stub.ReportProgress, report(world["v2"], 0, s), me)
    elapse(me, 40)
    await call(stub.ReportProgress, report(world["v2"], 40, s), me)
    got = await call(stub.GetContinueLearning, pb.GetContinueLearningRequest(), me)
    assert got.found and got.item_id == str(world["v2"]) and got.position == 40
    assert got.course_id == str(world["c1"]) and got.length == 600
    view = await call(stub.GetMyCourseProgress, pb.GetMyCourseProgressRequest(
        course_id=str(world["c1"])), me)  # fmt: skip
    assert view.continue_item_id == str(world["v2"]) and view.continue_position == 40
