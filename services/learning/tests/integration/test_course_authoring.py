"""Authoring courses against the real service and PostgreSQL under row-level security: fields and
their limits, chapters and items with positions (insert, reorder, move, delete), sanitised rich
text, http(s) links, checkpoints within an item's length, the authors' list and search, who may
edit what, and other tenants (404, nothing written)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from hongyun.learning.v1 import learning_courses_pb2 as pb
from hongyun.learning.v1 import learning_courses_pb2_grpc
from hongyun_platform.grpc.context import (
    ROLE_MEMBER,
    ROLE_SECRETARY,
    ROLE_TENANT_ADMIN,
    CallerContext,
)

pytestmark = pytest.mark.integration

VIDEO = pb.COURSE_ITEM_KIND_VIDEO
TEXT = pb.COURSE_ITEM_KIND_RICH_TEXT
LINK = pb.COURSE_ITEM_KIND_LINK
INVALID = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND
DENIED = grpc.StatusCode.PERMISSION_DENIED
PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION


class Api:
    def __init__(self, channel: grpc.aio.Channel):
        self.stub = learning_courses_pb2_grpc.CourseServiceStub(channel)

    async def __call__(self, caller: CallerContext, rpc: str, **fields: Any) -> Any:
        request = getattr(pb, f"{rpc}Request")(**fields)
        return await getattr(self.stub, rpc)(request, metadata=caller.to_metadata(), timeout=10)

    async def fails(
        self, caller: CallerContext, rpc: str, status: grpc.StatusCode, code: str, **fields: Any
    ) -> str:
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await self(caller, rpc, **fields)
        assert e.value.code() == status, e.value.details()
        md = dict(e.value.trailing_metadata() or ())
        assert md.get("x-hongyun-error-code") == code, (md, e.value.details())
        return e.value.details() or ""


@pytest.fixture(scope="module")
async def api(learning_app) -> AsyncIterator[Api]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{learning_app.port}") as channel:
        yield Api(channel)


def caller(tenant: uuid.UUID, role: str, name: str, org: uuid.UUID | None = None):
    return CallerContext(user_id=f"{name}-{tenant}", tenant_id=tenant, roles=frozenset({role}),
                         scope_org_id=org)  # fmt: skip


class World:
    def __init__(self) -> None:
        self.tenant = uuid.uuid4()
        self.org = uuid.uuid4()
        self.admin = caller(self.tenant, ROLE_TENANT_ADMIN, "admin")
        self.sec = caller(self.tenant, ROLE_SECRETARY, "sec", self.org)
        self.member = caller(self.tenant, ROLE_MEMBER, "member", self.org)
        self.stranger = caller(uuid.uuid4(), ROLE_TENANT_ADMIN, "stranger")


@pytest.fixture
def world(learning_app) -> World:
    return World()


def rows(owner_sql, sql: str) -> list[list[str]]:
    out = owner_sql(sql).strip()
    return [line.split("|") for line in out.splitlines()] if out else []


async def new_course(api: Api, who: CallerContext, title: str = "党课") -> Any:
    return (await api(who, "CreateCourse", title=title)).course


async def chapter(api: Api, who, course, title: str, position: int = 0) -> Any:
    return (await api(who, "CreateChapter", course_id=course.id, title=title,
                      position=position)).chapter  # fmt: skip


async def outline(api: Api, who, course) -> list[tuple[str, list[str]]]:
    got = await api(who, "GetCourse", course_id=course.id)
    return [(c.title, [i.title for i in c.items]) for c in got.chapters]


# ---- courses ----


async def test_create_update_and_limits(api, world, owner_sql):
    course = (await api(world.admin, "CreateCourse", title=" 学习党章 ", summary="逐条学习",
                        tags=["党章", "党章", "基础"], class_hours_hundredths=200)).course  # fmt: skip
    assert course.title == "学习党章" and list(course.tags) == ["党章", "基础"]
    assert course.created_by == world.admin.user_id and course.status == pb.COURSE_STATUS_DRAFT

    updated = (await api(world.admin, "UpdateCourse", course_id=course.id, title="学习新党章",
                         tags=pb.CourseTagList(tags=["党章"]))).course  # fmt: skip
    assert updated.title == "学习新党章" and updated.summary == "逐条学习"
    assert list(updated.tags) == ["党章"] and updated.class_hours_hundredths == 200
    cleared = (await api(world.admin, "UpdateCourse", course_id=course.id,
                         tags=pb.CourseTagList())).course  # fmt: skip
    assert list(cleared.tags) == []

    before = rows(owner_sql, f"SELECT count(*) FROM learning.courses WHERE tenant_id = '{world.tenant}'")  # fmt: skip
    details = await api.fails(world.admin, "CreateCourse", INVALID, "course_title_too_long",
                              title="党" * 201)  # fmt: skip
    assert details.startswith("课程标题不能超过 200 个字符")
    await api.fails(world.admin, "CreateCourse", INVALID, "course_title_required", title=" ")
    await api.fails(world.admin, "CreateCourse", INVALID, "course_too_many_tags", title="x",
                    tags=[f"t{i}" for i in range(21)])  # fmt: skip
    await api.fails(world.admin, "CreateCourse", INVALID, "course_tag_too_long", title="x",
                    tags=["很" * 21])  # fmt: skip
    await api.fails(world.admin, "CreateCourse", INVALID, "course_class_hours_invalid",
                    title="x", class_hours_hundredths=-5)  # fmt: skip
    await api.fails(world.admin, "UpdateCourse", INVALID, "course_title_too_long",
                    course_id=course.id, title="党" * 201)  # fmt: skip
    assert rows(owner_sql, f"SELECT count(*) FROM learning.courses WHERE tenant_id = '{world.tenant}'") == before  # fmt: skip
    assert rows(owner_sql, f"SELECT title FROM learning.courses WHERE id = '{course.id}'") == [["学习新党章"]]  # fmt: skip
    await api.fails(world.admin, "GetCourse", INVALID, "invalid_id", course_id="not-an-id")
    await api.fails(world.admin, "GetCourse", NOT_FOUND, "course_not_found",
                    course_id=str(uuid.uuid4()))  # fmt: skip


async def test_the_authors_list_filters_searches_and_pages(api, world):
    a = await new_course(api, world.admin, "学习贯彻党的二十大精神")
    b = await new_course(api, world.sec, "党费收缴工作")
    c = (await api(world.admin, "CreateCourse", title="专题党课", tags=["党史"])).course
    other = await new_course(api, world.stranger, "学习贯彻党的二十大精神")
    listed = await api(world.sec, "ListCourses")
    assert [x.id for x in listed.courses] == [c.id, b.id, a.id]  # newest first, drafts too
    assert other.id not in [x.id for x in listed.courses]
    assert [x.id for x in (await api(world.admin, "ListCourses", query="二十大")).courses] == [a.id]
    assert [x.id for x in (await api(world.admin, "ListCourses", query="党费")).courses] == [b.id]
    assert [x.id for x in (await api(world.admin, "ListCourses", tag="党史")).courses] == [c.id]
    assert not (await api(world.admin, "ListCourses", status=pb.COURSE_STATUS_PUBLISHED)).courses
    first = await api(world.admin, "ListCourses", page_size=2)
    assert len(first.courses) == 2 and first.next_page_token
    second = await api(world.admin, "ListCourses", page_size=2, page_token=first.next_page_token)
    assert [x.id for x in second.courses] == [a.id] and not second.next_page_token
    await api.fails(world.admin, "ListCourses", INVALID, "invalid_page_token", page_token="!!")
    await api.fails(world.member, "ListCourses", DENIED, "course_author_required")


async def test_who_may_author(api, world, owner_sql):
    admins = await new_course(api, world.admin, "管理员的课")
    await api.fails(world.member, "CreateCourse", DENIED, "course_author_required", title="x")
    await api.fails(world.member, "GetCourse", DENIED, "course_author_required",
                    course_id=admins.id)  # fmt: skip
    # A secretary sees the tenant's drafts but edits only their own courses.
    assert (await api(world.sec, "GetCourse", course_id=admins.id)).course.id == admins.id
    await api.fails(world.sec, "UpdateCourse", DENIED, "course_not_author",
                    course_id=admins.id, title="改")  # fmt: skip
    await api.fails(world.sec, "CreateChapter", DENIED, "course_not_author",
                    course_id=admins.id, title="章")  # fmt: skip
    await api.fails(world.sec, "ArchiveCourse", DENIED, "course_not_author", course_id=admins.id)
    own = await new_course(api, world.sec, "书记的课")
    assert (await chapter(api, world.sec, own, "第一章")).position == 1
    # The tenant admin edits every course of the tenant.
    await api(world.admin, "UpdateCourse", course_id=own.id, summary="管理员补充")
    assert rows(owner_sql, f"SELECT title FROM learning.courses WHERE id = '{admins.id}'") == [["管理员的课"]]  # fmt: skip


# ---- chapters and items ----


async def test_chapter_positions(api, world, owner_sql):
    course = await new_course(api, world.admin)
    one, two = (
        await chapter(api, world.admin, course, "一"),
        await chapter(api, world.admin, course, "二"),
    )
    zero = await chapter(api, world.admin, course, "零", position=1)
    assert (one.position, two.position, zero.position) == (1, 2, 1)
    assert [t for t, _ in await outline(api, world.admin, course)] == ["零", "一", "二"]

    reordered = await api(world.admin, "ReorderChapters", course_id=course.id,
                          chapter_ids=[two.id, zero.id, one.id])  # fmt: skip
    assert [(c.title, c.position) for c in reordered.chapters] == [("二", 1), ("零", 2), ("一", 3)]
    for bad in ([two.id, zero.id], [two.id, zero.id, one.id, one.id],
                [two.id, zero.id, str(uuid.uuid4())]):  # fmt: skip
        await api.fails(world.admin, "ReorderChapters", INVALID, "chapter_order_invalid",
                        course_id=course.id, chapter_ids=bad)  # fmt: skip
    await api(world.admin, "UpdateChapter", course_id=course.id, chapter_id=zero.id, title="序")
    await api(world.admin, "DeleteChapter", course_id=course.id, chapter_id=two.id)
    assert [t for t, _ in await outline(api, world.admin, course)] == ["序", "一"]
    positions = rows(owner_sql, f"SELECT position FROM learning.chapters WHERE course_id = '{course.id}' ORDER BY position")  # fmt: skip
    assert positions == [["1"], ["2"]]
    await api.fails(world.admin, "CreateChapter", INVALID, "chapter_title_required",
                    course_id=course.id, title="")  # fmt: skip
    await api.fails(world.admin, "CreateChapter", INVALID, "position_invalid",
                    course_id=course.id, title="x", position=-1)  # fmt: skip


async def test_items_rich_text_links_order_and_moves(api, world, owner_sql):
    course = await new_course(api, world.admin)
    first, second = (
        await chapter(api, world.admin, course, "一"),
        await chapter(api, world.admin, course, "二"),
    )

    async def item(ch, title, kind=TEXT, **fields):
        return (await api(world.admin, "CreateItem", course_id=course.id, chapter_id=ch.id,
                          kind=kind, title=title, **fields)).item  # fmt: skip

    text = await item(first, "导读", body='<p onclick="x()">学习<script>alert(1)</script>要点</p>')
    assert text.body == "<p>学习要点</p>" and text.required
    stored = rows(owner_sql, f"SELECT body FROM learning.items WHERE id = '{text.id}'")
    assert stored == [["<p>学习要点</p>"]]
    link = await item(
        first, "共产党员网", kind=LINK, url="https://www.12371.cn/", not_required=True
    )
    assert not link.required
    video = await item(first, "视频", kind=VIDEO, length=600, position=1)
    assert next(i for _, i in await outline(api, world.admin, course)) == [
        "视频",
        "导读",
        "共产党员网",
    ]

    before = rows(owner_sql, f"SELECT count(*) FROM learning.items WHERE course_id = '{course.id}'")
    await api.fails(world.admin, "CreateItem", INVALID, "item_url_invalid", course_id=course.id,
                    chapter_id=first.id, kind=LINK, title="坏", url="javascript:alert(1)")  # fmt: skip
    await api.fails(world.admin, "CreateItem", INVALID, "item_body_not_used",
                    course_id=course.id, chapter_id=first.id, kind=VIDEO, title="x", body="<p>")  # fmt: skip
    await api.fails(world.admin, "CreateItem", INVALID, "item_kind_invalid", course_id=course.id,
                    chapter_id=first.id, title="x")  # fmt: skip
    await api.fails(world.admin, "CreateItem", INVALID, "item_title_too_long",
                    course_id=course.id, chapter_id=first.id, kind=TEXT, title="题" * 201)  # fmt: skip
    assert rows(owner_sql, f"SELECT count(*) FROM learning.items WHERE course_id = '{course.id}'") == before  # fmt: skip

    updated = (await api(world.admin, "UpdateItem", course_id=course.id, item_id=text.id,
                         body="<h2>一</h2><img src=x onerror=y()>", required=False)).item  # fmt: skip
    assert updated.body == "<h2>一</h2>" and not updated.required and updated.title == "导读"
    await api.fails(world.admin, "UpdateItem", INVALID, "item_url_invalid", course_id=course.id,
                    item_id=link.id, url="ftp://x.cn")  # fmt: skip

    # Move the link into the second chapter, first; the first chapter closes the gap.
    moved = await api(world.admin, "ReorderItems", course_id=course.id, chapter_id=second.id,
                      item_ids=[link.id])  # fmt: skip
    assert [(c.title, [(i.title, i.position) for i in c.items]) for c in moved.chapters] == [
        ("一", [("视频", 1), ("导读", 2)]), ("二", [("共产党员网", 1)])]  # fmt: skip
    await api(world.admin, "ReorderItems", course_id=course.id, chapter_id=first.id,
              item_ids=[text.id, video.id])  # fmt: skip
    assert [i for _, i in await outline(api, world.admin, course)] == [
        ["导读", "视频"],
        ["共产党员网"],
    ]
    await api.fails(world.admin, "ReorderItems", INVALID, "item_order_invalid",
                    course_id=course.id, chapter_id=first.id, item_ids=[text.id])  # fmt: skip
    await api(world.admin, "DeleteItem", course_id=course.id, item_id=text.id)
    assert [i for _, i in await outline(api, world.admin, course)] == [["视频"], ["共产党员网"]]
    assert rows(owner_sql, f"SELECT position FROM learning.items WHERE id = '{video.id}'") == [
        ["1"]
    ]
    # An item of another course is not found through this one.
    other = await new_course(api, world.admin, "另一门")
    await api.fails(world.admin, "UpdateItem", NOT_FOUND, "item_not_found", course_id=other.id,
                    item_id=video.id, title="x")  # fmt: skip
    await api.fails(world.admin, "CreateItem", NOT_FOUND, "chapter_not_found",
                    course_id=other.id, chapter_id=first.id, kind=TEXT, title="x")  # fmt: skip


# ---- checkpoints ----


async def test_checkpoints_sit_inside_their_item(api, world, owner_sql):
    course = await new_course(api, world.admin)
    ch = await chapter(api, world.admin, course, "一")

    async def item(kind, **fields):
        return (await api(world.admin, "CreateItem", course_id=course.id, chapter_id=ch.id,
                          kind=kind, title="条目", **fields)).item  # fmt: skip

    video, text, unknown = await item(VIDEO, length=600), await item(TEXT), await item(VIDEO)
    single = pb.COURSE_CHECKPOINT_KIND_SINGLE
    q = dict(kind=single, prompt="中国共产党成立于哪一年？", options=["1919", "1921"], answer=[1])
    cp = (await api(world.admin, "CreateCheckpoint", course_id=course.id, item_id=video.id,
                    position=120, **q)).checkpoint  # fmt: skip
    assert cp.position == 120 and list(cp.answer) == [1]
    await api.fails(world.admin, "CreateCheckpoint", INVALID, "checkpoint_position_invalid",
                    course_id=course.id, item_id=video.id, position=601, **q)  # fmt: skip
    await api.fails(world.admin, "CreateCheckpoint", PRECONDITION, "checkpoint_item_kind",
                    course_id=course.id, item_id=text.id, position=1, **q)  # fmt: skip
    await api.fails(world.admin, "CreateCheckpoint", PRECONDITION,
                    "checkpoint_item_without_length", course_id=course.id, item_id=unknown.id,
                    position=1, **q)  # fmt: skip
    await api.fails(world.admin, "CreateCheckpoint", INVALID, "checkpoint_answer_invalid",
                    course_id=course.id, item_id=video.id, position=1, **{**q, "answer": [2]})  # fmt: skip
    await api.fails(world.admin, "CreateCheckpoint", INVALID, "checkpoint_options_count",
                    course_id=course.id, item_id=video.id, position=1,
                    **{**q, "kind": pb.COURSE_CHECKPOINT_KIND_TRUE_FALSE,
                       "options": ["对", "错", "不知道"], "answer": [0]})  # fmt: skip
    await api.fails(world.admin, "CreateCheckpoint", INVALID, "checkpoint_kind_invalid",
                    course_id=course.id, item_id=video.id, position=1, **{**q, "kind": 0})  # fmt: skip
    assert rows(owner_sql, f"SELECT count(*) FROM learning.checkpoints WHERE item_id = '{video.id}'") == [["1"]]  # fmt: skip

    changed = (await api(world.admin, "UpdateCheckpoint", course_id=course.id, item_id=video.id,
                         checkpoint_id=cp.id, position=300,
                         kind=pb.COURSE_CHECKPOINT_KIND_MULTIPLE, prompt="哪些是党的优良作风？",
                         options=["理论联系实际", "密切联系群众", "形式主义"], answer=[1, 0],
                         explanation="三大作风")).checkpoint  # fmt: skip
    assert changed.position == 300 and list(changed.answer) == [0, 1]
    # The item may not become shorter than where its checkpoint sits.
    await api.fails(world.admin, "UpdateItem", INVALID, "item_length_below_checkpoint",
                    course_id=course.id, item_id=video.id, length=200)  # fmt: skip
    got = await api(world.admin, "GetCourse", course_id=course.id)
    (cp_seen,) = got.chapters[0].items[0].checkpoints
    assert cp_seen.explanation == "三大作风"  # authors see the answers
    await api(world.admin, "DeleteCheckpoint", course_id=course.id, item_id=video.id,
              checkpoint_id=cp.id)  # fmt: skip
    await api.fails(world.admin, "DeleteCheckpoint", NOT_FOUND, "checkpoint_not_found",
                    course_id=course.id, item_id=video.id, checkpoint_id=cp.id)  # fmt: skip


# ---- other tenants ----


async def test_another_tenant_reaches_nothing_and_writes_nothing(api, world, owner_sql):
    course = await new_course(api, world.admin)
    ch = await chapter(api, world.admin, course, "一")
    video = (await api(world.admin, "CreateItem", course_id=course.id, chapter_id=ch.id,
                       kind=VIDEO, title="视频", length=60)).item  # fmt: skip
    cp = (await api(world.admin, "CreateCheckpoint", course_id=course.id, item_id=video.id,
                    position=1, kind=pb.COURSE_CHECKPOINT_KIND_SINGLE, prompt="?",
                    options=["a", "b"], answer=[0])).checkpoint  # fmt: skip
    snapshot = rows(owner_sql, "SELECT c.updated_at, ch.title, i.title, cp.prompt FROM "
                    "learning.courses c JOIN learning.chapters ch ON ch.course_id = c.id JOIN "
                    "learning.items i ON i.chapter_id = ch.id JOIN learning.checkpoints cp ON "
                    f"cp.item_id = i.id WHERE c.id = '{course.id}'")  # fmt: skip
    s = world.stranger
    ids = dict(course_id=course.id)
    calls = [
        ("GetCourse", ids), ("UpdateCourse", {**ids, "title": "x"}),
        ("CreateChapter", {**ids, "title": "x"}),
        ("UpdateChapter", {**ids, "chapter_id": ch.id, "title": "x"}),
        ("DeleteChapter", {**ids, "chapter_id": ch.id}),
        ("ReorderChapters", {**ids, "chapter_ids": [ch.id]}),
        ("CreateItem", {**ids, "chapter_id": ch.id, "kind": TEXT, "title": "x"}),
        ("UpdateItem", {**ids, "item_id": video.id, "title": "x"}),
        ("DeleteItem", {**ids, "item_id": video.id}),
        ("ReorderItems", {**ids, "chapter_id": ch.id, "item_ids": [video.id]}),
        ("UpdateCheckpoint", {**ids, "item_id": video.id, "checkpoint_id": cp.id, "position": 1,
                              "kind": pb.COURSE_CHECKPOINT_KIND_SINGLE, "prompt": "x",
                              "options": ["a", "b"], "answer": [0]}),
        ("DeleteCheckpoint", {**ids, "item_id": video.id, "checkpoint_id": cp.id}),
        ("ListMaterialVersions", {**ids, "item_id": video.id}),
        ("SubmitCourse", ids), ("RejectCourse", {**ids, "note": "x"}), ("ReviseCourse", ids),
        ("SetCourseAudiences", ids),
        ("SetCourseSharing", {**ids, "shared_down": pb.COURSE_SHARE_MODE_OPTIONAL}),
    ]  # fmt: skip
    for rpc, fields in calls:
        await api.fails(s, rpc, NOT_FOUND, "course_not_found", **fields)
    assert s.tenant_id and str(course.id) not in [
        c.id for c in (await api(s, "ListCourses")).courses
    ]
    after = rows(owner_sql, "SELECT c.updated_at, ch.title, i.title, cp.prompt FROM "
                 "learning.courses c JOIN learning.chapters ch ON ch.course_id = c.id JOIN "
                 "learning.items i ON i.chapter_id = ch.id JOIN learning.checkpoints cp ON "
                 f"cp.item_id = i.id WHERE c.id = '{course.id}'")  # fmt: skip
    assert after == snapshot
