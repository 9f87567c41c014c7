"""Use cases of courses and their materials (docs/adr/0018).

Who may do what:
- Authors are tenant admins and secretaries of the tenant. Every author sees every course of the
  tenant, drafts included (one tenant's material is shared work); a tenant admin edits any of
  them, a secretary only the courses they created. Content (the course's fields, chapters,
  items, checkpoints, files) changes only while the course is a draft.
- Reviewers are tenant admins. Two-person rule: the approver is never the person who submitted
  the course (see domain.courses.check_reviewer). A reviewer may reject their own submission
  (that only withdraws it).
- Audiences: a tenant admin sets any (the tenant, an organisation subtree, a role, a learner); a
  secretary only organisation subtrees inside their own subtree (another branch is NOT_FOUND).
  Sharing down to descendant tenants is a tenant admin's decision.
- Learners (anyone of the tenant) see published courses of their audiences and courses shared
  down by ancestor tenants (course_access); anything else is NOT_FOUND.

Files are uploaded straight to the object store with presigned URLs; the service records
versions and checks size and sha256 on completion. No transport imports; raises DomainError;
never commits.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from hongyun_platform.db import Page, UnitOfWork
from hongyun_platform.errors import (
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from hongyun_platform.grpc.context import (
    ROLE_DESCENDANT_READER,
    ROLE_SECRETARY,
    ROLE_TENANT_ADMIN,
    CallerContext,
)
from hongyun_platform.ids import new_id
from hongyun_platform.storage import (
    InvalidMultipartUpload,
    ObjectNotFound,
    ObjectStore,
    ObjectTooLarge,
    StorageError,
    UploadedPart,
    UploadNotFound,
)

from learning_service import course_events, course_search
from learning_service.course_access import course_for_learner
from learning_service.course_models import (
    Chapter,
    Checkpoint,
    Course,
    CourseAudience,
    Item,
    MaterialVersion,
)
from learning_service.course_repository import CatalogueRow, CourseRepository
from learning_service.domain import courses as d
from learning_service.learner import load_learner

AUTHORS = (ROLE_TENANT_ADMIN, ROLE_SECRETARY)
READERS = (*AUTHORS, ROLE_DESCENDANT_READER)
MAX_CHAPTERS = 100
MAX_ITEMS_PER_CHAPTER = 200
MAX_CHECKPOINTS_PER_ITEM = 100


@dataclass(frozen=True)
class MaterialLimits:
    max_bytes: int
    part_bytes: int
    upload_url_seconds: int
    download_url_seconds: int


# ---- views ----


@dataclass(frozen=True)
class ItemView:
    item: Item
    material: MaterialVersion | None  # the current (ready) version
    checkpoints: list[Checkpoint] = field(default_factory=list)


@dataclass(frozen=True)
class ChapterView:
    chapter: Chapter
    items: list[ItemView] = field(default_factory=list)


@dataclass(frozen=True)
class CourseView:
    course: Course
    chapters: list[ChapterView]
    audiences: list[CourseAudience]


@dataclass(frozen=True)
class UploadStarted:
    material: MaterialVersion
    plan: d.UploadPlan
    put_url: str  # "" for a multipart upload
    expires_at: datetime


@dataclass(frozen=True)
class UploadCompleted:
    """The outcome of a completion: `error` is set when the file was refused; the caller commits
    (the version is recorded as failed) and then raises it."""

    material: MaterialVersion
    item: ItemView
    error: DomainError | None = None


@dataclass(frozen=True)
class DownloadLink:
    url: str
    expires_at: datetime
    material: MaterialVersion


@dataclass(frozen=True)
class LearnerCourseView:
    entry: CatalogueRow
    chapters: list[ChapterView]


def _parse_id(value: str, what: str, field_name: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError, AttributeError) as exc:
        raise InvalidArgument(f"{what}编号无效 (not a valid id)", code="invalid_id",
                              field=field_name) from exc  # fmt: skip


def _course_not_found() -> NotFound:
    return NotFound("课程不存在 (course not found)", code="course_not_found")


def _now() -> datetime:
    return datetime.now(UTC)


class Courses:
    def __init__(
        self,
        store: ObjectStore,
        limits: MaterialLimits,
        clock: Callable[[], datetime] = _now,
    ):
        self.store = store
        self.limits = limits
        self.clock = clock

    # ---- access helpers ----

    @staticmethod
    def _require_author(caller: CallerContext) -> uuid.UUID:
        tenant_id = caller.require_tenant()
        if caller.is_cross_tenant or not caller.has_role(*AUTHORS):
            raise PermissionDenied(
                "只有租户管理员和书记可以编辑课程 (only tenant admins and secretaries author "
                "courses)", code="course_author_required",
            )  # fmt: skip
        return tenant_id

    @staticmethod
    def _require_reviewer(caller: CallerContext) -> uuid.UUID:
        tenant_id = caller.require_tenant()
        if caller.is_cross_tenant or not caller.has_role(ROLE_TENANT_ADMIN):
            raise PermissionDenied("只有租户管理员可以审核和共享课程 (only tenant admins review "
                                   "and share courses)", code="course_reviewer_required")  # fmt: skip
        return tenant_id

    async def _course(
        self, repo: CourseRepository, tenant_id: uuid.UUID, course_id: str, *, lock: bool
    ) -> Course:
        course = await repo.course(
            tenant_id, _parse_id(course_id, "课程", "course_id"), for_update=lock
        )
        if course is None:
            raise _course_not_found()
        return course

    async def _editable(
        self, uow: UnitOfWork, caller: CallerContext, course_id: str, *, draft: bool = True
    ) -> tuple[CourseRepository, Course]:
        """The caller's course, locked, that they may change (and a draft unless `draft=False`)."""
        tenant_id = self._require_author(caller)
        repo = CourseRepository(uow.session)
        course = await self._course(repo, tenant_id, course_id, lock=True)
        if not caller.has_role(ROLE_TENANT_ADMIN) and course.created_by != caller.user_id:
            raise PermissionDenied("书记只能修改自己创建的课程 (secretaries change only the "
                                   "courses they created)", code="course_not_author")  # fmt: skip
        if draft:
            d.require_editable(course.status)
        return repo, course

    async def _chapter(self, repo: CourseRepository, course: Course, chapter_id: str) -> Chapter:
        chapter = await repo.chapter(course.id, _parse_id(chapter_id, "章节", "chapter_id"))
        if chapter is None:
            raise NotFound("章节不存在 (chapter not found)", code="chapter_not_found")
        return chapter

    async def _item(
        self, repo: CourseRepository, course: Course, item_id: str, *, lock: bool = False
    ) -> Item:
        item = await repo.item(course.id, _parse_id(item_id, "条目", "item_id"), for_update=lock)
        if item is None:
            raise NotFound("条目不存在 (item not found)", code="item_not_found")
        return item

    async def _material(
        self, repo: CourseRepository, item: Item, material_id: str, *, lock: bool = False
    ) -> MaterialVersion:
        material = await repo.material(
            item.id, _parse_id(material_id, "文件", "material_id"), for_update=lock
        )
        if material is None:
            raise NotFound("文件版本不存在 (material not found)", code="material_not_found")
        return material

    def _max_bytes(self) -> int:
        """The setting, or less when the store caps uploads (the filesystem backend may): refuse
        at the start rather than after the client sent gigabytes."""
        cap = getattr(self.store, "max_upload_bytes", None)
        return min(self.limits.max_bytes, cap) if isinstance(cap, int) else self.limits.max_bytes

    def _touch(self, course: Course) -> None:
        course.updated_at = self.clock()

    async def _item_view(self, repo: CourseRepository, item: Item) -> ItemView:
        current = item.current_material_id
        materials = await repo.materials([current] if current else [])
        checkpoints = await repo.checkpoints([item.id])
        material = materials.get(current) if current else None
        return ItemView(item, material, checkpoints.get(item.id, []))

    async def _outline(self, repo: CourseRepository, course_id: uuid.UUID) -> list[ChapterView]:
        chapters = await repo.chapters(course_id)
        items = await repo.items(course_id)
        materials = await repo.materials([i.current_material_id for i in items
                                          if i.current_material_id])  # fmt: skip
        checkpoints = await repo.checkpoints([i.id for i in items])
        by_chapter: dict[uuid.UUID, list[ItemView]] = {c.id: [] for c in chapters}
        for item in items:
            material = materials.get(item.current_material_id) if item.current_material_id else None
            by_chapter[item.chapter_id].append(
                ItemView(item, material, checkpoints.get(item.id, []))
            )
        return [ChapterView(c, by_chapter[c.id]) for c in chapters]

    # ---- courses ----

    async def create_course(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        *,
        title: str,
        summary: str,
        tags: Sequence[str],
        class_hours_hundredths: int,
    ) -> Course:
        tenant_id = self._require_author(caller)
        title, summary = d.course_title(title), d.course_summary(summary)
        tags = d.course_tags(tags)
        now = self.clock()
        course = Course(
            id=new_id(), tenant_id=tenant_id, title=title, summary=summary, tags=tags,
            status="draft", version=0, shared_down="none",
            class_hours_hundredths=d.class_hours(class_hours_hundredths),
            search_terms=course_search.search_vector(title, summary, tags),
            created_by=caller.user_id, submitted_by="", reviewed_by="", review_note="",
            published_at=None, created_at=now, updated_at=now,
        )  # fmt: skip
        repo = CourseRepository(uow.session)
        repo.add(course)
        await repo.flush()
        return course

    async def update_course(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        *,
        course_id: str,
        title: str | None,
        summary: str | None,
        tags: Sequence[str] | None,
        class_hours_hundredths: int | None,
    ) -> Course:
        repo, course = await self._editable(uow, caller, course_id)
        if title is not None:
            course.title = d.course_title(title)
        if summary is not None:
            course.summary = d.course_summary(summary)
        if tags is not None:
            course.tags = d.course_tags(tags)
        if class_hours_hundredths is not None:
            course.class_hours_hundredths = d.class_hours(class_hours_hundredths)
        course.search_terms = course_search.search_vector(course.title, course.summary,
                                                          course.tags)  # fmt: skip
        self._touch(course)
        await repo.flush()
        return course

    async def get_course(
        self, uow: UnitOfWork, caller: CallerContext, course_id: str
    ) -> CourseView:
        tenant_id = caller.require_tenant()
        if not caller.has_role(*READERS):
            raise PermissionDenied("只有租户管理员和书记可以查看课程编辑视图 (only tenant admins "
                                   "and secretaries see the authoring view)",
                                   code="course_author_required")  # fmt: skip
        repo = CourseRepository(uow.session)
        course = await self._course(repo, tenant_id, course_id, lock=False)
        return CourseView(course, await self._outline(repo, course.id),
                          await repo.audiences(course.id))  # fmt: skip

    async def list_courses(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        *,
        status: str,
        query: str,
        tag: str,
        page_size: int,
        page_token: str,
    ) -> Page[Course]:
        tenant_id = caller.require_tenant()
        if not caller.has_role(*READERS):
            raise PermissionDenied("只有租户管理员和书记可以查看课程列表 (only tenant admins and "
                                   "secretaries list courses for authoring)",
                                   code="course_author_required")  # fmt: skip
        if status and status not in d.STATUSES:
            raise InvalidArgument("课程状态无效 (unknown status)", code="course_status_invalid",
                                  field="status")  # fmt: skip
        return await CourseRepository(uow.session).list_courses(
            tenant_id, status=status, query=query, tag=tag.strip(), page_size=page_size,
            page_token=page_token,
        )  # fmt: skip

    # ---- chapters ----

    async def create_chapter(
        self, uow: UnitOfWork, caller: CallerContext, *, course_id: str, title: str, position: int
    ) -> ChapterView:
        repo, course = await self._editable(uow, caller, course_id)
        title = d.chapter_title(title)
        count = await repo.count_chapters(course.id)
        if count >= MAX_CHAPTERS:
            raise FailedPrecondition(f"每门课程最多 {MAX_CHAPTERS} 章 (at most {MAX_CHAPTERS} "
                                     "chapters)", code="course_too_many_chapters")  # fmt: skip
        position = _insert_position(position, count)
        await repo.open_chapter_position(course.id, position)
        chapter = Chapter(id=new_id(), tenant_id=course.tenant_id, course_id=course.id,
                          position=position, title=title, created_at=self.clock())  # fmt: skip
        repo.add(chapter)
        self._touch(course)
        await repo.flush()
        return ChapterView(chapter)

    async def update_chapter(
        self, uow: UnitOfWork, caller: CallerContext, *, course_id: str, chapter_id: str,
        title: str,
    ) -> ChapterView:  # fmt: skip
        repo, course = await self._editable(uow, caller, course_id)
        chapter = await self._chapter(repo, course, chapter_id)
        chapter.title = d.chapter_title(title)
        self._touch(course)
        await repo.flush()
        items = [await self._item_view(repo, i) for i in await repo.chapter_items(chapter.id)]
        return ChapterView(chapter, items)

    async def delete_chapter(
        self, uow: UnitOfWork, caller: CallerContext, *, course_id: str, chapter_id: str
    ) -> None:
        repo, course = await self._editable(uow, caller, course_id)
        chapter = await self._chapter(repo, course, chapter_id)
        await repo.delete_chapter(chapter)
        self._touch(course)
        await repo.flush()

    async def reorder_chapters(
        self, uow: UnitOfWork, caller: CallerContext, *, course_id: str,
        chapter_ids: Sequence[str],
    ) -> list[ChapterView]:  # fmt: skip
        repo, course = await self._editable(uow, caller, course_id)
        wanted = [_parse_id(c, "章节", "chapter_ids") for c in chapter_ids]
        current = {c.id for c in await repo.chapters(course.id)}
        if len(wanted) != len(set(wanted)) or set(wanted) != current:
            raise InvalidArgument("请按新顺序列出本课程的全部章节，每章一次 (list every chapter "
                                  "of the course once, in the new order)",
                                  code="chapter_order_invalid", field="chapter_ids")  # fmt: skip
        await repo.set_chapter_positions({cid: n for n, cid in enumerate(wanted, start=1)})
        self._touch(course)
        await repo.flush()
        course_id = course.id
        uow.session.expire_all()  # positions changed by UPDATE statements
        return await self._outline(repo, course_id)

    # ---- items ----

    async def create_item(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        *,
        course_id: str,
        chapter_id: str,
        kind: str,
        title: str,
        body: str,
        url: str,
        length: int,
        required: bool,
        position: int,
    ) -> ItemView:
        repo, course = await self._editable(uow, caller, course_id)
        chapter = await self._chapter(repo, course, chapter_id)
        kind = d.item_kind(kind)
        title = d.item_title(title)
        body, url = d.item_body(kind, body), d.item_url(kind, url)
        length = d.item_length(kind, length)
        count = await repo.count_items(chapter.id)
        if count >= MAX_ITEMS_PER_CHAPTER:
            raise FailedPrecondition(f"每章最多 {MAX_ITEMS_PER_CHAPTER} 个条目 (at most "
                                     f"{MAX_ITEMS_PER_CHAPTER} items a chapter)",
                                     code="chapter_too_many_items")  # fmt: skip
        position = _insert_position(position, count)
        await repo.open_item_position(chapter.id, position)
        now = self.clock()
        item = Item(
            id=new_id(), tenant_id=course.tenant_id, course_id=course.id, chapter_id=chapter.id,
            position=position, kind=kind, title=title, body=body, url=url, length=length,
            required=required, current_material_id=None, created_at=now, updated_at=now,
        )  # fmt: skip
        repo.add(item)
        self._touch(course)
        await repo.flush()
        return ItemView(item, None, [])

    async def update_item(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        *,
        course_id: str,
        item_id: str,
        title: str | None,
        body: str | None,
        url: str | None,
        length: int | None,
        required: bool | None,
    ) -> ItemView:
        repo, course = await self._editable(uow, caller, course_id)
        item = await self._item(repo, course, item_id, lock=True)
        if title is not None:
            item.title = d.item_title(title)
        if body is not None:
            item.body = d.item_body(item.kind, body)
        if url is not None:
            item.url = d.item_url(item.kind, url)
        if length is not None:
            length = d.item_length(item.kind, length)
            checkpoints = (await repo.checkpoints([item.id])).get(item.id, [])
            d.check_length_covers(length, [c.position for c in checkpoints])
            item.length = length
        if required is not None:
            item.required = required
        item.updated_at = self.clock()
        self._touch(course)
        await repo.flush()
        return await self._item_view(repo, item)

    async def delete_item(
        self, uow: UnitOfWork, caller: CallerContext, *, course_id: str, item_id: str
    ) -> None:
        repo, course = await self._editable(uow, caller, course_id)
        item = await self._item(repo, course, item_id, lock=True)
        await repo.delete_item(item)
        self._touch(course)
        await repo.flush()

    async def reorder_items(
        self, uow: UnitOfWork, caller: CallerContext, *, course_id: str, chapter_id: str,
        item_ids: Sequence[str],
    ) -> list[ChapterView]:  # fmt: skip
        repo, course = await self._editable(uow, caller, course_id)
        chapter = await self._chapter(repo, course, chapter_id)
        wanted = [_parse_id(i, "条目", "item_ids") for i in item_ids]
        items = {i.id: i for i in await repo.items(course.id)}
        current = {i for i, it in items.items() if it.chapter_id == chapter.id}
        bad = (
            len(wanted) != len(set(wanted))
            or not current <= set(wanted)
            or any(w not in items for w in wanted)
        )
        if bad:
            raise InvalidArgument(
                "请按新顺序列出本章的全部条目，每个一次（可加入本课程其他章节的条目） (list every "
                "item of the chapter once, in the new order; items of other chapters of the course "
                "may join)", code="item_order_invalid", field="item_ids",
            )  # fmt: skip
        if len(wanted) > MAX_ITEMS_PER_CHAPTER:
            raise FailedPrecondition(f"每章最多 {MAX_ITEMS_PER_CHAPTER} 个条目 (at most "
                                     f"{MAX_ITEMS_PER_CHAPTER} items a chapter)",
                                     code="chapter_too_many_items")  # fmt: skip
        sources = {items[w].chapter_id for w in wanted} - {chapter.id}
        await repo.place_items(chapter.id, wanted)
        for source in sources:
            await repo.compact_items(source)
        self._touch(course)
        await repo.flush()
        course_id = course.id
        uow.session.expire_all()  # chapters and positions changed by UPDATE statements
        return await self._outline(repo, course_id)

    # ---- checkpoints ----

    async def create_checkpoint(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        *,
        course_id: str,
        item_id: str,
        position: int,
        kind: str,
        prompt: str,
        options: Sequence[str],
        answer: Sequence[int],
        explanation: str,
    ) -> Checkpoint:
        repo, course = await self._editable(uow, caller, course_id)
        item = await self._item(repo, course, item_id)
        spec = d.checkpoint(
            item_kind=item.kind, item_length=item.length, position=position, kind=kind,
            prompt=prompt, options=options, answer=answer, explanation=explanation,
        )  # fmt: skip
        if await repo.count_checkpoints(item.id) >= MAX_CHECKPOINTS_PER_ITEM:
            raise FailedPrecondition(f"每个条目最多 {MAX_CHECKPOINTS_PER_ITEM} 个检查点 (at most "
                                     f"{MAX_CHECKPOINTS_PER_ITEM} checkpoints an item)",
                                     code="item_too_many_checkpoints")  # fmt: skip
        cp = Checkpoint(
            id=new_id(), tenant_id=course.tenant_id, item_id=item.id, position=spec.position,
            kind=spec.kind, prompt=spec.prompt, options=spec.options, answer=spec.answer,
            explanation=spec.explanation, created_at=self.clock(),
        )  # fmt: skip
        repo.add(cp)
        self._touch(course)
        await repo.flush()
        return cp

    async def update_checkpoint(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        *,
        course_id: str,
        item_id: str,
        checkpoint_id: str,
        position: int,
        kind: str,
        prompt: str,
        options: Sequence[str],
        answer: Sequence[int],
        explanation: str,
    ) -> Checkpoint:
        repo, course = await self._editable(uow, caller, course_id)
        item = await self._item(repo, course, item_id)
        cp = await self._checkpoint(repo, item, checkpoint_id)
        spec = d.checkpoint(
            item_kind=item.kind, item_length=item.length, position=position, kind=kind,
            prompt=prompt, options=options, answer=answer, explanation=explanation,
        )  # fmt: skip
        cp.position, cp.kind, cp.prompt = spec.position, spec.kind, spec.prompt
        cp.options, cp.answer, cp.explanation = spec.options, spec.answer, spec.explanation
        self._touch(course)
        await repo.flush()
        return cp

    async def delete_checkpoint(
        self, uow: UnitOfWork, caller: CallerContext, *, course_id: str, item_id: str,
        checkpoint_id: str,
    ) -> None:  # fmt: skip
        repo, course = await self._editable(uow, caller, course_id)
        item = await self._item(repo, course, item_id)
        cp = await self._checkpoint(repo, item, checkpoint_id)
        await repo.delete_checkpoint(cp.id)
        self._touch(course)
        await repo.flush()

    async def _checkpoint(
        self, repo: CourseRepository, item: Item, checkpoint_id: str
    ) -> Checkpoint:
        cp = await repo.checkpoint(item.id, _parse_id(checkpoint_id, "检查点", "checkpoint_id"))
        if cp is None:
            raise NotFound("检查点不存在 (checkpoint not found)", code="checkpoint_not_found")
        return cp

    # ---- materials ----

    async def start_upload(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        *,
        course_id: str,
        item_id: str,
        filename: str,
        content_type: str,
        size_bytes: int,
        sha256: str,
    ) -> UploadStarted:
        repo, course = await self._editable(uow, caller, course_id)
        item = await self._item(repo, course, item_id, lock=True)
        media = d.material_content_type(item.kind, content_type)
        size = d.material_size(size_bytes, self._max_bytes())
        name = d.display_filename(filename)
        sha = d.material_sha256(sha256)
        version = await repo.next_material_version(item.id)
        key = d.object_key(course.tenant_id, course.id, item.id, version, name)
        plan = d.upload_plan(size, self.limits.part_bytes)
        now = self.clock()
        expires = self.limits.upload_url_seconds
        put_url, upload_id = "", ""
        if plan.multipart:
            upload_id = await self.store.create_multipart_upload(key, media)
        else:
            put_url = await self.store.presigned_put_url(key, expires)
        material = MaterialVersion(
            id=new_id(), tenant_id=course.tenant_id, item_id=item.id, version=version,
            object_key=key, filename=name, content_type=media, size_bytes=size, sha256=sha,
            status="uploading", upload_id=upload_id, part_bytes=plan.part_bytes, length=0,
            created_by=caller.user_id, created_at=now, completed_at=None,
        )  # fmt: skip
        repo.add(material)
        await repo.flush()
        return UploadStarted(material, plan, put_url, now + timedelta(seconds=expires))

    async def _uploading(
        self, uow: UnitOfWork, caller: CallerContext, course_id: str, item_id: str,
        material_id: str, *, multipart: bool,
    ) -> tuple[CourseRepository, Course, Item, MaterialVersion]:  # fmt: skip
        repo, course = await self._editable(uow, caller, course_id)
        item = await self._item(repo, course, item_id, lock=True)
        material = await self._material(repo, item, material_id, lock=True)
        if material.status != "uploading":
            raise FailedPrecondition("该文件版本的上传已结束 (this upload is already finished)",
                                     code="material_not_uploading")  # fmt: skip
        if multipart and not material.upload_id:
            raise FailedPrecondition("该文件不是分片上传 (this is a single-request upload)",
                                     code="material_not_multipart")  # fmt: skip
        return repo, course, item, material

    async def part_urls(
        self, uow: UnitOfWork, caller: CallerContext, *, course_id: str, item_id: str,
        material_id: str, numbers: Sequence[int],
    ) -> tuple[list[tuple[int, str]], datetime]:  # fmt: skip
        _, _, _, material = await self._uploading(uow, caller, course_id, item_id, material_id,
                                                  multipart=True)  # fmt: skip
        wanted = d.part_numbers(numbers, _part_count(material))
        expires = self.limits.upload_url_seconds
        try:
            urls = [
                (n, await self.store.presigned_upload_part_url(
                    material.object_key, material.upload_id, n, expires))
                for n in wanted
            ]  # fmt: skip
        except UploadNotFound:
            raise _upload_lost() from None
        return urls, self.clock() + timedelta(seconds=expires)

    async def list_parts(
        self, uow: UnitOfWork, caller: CallerContext, *, course_id: str, item_id: str,
        material_id: str,
    ) -> tuple[list[UploadedPart], MaterialVersion]:  # fmt: skip
        _, _, _, material = await self._uploading(uow, caller, course_id, item_id, material_id,
                                                  multipart=True)  # fmt: skip
        try:
            parts = await self.store.list_parts(material.object_key, material.upload_id)
        except UploadNotFound:
            raise _upload_lost() from None
        return parts, material

    async def complete_upload(
        self, uow: UnitOfWork, caller: CallerContext, *, course_id: str, item_id: str,
        material_id: str, length: int,
    ) -> UploadCompleted:  # fmt: skip
        repo, _, item, material = await self._uploading(uow, caller, course_id, item_id,
                                                        material_id, multipart=False)  # fmt: skip
        if length:
            length = d.item_length(item.kind, length)
            checkpoints = (await repo.checkpoints([item.id])).get(item.id, [])
            d.check_length_covers(length, [c.position for c in checkpoints])
        key = material.object_key
        if material.upload_id:
            try:
                await self._check_parts(material)
                info = await self.store.complete_multipart_upload(
                    key, material.upload_id, max_size=material.size_bytes
                )
            except ObjectTooLarge:
                # More bytes than declared: refused like any size mismatch.
                await self.store.abort_multipart_upload(key, material.upload_id)
                return await self._refuse(repo, item, material, _size_mismatch(material, None))
            except UploadNotFound:
                return await self._refuse(repo, item, material, _upload_lost())
            except InvalidMultipartUpload as exc:
                raise FailedPrecondition(
                    "分片尚未全部上传 (the upload is incomplete; send the missing parts)",
                    code="material_parts_missing",
                ) from exc
        else:
            try:
                info = await self.store.stat(key)
            except ObjectNotFound:
                raise FailedPrecondition(
                    "文件尚未上传 (the file has not been uploaded yet)",
                    code="material_not_uploaded",
                ) from None
        error = _verify(material, info.size, info.sha256, info.content_type)
        if error is not None:
            with contextlib.suppress(StorageError):
                await self.store.delete(key)  # refused bytes are not kept
            return await self._refuse(repo, item, material, error)
        now = self.clock()
        material.completed_at = now
        material.status = "ready"
        material.sha256 = info.sha256 or material.sha256
        material.length = length or item.length
        item.current_material_id = material.id
        if length:
            item.length = length
        item.updated_at = now
        await repo.flush()
        return UploadCompleted(material, await self._item_view(repo, item))

    async def _refuse(
        self, repo: CourseRepository, item: Item, material: MaterialVersion, error: DomainError
    ) -> UploadCompleted:
        """The version is failed (committed by the caller), the item unchanged."""
        material.status = "failed"
        material.completed_at = self.clock()
        await repo.flush()
        return UploadCompleted(material, await self._item_view(repo, item), error)

    async def _check_parts(self, material: MaterialVersion) -> None:
        have = {p.number for p in await self.store.list_parts(material.object_key,
                                                              material.upload_id)}  # fmt: skip
        missing = [n for n in range(1, _part_count(material) + 1) if n not in have]
        if missing:
            shown = ", ".join(str(n) for n in missing[:10])
            raise FailedPrecondition(f"尚缺分片 {shown} (parts missing: {shown})",
                                     code="material_parts_missing")  # fmt: skip

    async def abort_upload(
        self, uow: UnitOfWork, caller: CallerContext, *, course_id: str, item_id: str,
        material_id: str,
    ) -> MaterialVersion:  # fmt: skip
        repo, _, _, material = await self._uploading(uow, caller, course_id, item_id,
                                                     material_id, multipart=False)  # fmt: skip
        if material.upload_id:
            await self.store.abort_multipart_upload(material.object_key, material.upload_id)
        else:
            await self.store.delete(material.object_key)
        material.status = "failed"
        material.completed_at = self.clock()
        await repo.flush()
        return material

    async def material_versions(
        self, uow: UnitOfWork, caller: CallerContext, *, course_id: str, item_id: str
    ) -> list[MaterialVersion]:
        tenant_id = caller.require_tenant()
        if not caller.has_role(*READERS):
            raise PermissionDenied("只有租户管理员和书记可以查看文件版本 (only tenant admins and "
                                   "secretaries see material versions)",
                                   code="course_author_required")  # fmt: skip
        repo = CourseRepository(uow.session)
        course = await self._course(repo, tenant_id, course_id, lock=False)
        item = await self._item(repo, course, item_id)
        return await repo.material_versions(item.id)

    async def download_url(
        self, uow: UnitOfWork, caller: CallerContext, *, course_id: str, item_id: str,
        version: int,
    ) -> DownloadLink:  # fmt: skip
        """For the course's authors (any status) and for learners who may open it."""
        tenant_id = caller.require_tenant()
        repo = CourseRepository(uow.session)
        cid = _parse_id(course_id, "课程", "course_id")
        course = await repo.course(tenant_id, cid) if caller.has_role(*READERS) else None
        if course is None:
            access = await course_for_learner(uow.session, await load_learner(uow.session, caller),
                                              cid)  # fmt: skip
            if access is None:
                raise _course_not_found()
            course = access.course
        item = await self._item(repo, course, item_id)
        current = item.current_material_id
        if version:
            material = await repo.material_version(item.id, version)
        else:
            material = (await repo.materials([current])).get(current) if current else None
        if material is None or material.status != "ready":
            raise NotFound("该条目没有可下载的文件 (no file to download for this item)",
                           code="material_not_found")  # fmt: skip
        seconds = self.limits.download_url_seconds
        url = await self.store.presigned_get_url(material.object_key, seconds)
        return DownloadLink(url, self.clock() + timedelta(seconds=seconds), material)

    # ---- review and publishing ----

    async def submit(self, uow: UnitOfWork, caller: CallerContext, course_id: str) -> Course:
        repo, course = await self._editable(uow, caller, course_id, draft=False)
        status = d.transition("submit", course.status)
        d.check_submittable(await repo.item_contents(course.id))
        course.status, course.submitted_by, course.review_note = status, caller.user_id, ""
        self._touch(course)
        await repo.flush()
        return course

    async def _review(
        self, uow: UnitOfWork, caller: CallerContext, course_id: str
    ) -> tuple[CourseRepository, Course]:
        tenant_id = self._require_reviewer(caller)
        repo = CourseRepository(uow.session)
        return repo, await self._course(repo, tenant_id, course_id, lock=True)

    async def approve(self, uow: UnitOfWork, caller: CallerContext, course_id: str) -> Course:
        repo, course = await self._review(uow, caller, course_id)
        status = d.transition("approve", course.status)
        d.check_reviewer(course.submitted_by, caller.user_id)
        now = self.clock()
        course.status, course.version, course.published_at = status, course.version + 1, now
        course.reviewed_by, course.review_note, course.updated_at = caller.user_id, "", now
        await repo.flush()
        await course_events.course_published(uow.session, course)
        await course_events.course_assigned(uow.session, course, await repo.audiences(course.id),
                                            caller.user_id)  # fmt: skip
        return course

    async def reject(
        self, uow: UnitOfWork, caller: CallerContext, course_id: str, note: str
    ) -> Course:
        repo, course = await self._review(uow, caller, course_id)
        status = d.transition("reject", course.status)
        course.review_note = d.review_note(note)
        course.status, course.reviewed_by = status, caller.user_id
        self._touch(course)
        await repo.flush()
        return course

    async def archive(self, uow: UnitOfWork, caller: CallerContext, course_id: str) -> Course:
        repo, course = await self._editable(uow, caller, course_id, draft=False)
        course.status = d.transition("archive", course.status)
        self._touch(course)
        await repo.flush()
        return course

    async def revise(self, uow: UnitOfWork, caller: CallerContext, course_id: str) -> Course:
        repo, course = await self._editable(uow, caller, course_id, draft=False)
        course.status = d.transition("revise", course.status)
        course.submitted_by, course.reviewed_by, course.review_note = "", "", ""
        self._touch(course)
        await repo.flush()
        return course

    async def set_audiences(
        self, uow: UnitOfWork, caller: CallerContext, *, course_id: str,
        audiences: Sequence[dict],
    ) -> list[CourseAudience]:  # fmt: skip
        """`audiences`: dicts of kind, org_id, role, learner_id, required, due_on (strings)."""
        repo, course = await self._editable(uow, caller, course_id, draft=False)
        if course.status == "archived":
            raise FailedPrecondition("已归档的课程不能分配 (an archived course is not assigned)",
                                     code="course_archived")  # fmt: skip
        specs = [d.audience(**a, index=n) for n, a in enumerate(audiences)]
        d.check_audiences(specs)
        if not caller.has_role(ROLE_TENANT_ADMIN):
            for spec in specs:
                await self._in_secretary_scope(repo, caller, spec)
        await repo.clear_audiences(course.id)
        now = self.clock()
        rows = [
            CourseAudience(
                id=new_id(), tenant_id=course.tenant_id, course_id=course.id, kind=s.kind,
                org_id=s.org_id, role=s.role, learner_id=s.learner_id, required=s.required,
                due_on=s.due_on, created_by=caller.user_id, created_at=now,
            )
            for s in specs
        ]  # fmt: skip
        for row in rows:
            repo.add(row)
        self._touch(course)
        await repo.flush()
        if course.status == "published":
            await course_events.course_assigned(uow.session, course, rows, caller.user_id)
        return rows

    async def _in_secretary_scope(
        self, repo: CourseRepository, caller: CallerContext, spec: d.AudienceSpec
    ) -> None:
        if spec.kind != "org_subtree" or spec.org_id is None or caller.scope_org_id is None:
            raise PermissionDenied(
                "书记只能把课程分配给本组织及下级组织 (secretaries assign courses only to their "
                "own organisation subtree)", code="audience_outside_scope",
            )  # fmt: skip
        if spec.org_id == caller.scope_org_id:
            return
        path = await repo.org_path(caller.require_tenant(), spec.org_id)
        if path is None or caller.scope_org_id not in path:
            raise NotFound("组织不存在 (organisation not found)", code="organization_not_found",
                           field="audiences")  # fmt: skip

    async def set_sharing(
        self, uow: UnitOfWork, caller: CallerContext, *, course_id: str, shared_down: str
    ) -> Course:
        repo, course = await self._review(uow, caller, course_id)
        mode = d.share_mode(shared_down)
        if course.status == "archived":
            raise FailedPrecondition("已归档的课程不能共享 (an archived course is not shared)",
                                     code="course_archived")  # fmt: skip
        changed = mode != course.shared_down
        course.shared_down = mode
        self._touch(course)
        await repo.flush()
        if changed and course.status == "published":
            await course_events.course_assigned(uow.session, course,
                                                await repo.audiences(course.id), caller.user_id)  # fmt: skip
        return course

    # ---- learners ----

    async def catalogue(
        self, uow: UnitOfWork, caller: CallerContext, *, assignment: str, query: str, tag: str,
        page_size: int, page_token: str,
    ) -> Page[CatalogueRow]:  # fmt: skip
        caller.require_tenant()
        if assignment not in ("", "required", "optional"):
            raise InvalidArgument("分配方式无效 (unknown assignment filter)",
                                  code="catalogue_assignment_invalid", field="assignment")  # fmt: skip
        learner = await load_learner(uow.session, caller)
        return await CourseRepository(uow.session).catalogue(
            learner, assignment=assignment, query=query, tag=tag.strip(), page_size=page_size,
            page_token=page_token,
        )  # fmt: skip

    async def learner_course(
        self, uow: UnitOfWork, caller: CallerContext, course_id: str
    ) -> LearnerCourseView:
        caller.require_tenant()
        learner = await load_learner(uow.session, caller)
        access = await course_for_learner(uow.session, learner,
                                          _parse_id(course_id, "课程", "course_id"))  # fmt: skip
        if access is None:
            raise _course_not_found()
        repo = CourseRepository(uow.session)
        due: date | None = None
        if access.required and not access.shared_from_ancestor:
            due = await repo.learner_due_on(learner, access.course.id)
        entry = CatalogueRow(access.course, access.required, due, access.shared_from_ancestor)
        return LearnerCourseView(entry, await self._outline(repo, access.course.id))


def _insert_position(position: int, count: int) -> int:
    """1-based; 0 (or past the end) appends."""
    if position < 0:
        raise InvalidArgument("位置不能为负数 (position must not be negative)",
                              code="position_invalid", field="position")  # fmt: skip
    return count + 1 if position == 0 or position > count else position


def _part_count(material: MaterialVersion) -> int:
    return -(-material.size_bytes // material.part_bytes) if material.part_bytes else 0


def _size_mismatch(material: MaterialVersion, size: int | None) -> InvalidArgument:
    actual = f"{size}" if size is not None else f"超过 {material.size_bytes}"
    return InvalidArgument(
        f"文件大小与声明不符：声明 {material.size_bytes} 字节，实际 {actual} 字节 (the stored "
        f"file has {size if size is not None else 'more'} bytes, {material.size_bytes} were "
        "declared)",
        code="material_size_mismatch",
        field="size_bytes",
    )


def _upload_lost() -> FailedPrecondition:
    return FailedPrecondition(
        "分片上传已失效，请重新上传 (the multipart upload expired or was removed; start again)",
        code="material_upload_lost",
    )


def _verify(
    material: MaterialVersion, size: int, sha256: str | None, content_type: str | None
) -> DomainError | None:
    """Why the stored file is refused, or None. The store's sha256 is unknown only for objects
    it did not hash (then the client's digest cannot be checked and is kept as declared)."""
    if size != material.size_bytes:
        return InvalidArgument(
            f"文件大小与声明不符：声明 {material.size_bytes} 字节，实际 {size} 字节 (the file "
            f"has {size} bytes, {material.size_bytes} were declared)",
            code="material_size_mismatch", field="size_bytes",
        )  # fmt: skip
    if material.sha256 and sha256 and sha256.lower() != material.sha256:
        return InvalidArgument("文件校验值 sha256 与声明不符 (the file's sha256 differs from "
                               "the declared one)", code="material_sha256_mismatch",
                               field="sha256")  # fmt: skip
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media and media != "application/octet-stream" and media != material.content_type:
        return InvalidArgument(
            f"上传时的文件类型 {media} 与声明的 {material.content_type} 不符 (uploaded as "
            f"{media}, declared {material.content_type})",
            code="material_type_mismatch", field="content_type",
        )  # fmt: skip
    return None
