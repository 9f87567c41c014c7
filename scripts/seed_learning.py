"""Seeds the demo tenant's learning content through the learning service's gRPC API (idempotent):
one published course for the whole tenant — a short document with a checkpoint question and a
rich-text summary — written by the demo secretary and approved by the demo admin (two-person
rule). Runs once the gateway serves /files, where the document's upload URL points."""

from __future__ import annotations

import hashlib
import io
import uuid

import grpc
import httpx
from hongyun.learning.v1 import learning_courses_pb2 as cpb
from hongyun.learning.v1 import learning_courses_pb2_grpc
from hongyun_platform.grpc.context import ROLE_SECRETARY, ROLE_TENANT_ADMIN, CallerContext

COURSE_TITLE = "学习贯彻党的二十大精神"
PAGES = (
    "学习贯彻党的二十大精神",
    "第一部分：过去五年的工作和新时代十年的伟大变革",
    "第二部分：开辟马克思主义中国化时代化新境界",
)
SUMMARY_HTML = (
    "<h2>学习要点</h2><p>党的二十大于 2022 年 10 月在北京召开。</p>"
    "<ul><li>全面建设社会主义现代化国家</li><li>全面从严治党</li></ul>"
)


def lecture_pdf() -> bytes:
    """A three-page PDF in Chinese (reportlab's built-in CID font, no font files needed)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A4, invariant=True)
    for text in PAGES:
        c.setFont("STSong-Light", 18)
        c.drawString(72, 760, text)
        c.showPage()
    c.save()
    return out.getvalue()


async def seed_learning(target: str, tenant_id: str, branch_id: str) -> str:
    """Returns the demo course id."""
    tenant = uuid.UUID(tenant_id)
    admin = CallerContext("seed", tenant, frozenset({ROLE_TENANT_ADMIN})).to_metadata()
    author = CallerContext(
        "seed-author", tenant, frozenset({ROLE_SECRETARY}), scope_org_id=uuid.UUID(branch_id)
    ).to_metadata()
    async with grpc.aio.insecure_channel(target) as channel:
        stub = learning_courses_pb2_grpc.CourseServiceStub(channel)
        existing = await stub.ListCourses(cpb.ListCoursesRequest(page_size=200), metadata=admin)
        for course in existing.courses:
            if course.title == COURSE_TITLE:
                return course.id
        course = (await stub.CreateCourse(cpb.CreateCourseRequest(
            title=COURSE_TITLE, summary="党员必学：二十大报告学习辅导", tags=["二十大", "理论学习"],
            class_hours_hundredths=100), metadata=author)).course  # fmt: skip
        chapter = (await stub.CreateChapter(cpb.CreateChapterRequest(
            course_id=course.id, title="第一讲 报告导读"), metadata=author)).chapter  # fmt: skip
        doc = (await stub.CreateItem(cpb.CreateItemRequest(
            course_id=course.id, chapter_id=chapter.id, kind=cpb.COURSE_ITEM_KIND_DOCUMENT,
            title="报告导读（PDF）", length=len(PAGES)), metadata=author)).item  # fmt: skip
        await stub.CreateCheckpoint(cpb.CreateCheckpointRequest(
            course_id=course.id, item_id=doc.id, position=1, kind=cpb.COURSE_CHECKPOINT_KIND_SINGLE,
            prompt="党的二十大在哪一年召开？", options=["2021 年", "2022 年", "2023 年"], answer=[1],
            explanation="2022 年 10 月 16 日至 22 日在北京召开。"), metadata=author)  # fmt: skip
        body = lecture_pdf()
        started = await stub.StartMaterialUpload(cpb.StartMaterialUploadRequest(
            course_id=course.id, item_id=doc.id, filename="二十大报告导读.pdf",
            content_type="application/pdf", size_bytes=len(body),
            sha256=hashlib.sha256(body).hexdigest()), metadata=author)  # fmt: skip
        async with httpx.AsyncClient(timeout=30) as http:
            r = await http.put(started.upload.put_url, content=body,
                               headers={"Content-Type": "application/pdf"})  # fmt: skip
            r.raise_for_status()
        await stub.CompleteMaterialUpload(cpb.CompleteMaterialUploadRequest(
            course_id=course.id, item_id=doc.id, material_id=started.material.id,
            length=len(PAGES)), metadata=author)  # fmt: skip
        await stub.CreateItem(cpb.CreateItemRequest(
            course_id=course.id, chapter_id=chapter.id, kind=cpb.COURSE_ITEM_KIND_RICH_TEXT,
            title="学习要点", body=SUMMARY_HTML), metadata=author)  # fmt: skip
        await stub.SetCourseAudiences(cpb.SetCourseAudiencesRequest(
            course_id=course.id, audiences=[cpb.CourseAudience(
                kind=cpb.COURSE_AUDIENCE_KIND_TENANT, required=True)]), metadata=admin)  # fmt: skip
        await stub.SubmitCourse(cpb.SubmitCourseRequest(course_id=course.id), metadata=author)
        await stub.ApproveCourse(cpb.ApproveCourseRequest(course_id=course.id), metadata=admin)
        return course.id
