"""Courses end to end against the real service, PostgreSQL, NATS and the filesystem store: author
→ upload a file with the presigned PUT → complete → review (two people) → publish → the
learner's catalogue and search → download; refusals leave nothing behind; audiences by
organisation subtree, learners of other tenants, and courses shared down to child tenants."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
import httpx
import pytest
from hongyun.learning.v1 import learning_courses_pb2 as pb
from hongyun.learning.v1 import learning_courses_pb2_grpc
from hongyun_platform.grpc.context import (
    ROLE_MEMBER,
    ROLE_SECRETARY,
    ROLE_TENANT_ADMIN,
    CallerContext,
)
from hongyun_platform.storage import make_fs_download_app

pytestmark = pytest.mark.integration


def tenant_admin(tenant_id: uuid.UUID, name: str = "admin") -> CallerContext:
    return CallerContext(user_id=f"{name}-{tenant_id}", tenant_id=tenant_id,
                         roles=frozenset({ROLE_TENANT_ADMIN}))  # fmt: skip


def secretary(tenant_id: uuid.UUID, org_id: uuid.UUID) -> CallerContext:
    return CallerContext(user_id=f"sec-{org_id}", tenant_id=tenant_id,
                         roles=frozenset({ROLE_SECRETARY}), scope_org_id=org_id)  # fmt: skip


def learner(tenant_id: uuid.UUID, org_id: uuid.UUID) -> CallerContext:
    return CallerContext(user_id=f"member-{uuid.uuid4()}", tenant_id=tenant_id,
                         roles=frozenset({ROLE_MEMBER}), scope_org_id=org_id)  # fmt: skip


VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40  # a (tiny) mp4-looking file


class Api:
    """CourseService calls as a given caller; errors come back as grpc.aio.AioRpcError."""

    def __init__(self, channel: grpc.aio.Channel):
        self.stub = learning_courses_pb2_grpc.CourseServiceStub(channel)

    async def __call__(self, caller: CallerContext, rpc: str, **fields: Any) -> Any:
        method = getattr(self.stub, rpc)
        request = getattr(pb, f"{rpc}Request")(**fields)
        return await method(request, metadata=caller.to_metadata(), timeout=10)

    async def fails(
        self, caller: CallerContext, rpc: str, status: grpc.StatusCode, code: str, **fields: Any
    ) -> str:
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await self(caller, rpc, **fields)
        md = dict(e.value.trailing_metadata() or ())
        assert e.value.code() == status, e.value.details()
        assert md.get("x-hongyun-error-code") == code, (md, e.value.details())
        return e.value.details() or ""


@pytest.fixture(scope="module")
async def api(learning_app) -> AsyncIterator[Api]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{learning_app.port}") as channel:
        yield Api(channel)


@pytest.fixture(scope="module")
async def files(learning_app) -> AsyncIterator[httpx.AsyncClient]:
    """What a browser reaches at the store's presigned URLs (the gateway mounts it at /files)."""
    app = make_fs_download_app(learning_app.store)
    transport = httpx.ASGITransport(app=app, root_path="/files")
    async with httpx.AsyncClient(transport=transport) as client:
        yield client


class World:
    def __init__(self, owner_sql):
        self.tenant = uuid.uuid4()
        self.root, self.branch_a, self.branch_b = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        self.admin = tenant_admin(self.tenant)
        self.admin2 = tenant_admin(self.tenant, "admin2")
        self.sec_a = secretary(self.tenant, self.branch_a)
        self.learner_a = learner(self.tenant, self.branch_a)
        self.learner_b = learner(self.tenant, self.branch_b)
        r, a, b, t = self.root, self.branch_a, self.branch_b, self.tenant
        owner_sql(
            "INSERT INTO learning.org_paths (tenant_id, org_id, path) VALUES "
            f"('{t}', '{r}', ARRAY['{r}']::uuid[]), ('{t}', '{a}', ARRAY['{r}','{a}']::uuid[]), "
            f"('{t}', '{b}', ARRAY['{r}','{b}']::uuid[])"
        )


@pytest.fixture
def world(learning_app, owner_sql) -> World:
    return World(owner_sql)


def stored(owner_sql, sql: str) -> list[list[str]]:
    out = owner_sql(sql).strip()
    return [line.split("|") for line in out.splitlines()] if out else []


async def course_with_video(api: Api, author: CallerContext, title: str, **fields: Any):
    course = (await api(author, "CreateCourse", title=title, **fields)).course
    chapter = (await api(author, "CreateChapter", course_id=course.id, title="第一章")).chapter
    item = (
        await api(author, "CreateItem", course_id=course.id, chapter_id=chapter.id,
                  kind=pb.COURSE_ITEM_KIND_VIDEO, title="报告视频", length=600)
    ).item  # fmt: skip
    return course, chapter, item


async def upload(api: Api, files: httpx.AsyncClient, author, course, item, data=VIDEO, **over):
    fields = dict(course_id=course.id, item_id=item.id, filename="二十大报告.mp4",
                  content_type="video/mp4", size_bytes=len(data),
                  sha256=hashlib.sha256(data).hexdigest())  # fmt: skip
    fields.update(over)
    started = await api(author, "StartMaterialUpload", **fields)
    assert started.upload.put_url and not started.upload.upload_id
    put = await files.put(started.upload.put_url, content=data,
                          headers={"content-type": "video/mp4"})  # fmt: skip
    assert put.status_code == 200, put.text
    return started.material


async def published_course(api, files, world: World, title: str, audiences=None, **fields):
    course, chapter, item = await course_with_video(api, world.admin, title, **fields)
    material = await upload(api, files, world.admin, course, item)
    await api(world.admin, "CompleteMaterialUpload", course_id=course.id, item_id=item.id,
              material_id=material.id)  # fmt: skip
    if audiences is not None:
        await api(world.admin, "SetCourseAudiences", course_id=course.id, audiences=audiences)
    await api(world.admin, "SubmitCourse", course_id=course.id)
    approved = (await api(world.admin2, "ApproveCourse", course_id=course.id)).course
    return approved, chapter, item


def tenant_audience(required: bool = True, due_on: str = "") -> pb.CourseAudience:
    return pb.CourseAudience(kind=pb.COURSE_AUDIENCE_KIND_TENANT, required=required,
                             due_on=due_on)  # fmt: skip


# ---- the whole way ----


async def test_author_upload_review_publish_learn_and_download(api, files, world, owner_sql):
    course, _chapter, item = await course_with_video(
        api, world.admin, "学习贯彻党的二十大精神", summary="专题学习", tags=["二十大", "专题"],
        class_hours_hundredths=150,
    )  # fmt: skip
    assert course.status == pb.COURSE_STATUS_DRAFT and course.version == 0
    await api(world.admin, "CreateCheckpoint", course_id=course.id, item_id=item.id,
              position=300, kind=pb.COURSE_CHECKPOINT_KIND_TRUE_FALSE, prompt="二十大于2022年召开",
              options=["对", "错"], answer=[0], explanation="2022年10月16日")  # fmt: skip

    # Not yet: a course without an uploaded video is not submitted.
    await api.fails(world.admin, "SubmitCourse", grpc.StatusCode.FAILED_PRECONDITION,
                    "course_without_content", course_id=course.id)  # fmt: skip

    material = await upload(api, files, world.admin, course, item)
    assert material.status == pb.COURSE_MATERIAL_STATUS_UPLOADING and material.version == 1
    done = await api(world.admin, "CompleteMaterialUpload", course_id=course.id, item_id=item.id,
                     material_id=material.id, length=600)  # fmt: skip
    assert done.material.status == pb.COURSE_MATERIAL_STATUS_READY
    assert done.material.sha256 == hashlib.sha256(VIDEO).hexdigest()
    assert done.item.current_material.id == material.id
    key = stored(owner_sql, f"SELECT object_key FROM learning.material_versions "
                            f"WHERE id = '{material.id}'")[0][0]  # fmt: skip
    assert key == f"learning/{world.tenant}/{course.id}/{item.id}/v1/二十大报告.mp4"

    await api(world.admin, "SetCourseAudiences", course_id=course.id,
              audiences=[tenant_audience(due_on="2026-12-31")])  # fmt: skip
    submitted = (await api(world.admin, "SubmitCourse", course_id=course.id)).course
    assert (
        submitted.status == pb.COURSE_STATUS_IN_REVIEW
        and submitted.submitted_by == world.admin.user_id
    )

    # Content is frozen in review; the submitter does not approve their own course.
    await api.fails(world.admin, "UpdateCourse", grpc.StatusCode.FAILED_PRECONDITION,
                    "course_not_editable", course_id=course.id, title="改")  # fmt: skip
    await api.fails(world.admin, "ApproveCourse", grpc.StatusCode.PERMISSION_DENIED,
                    "course_review_by_submitter", course_id=course.id)  # fmt: skip
    await api.fails(world.sec_a, "ApproveCourse", grpc.StatusCode.PERMISSION_DENIED,
                    "course_reviewer_required", course_id=course.id)  # fmt: skip
    assert stored(owner_sql, f"SELECT status, version FROM learning.courses WHERE id = '{course.id}'") == [["in_review", "0"]]  # fmt: skip
    assert not stored(owner_sql, f"SELECT 1 FROM learning.outbox WHERE tenant_id = '{world.tenant}'")  # fmt: skip

    approved = (await api(world.admin2, "ApproveCourse", course_id=course.id)).course
    assert approved.status == pb.COURSE_STATUS_PUBLISHED and approved.version == 1
    assert approved.reviewed_by == world.admin2.user_id and approved.HasField("published_at")

    # The events, in the outbox of the transaction that published.
    rows = stored(owner_sql, "SELECT subject, event_type, encode(payload, 'hex') FROM "
                             f"learning.outbox WHERE tenant_id = '{world.tenant}' ORDER BY id")  # fmt: skip
    assert [r[0] for r in rows] == [f"learning.{world.tenant}.course.published",
                                    f"learning.{world.tenant}.course.assigned"]  # fmt: skip
    published = pb.CoursePublished.FromString(bytes.fromhex(rows[0][2]))
    assert published.course_id == course.id and published.version == 1
    assert published.class_hours_hundredths == 150 and published.approved_by == world.admin2.user_id
    assigned = pb.CourseAssigned.FromString(bytes.fromhex(rows[1][2]))
    assert rows[1][1] == "hongyun.learning.v1.CourseAssigned"
    assert assigned.course_id == course.id and assigned.version == 1
    (aud,) = assigned.audiences
    assert (
        aud.kind == pb.COURSE_AUDIENCE_KIND_TENANT and aud.required and aud.due_on == "2026-12-31"
    )

    # The learner's catalogue: assigned, found by its words, not by others.
    cat = await api(world.learner_a, "ListCatalogueEntries")
    (entry,) = [e for e in cat.entries if e.course_id == course.id]
    assert entry.required and entry.due_on == "2026-12-31" and entry.class_hours_hundredths == 150
    assert not entry.shared_from_ancestor
    for query, found in (("二十大", True), ("精神", True), ("党费", False), ("专题 学习", True)):
        hits = await api(world.learner_a, "ListCatalogueEntries", query=query)
        assert (course.id in [e.course_id for e in hits.entries]) is found, query
    by_tag = await api(world.learner_a, "ListCatalogueEntries", tag="专题")
    assert [e.course_id for e in by_tag.entries] == [course.id]
    assert not (await api(world.learner_a, "ListCatalogueEntries", tag="专")).entries
    optional = await api(world.learner_a, "ListCatalogueEntries",
                         assignment=pb.CATALOGUE_ASSIGNMENT_OPTIONAL)  # fmt: skip
    assert course.id not in [e.course_id for e in optional.entries]

    # The outline: the question, never its answer.
    outline = await api(world.learner_a, "GetLearnerCourse", course_id=course.id)
    assert outline.course.required and outline.course.due_on == "2026-12-31"
    (ch,) = outline.chapters
    (it,) = ch.items
    assert it.id == item.id and it.material_version == 1 and it.content_type == "video/mp4"
    (cp,) = it.checkpoints
    assert cp.prompt == "二十大于2022年召开" and list(cp.options) == ["对", "错"]
    assert not hasattr(cp, "answer") and not hasattr(cp, "explanation")

    # Download: a short-lived URL that supports Range (seeking in a video).
    link = await api(world.learner_a, "GetMaterialDownloadUrl", course_id=course.id,
                     item_id=item.id)  # fmt: skip
    assert link.material.version == 1 and link.HasField("expires_at")
    whole = await files.get(link.url)
    assert whole.status_code == 200 and whole.content == VIDEO
    part = await files.get(link.url, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == VIDEO[10:20]


async def test_a_new_file_version_keeps_the_old_one(api, files, world, owner_sql):
    course, _, item = await course_with_video(api, world.admin, "版本")
    first = await upload(api, files, world.admin, course, item)
    await api(world.admin, "CompleteMaterialUpload", course_id=course.id, item_id=item.id,
              material_id=first.id)  # fmt: skip
    newer = VIDEO + b"v2"
    second = await upload(api, files, world.admin, course, item, data=newer,
                          sha256=hashlib.sha256(newer).hexdigest())  # fmt: skip
    assert second.version == 2
    done = await api(world.admin, "CompleteMaterialUpload", course_id=course.id, item_id=item.id,
                     material_id=second.id)  # fmt: skip
    assert done.item.current_material.version == 2
    versions = await api(world.admin, "ListMaterialVersions", course_id=course.id, item_id=item.id)
    assert [m.version for m in versions.materials] == [2, 1]
    assert all(m.status == pb.COURSE_MATERIAL_STATUS_READY for m in versions.materials)
    old = await api(world.admin, "GetMaterialDownloadUrl", course_id=course.id, item_id=item.id,
                    version=1)  # fmt: skip
    assert (await files.get(old.url)).content == VIDEO
    current = await api(world.admin, "GetMaterialDownloadUrl", course_id=course.id, item_id=item.id)
    assert (await files.get(current.url)).content == newer


# ---- refused uploads ----


async def test_wrong_type_and_oversize_are_refused_before_anything_is_written(
    api, world, owner_sql, learning_app
):
    course, _, item = await course_with_video(api, world.admin, "上传校验")
    base = dict(course_id=course.id, item_id=item.id, filename="a.mp4", content_type="video/mp4",
                size_bytes=10)  # fmt: skip
    details = await api.fails(world.admin, "StartMaterialUpload", grpc.StatusCode.INVALID_ARGUMENT,
                              "material_type_not_allowed", **{**base, "content_type": "text/html"})  # fmt: skip
    assert details.startswith("此类条目不接受")
    too_big = learning_app.settings.material_max_bytes + 1
    await api.fails(world.admin, "StartMaterialUpload", grpc.StatusCode.INVALID_ARGUMENT,
                    "material_too_large", **{**base, "size_bytes": too_big})  # fmt: skip
    await api.fails(world.admin, "StartMaterialUpload", grpc.StatusCode.INVALID_ARGUMENT,
                    "material_sha256_invalid", **{**base, "sha256": "xyz"})  # fmt: skip
    assert not stored(owner_sql, f"SELECT 1 FROM learning.material_versions WHERE item_id = '{item.id}'")  # fmt: skip


async def test_a_size_or_digest_mismatch_fails_the_version_and_keeps_the_item(
    api, files, world, owner_sql
):
    course, _, item = await course_with_video(api, world.admin, "校验失败")
    good = await upload(api, files, world.admin, course, item)
    await api(world.admin, "CompleteMaterialUpload", course_id=course.id, item_id=item.id,
              material_id=good.id)  # fmt: skip

    # Declared one size, sent another.
    short = await upload(api, files, world.admin, course, item, size_bytes=len(VIDEO) + 5)
    await api.fails(world.admin, "CompleteMaterialUpload", grpc.StatusCode.INVALID_ARGUMENT,
                    "material_size_mismatch", course_id=course.id, item_id=item.id,
                    material_id=short.id)  # fmt: skip
    # Declared one digest, sent other bytes of the same size.
    other = bytes(reversed(VIDEO))
    forged = await upload(api, files, world.admin, course, item, data=other,
                          sha256=hashlib.sha256(VIDEO).hexdigest())  # fmt: skip
    await api.fails(world.admin, "CompleteMaterialUpload", grpc.StatusCode.INVALID_ARGUMENT,
                    "material_sha256_mismatch", course_id=course.id, item_id=item.id,
                    material_id=forged.id)  # fmt: skip

    rows = stored(owner_sql, "SELECT version, status FROM learning.material_versions "
                             f"WHERE item_id = '{item.id}' ORDER BY version")  # fmt: skip
    assert rows == [["1", "ready"], ["2", "failed"], ["3", "failed"]]
    current = stored(owner_sql, f"SELECT current_material_id FROM learning.items WHERE id = '{item.id}'")  # fmt: skip
    assert current == [[good.id]]
    # The refused version is finished: completing it again is refused, not retried.
    await api.fails(world.admin, "CompleteMaterialUpload", grpc.StatusCode.FAILED_PRECONDITION,
                    "material_not_uploading", course_id=course.id, item_id=item.id,
                    material_id=forged.id)  # fmt: skip


async def test_completing_before_the_bytes_arrive_is_refused_and_can_be_retried(api, files, world):
    course, _, item = await course_with_video(api, world.admin, "未上传")
    started = await api(world.admin, "StartMaterialUpload", course_id=course.id, item_id=item.id,
                        filename="a.mp4", content_type="video/mp4", size_bytes=len(VIDEO))  # fmt: skip
    ids = dict(course_id=course.id, item_id=item.id, material_id=started.material.id)
    await api.fails(world.admin, "CompleteMaterialUpload", grpc.StatusCode.FAILED_PRECONDITION,
                    "material_not_uploaded", **ids)  # fmt: skip
    await files.put(started.upload.put_url, content=VIDEO)
    done = await api(world.admin, "CompleteMaterialUpload", **ids)
    assert done.material.status == pb.COURSE_MATERIAL_STATUS_READY
    assert done.material.sha256 == hashlib.sha256(VIDEO).hexdigest()  # no client digest: recorded


async def test_an_aborted_upload_is_failed(api, files, world):
    course, _, item = await course_with_video(api, world.admin, "放弃上传")
    material = await upload(api, files, world.admin, course, item)
    aborted = await api(world.admin, "AbortMaterialUpload", course_id=course.id, item_id=item.id,
                        material_id=material.id)  # fmt: skip
    assert aborted.material.status == pb.COURSE_MATERIAL_STATUS_FAILED
    await api.fails(world.admin, "GetMaterialDownloadUrl", grpc.StatusCode.NOT_FOUND,
                    "material_not_found", course_id=course.id, item_id=item.id, version=1)  # fmt: skip


# ---- who sees what ----


async def test_learners_outside_the_audience_or_tenant_get_404(api, files, world, owner_sql):
    sub = pb.CourseAudience(kind=pb.COURSE_AUDIENCE_KIND_ORG_SUBTREE, org_id=str(world.branch_a),
                            required=True)  # fmt: skip
    course, _, item = await published_course(api, files, world, "一支部专题", audiences=[sub])
    assert (await api(world.learner_a, "GetLearnerCourse", course_id=course.id)).course.required

    other = learner(uuid.uuid4(), uuid.uuid4())
    for who in (world.learner_b, other):  # a sibling branch; another tenant
        assert course.id not in [e.course_id for e in
                                 (await api(who, "ListCatalogueEntries")).entries]  # fmt: skip
        await api.fails(who, "GetLearnerCourse", grpc.StatusCode.NOT_FOUND, "course_not_found",
                        course_id=course.id)  # fmt: skip
        await api.fails(who, "GetMaterialDownloadUrl", grpc.StatusCode.NOT_FOUND,
                        "course_not_found", course_id=course.id, item_id=item.id)  # fmt: skip
    # Another tenant's admin neither sees nor changes it; nothing is written.
    stranger = tenant_admin(uuid.uuid4())
    before = stored(owner_sql, f"SELECT updated_at, title FROM learning.courses WHERE id = '{course.id}'")  # fmt: skip
    await api.fails(stranger, "GetCourse", grpc.StatusCode.NOT_FOUND, "course_not_found",
                    course_id=course.id)  # fmt: skip
    await api.fails(stranger, "ArchiveCourse", grpc.StatusCode.NOT_FOUND, "course_not_found",
                    course_id=course.id)  # fmt: skip
    await api.fails(stranger, "CreateChapter", grpc.StatusCode.NOT_FOUND, "course_not_found",
                    course_id=course.id, title="x")  # fmt: skip
    await api.fails(stranger, "StartMaterialUpload", grpc.StatusCode.NOT_FOUND, "course_not_found",
                    course_id=course.id, item_id=item.id, filename="a.mp4",
                    content_type="video/mp4", size_bytes=10)  # fmt: skip
    assert stored(owner_sql, f"SELECT updated_at, title FROM learning.courses WHERE id = '{course.id}'") == before  # fmt: skip
    assert len(stored(owner_sql, f"SELECT 1 FROM learning.material_versions WHERE item_id = '{item.id}'")) == 1  # fmt: skip


async def test_role_and_learner_audiences_and_optional_courses(api, files, world):
    by_role = pb.CourseAudience(kind=pb.COURSE_AUDIENCE_KIND_ROLE, role="secretary", required=True)
    one = pb.CourseAudience(kind=pb.COURSE_AUDIENCE_KIND_LEARNER,
                            learner_id=world.learner_b.user_id)  # fmt: skip
    course, _, _ = await published_course(api, files, world, "书记培训", audiences=[by_role, one])
    sec = await api(
        world.sec_a, "ListCatalogueEntries", assignment=pb.CATALOGUE_ASSIGNMENT_REQUIRED
    )
    assert course.id in [e.course_id for e in sec.entries]
    mine = await api(world.learner_b, "ListCatalogueEntries")
    (entry,) = [e for e in mine.entries if e.course_id == course.id]
    assert not entry.required  # open to this learner, not assigned
    assert course.id not in [e.course_id for e in
                             (await api(world.learner_a, "ListCatalogueEntries")).entries]  # fmt: skip


async def test_a_course_shared_down_is_visible_in_a_child_tenant(api, files, world, owner_sql):
    course, _, item = await published_course(api, files, world, "上级共享课程",
                                             audiences=[tenant_audience()])  # fmt: skip
    child = uuid.uuid4()
    owner_sql(f"INSERT INTO learning.tenant_ancestry (tenant_id, ancestors) VALUES "
              f"('{child}', ARRAY['{world.tenant}']::uuid[])")  # fmt: skip
    child_learner = learner(child, uuid.uuid4())
    assert course.id not in [e.course_id for e in
                             (await api(child_learner, "ListCatalogueEntries")).entries]  # fmt: skip
    await api.fails(world.sec_a, "SetCourseSharing", grpc.StatusCode.PERMISSION_DENIED,
                    "course_reviewer_required", course_id=course.id,
                    shared_down=pb.COURSE_SHARE_MODE_REQUIRED)  # fmt: skip

    shared = await api(world.admin, "SetCourseSharing", course_id=course.id,
                       shared_down=pb.COURSE_SHARE_MODE_REQUIRED)  # fmt: skip
    assert shared.course.shared_down == pb.COURSE_SHARE_MODE_REQUIRED
    cat = await api(child_learner, "ListCatalogueEntries", query="共享")
    (entry,) = cat.entries
    assert entry.course_id == course.id and entry.required and entry.shared_from_ancestor
    assert entry.owner_tenant_id == str(world.tenant)
    outline = await api(child_learner, "GetLearnerCourse", course_id=course.id)
    assert outline.chapters[0].items[0].id == item.id
    link = await api(child_learner, "GetMaterialDownloadUrl", course_id=course.id, item_id=item.id)
    assert (await files.get(link.url)).content == VIDEO
    # Read, not copied: no rows of the child tenant; the child's admin cannot edit it.
    assert not stored(owner_sql, f"SELECT 1 FROM learning.courses WHERE tenant_id = '{child}'")
    await api.fails(tenant_admin(child), "ArchiveCourse", grpc.StatusCode.NOT_FOUND,
                    "course_not_found", course_id=course.id)  # fmt: skip
    # The sharing change was announced.
    subjects = stored(owner_sql, "SELECT encode(payload, 'hex') FROM learning.outbox WHERE "
                                 f"subject = 'learning.{world.tenant}.course.assigned' ORDER BY id")  # fmt: skip
    last = pb.CourseAssigned.FromString(bytes.fromhex(subjects[-1][0]))
    assert last.course_id == course.id and last.shared_down == pb.COURSE_SHARE_MODE_REQUIRED

    # Optional sharing: open to the child's learners, not assigned.
    await api(world.admin, "SetCourseSharing", course_id=course.id,
              shared_down=pb.COURSE_SHARE_MODE_OPTIONAL)  # fmt: skip
    (entry,) = (await api(child_learner, "ListCatalogueEntries", query="共享")).entries
    assert not entry.required


async def test_changing_audiences_of_a_published_course_assigns_it_again(
    api, files, world, owner_sql
):
    course, _, _ = await published_course(api, files, world, "再次分配")
    assert course.id not in [e.course_id for e in
                             (await api(world.learner_a, "ListCatalogueEntries")).entries]  # fmt: skip
    await api(world.admin, "SetCourseAudiences", course_id=course.id,
              audiences=[tenant_audience(required=False)])  # fmt: skip
    (entry,) = [e for e in (await api(world.learner_a, "ListCatalogueEntries")).entries
                if e.course_id == course.id]  # fmt: skip
    assert not entry.required
    rows = stored(owner_sql, "SELECT encode(payload, 'hex') FROM learning.outbox WHERE "
                             f"subject = 'learning.{world.tenant}.course.assigned' ORDER BY id")  # fmt: skip
    payloads = [pb.CourseAssigned.FromString(bytes.fromhex(r[0])) for r in rows]
    mine = [p for p in payloads if p.course_id == course.id]
    assert [len(p.audiences) for p in mine] == [0, 1]  # on publication, then on the change


async def test_secretaries_assign_only_inside_their_subtree(api, files, world, owner_sql):
    course, _, item = await course_with_video(api, world.sec_a, "一支部自学")
    sub_b = pb.CourseAudience(kind=pb.COURSE_AUDIENCE_KIND_ORG_SUBTREE, org_id=str(world.branch_b))
    await api.fails(world.sec_a, "SetCourseAudiences", grpc.StatusCode.NOT_FOUND,
                    "organization_not_found", course_id=course.id, audiences=[sub_b])  # fmt: skip
    await api.fails(world.sec_a, "SetCourseAudiences", grpc.StatusCode.PERMISSION_DENIED,
                    "audience_outside_scope", course_id=course.id,
                    audiences=[tenant_audience()])  # fmt: skip
    assert not stored(owner_sql, f"SELECT 1 FROM learning.course_audiences WHERE course_id = '{course.id}'")  # fmt: skip
    sub_a = pb.CourseAudience(kind=pb.COURSE_AUDIENCE_KIND_ORG_SUBTREE, org_id=str(world.branch_a))
    done = await api(world.sec_a, "SetCourseAudiences", course_id=course.id, audiences=[sub_a])
    assert [a.org_id for a in done.audiences] == [str(world.branch_a)]

    # The secretary authored and submitted it; an admin approves it.
    material = await upload(api, files, world.sec_a, course, item)
    await api(world.sec_a, "CompleteMaterialUpload", course_id=course.id, item_id=item.id,
              material_id=material.id)  # fmt: skip
    await api(world.sec_a, "SubmitCourse", course_id=course.id)
    await api(world.admin, "ApproveCourse", course_id=course.id)
    assert course.id in [e.course_id for e in
                         (await api(world.learner_a, "ListCatalogueEntries")).entries]  # fmt: skip


async def test_reject_then_revise_a_published_course_keeps_item_ids(api, files, world, owner_sql):
    course, chapter, item = await published_course(api, files, world, "修订",
                                                   audiences=[tenant_audience()])  # fmt: skip
    revised = (await api(world.admin, "ReviseCourse", course_id=course.id)).course
    assert revised.status == pb.COURSE_STATUS_DRAFT and revised.version == 1
    await api(world.admin, "UpdateCourse", course_id=course.id, title="修订（第二版）")
    await api(world.admin, "SubmitCourse", course_id=course.id)
    await api.fails(world.admin2, "RejectCourse", grpc.StatusCode.INVALID_ARGUMENT,
                    "course_review_note_required", course_id=course.id, note=" ")  # fmt: skip
    rejected = (
        await api(world.admin2, "RejectCourse", course_id=course.id, note="标题不规范")
    ).course
    assert rejected.status == pb.COURSE_STATUS_DRAFT and rejected.review_note == "标题不规范"
    await api(world.admin, "UpdateCourse", course_id=course.id, title="修订第二版")
    await api(world.admin, "SubmitCourse", course_id=course.id)
    again = (await api(world.admin2, "ApproveCourse", course_id=course.id)).course
    assert again.version == 2 and again.title == "修订第二版"
    outline = await api(world.learner_a, "GetLearnerCourse", course_id=course.id)
    assert outline.chapters[0].id == chapter.id and outline.chapters[0].items[0].id == item.id
    archived = (await api(world.admin, "ArchiveCourse", course_id=course.id)).course
    assert archived.status == pb.COURSE_STATUS_ARCHIVED
    await api.fails(world.learner_a, "GetLearnerCourse", grpc.StatusCode.NOT_FOUND,
                    "course_not_found", course_id=course.id)  # fmt: skip
