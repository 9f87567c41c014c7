"""Large study files in parts against the real service and the filesystem store: part URLs,
resuming (which parts the store has), completion only when every part is there, a size
mismatch failing the version, and downloading the assembled file with Range."""

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
from hongyun_platform.grpc.context import ROLE_TENANT_ADMIN, CallerContext
from hongyun_platform.storage import UploadNotFound, make_fs_download_app

pytestmark = pytest.mark.integration


class Api:
    def __init__(self, channel: grpc.aio.Channel):
        self.stub = learning_courses_pb2_grpc.CourseServiceStub(channel)

    async def __call__(self, caller: CallerContext, rpc: str, **fields: Any) -> Any:
        request = getattr(pb, f"{rpc}Request")(**fields)
        return await getattr(self.stub, rpc)(request, metadata=caller.to_metadata(), timeout=30)

    async def fails(
        self, caller: CallerContext, rpc: str, status: grpc.StatusCode, code: str, **fields: Any
    ) -> None:
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await self(caller, rpc, **fields)
        assert e.value.code() == status, e.value.details()
        assert dict(e.value.trailing_metadata() or ()).get("x-hongyun-error-code") == code


@pytest.fixture(scope="module")
async def api(learning_app) -> AsyncIterator[Api]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{learning_app.port}") as channel:
        yield Api(channel)


@pytest.fixture(scope="module")
async def files(learning_app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=make_fs_download_app(learning_app.store),
                                    root_path="/files")  # fmt: skip
    async with httpx.AsyncClient(transport=transport) as client:
        yield client


@pytest.fixture
def admin() -> CallerContext:
    tenant = uuid.uuid4()
    return CallerContext(user_id=f"admin-{tenant}", tenant_id=tenant,
                         roles=frozenset({ROLE_TENANT_ADMIN}))  # fmt: skip


@pytest.fixture(scope="module")
def big(learning_app) -> bytes:
    """Just over one part: two parts, the second short."""
    part = learning_app.settings.material_part_bytes
    return (bytes(range(256)) * (part // 256 + 4))[: part + 1000]


async def _item(api: Api, admin: CallerContext) -> tuple[Any, Any]:
    course = (await api(admin, "CreateCourse", title="大文件")).course
    chapter = (await api(admin, "CreateChapter", course_id=course.id, title="一")).chapter
    item = (await api(admin, "CreateItem", course_id=course.id, chapter_id=chapter.id,
                      kind=pb.COURSE_ITEM_KIND_VIDEO, title="长视频")).item  # fmt: skip
    return course, item


async def _put_parts(api, files, admin, ids, numbers, chunks) -> None:
    urls = await api(admin, "GetMaterialPartUrls", **ids, part_numbers=numbers)
    assert [u.part_number for u in urls.urls] == sorted(numbers)
    for u in urls.urls:
        resp = await files.put(u.url, content=chunks[u.part_number - 1])
        assert resp.status_code == 200, resp.text


async def test_parts_resume_and_complete(api, files, admin, big, owner_sql, learning_app):
    course, item = await _item(api, admin)
    started = await api(admin, "StartMaterialUpload", course_id=course.id, item_id=item.id,
                        filename="long.mp4", content_type="video/mp4", size_bytes=len(big),
                        sha256=hashlib.sha256(big).hexdigest())  # fmt: skip
    plan = started.upload
    part = learning_app.settings.material_part_bytes
    assert not plan.put_url and plan.upload_id and plan.part_count == 2 and plan.part_bytes == part
    assert started.material.multipart
    ids = dict(course_id=course.id, item_id=item.id, material_id=started.material.id)
    chunks = [big[:part], big[part:]]

    await _put_parts(api, files, admin, ids, [1], chunks)
    have = await api(admin, "ListMaterialParts", **ids)
    assert [p.part_number for p in have.parts] == [1] and have.part_count == 2
    assert have.parts[0].size_bytes == part
    await api.fails(admin, "CompleteMaterialUpload", grpc.StatusCode.FAILED_PRECONDITION,
                    "material_parts_missing", **ids)  # fmt: skip
    await api.fails(admin, "GetMaterialPartUrls", grpc.StatusCode.INVALID_ARGUMENT,
                    "material_part_numbers_invalid", **ids, part_numbers=[3])  # fmt: skip

    # Resume: send what the store does not have yet.
    missing = [n for n in (1, 2) if n not in {p.part_number for p in have.parts}]
    await _put_parts(api, files, admin, ids, missing, chunks)
    done = await api(admin, "CompleteMaterialUpload", **ids, length=3600)
    assert done.material.status == pb.COURSE_MATERIAL_STATUS_READY
    assert done.material.sha256 == hashlib.sha256(big).hexdigest()
    assert done.item.current_material.id == started.material.id and done.item.length == 3600

    link = await api(admin, "GetMaterialDownloadUrl", course_id=course.id, item_id=item.id)
    tail = await files.get(link.url, headers={"Range": f"bytes={part - 10}-{part + 9}"})
    assert tail.status_code == 206 and tail.content == big[part - 10 : part + 10]
    # The upload is over: no more part URLs.
    await api.fails(admin, "GetMaterialPartUrls", grpc.StatusCode.FAILED_PRECONDITION,
                    "material_not_uploading", **ids, part_numbers=[1])  # fmt: skip


async def test_more_bytes_than_declared_fail_the_version(api, files, admin, big, owner_sql,
                                                         learning_app):  # fmt: skip
    course, item = await _item(api, admin)
    declared = len(big) - 10
    started = await api(admin, "StartMaterialUpload", course_id=course.id, item_id=item.id,
                        filename="long.mp4", content_type="video/mp4", size_bytes=declared)  # fmt: skip
    ids = dict(course_id=course.id, item_id=item.id, material_id=started.material.id)
    part = learning_app.settings.material_part_bytes
    await _put_parts(api, files, admin, ids, [1, 2], [big[:part], big[part:]])
    await api.fails(admin, "CompleteMaterialUpload", grpc.StatusCode.INVALID_ARGUMENT,
                    "material_size_mismatch", **ids)  # fmt: skip
    rows = owner_sql("SELECT status FROM learning.material_versions "
                     f"WHERE id = '{started.material.id}'").split()  # fmt: skip
    assert rows == ["failed"]
    current = owner_sql(f"SELECT current_material_id IS NULL FROM learning.items "
                        f"WHERE id = '{item.id}'").split()  # fmt: skip
    assert current == ["t"]


async def test_a_small_file_has_no_parts(api, admin):
    course, item = await _item(api, admin)
    started = await api(admin, "StartMaterialUpload", course_id=course.id, item_id=item.id,
                        filename="a.mp4", content_type="video/mp4", size_bytes=100)  # fmt: skip
    assert started.upload.put_url and not started.upload.upload_id
    await api.fails(admin, "GetMaterialPartUrls", grpc.StatusCode.FAILED_PRECONDITION,
                    "material_not_multipart", course_id=course.id, item_id=item.id,
                    material_id=started.material.id, part_numbers=[1])  # fmt: skip


async def test_an_aborted_multipart_upload_is_dropped(api, admin, big, learning_app, owner_sql):
    course, item = await _item(api, admin)
    started = await api(admin, "StartMaterialUpload", course_id=course.id, item_id=item.id,
                        filename="long.mp4", content_type="video/mp4", size_bytes=len(big))  # fmt: skip
    ids = dict(course_id=course.id, item_id=item.id, material_id=started.material.id)
    aborted = await api(admin, "AbortMaterialUpload", **ids)
    assert aborted.material.status == pb.COURSE_MATERIAL_STATUS_FAILED
    key = owner_sql("SELECT object_key FROM learning.material_versions "
                    f"WHERE id = '{started.material.id}'").strip()  # fmt: skip
    with pytest.raises(UploadNotFound):  # the store dropped it with its parts
        await learning_app.store.list_parts(key, started.upload.upload_id)
