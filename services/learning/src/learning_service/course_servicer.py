"""gRPC transport of CourseService (docs/adr/0018): proto in, use case in one unit of work, proto
out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from hongyun.learning.v1 import learning_courses_pb2 as pb
from hongyun.learning.v1 import learning_courses_pb2_grpc
from hongyun_platform.db import Database
from hongyun_platform.db.caller_uow import caller_unit_of_work
from hongyun_platform.grpc.context import CallerContext, current_caller

from learning_service.course_events import AUDIENCE_PB, SHARE_PB, audience_pb
from learning_service.course_models import Checkpoint, Course, MaterialVersion
from learning_service.course_repository import CatalogueRow
from learning_service.course_service import ChapterView, Courses, ItemView

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["CourseService"].full_name
STATUS_PB = {
    "draft": pb.COURSE_STATUS_DRAFT,
    "in_review": pb.COURSE_STATUS_IN_REVIEW,
    "published": pb.COURSE_STATUS_PUBLISHED,
    "archived": pb.COURSE_STATUS_ARCHIVED,
}
ITEM_KIND_PB = {
    "video": pb.COURSE_ITEM_KIND_VIDEO,
    "audio": pb.COURSE_ITEM_KIND_AUDIO,
    "document": pb.COURSE_ITEM_KIND_DOCUMENT,
    "rich_text": pb.COURSE_ITEM_KIND_RICH_TEXT,
    "link": pb.COURSE_ITEM_KIND_LINK,
}
MATERIAL_STATUS_PB = {
    "uploading": pb.COURSE_MATERIAL_STATUS_UPLOADING,
    "ready": pb.COURSE_MATERIAL_STATUS_READY,
    "failed": pb.COURSE_MATERIAL_STATUS_FAILED,
}
CHECKPOINT_KIND_PB = {
    "single": pb.COURSE_CHECKPOINT_KIND_SINGLE,
    "multiple": pb.COURSE_CHECKPOINT_KIND_MULTIPLE,
    "true_false": pb.COURSE_CHECKPOINT_KIND_TRUE_FALSE,
}
ASSIGNMENT = {
    pb.CATALOGUE_ASSIGNMENT_REQUIRED: "required",
    pb.CATALOGUE_ASSIGNMENT_OPTIONAL: "optional",
}


def _from_pb(mapping: dict[str, int], value: int) -> str:
    """Proto enum → stored string; unspecified or unknown → "" (the use case refuses it)."""
    for k, v in mapping.items():
        if v == value:
            return k
    return ""


def _ts(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def course_pb(c: Course) -> pb.Course:
    return pb.Course(
        id=str(c.id), tenant_id=str(c.tenant_id), title=c.title, summary=c.summary,
        tags=list(c.tags), status=STATUS_PB[c.status], version=c.version,
        shared_down=SHARE_PB[c.shared_down], class_hours_hundredths=c.class_hours_hundredths,
        created_by=c.created_by, submitted_by=c.submitted_by, reviewed_by=c.reviewed_by,
        review_note=c.review_note, published_at=_ts(c.published_at),
        created_at=_ts(c.created_at), updated_at=_ts(c.updated_at),
    )  # fmt: skip


def material_pb(m: MaterialVersion) -> pb.CourseMaterial:
    return pb.CourseMaterial(
        id=str(m.id), item_id=str(m.item_id), version=m.version, filename=m.filename,
        content_type=m.content_type, size_bytes=m.size_bytes, sha256=m.sha256,
        status=MATERIAL_STATUS_PB[m.status], length=m.length, multipart=bool(m.upload_id),
        created_by=m.created_by, created_at=_ts(m.created_at), completed_at=_ts(m.completed_at),
    )  # fmt: skip


def checkpoint_pb(c: Checkpoint) -> pb.CourseCheckpoint:
    return pb.CourseCheckpoint(
        id=str(c.id), item_id=str(c.item_id), position=c.position,
        kind=CHECKPOINT_KIND_PB[c.kind], prompt=c.prompt, options=list(c.options),
        answer=list(c.answer), explanation=c.explanation,
    )  # fmt: skip


def item_pb(v: ItemView) -> pb.CourseItem:
    i = v.item
    msg = pb.CourseItem(
        id=str(i.id), chapter_id=str(i.chapter_id), position=i.position,
        kind=ITEM_KIND_PB[i.kind], title=i.title, body=i.body, url=i.url, length=i.length,
        required=i.required, checkpoints=[checkpoint_pb(c) for c in v.checkpoints],
    )  # fmt: skip
    if v.material is not None:
        msg.current_material.CopyFrom(material_pb(v.material))
    return msg


def chapter_pb(v: ChapterView) -> pb.CourseChapter:
    c = v.chapter
    return pb.CourseChapter(
        id=str(c.id), course_id=str(c.course_id), position=c.position, title=c.title,
        items=[item_pb(i) for i in v.items],
    )  # fmt: skip


def entry_pb(r: CatalogueRow) -> pb.CatalogueEntry:
    c = r.course
    return pb.CatalogueEntry(
        course_id=str(c.id), owner_tenant_id=str(c.tenant_id), title=c.title, summary=c.summary,
        tags=list(c.tags), version=c.version, class_hours_hundredths=c.class_hours_hundredths,
        required=r.required, due_on=r.due_on.isoformat() if r.due_on else "",
        shared_from_ancestor=r.shared_from_ancestor, published_at=_ts(c.published_at),
    )  # fmt: skip


def learner_chapter_pb(v: ChapterView) -> pb.LearnerChapter:
    """Checkpoints without answers or explanations: those are checked by the progress area."""
    items = []
    for iv in v.items:
        i, m = iv.item, iv.material
        items.append(pb.LearnerItem(
            id=str(i.id), position=i.position, kind=ITEM_KIND_PB[i.kind], title=i.title,
            body=i.body, url=i.url, length=i.length, required=i.required,
            material_version=m.version if m else 0, content_type=m.content_type if m else "",
            size_bytes=m.size_bytes if m else 0,
            checkpoints=[
                pb.LearnerCheckpoint(id=str(c.id), position=c.position,
                                     kind=CHECKPOINT_KIND_PB[c.kind], prompt=c.prompt,
                                     options=list(c.options))
                for c in iv.checkpoints
            ],
        ))  # fmt: skip
    c = v.chapter
    return pb.LearnerChapter(id=str(c.id), position=c.position, title=c.title, items=items)


def _audience_dict(a: pb.CourseAudience) -> dict[str, Any]:
    return dict(
        kind=_from_pb(AUDIENCE_PB, a.kind), org_id=a.org_id, role=a.role,
        learner_id=a.learner_id, required=a.required, due_on=a.due_on,
    )  # fmt: skip


class CourseServicer(learning_courses_pb2_grpc.CourseServiceServicer):
    def __init__(self, db: Database, courses: Courses, *, after_commit: Callable[[], None]):
        self.db = db
        self.courses = courses
        self.after_commit = after_commit  # wakes the outbox relay

    def _uow(self, caller: CallerContext, *, writes: bool = True):
        return caller_unit_of_work(self.db, caller, self.after_commit, writes=writes)

    # ---- authoring ----

    async def CreateCourse(
        self, request: pb.CreateCourseRequest, context
    ) -> pb.CreateCourseResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            course = await self.courses.create_course(
                uow, caller, title=request.title, summary=request.summary,
                tags=list(request.tags), class_hours_hundredths=request.class_hours_hundredths,
            )  # fmt: skip
            return pb.CreateCourseResponse(course=course_pb(course))

    async def UpdateCourse(
        self, request: pb.UpdateCourseRequest, context
    ) -> pb.UpdateCourseResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            course = await self.courses.update_course(
                uow, caller, course_id=request.course_id,
                title=request.title if request.HasField("title") else None,
                summary=request.summary if request.HasField("summary") else None,
                tags=list(request.tags.tags) if request.HasField("tags") else None,
                class_hours_hundredths=request.class_hours_hundredths
                if request.HasField("class_hours_hundredths") else None,
            )  # fmt: skip
            return pb.UpdateCourseResponse(course=course_pb(course))

    async def GetCourse(self, request: pb.GetCourseRequest, context) -> pb.GetCourseResponse:
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            view = await self.courses.get_course(uow, caller, request.course_id)
            return pb.GetCourseResponse(
                course=course_pb(view.course), chapters=[chapter_pb(c) for c in view.chapters],
                audiences=[audience_pb(a) for a in view.audiences],
            )  # fmt: skip

    async def ListCourses(self, request: pb.ListCoursesRequest, context) -> pb.ListCoursesResponse:
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            page = await self.courses.list_courses(
                uow, caller, status=_from_pb(STATUS_PB, request.status), query=request.query,
                tag=request.tag, page_size=request.page_size, page_token=request.page_token,
            )  # fmt: skip
            return pb.ListCoursesResponse(
                courses=[course_pb(c) for c in page.items], next_page_token=page.next_token
            )

    async def CreateChapter(
        self, request: pb.CreateChapterRequest, context
    ) -> pb.CreateChapterResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            view = await self.courses.create_chapter(
                uow, caller, course_id=request.course_id, title=request.title,
                position=request.position,
            )  # fmt: skip
            return pb.CreateChapterResponse(chapter=chapter_pb(view))

    async def UpdateChapter(
        self, request: pb.UpdateChapterRequest, context
    ) -> pb.UpdateChapterResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            view = await self.courses.update_chapter(
                uow, caller, course_id=request.course_id, chapter_id=request.chapter_id,
                title=request.title,
            )  # fmt: skip
            return pb.UpdateChapterResponse(chapter=chapter_pb(view))

    async def DeleteChapter(
        self, request: pb.DeleteChapterRequest, context
    ) -> pb.DeleteChapterResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            await self.courses.delete_chapter(
                uow, caller, course_id=request.course_id, chapter_id=request.chapter_id
            )
        return pb.DeleteChapterResponse()

    async def ReorderChapters(
        self, request: pb.ReorderChaptersRequest, context
    ) -> pb.ReorderChaptersResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            views = await self.courses.reorder_chapters(
                uow, caller, course_id=request.course_id, chapter_ids=list(request.chapter_ids)
            )
            return pb.ReorderChaptersResponse(chapters=[chapter_pb(v) for v in views])

    async def CreateItem(self, request: pb.CreateItemRequest, context) -> pb.CreateItemResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            view = await self.courses.create_item(
                uow, caller, course_id=request.course_id, chapter_id=request.chapter_id,
                kind=_from_pb(ITEM_KIND_PB, request.kind), title=request.title,
                body=request.body, url=request.url, length=request.length,
                required=not request.not_required, position=request.position,
            )  # fmt: skip
            return pb.CreateItemResponse(item=item_pb(view))

    async def UpdateItem(self, request: pb.UpdateItemRequest, context) -> pb.UpdateItemResponse:
        caller = current_caller()

        def opt(name: str) -> Any:
            return getattr(request, name) if request.HasField(name) else None

        async with self._uow(caller) as uow:
            view = await self.courses.update_item(
                uow, caller, course_id=request.course_id, item_id=request.item_id,
                title=opt("title"), body=opt("body"), url=opt("url"), length=opt("length"),
                required=opt("required"),
            )  # fmt: skip
            return pb.UpdateItemResponse(item=item_pb(view))

    async def DeleteItem(self, request: pb.DeleteItemRequest, context) -> pb.DeleteItemResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            await self.courses.delete_item(
                uow, caller, course_id=request.course_id, item_id=request.item_id
            )
        return pb.DeleteItemResponse()

    async def ReorderItems(
        self, request: pb.ReorderItemsRequest, context
    ) -> pb.ReorderItemsResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            views = await self.courses.reorder_items(
                uow, caller, course_id=request.course_id, chapter_id=request.chapter_id,
                item_ids=list(request.item_ids),
            )  # fmt: skip
            return pb.ReorderItemsResponse(chapters=[chapter_pb(v) for v in views])

    async def CreateCheckpoint(
        self, request: pb.CreateCheckpointRequest, context
    ) -> pb.CreateCheckpointResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            cp = await self.courses.create_checkpoint(
                uow, caller, course_id=request.course_id, item_id=request.item_id,
                position=request.position, kind=_from_pb(CHECKPOINT_KIND_PB, request.kind),
                prompt=request.prompt, options=list(request.options), answer=list(request.answer),
                explanation=request.explanation,
            )  # fmt: skip
            return pb.CreateCheckpointResponse(checkpoint=checkpoint_pb(cp))

    async def UpdateCheckpoint(
        self, request: pb.UpdateCheckpointRequest, context
    ) -> pb.UpdateCheckpointResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            cp = await self.courses.update_checkpoint(
                uow, caller, course_id=request.course_id, item_id=request.item_id,
                checkpoint_id=request.checkpoint_id, position=request.position,
                kind=_from_pb(CHECKPOINT_KIND_PB, request.kind), prompt=request.prompt,
                options=list(request.options), answer=list(request.answer),
                explanation=request.explanation,
            )  # fmt: skip
            return pb.UpdateCheckpointResponse(checkpoint=checkpoint_pb(cp))

    async def DeleteCheckpoint(
        self, request: pb.DeleteCheckpointRequest, context
    ) -> pb.DeleteCheckpointResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            await self.courses.delete_checkpoint(
                uow, caller, course_id=request.course_id, item_id=request.item_id,
                checkpoint_id=request.checkpoint_id,
            )  # fmt: skip
        return pb.DeleteCheckpointResponse()

    # ---- materials ----

    async def StartMaterialUpload(
        self, request: pb.StartMaterialUploadRequest, context
    ) -> pb.StartMaterialUploadResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            started = await self.courses.start_upload(
                uow, caller, course_id=request.course_id, item_id=request.item_id,
                filename=request.filename, content_type=request.content_type,
                size_bytes=request.size_bytes, sha256=request.sha256,
            )  # fmt: skip
            plan = pb.MaterialUploadPlan(
                put_url=started.put_url, upload_id=started.material.upload_id,
                part_bytes=started.plan.part_bytes, part_count=started.plan.part_count,
                expires_at=_ts(started.expires_at),
            )  # fmt: skip
            return pb.StartMaterialUploadResponse(
                material=material_pb(started.material), upload=plan
            )

    async def GetMaterialPartUrls(
        self, request: pb.GetMaterialPartUrlsRequest, context
    ) -> pb.GetMaterialPartUrlsResponse:
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            urls, expires = await self.courses.part_urls(
                uow, caller, course_id=request.course_id, item_id=request.item_id,
                material_id=request.material_id, numbers=list(request.part_numbers),
            )  # fmt: skip
            return pb.GetMaterialPartUrlsResponse(
                urls=[pb.MaterialPartUrl(part_number=n, url=u) for n, u in urls],
                expires_at=_ts(expires),
            )

    async def ListMaterialParts(
        self, request: pb.ListMaterialPartsRequest, context
    ) -> pb.ListMaterialPartsResponse:
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            parts, material = await self.courses.list_parts(
                uow, caller, course_id=request.course_id, item_id=request.item_id,
                material_id=request.material_id,
            )  # fmt: skip
            count = -(-material.size_bytes // material.part_bytes) if material.part_bytes else 0
            return pb.ListMaterialPartsResponse(
                parts=[
                    pb.MaterialPart(part_number=p.number, size_bytes=p.size, etag=p.etag)
                    for p in parts
                ],
                part_count=count,
                part_bytes=material.part_bytes,
            )

    async def CompleteMaterialUpload(
        self, request: pb.CompleteMaterialUploadRequest, context
    ) -> pb.CompleteMaterialUploadResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            done = await self.courses.complete_upload(
                uow, caller, course_id=request.course_id, item_id=request.item_id,
                material_id=request.material_id, length=request.length,
            )  # fmt: skip
            response = pb.CompleteMaterialUploadResponse(
                material=material_pb(done.material), item=item_pb(done.item)
            )
        if done.error is not None:
            raise done.error  # after the commit: the refused version stays recorded as failed
        return response

    async def AbortMaterialUpload(
        self, request: pb.AbortMaterialUploadRequest, context
    ) -> pb.AbortMaterialUploadResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            material = await self.courses.abort_upload(
                uow, caller, course_id=request.course_id, item_id=request.item_id,
                material_id=request.material_id,
            )  # fmt: skip
            return pb.AbortMaterialUploadResponse(material=material_pb(material))

    async def ListMaterialVersions(
        self, request: pb.ListMaterialVersionsRequest, context
    ) -> pb.ListMaterialVersionsResponse:
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            materials = await self.courses.material_versions(
                uow, caller, course_id=request.course_id, item_id=request.item_id
            )
            return pb.ListMaterialVersionsResponse(materials=[material_pb(m) for m in materials])

    async def GetMaterialDownloadUrl(
        self, request: pb.GetMaterialDownloadUrlRequest, context
    ) -> pb.GetMaterialDownloadUrlResponse:
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            link = await self.courses.download_url(
                uow, caller, course_id=request.course_id, item_id=request.item_id,
                version=request.version,
            )  # fmt: skip
            return pb.GetMaterialDownloadUrlResponse(
                url=link.url, expires_at=_ts(link.expires_at), material=material_pb(link.material)
            )

    # ---- review and publishing ----

    async def SubmitCourse(
        self, request: pb.SubmitCourseRequest, context
    ) -> pb.SubmitCourseResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            course = await self.courses.submit(uow, caller, request.course_id)
            return pb.SubmitCourseResponse(course=course_pb(course))

    async def ApproveCourse(
        self, request: pb.ApproveCourseRequest, context
    ) -> pb.ApproveCourseResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            course = await self.courses.approve(uow, caller, request.course_id)
            return pb.ApproveCourseResponse(course=course_pb(course))

    async def RejectCourse(
        self, request: pb.RejectCourseRequest, context
    ) -> pb.RejectCourseResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            course = await self.courses.reject(uow, caller, request.course_id, request.note)
            return pb.RejectCourseResponse(course=course_pb(course))

    async def ArchiveCourse(
        self, request: pb.ArchiveCourseRequest, context
    ) -> pb.ArchiveCourseResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            course = await self.courses.archive(uow, caller, request.course_id)
            return pb.ArchiveCourseResponse(course=course_pb(course))

    async def ReviseCourse(
        self, request: pb.ReviseCourseRequest, context
    ) -> pb.ReviseCourseResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            course = await self.courses.revise(uow, caller, request.course_id)
            return pb.ReviseCourseResponse(course=course_pb(course))

    async def SetCourseAudiences(
        self, request: pb.SetCourseAudiencesRequest, context
    ) -> pb.SetCourseAudiencesResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            rows = await self.courses.set_audiences(
                uow, caller, course_id=request.course_id,
                audiences=[_audience_dict(a) for a in request.audiences],
            )  # fmt: skip
            return pb.SetCourseAudiencesResponse(audiences=[audience_pb(a) for a in rows])

    async def SetCourseSharing(
        self, request: pb.SetCourseSharingRequest, context
    ) -> pb.SetCourseSharingResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            course = await self.courses.set_sharing(
                uow, caller, course_id=request.course_id,
                shared_down=_from_pb(SHARE_PB, request.shared_down),
            )  # fmt: skip
            return pb.SetCourseSharingResponse(course=course_pb(course))

    # ---- learners ----

    async def ListCatalogueEntries(
        self, request: pb.ListCatalogueEntriesRequest, context
    ) -> pb.ListCatalogueEntriesResponse:
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            page = await self.courses.catalogue(
                uow, caller, assignment=ASSIGNMENT.get(request.assignment, ""),
                query=request.query, tag=request.tag, page_size=request.page_size,
                page_token=request.page_token,
            )  # fmt: skip
            return pb.ListCatalogueEntriesResponse(
                entries=[entry_pb(r) for r in page.items], next_page_token=page.next_token
            )

    async def GetLearnerCourse(
        self, request: pb.GetLearnerCourseRequest, context
    ) -> pb.GetLearnerCourseResponse:
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            view = await self.courses.learner_course(uow, caller, request.course_id)
            return pb.GetLearnerCourseResponse(
                course=entry_pb(view.entry),
                chapters=[learner_chapter_pb(c) for c in view.chapters],
            )
