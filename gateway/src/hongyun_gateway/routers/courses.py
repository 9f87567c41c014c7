"""/api/v1/courses and /api/v1/course-catalogue — 学习课程 Courses (docs/adr/0018).

Authoring (`/api/v1/courses`): tenant admins and secretaries of the tenant see every course of
the tenant, drafts included; a tenant admin edits any, a secretary the ones they created.
Content (the course, chapters, items, checkpoints, files) changes only while a course is a draft:
a published course is revised (`POST .../revise`) into a draft and submitted again; item ids
stay, so learners' progress stays. Review: submit (`in_review`), then another tenant admin
approves (published, version + 1) or rejects with a note — never the person who submitted it
(403 `course_review_by_submitter`).

Files go straight to the object store: `POST .../items/{item_id}/materials` answers a presigned
PUT URL (or a multipart upload for large files: part URLs, the parts the store has, resume),
then `POST .../complete` checks the size and sha256 (a mismatch fails that version, 422, and the
item keeps its current file). Every version stays.

Learners (`/api/v1/course-catalogue`): the published courses assigned to them (必学) or open to
them (选学), including courses shared down by ancestor tenants; Chinese search by words. A course
a learner may not open is 404, like one that does not exist.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status
from hongyun.learning.v1 import learning_courses_pb2 as pb
from hongyun.learning.v1 import learning_courses_pb2_grpc

from hongyun_gateway.auth import TenantCaller
from hongyun_gateway.pagination import PageParams, encode_cursor, page_params
from hongyun_gateway.private_responses import NO_STORE
from hongyun_gateway.problems import problem_responses
from hongyun_gateway.schemas.common import timestamp
from hongyun_gateway.schemas.courses import (
    Assignment,
    AudienceRead,
    AudiencesRead,
    AudiencesWrite,
    CatalogueEntryRead,
    CataloguePage,
    ChapterCreate,
    ChapterOrder,
    ChapterRead,
    ChaptersRead,
    ChapterUpdate,
    CheckpointRead,
    CheckpointWrite,
    CourseCreate,
    CourseDetailRead,
    CoursePage,
    CourseRead,
    CourseStatus,
    CourseUpdate,
    DownloadRead,
    ItemCreate,
    ItemOrder,
    ItemRead,
    ItemUpdate,
    LearnerCourseRead,
    MaterialCompleteWrite,
    MaterialRead,
    MaterialUploadWrite,
    PartRead,
    PartsRead,
    PartUrlRead,
    PartUrlsRead,
    PartUrlsWrite,
    RejectWrite,
    SharingWrite,
    UploadCompletedRead,
    UploadStartedRead,
    proto_enum,
)
from hongyun_gateway.state import Learning

router = APIRouter(tags=["学习课程 Courses"])
COURSES = "/api/v1/courses"
CATALOGUE = "/api/v1/course-catalogue"
_FILE_DEADLINE = 30.0  # store calls (multipart completion assembles the file)


def _stub(learning: Learning) -> learning_courses_pb2_grpc.CourseServiceStub:
    return learning_courses_pb2_grpc.CourseServiceStub(learning.channel)


# ---- courses ----


@router.post(
    COURSES,
    response_model=CourseRead,
    status_code=status.HTTP_201_CREATED,
    summary="新建课程 Create a draft course",
    description="Tenant admins and secretaries. Title ≤ 200, summary ≤ 2000, ≤ 20 tags of ≤ 20 "
    "characters, class hours 0–1000 (two decimals).",
    responses=problem_responses(401, 403, 422, 503),
)
async def create_course(body: CourseCreate, caller: TenantCaller, learning: Learning) -> CourseRead:
    resp = await learning.call(_stub(learning).CreateCourse, body.to_proto(), caller)
    return CourseRead.from_proto(resp.course)


@router.get(
    COURSES,
    response_model=CoursePage,
    summary="课程列表（编辑） The tenant's courses for authors",
    description="Newest first, drafts included; `q` searches the title, tags and summary by "
    "Chinese words (every word must match), `tag` is exact.",
    responses=problem_responses(401, 403, 422, 503),
)
async def list_courses(
    caller: TenantCaller,
    learning: Learning,
    page: Annotated[PageParams, Depends(page_params)],
    status_: Annotated[CourseStatus | None, Query(alias="status")] = None,
    q: Annotated[str, Query(max_length=100)] = "",
    tag: Annotated[str, Query(max_length=20)] = "",
) -> CoursePage:
    request = pb.ListCoursesRequest(
        status=proto_enum(pb.CourseStatus, "COURSE_STATUS_", status_) if status_ else 0,
        query=q, tag=tag, page_size=page.limit, page_token=page.page_token,
    )  # fmt: skip
    resp = await learning.call(_stub(learning).ListCourses, request, caller)
    return CoursePage(items=[CourseRead.from_proto(c) for c in resp.courses],
                      next_cursor=encode_cursor(resp.next_page_token))  # fmt: skip


@router.get(
    COURSES + "/{course_id}",
    response_model=CourseDetailRead,
    summary="课程详情（编辑） A course with its chapters, items, checkpoints and audiences",
    responses=problem_responses(401, 403, 404, 503),
)
async def get_course(
    course_id: uuid.UUID, caller: TenantCaller, learning: Learning
) -> CourseDetailRead:
    resp = await learning.call(
        _stub(learning).GetCourse, pb.GetCourseRequest(course_id=str(course_id)), caller
    )
    return CourseDetailRead.from_proto(resp)


@router.patch(
    COURSES + "/{course_id}",
    response_model=CourseRead,
    summary="修改课程 Change a draft's title, summary, tags or class hours",
    description="Only the fields sent change. Not a draft: 409 `course_not_editable`.",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def update_course(
    course_id: uuid.UUID, body: CourseUpdate, caller: TenantCaller, learning: Learning
) -> CourseRead:
    resp = await learning.call(_stub(learning).UpdateCourse, body.to_proto(course_id), caller)
    return CourseRead.from_proto(resp.course)


# ---- chapters and items ----


@router.post(
    COURSES + "/{course_id}/chapters",
    response_model=ChapterRead,
    status_code=status.HTTP_201_CREATED,
    summary="新建章节 Add a chapter",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def create_chapter(
    course_id: uuid.UUID, body: ChapterCreate, caller: TenantCaller, learning: Learning
) -> ChapterRead:
    request = pb.CreateChapterRequest(course_id=str(course_id), title=body.title,
                                      position=body.position)  # fmt: skip
    resp = await learning.call(_stub(learning).CreateChapter, request, caller)
    return ChapterRead.from_proto(resp.chapter)


@router.put(
    COURSES + "/{course_id}/chapter-order",
    response_model=ChaptersRead,
    summary="章节排序 Put the chapters in order",
    description="Every chapter of the course, each once (else 422 `chapter_order_invalid`).",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def reorder_chapters(
    course_id: uuid.UUID, body: ChapterOrder, caller: TenantCaller, learning: Learning
) -> ChaptersRead:
    request = pb.ReorderChaptersRequest(course_id=str(course_id),
                                        chapter_ids=[str(c) for c in body.chapter_ids])  # fmt: skip
    resp = await learning.call(_stub(learning).ReorderChapters, request, caller)
    return ChaptersRead(chapters=[ChapterRead.from_proto(c) for c in resp.chapters])


@router.patch(
    COURSES + "/{course_id}/chapters/{chapter_id}",
    response_model=ChapterRead,
    summary="修改章节 Rename a chapter",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def update_chapter(
    course_id: uuid.UUID, chapter_id: uuid.UUID, body: ChapterUpdate, caller: TenantCaller,
    learning: Learning,
) -> ChapterRead:  # fmt: skip
    request = pb.UpdateChapterRequest(course_id=str(course_id), chapter_id=str(chapter_id),
                                      title=body.title)  # fmt: skip
    resp = await learning.call(_stub(learning).UpdateChapter, request, caller)
    return ChapterRead.from_proto(resp.chapter)


@router.delete(
    COURSES + "/{course_id}/chapters/{chapter_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="删除章节 Delete a chapter with its items",
    responses=problem_responses(401, 403, 404, 409, 503),
)
async def delete_chapter(
    course_id: uuid.UUID, chapter_id: uuid.UUID, caller: TenantCaller, learning: Learning
) -> Response:
    request = pb.DeleteChapterRequest(course_id=str(course_id), chapter_id=str(chapter_id))
    await learning.call(_stub(learning).DeleteChapter, request, caller)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    COURSES + "/{course_id}/chapters/{chapter_id}/items",
    response_model=ItemRead,
    status_code=status.HTTP_201_CREATED,
    summary="新建条目 Add an item (video, audio, document, rich text or link)",
    description="Rich text is sanitised (scripts, event handlers and unknown tags removed); a "
    "link must be http(s) (422 `item_url_invalid`). Video, audio and document items get their "
    "file through .../materials.",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def create_item(
    course_id: uuid.UUID, chapter_id: uuid.UUID, body: ItemCreate, caller: TenantCaller,
    learning: Learning,
) -> ItemRead:  # fmt: skip
    resp = await learning.call(
        _stub(learning).CreateItem, body.to_proto(course_id, chapter_id), caller
    )
    return ItemRead.from_proto(resp.item)


@router.put(
    COURSES + "/{course_id}/chapters/{chapter_id}/item-order",
    response_model=ChaptersRead,
    summary="条目排序 Put a chapter's items in order (or move items into it)",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def reorder_items(
    course_id: uuid.UUID, chapter_id: uuid.UUID, body: ItemOrder, caller: TenantCaller,
    learning: Learning,
) -> ChaptersRead:  # fmt: skip
    request = pb.ReorderItemsRequest(course_id=str(course_id), chapter_id=str(chapter_id),
                                     item_ids=[str(i) for i in body.item_ids])  # fmt: skip
    resp = await learning.call(_stub(learning).ReorderItems, request, caller)
    return ChaptersRead(chapters=[ChapterRead.from_proto(c) for c in resp.chapters])


@router.patch(
    COURSES + "/{course_id}/items/{item_id}",
    response_model=ItemRead,
    summary="修改条目 Change an item",
    description="A length shorter than a checkpoint's position: 422 "
    "`item_length_below_checkpoint`.",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def update_item(
    course_id: uuid.UUID, item_id: uuid.UUID, body: ItemUpdate, caller: TenantCaller,
    learning: Learning,
) -> ItemRead:  # fmt: skip
    resp = await learning.call(_stub(learning).UpdateItem, body.to_proto(course_id, item_id),
                               caller)  # fmt: skip
    return ItemRead.from_proto(resp.item)


@router.delete(
    COURSES + "/{course_id}/items/{item_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="删除条目 Delete an item",
    responses=problem_responses(401, 403, 404, 409, 503),
)
async def delete_item(
    course_id: uuid.UUID, item_id: uuid.UUID, caller: TenantCaller, learning: Learning
) -> Response:
    request = pb.DeleteItemRequest(course_id=str(course_id), item_id=str(item_id))
    await learning.call(_stub(learning).DeleteItem, request, caller)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ---- checkpoints ----


@router.post(
    COURSES + "/{course_id}/items/{item_id}/checkpoints",
    response_model=CheckpointRead,
    status_code=status.HTTP_201_CREATED,
    summary="新建检查点 Embed a question in a video, audio or document item",
    description="`position` within the item's length (seconds or page); single and true/false "
    "questions have one answer, true/false exactly two options.",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def create_checkpoint(
    course_id: uuid.UUID, item_id: uuid.UUID, body: CheckpointWrite, caller: TenantCaller,
    learning: Learning,
) -> CheckpointRead:  # fmt: skip
    request = pb.CreateCheckpointRequest(course_id=str(course_id), item_id=str(item_id),
                                         **body.fields())  # fmt: skip
    resp = await learning.call(_stub(learning).CreateCheckpoint, request, caller)
    return CheckpointRead.from_proto(resp.checkpoint)


@router.put(
    COURSES + "/{course_id}/items/{item_id}/checkpoints/{checkpoint_id}",
    response_model=CheckpointRead,
    summary="修改检查点 Replace a checkpoint",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def update_checkpoint(
    course_id: uuid.UUID, item_id: uuid.UUID, checkpoint_id: uuid.UUID, body: CheckpointWrite,
    caller: TenantCaller, learning: Learning,
) -> CheckpointRead:  # fmt: skip
    request = pb.UpdateCheckpointRequest(course_id=str(course_id), item_id=str(item_id),
                                         checkpoint_id=str(checkpoint_id), **body.fields())  # fmt: skip
    resp = await learning.call(_stub(learning).UpdateCheckpoint, request, caller)
    return CheckpointRead.from_proto(resp.checkpoint)


@router.delete(
    COURSES + "/{course_id}/items/{item_id}/checkpoints/{checkpoint_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="删除检查点 Delete a checkpoint",
    responses=problem_responses(401, 403, 404, 409, 503),
)
async def delete_checkpoint(
    course_id: uuid.UUID, item_id: uuid.UUID, checkpoint_id: uuid.UUID, caller: TenantCaller,
    learning: Learning,
) -> Response:  # fmt: skip
    request = pb.DeleteCheckpointRequest(course_id=str(course_id), item_id=str(item_id),
                                         checkpoint_id=str(checkpoint_id))  # fmt: skip
    await learning.call(_stub(learning).DeleteCheckpoint, request, caller)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ---- materials ----

MATERIALS = COURSES + "/{course_id}/items/{item_id}/materials"


@router.post(
    MATERIALS,
    response_model=UploadStartedRead,
    status_code=status.HTTP_201_CREATED,
    summary="上传文件 Start uploading a new version of an item's file",
    description="The content type must fit the item (video: mp4/webm/ogg/quicktime; audio: "
    "mpeg/mp4/aac/ogg/webm/wav/flac; document: PDF and Office/ODF; else 422 "
    "`material_type_not_allowed`), the size the service's limit (422 `material_too_large`).",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def start_upload(
    course_id: uuid.UUID, item_id: uuid.UUID, body: MaterialUploadWrite, caller: TenantCaller,
    learning: Learning, response: Response,
) -> UploadStartedRead:  # fmt: skip
    resp = await learning.call(_stub(learning).StartMaterialUpload,
                               body.to_proto(course_id, item_id), caller,
                               deadline=_FILE_DEADLINE)  # fmt: skip
    response.headers.update(NO_STORE)  # signed URLs
    return UploadStartedRead.from_proto(resp)


@router.get(
    MATERIALS,
    response_model=list[MaterialRead],
    summary="文件版本 Every version of an item's file, newest first",
    responses=problem_responses(401, 403, 404, 503),
)
async def list_materials(
    course_id: uuid.UUID, item_id: uuid.UUID, caller: TenantCaller, learning: Learning
) -> list[MaterialRead]:
    request = pb.ListMaterialVersionsRequest(course_id=str(course_id), item_id=str(item_id))
    resp = await learning.call(_stub(learning).ListMaterialVersions, request, caller)
    return [MaterialRead.from_proto(m) for m in resp.materials]


@router.post(
    MATERIALS + "/{material_id}/part-urls",
    response_model=PartUrlsRead,
    summary="分片上传地址 Presigned URLs for parts of a multipart upload",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def part_urls(
    course_id: uuid.UUID, item_id: uuid.UUID, material_id: uuid.UUID, body: PartUrlsWrite,
    caller: TenantCaller, learning: Learning, response: Response,
) -> PartUrlsRead:  # fmt: skip
    request = pb.GetMaterialPartUrlsRequest(course_id=str(course_id), item_id=str(item_id),
                                            material_id=str(material_id),
                                            part_numbers=body.part_numbers)  # fmt: skip
    resp = await learning.call(_stub(learning).GetMaterialPartUrls, request, caller,
                               deadline=_FILE_DEADLINE)  # fmt: skip
    response.headers.update(NO_STORE)
    return PartUrlsRead(urls=[PartUrlRead(part_number=u.part_number, url=u.url) for u in resp.urls],
                        expires_at=timestamp(resp, "expires_at"))  # fmt: skip


@router.get(
    MATERIALS + "/{material_id}/parts",
    response_model=PartsRead,
    summary="已上传分片 The parts the store already has (resume)",
    responses=problem_responses(401, 403, 404, 409, 503),
)
async def list_parts(
    course_id: uuid.UUID, item_id: uuid.UUID, material_id: uuid.UUID, caller: TenantCaller,
    learning: Learning,
) -> PartsRead:  # fmt: skip
    request = pb.ListMaterialPartsRequest(course_id=str(course_id), item_id=str(item_id),
                                          material_id=str(material_id))  # fmt: skip
    resp = await learning.call(_stub(learning).ListMaterialParts, request, caller,
                               deadline=_FILE_DEADLINE)  # fmt: skip
    return PartsRead(
        parts=[PartRead(part_number=p.part_number, size_bytes=p.size_bytes, etag=p.etag)
               for p in resp.parts],
        part_count=resp.part_count, part_bytes=resp.part_bytes,
    )  # fmt: skip


@router.post(
    MATERIALS + "/{material_id}/complete",
    response_model=UploadCompletedRead,
    summary="完成上传 Check the uploaded file and make it the item's content",
    description="Not uploaded yet: 409 `material_not_uploaded` (retry later); parts missing: "
    "409 `material_parts_missing`. A size or sha256 different from the declared one fails this "
    "version (422 `material_size_mismatch` / `material_sha256_mismatch`) and the item keeps its "
    "current file.",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def complete_upload(
    course_id: uuid.UUID, item_id: uuid.UUID, material_id: uuid.UUID, caller: TenantCaller,
    learning: Learning, body: MaterialCompleteWrite | None = None,
) -> UploadCompletedRead:  # fmt: skip
    request = pb.CompleteMaterialUploadRequest(
        course_id=str(course_id), item_id=str(item_id), material_id=str(material_id),
        length=body.length if body else 0,
    )  # fmt: skip
    resp = await learning.call(_stub(learning).CompleteMaterialUpload, request, caller,
                               deadline=_FILE_DEADLINE)  # fmt: skip
    return UploadCompletedRead(material=MaterialRead.from_proto(resp.material),
                               item=ItemRead.from_proto(resp.item))  # fmt: skip


@router.post(
    MATERIALS + "/{material_id}/abort",
    response_model=MaterialRead,
    summary="放弃上传 Abort an upload",
    responses=problem_responses(401, 403, 404, 409, 503),
)
async def abort_upload(
    course_id: uuid.UUID, item_id: uuid.UUID, material_id: uuid.UUID, caller: TenantCaller,
    learning: Learning,
) -> MaterialRead:  # fmt: skip
    request = pb.AbortMaterialUploadRequest(course_id=str(course_id), item_id=str(item_id),
                                            material_id=str(material_id))  # fmt: skip
    resp = await learning.call(_stub(learning).AbortMaterialUpload, request, caller,
                               deadline=_FILE_DEADLINE)  # fmt: skip
    return MaterialRead.from_proto(resp.material)


@router.get(
    COURSES + "/{course_id}/items/{item_id}/download",
    response_model=DownloadRead,
    summary="下载/播放地址 A short-lived URL of the item's file",
    description="The current version, or `version`. For learners who may open the course and for "
    "its authors; the URL supports HTTP Range (seeking in a video).",
    responses=problem_responses(401, 404, 503),
)
async def download_url(
    course_id: uuid.UUID, item_id: uuid.UUID, caller: TenantCaller, learning: Learning,
    response: Response, version: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> DownloadRead:  # fmt: skip
    request = pb.GetMaterialDownloadUrlRequest(course_id=str(course_id), item_id=str(item_id),
                                               version=version)  # fmt: skip
    resp = await learning.call(_stub(learning).GetMaterialDownloadUrl, request, caller)
    response.headers.update(NO_STORE)
    return DownloadRead(url=resp.url, expires_at=timestamp(resp, "expires_at"),
                        material=MaterialRead.from_proto(resp.material))  # fmt: skip


# ---- review and publishing ----


async def _transition(learning: Learning, caller, rpc: str, request) -> CourseRead:
    resp = await learning.call(getattr(_stub(learning), rpc), request, caller)
    return CourseRead.from_proto(resp.course)


@router.post(
    COURSES + "/{course_id}/submit",
    response_model=CourseRead,
    summary="提交审核 Submit a draft for review",
    description="Needs at least one item with content and every video/audio/document item "
    "uploaded (409 `course_without_content` / `course_material_missing`).",
    responses=problem_responses(401, 403, 404, 409, 503),
)
async def submit_course(
    course_id: uuid.UUID, caller: TenantCaller, learning: Learning
) -> CourseRead:
    return await _transition(learning, caller, "SubmitCourse",
                             pb.SubmitCourseRequest(course_id=str(course_id)))  # fmt: skip


@router.post(
    COURSES + "/{course_id}/approve",
    response_model=CourseRead,
    summary="审核通过并发布 Approve and publish (version + 1)",
    description="A tenant admin other than the submitter (403 `course_review_by_submitter`). "
    "Announces CoursePublished and CourseAssigned.",
    responses=problem_responses(401, 403, 404, 409, 503),
)
async def approve_course(
    course_id: uuid.UUID, caller: TenantCaller, learning: Learning
) -> CourseRead:
    return await _transition(learning, caller, "ApproveCourse",
                             pb.ApproveCourseRequest(course_id=str(course_id)))  # fmt: skip


@router.post(
    COURSES + "/{course_id}/reject",
    response_model=CourseRead,
    summary="退回 Reject back to draft with a note",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def reject_course(
    course_id: uuid.UUID, body: RejectWrite, caller: TenantCaller, learning: Learning
) -> CourseRead:
    return await _transition(learning, caller, "RejectCourse",
                             pb.RejectCourseRequest(course_id=str(course_id), note=body.note))  # fmt: skip


@router.post(
    COURSES + "/{course_id}/archive",
    response_model=CourseRead,
    summary="归档 Archive (learners no longer see it)",
    responses=problem_responses(401, 403, 404, 409, 503),
)
async def archive_course(
    course_id: uuid.UUID, caller: TenantCaller, learning: Learning
) -> CourseRead:
    return await _transition(learning, caller, "ArchiveCourse",
                             pb.ArchiveCourseRequest(course_id=str(course_id)))  # fmt: skip


@router.post(
    COURSES + "/{course_id}/revise",
    response_model=CourseRead,
    summary="修订 Turn a published or archived course back into a draft",
    description="Learners see it again once the new version is approved; item ids are kept.",
    responses=problem_responses(401, 403, 404, 409, 503),
)
async def revise_course(
    course_id: uuid.UUID, caller: TenantCaller, learning: Learning
) -> CourseRead:
    return await _transition(learning, caller, "ReviseCourse",
                             pb.ReviseCourseRequest(course_id=str(course_id)))  # fmt: skip


@router.put(
    COURSES + "/{course_id}/audiences",
    response_model=AudiencesRead,
    summary="分配对象 Who the course is for (replaces the list)",
    description="Tenant admins: the tenant, an organisation subtree, a role or one learner; "
    "secretaries: organisation subtrees inside their own (another branch: 404). On a published "
    "course this announces CourseAssigned.",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def set_audiences(
    course_id: uuid.UUID, body: AudiencesWrite, caller: TenantCaller, learning: Learning
) -> AudiencesRead:
    request = pb.SetCourseAudiencesRequest(course_id=str(course_id),
                                           audiences=[a.to_proto() for a in body.audiences])  # fmt: skip
    resp = await learning.call(_stub(learning).SetCourseAudiences, request, caller)
    return AudiencesRead(audiences=[AudienceRead.from_proto(a) for a in resp.audiences])


@router.put(
    COURSES + "/{course_id}/sharing",
    response_model=CourseRead,
    summary="向下级共享 Share the course down to descendant tenants",
    description="Tenant admins. `optional`: descendant tenants' learners may take it; "
    "`required`: assigned to them. Nothing is copied: they read this tenant's course.",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def set_sharing(
    course_id: uuid.UUID, body: SharingWrite, caller: TenantCaller, learning: Learning
) -> CourseRead:
    request = pb.SetCourseSharingRequest(
        course_id=str(course_id),
        shared_down=proto_enum(pb.CourseShareMode, "COURSE_SHARE_MODE_", body.shared_down),
    )
    resp = await learning.call(_stub(learning).SetCourseSharing, request, caller)
    return CourseRead.from_proto(resp.course)


# ---- learners ----


@router.get(
    CATALOGUE,
    response_model=CataloguePage,
    summary="我的课程 The courses I may take",
    description="Published courses assigned to me (`required`, 必学) or open to me (选学), "
    "including those shared down by ancestor tenants; newest first. `q` searches by Chinese "
    "words (every word must match), `tag` is exact.",
    responses=problem_responses(401, 422, 503),
)
async def catalogue(
    caller: TenantCaller,
    learning: Learning,
    response: Response,
    page: Annotated[PageParams, Depends(page_params)],
    assignment: Assignment | None = None,
    q: Annotated[str, Query(max_length=100)] = "",
    tag: Annotated[str, Query(max_length=20)] = "",
) -> CataloguePage:
    request = pb.ListCatalogueEntriesRequest(
        assignment=proto_enum(pb.CatalogueAssignment, "CATALOGUE_ASSIGNMENT_", assignment)
        if assignment else 0,
        query=q, tag=tag, page_size=page.limit, page_token=page.page_token,
    )  # fmt: skip
    resp = await learning.call(_stub(learning).ListCatalogueEntries, request, caller)
    response.headers.update(NO_STORE)
    return CataloguePage(items=[CatalogueEntryRead.from_proto(e) for e in resp.entries],
                         next_cursor=encode_cursor(resp.next_page_token))  # fmt: skip


@router.get(
    CATALOGUE + "/{course_id}",
    response_model=LearnerCourseRead,
    summary="课程目录 A course's chapters and items as a learner sees them",
    description="Checkpoint questions without their answers.",
    responses=problem_responses(401, 404, 503),
)
async def learner_course(
    course_id: uuid.UUID, caller: TenantCaller, learning: Learning, response: Response
) -> LearnerCourseRead:
    resp = await learning.call(_stub(learning).GetLearnerCourse,
                               pb.GetLearnerCourseRequest(course_id=str(course_id)), caller)  # fmt: skip
    response.headers.update(NO_STORE)
    return LearnerCourseRead.from_proto(resp)
