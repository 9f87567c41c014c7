"""A study material through the learning service on a real S3 API (moto's server): a multipart
upload interrupted and resumed through presigned part URLs, the checksum recorded, then a
presigned download read with a Range header — the path production takes with MinIO."""

from __future__ import annotations

import hashlib
import os
import uuid

import grpc
import httpx
import pytest
from hongyun.learning.v1 import learning_courses_pb2 as cpb
from hongyun.learning.v1 import learning_courses_pb2_grpc
from hongyun_platform.grpc.context import ROLE_TENANT_ADMIN, CallerContext
from learning_service.app import build_app

pytestmark = pytest.mark.integration

PART = 5 * 1024 * 1024  # S3's smallest part


@pytest.fixture
async def s3_learning(learning_settings_fx, s3_storage):
    settings = learning_settings_fx.model_copy(update={"material_part_bytes": PART})
    app = await build_app(settings, object_store=s3_storage)
    await app.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
            yield learning_courses_pb2_grpc.CourseServiceStub(channel)
    finally:
        await app.stop()


async def test_a_video_resumes_its_upload_and_streams_by_range_from_s3(s3_learning):
    stub = s3_learning
    md = CallerContext("author", uuid.uuid4(), frozenset({ROLE_TENANT_ADMIN})).to_metadata()
    course = (
        await stub.CreateCourse(cpb.CreateCourseRequest(title="党史学习"), metadata=md)
    ).course
    chapter = (await stub.CreateChapter(cpb.CreateChapterRequest(
        course_id=course.id, title="第一章"), metadata=md)).chapter  # fmt: skip
    item = (await stub.CreateItem(cpb.CreateItemRequest(
        course_id=course.id, chapter_id=chapter.id, kind=cpb.COURSE_ITEM_KIND_VIDEO,
        title="讲座", length=600), metadata=md)).item  # fmt: skip
    body = os.urandom(2 * PART + 1234)
    started = await stub.StartMaterialUpload(cpb.StartMaterialUploadRequest(
        course_id=course.id, item_id=item.id, filename="lecture.mp4", content_type="video/mp4",
        size_bytes=len(body), sha256=hashlib.sha256(body).hexdigest()), metadata=md)  # fmt: skip
    plan, material = started.upload, started.material
    assert plan.upload_id and plan.part_count == 3 and not plan.put_url
    ids = dict(course_id=course.id, item_id=item.id, material_id=material.id)
    urls = {u.part_number: u.url for u in (await stub.GetMaterialPartUrls(
        cpb.GetMaterialPartUrlsRequest(**ids, part_numbers=[1, 2, 3]), metadata=md)).urls}  # fmt: skip

    def part(n: int) -> bytes:
        return body[(n - 1) * PART : n * PART]

    async with httpx.AsyncClient(timeout=60) as http:
        for n in (1, 3):  # the connection drops before part 2
            assert (await http.put(urls[n], content=part(n))).status_code == 200
        have = await stub.ListMaterialParts(cpb.ListMaterialPartsRequest(**ids), metadata=md)
        assert sorted(p.part_number for p in have.parts) == [1, 3]
        assert (await http.put(urls[2], content=part(2))).status_code == 200
        done = await stub.CompleteMaterialUpload(
            cpb.CompleteMaterialUploadRequest(**ids), metadata=md
        )
        assert done.material.status == cpb.COURSE_MATERIAL_STATUS_READY
        assert done.material.sha256 == hashlib.sha256(body).hexdigest()
        assert done.material.size_bytes == len(body)

        url = (await stub.GetMaterialDownloadUrl(cpb.GetMaterialDownloadUrlRequest(
            course_id=course.id, item_id=item.id), metadata=md)).url  # fmt: skip
        start = PART - 10
        r = await http.get(url, headers={"Range": f"bytes={start}-{start + 99}"})
        assert r.status_code == 206 and r.content == body[start : start + 100]
