"""Bodies of courses and their materials (学习课程, docs/adr/0018). Class hours (学时) are a
decimal with at most two places ("1.5"); dates "YYYY-MM-DD"; enums lower-case words. The learning
service applies the course rules (sanitised rich text, checkpoint answers, file types); these
schemas only check shapes and sizes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from hongyun.learning.v1 import learning_courses_pb2 as pb
from pydantic import BaseModel, ConfigDict, Field

from hongyun_gateway.pagination import Page
from hongyun_gateway.schemas.common import IsoDate, opt_str, text, timestamp

ClassHours = Annotated[
    Decimal,
    Field(ge=0, le=1000, decimal_places=2, description="学时 class hours, up to 2 decimals"),
]
Title = Annotated[str, text(1, 200)]


class CourseStatus(StrEnum):
    DRAFT = "draft"  # 草稿
    IN_REVIEW = "in_review"  # 审核中
    PUBLISHED = "published"  # 已发布
    ARCHIVED = "archived"  # 已归档


class ShareMode(StrEnum):
    NONE = "none"  # 不共享
    OPTIONAL = "optional"  # 下级租户选学
    REQUIRED = "required"  # 下级租户必学


class ItemKind(StrEnum):
    VIDEO = "video"
    AUDIO = "audio"
    DOCUMENT = "document"
    RICH_TEXT = "rich_text"  # 图文
    LINK = "link"  # 外部链接


class MaterialStatus(StrEnum):
    UPLOADING = "uploading"
    READY = "ready"
    FAILED = "failed"


class AudienceKind(StrEnum):
    TENANT = "tenant"  # 全体
    ORG_SUBTREE = "org_subtree"  # 某组织及其下级
    ROLE = "role"
    LEARNER = "learner"  # 某个人 (account id)


class CheckpointKind(StrEnum):
    SINGLE = "single"  # 单选
    MULTIPLE = "multiple"  # 多选
    TRUE_FALSE = "true_false"  # 判断


class Assignment(StrEnum):
    REQUIRED = "required"  # 必学
    OPTIONAL = "optional"  # 选学


def _out(enum_cls: Any, proto_enum: Any, prefix: str, number: int) -> Any:
    if number == 0:
        return None
    try:
        return enum_cls(proto_enum.Name(number).removeprefix(prefix).lower())
    except ValueError:
        return None


def proto_enum(proto_enum: Any, prefix: str, value: StrEnum) -> Any:
    return proto_enum.Value(prefix + value.value.upper())


def _hours(hundredths: int) -> Decimal:
    return Decimal(hundredths) / 100


def _hundredths(hours: Decimal) -> int:
    return int(hours * 100)


def _date(value: str) -> date | None:
    return date.fromisoformat(value) if value else None


# ---- writes ----


class CourseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    summary: Annotated[str, text(0, 2000)] = ""
    tags: Annotated[list[Annotated[str, text(1, 20)]], Field(max_length=20)] = []
    class_hours: ClassHours = Decimal(0)

    def to_proto(self) -> pb.CreateCourseRequest:
        return pb.CreateCourseRequest(
            title=self.title, summary=self.summary, tags=self.tags,
            class_hours_hundredths=_hundredths(self.class_hours),
        )  # fmt: skip


class CourseUpdate(BaseModel):
    """Only the fields sent change (a draft only)."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    summary: Annotated[str, text(0, 2000)] | None = None
    tags: Annotated[list[Annotated[str, text(1, 20)]], Field(max_length=20)] | None = None
    class_hours: ClassHours | None = None

    def to_proto(self, course_id: uuid.UUID) -> pb.UpdateCourseRequest:
        msg = pb.UpdateCourseRequest(course_id=str(course_id))
        if self.title is not None:
            msg.title = self.title
        if self.summary is not None:
            msg.summary = self.summary
        if self.tags is not None:
            msg.tags.CopyFrom(pb.CourseTagList(tags=self.tags))
        if self.class_hours is not None:
            msg.class_hours_hundredths = _hundredths(self.class_hours)
        return msg


class ChapterCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    position: int = Field(default=0, ge=0, le=1000, description="1-based; 0 or omitted = last")


class ChapterUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title


class ChapterOrder(BaseModel):
    model_config = ConfigDict(extra="forbid")

    chapter_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=100)]


class ItemCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ItemKind
    title: Title
    body: Annotated[str, Field(max_length=200_000)] = Field(
        default="", description="rich_text: HTML, sanitised to a small allow-list"
    )
    url: Annotated[str, Field(max_length=2000)] = Field(default="", description="link: http(s)")
    length: int = Field(default=0, ge=0, description="video/audio: seconds; document: pages")
    required: bool = True
    position: int = Field(default=0, ge=0, le=1000, description="1-based; 0 or omitted = last")

    def to_proto(self, course_id: uuid.UUID, chapter_id: uuid.UUID) -> pb.CreateItemRequest:
        return pb.CreateItemRequest(
            course_id=str(course_id), chapter_id=str(chapter_id),
            kind=proto_enum(pb.CourseItemKind, "COURSE_ITEM_KIND_", self.kind), title=self.title,
            body=self.body, url=self.url, length=self.length, not_required=not self.required,
            position=self.position,
        )  # fmt: skip


class ItemUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    body: Annotated[str, Field(max_length=200_000)] | None = None
    url: Annotated[str, Field(max_length=2000)] | None = None
    length: Annotated[int, Field(ge=0)] | None = None
    required: bool | None = None

    def to_proto(self, course_id: uuid.UUID, item_id: uuid.UUID) -> pb.UpdateItemRequest:
        msg = pb.UpdateItemRequest(course_id=str(course_id), item_id=str(item_id))
        for name in ("title", "body", "url", "length", "required"):
            value = getattr(self, name)
            if value is not None:
                setattr(msg, name, value)
        return msg


class ItemOrder(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=200)] = Field(
        description="Every item of the chapter in the new order; items of other chapters of the "
        "course listed here move into this chapter"
    )


class CheckpointWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    position: int = Field(ge=0, description="seconds (video/audio) or page (document)")
    kind: CheckpointKind
    prompt: Annotated[str, text(1, 1000)]
    options: Annotated[list[Annotated[str, text(1, 200)]], Field(min_length=2, max_length=10)]
    answer: Annotated[list[int], Field(min_length=1, max_length=10)] = Field(
        description="0-based indexes of the correct options"
    )
    explanation: Annotated[str, text(0, 2000)] = ""

    def fields(self) -> dict[str, Any]:
        return dict(
            position=self.position,
            kind=proto_enum(pb.CourseCheckpointKind, "COURSE_CHECKPOINT_KIND_", self.kind),
            prompt=self.prompt, options=self.options, answer=self.answer,
            explanation=self.explanation,
        )  # fmt: skip


class MaterialUploadWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filename: Annotated[str, text(1, 255)]
    content_type: Annotated[str, text(1, 127)] = Field(examples=["video/mp4"])
    size_bytes: int = Field(ge=1, description="the file's exact size")
    sha256: Annotated[str, Field(pattern=r"^[0-9a-fA-F]{64}$")] | None = Field(
        default=None, description="hex; checked when the upload completes"
    )

    def to_proto(self, course_id: uuid.UUID, item_id: uuid.UUID) -> pb.StartMaterialUploadRequest:
        return pb.StartMaterialUploadRequest(
            course_id=str(course_id), item_id=str(item_id), filename=self.filename,
            content_type=self.content_type, size_bytes=self.size_bytes, sha256=self.sha256 or "",
        )  # fmt: skip


class PartUrlsWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    part_numbers: Annotated[list[Annotated[int, Field(ge=1, le=10_000)]],
                            Field(min_length=1, max_length=100)]  # fmt: skip


class MaterialCompleteWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    length: int = Field(default=0, ge=0, description="seconds or pages, if known; 0 = unchanged")


class RejectWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Annotated[str, text(1, 500)] = Field(description="退回意见, shown to the authors")


class AudienceWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: AudienceKind
    org_id: uuid.UUID | None = Field(default=None, description="org_subtree")
    role: Annotated[str, text(1, 32)] | None = Field(
        default=None, description="role: member | secretary | tenant_admin"
    )
    learner_id: Annotated[str, text(1, 64)] | None = Field(default=None, description="learner")
    required: bool = Field(default=False, description="true: assigned (必学); false: optional")
    due_on: IsoDate | None = None

    def to_proto(self) -> pb.CourseAudience:
        return pb.CourseAudience(
            kind=proto_enum(pb.CourseAudienceKind, "COURSE_AUDIENCE_KIND_", self.kind),
            org_id=str(self.org_id or ""), role=self.role or "", learner_id=self.learner_id or "",
            required=self.required, due_on=self.due_on.isoformat() if self.due_on else "",
        )  # fmt: skip


class AudiencesWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    audiences: Annotated[list[AudienceWrite], Field(max_length=200)] = Field(
        description="The full list; it replaces the current one (empty: nobody)"
    )


class SharingWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shared_down: ShareMode


# ---- reads ----


class CourseRead(BaseModel):
    id: str
    tenant_id: str
    title: str
    summary: str
    tags: list[str]
    status: CourseStatus | None
    version: int
    shared_down: ShareMode | None
    class_hours: Decimal
    created_by: str
    submitted_by: str | None
    reviewed_by: str | None
    review_note: str | None
    published_at: datetime | None
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def from_proto(cls, c: pb.Course) -> CourseRead:
        return cls(
            id=c.id, tenant_id=c.tenant_id, title=c.title, summary=c.summary, tags=list(c.tags),
            status=_out(CourseStatus, pb.CourseStatus, "COURSE_STATUS_", c.status),
            version=c.version,
            shared_down=_out(ShareMode, pb.CourseShareMode, "COURSE_SHARE_MODE_", c.shared_down),
            class_hours=_hours(c.class_hours_hundredths), created_by=c.created_by,
            submitted_by=opt_str(c.submitted_by), reviewed_by=opt_str(c.reviewed_by),
            review_note=opt_str(c.review_note), published_at=timestamp(c, "published_at"),
            created_at=timestamp(c, "created_at"), updated_at=timestamp(c, "updated_at"),
        )  # fmt: skip


class MaterialRead(BaseModel):
    id: str
    item_id: str
    version: int
    filename: str
    content_type: str
    size_bytes: int
    sha256: str | None
    status: MaterialStatus | None
    length: int
    multipart: bool
    created_by: str
    created_at: datetime | None
    completed_at: datetime | None

    @classmethod
    def from_proto(cls, m: pb.CourseMaterial) -> MaterialRead:
        return cls(
            id=m.id, item_id=m.item_id, version=m.version, filename=m.filename,
            content_type=m.content_type, size_bytes=m.size_bytes, sha256=opt_str(m.sha256),
            status=_out(MaterialStatus, pb.CourseMaterialStatus, "COURSE_MATERIAL_STATUS_",
                        m.status),
            length=m.length, multipart=m.multipart, created_by=m.created_by,
            created_at=timestamp(m, "created_at"), completed_at=timestamp(m, "completed_at"),
        )  # fmt: skip


class CheckpointRead(BaseModel):
    id: str
    item_id: str
    position: int
    kind: CheckpointKind | None
    prompt: str
    options: list[str]
    answer: list[int]
    explanation: str

    @classmethod
    def from_proto(cls, c: pb.CourseCheckpoint) -> CheckpointRead:
        return cls(
            id=c.id, item_id=c.item_id, position=c.position,
            kind=_out(CheckpointKind, pb.CourseCheckpointKind, "COURSE_CHECKPOINT_KIND_", c.kind),
            prompt=c.prompt, options=list(c.options), answer=list(c.answer),
            explanation=c.explanation,
        )  # fmt: skip


class ItemRead(BaseModel):
    id: str
    chapter_id: str
    position: int
    kind: ItemKind | None
    title: str
    body: str
    url: str
    length: int
    required: bool
    current_material: MaterialRead | None
    checkpoints: list[CheckpointRead]

    @classmethod
    def from_proto(cls, i: pb.CourseItem) -> ItemRead:
        return cls(
            id=i.id, chapter_id=i.chapter_id, position=i.position,
            kind=_out(ItemKind, pb.CourseItemKind, "COURSE_ITEM_KIND_", i.kind), title=i.title,
            body=i.body, url=i.url, length=i.length, required=i.required,
            current_material=MaterialRead.from_proto(i.current_material)
            if i.HasField("current_material") else None,
            checkpoints=[CheckpointRead.from_proto(c) for c in i.checkpoints],
        )  # fmt: skip


class ChapterRead(BaseModel):
    id: str
    course_id: str
    position: int
    title: str
    items: list[ItemRead]

    @classmethod
    def from_proto(cls, c: pb.CourseChapter) -> ChapterRead:
        return cls(id=c.id, course_id=c.course_id, position=c.position, title=c.title,
                   items=[ItemRead.from_proto(i) for i in c.items])  # fmt: skip


class AudienceRead(BaseModel):
    kind: AudienceKind | None
    org_id: str | None
    role: str | None
    learner_id: str | None
    required: bool
    due_on: date | None

    @classmethod
    def from_proto(cls, a: pb.CourseAudience) -> AudienceRead:
        return cls(
            kind=_out(AudienceKind, pb.CourseAudienceKind, "COURSE_AUDIENCE_KIND_", a.kind),
            org_id=opt_str(a.org_id), role=opt_str(a.role), learner_id=opt_str(a.learner_id),
            required=a.required, due_on=_date(a.due_on),
        )  # fmt: skip


class CourseDetailRead(BaseModel):
    """The authoring view: checkpoint answers included."""

    course: CourseRead
    chapters: list[ChapterRead]
    audiences: list[AudienceRead]

    @classmethod
    def from_proto(cls, r: pb.GetCourseResponse) -> CourseDetailRead:
        return cls(
            course=CourseRead.from_proto(r.course),
            chapters=[ChapterRead.from_proto(c) for c in r.chapters],
            audiences=[AudienceRead.from_proto(a) for a in r.audiences],
        )


class ChaptersRead(BaseModel):
    chapters: list[ChapterRead]


class AudiencesRead(BaseModel):
    audiences: list[AudienceRead]


class UploadPlanRead(BaseModel):
    """Send the file with one `PUT put_url` (Content-Type as declared), or, when `upload_id` is
    set, `part_count` parts of `part_bytes` bytes (the last shorter), each PUT to its URL from
    .../part-urls; then POST .../complete."""

    put_url: str | None
    upload_id: str | None
    part_bytes: int
    part_count: int
    expires_at: datetime | None


class UploadStartedRead(BaseModel):
    material: MaterialRead
    upload: UploadPlanRead

    @classmethod
    def from_proto(cls, r: pb.StartMaterialUploadResponse) -> UploadStartedRead:
        u = r.upload
        return cls(
            material=MaterialRead.from_proto(r.material),
            upload=UploadPlanRead(
                put_url=opt_str(u.put_url), upload_id=opt_str(u.upload_id),
                part_bytes=u.part_bytes, part_count=u.part_count,
                expires_at=timestamp(u, "expires_at"),
            ),
        )  # fmt: skip


class PartUrlRead(BaseModel):
    part_number: int
    url: str


class PartUrlsRead(BaseModel):
    urls: list[PartUrlRead]
    expires_at: datetime | None


class PartRead(BaseModel):
    part_number: int
    size_bytes: int
    etag: str


class PartsRead(BaseModel):
    """What the store already has: send the other parts, then complete."""

    parts: list[PartRead]
    part_count: int
    part_bytes: int


class UploadCompletedRead(BaseModel):
    material: MaterialRead
    item: ItemRead


class DownloadRead(BaseModel):
    """A short-lived URL; GET it (HTTP Range works, for seeking)."""

    url: str
    expires_at: datetime | None
    material: MaterialRead


class CatalogueEntryRead(BaseModel):
    course_id: str
    owner_tenant_id: str
    title: str
    summary: str
    tags: list[str]
    version: int
    class_hours: Decimal
    required: bool = Field(description="assigned to me (必学); else optional (选学)")
    due_on: date | None
    shared_from_ancestor: bool
    published_at: datetime | None

    @classmethod
    def from_proto(cls, e: pb.CatalogueEntry) -> CatalogueEntryRead:
        return cls(
            course_id=e.course_id, owner_tenant_id=e.owner_tenant_id, title=e.title,
            summary=e.summary, tags=list(e.tags), version=e.version,
            class_hours=_hours(e.class_hours_hundredths), required=e.required,
            due_on=_date(e.due_on), shared_from_ancestor=e.shared_from_ancestor,
            published_at=timestamp(e, "published_at"),
        )  # fmt: skip


CataloguePage = Page[CatalogueEntryRead]
CoursePage = Page[CourseRead]


class LearnerCheckpointRead(BaseModel):
    """A question at a position; answered through the learning progress API."""

    id: str
    position: int
    kind: CheckpointKind | None
    prompt: str
    options: list[str]


class LearnerItemRead(BaseModel):
    id: str
    position: int
    kind: ItemKind | None
    title: str
    body: str
    url: str
    length: int
    required: bool
    material_version: int | None
    content_type: str | None
    size_bytes: int | None
    checkpoints: list[LearnerCheckpointRead]


class LearnerChapterRead(BaseModel):
    id: str
    position: int
    title: str
    items: list[LearnerItemRead]


class LearnerCourseRead(BaseModel):
    course: CatalogueEntryRead
    chapters: list[LearnerChapterRead]

    @classmethod
    def from_proto(cls, r: pb.GetLearnerCourseResponse) -> LearnerCourseRead:
        return cls(
            course=CatalogueEntryRead.from_proto(r.course),
            chapters=[
                LearnerChapterRead(
                    id=c.id, position=c.position, title=c.title,
                    items=[_learner_item(i) for i in c.items],
                )
                for c in r.chapters
            ],
        )  # fmt: skip


def _learner_item(i: pb.LearnerItem) -> LearnerItemRead:
    return LearnerItemRead(
        id=i.id, position=i.position,
        kind=_out(ItemKind, pb.CourseItemKind, "COURSE_ITEM_KIND_", i.kind), title=i.title,
        body=i.body, url=i.url, length=i.length, required=i.required,
        material_version=i.material_version or None, content_type=opt_str(i.content_type),
        size_bytes=i.size_bytes or None,
        checkpoints=[
            LearnerCheckpointRead(
                id=c.id, position=c.position,
                kind=_out(CheckpointKind, pb.CourseCheckpointKind, "COURSE_CHECKPOINT_KIND_",
                          c.kind),
                prompt=c.prompt, options=list(c.options),
            )
            for c in i.checkpoints
        ],
    )  # fmt: skip
