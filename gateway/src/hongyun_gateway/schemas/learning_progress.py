"""Bodies of learning progress (学习进度): player reports, checkpoint answers, the learner's own
course view, secretaries' views, the tenant's settings and the optional, branch-only points.

Positions are offsets: seconds of a video/audio, the 0-based page index of a document."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from hongyun.learning.v1 import learning_progress_pb2 as pb
from pydantic import BaseModel, ConfigDict, Field

from hongyun_gateway.pagination import Page
from hongyun_gateway.schemas.common import opt_str, timestamp


class FlagKind(StrEnum):
    TOO_FAST = "too_fast"  # advanced faster than plausible
    PARALLEL_PLAYBACK = "parallel_playback"  # two playback sessions advancing at once


_FLAG = {
    pb.PROGRESS_FLAG_KIND_TOO_FAST: FlagKind.TOO_FAST,
    pb.PROGRESS_FLAG_KIND_PARALLEL_PLAYBACK: FlagKind.PARALLEL_PLAYBACK,
}


def _flags(values) -> list[FlagKind]:
    return [_FLAG[v] for v in values if v in _FLAG]


# ---- writes ----


class ProgressReportWrite(BaseModel):
    """One player report (about every 30 s while playing, and on pause, seek and end)."""

    model_config = ConfigDict(extra="forbid")

    session_id: uuid.UUID = Field(description="A UUID the player makes for each play session")
    position: Annotated[int, Field(ge=0, le=10_000_000)] = Field(
        description="Seconds from the start (video/audio) or 0-based page index (document)"
    )
    playback_rate: Annotated[float, Field(gt=0, le=16)] | None = Field(
        default=None, description="The player's playback rate, if known"
    )
    seeked: bool = Field(
        default=False, description="The learner seeked since the last report (not counted)"
    )

    def to_proto(self, item_id: uuid.UUID) -> pb.ReportProgressRequest:
        return pb.ReportProgressRequest(
            item_id=str(item_id),
            session_id=str(self.session_id),
            position=self.position,
            playback_rate=self.playback_rate or 0.0,
            seeked=self.seeked,
        )


class CheckpointAnswerWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    selected: Annotated[
        list[Annotated[int, Field(ge=0, le=100)]], Field(min_length=1, max_length=20)
    ] = Field(description="Indexes of the chosen options (0-based)")


class SettingsWrite(BaseModel):
    """The tenant's overrides; an omitted or null field uses the platform default."""

    model_config = ConfigDict(extra="forbid")

    end_tolerance_percent: Annotated[float, Field(ge=0, le=20)] | None = None
    end_tolerance_seconds: Annotated[int, Field(ge=0, le=600)] | None = None
    end_tolerance_pages: Annotated[int, Field(ge=0, le=50)] | None = None
    max_playback_rate: Annotated[float, Field(ge=1, le=16)] | None = None
    slack_seconds: Annotated[float, Field(ge=0, le=120)] | None = None
    burst_seconds: Annotated[float, Field(ge=10, le=3600)] | None = None
    min_seconds_per_page: Annotated[float, Field(ge=0.5, le=600)] | None = None
    slack_pages: Annotated[float, Field(ge=0, le=10)] | None = None
    burst_pages: Annotated[float, Field(ge=1, le=100)] | None = None
    parallel_window_seconds: Annotated[float, Field(ge=10, le=3600)] | None = None
    parallel_min_rate: Annotated[float, Field(ge=0, le=1)] | None = None
    points_enabled: bool | None = Field(default=None, description="Off by default")
    points_per_item: Annotated[int, Field(ge=0, le=100)] | None = None
    points_per_checkpoint: Annotated[int, Field(ge=0, le=100)] | None = None
    points_daily_cap: Annotated[int, Field(ge=1, le=1000)] | None = None

    def to_proto(self) -> pb.UpdateProgressSettingsRequest:
        values = {k: v for k, v in self.model_dump().items() if v is not None}
        return pb.UpdateProgressSettingsRequest(overrides=pb.ProgressSettingsOverrides(**values))


# ---- reads ----


class ItemProgressRead(BaseModel):
    item_id: str
    course_id: str
    started: bool
    position: int = Field(description="Resume point")
    furthest: int = Field(description="End of the span covered from the start")
    length: int
    percent: int
    reached_end: bool
    checkpoints_total: int
    checkpoints_correct: int
    completed: bool
    completion_flagged: bool = Field(description="Completed with flags: no points, no hours")
    completed_at: datetime | None
    attempt: int
    attempt_flags: list[FlagKind]
    attempt_flag_notes: list[str] = Field(description="What each flag means, 中文 (English)")
    started_at: datetime | None
    last_report_at: datetime | None

    @classmethod
    def from_proto(cls, p: pb.ItemProgress) -> ItemProgressRead:
        return cls(
            item_id=p.item_id, course_id=p.course_id, started=p.started, position=p.position,
            furthest=p.furthest, length=p.length, percent=p.percent, reached_end=p.reached_end,
            checkpoints_total=p.checkpoints_total, checkpoints_correct=p.checkpoints_correct,
            completed=p.completed, completion_flagged=p.completion_flagged,
            completed_at=timestamp(p, "completed_at"), attempt=p.attempt,
            attempt_flags=_flags(p.attempt_flags),
            attempt_flag_notes=list(p.attempt_flag_notes),
            started_at=timestamp(p, "started_at"), last_report_at=timestamp(p, "last_report_at"),
        )  # fmt: skip


class ProgressReportRead(BaseModel):
    progress: ItemProgressRead
    new_flags: list[FlagKind]
    course_completed: bool = Field(description="This report completed the course")

    @classmethod
    def from_proto(cls, r: pb.ReportProgressResponse) -> ProgressReportRead:
        return cls(
            progress=ItemProgressRead.from_proto(r.progress),
            new_flags=_flags(r.new_flags),
            course_completed=r.course_completed,
        )


class CheckpointAnswerRead(BaseModel):
    correct: bool
    attempts: int
    explanation: str | None = Field(description="Shown once answered correctly")
    progress: ItemProgressRead
    course_completed: bool
    points_awarded: int | None = Field(description="Null when points are off")

    @classmethod
    def from_proto(cls, r: pb.AnswerCheckpointResponse, points_on: bool) -> CheckpointAnswerRead:
        return cls(
            correct=r.correct,
            attempts=r.attempts,
            explanation=opt_str(r.explanation),
            progress=ItemProgressRead.from_proto(r.progress),
            course_completed=r.course_completed,
            points_awarded=r.points_awarded if points_on else None,
        )


class CheckpointStatusRead(BaseModel):
    checkpoint_id: str
    position: int
    answered: bool
    correct: bool
    attempts: int


class CourseItemProgressRead(BaseModel):
    item_id: str
    chapter_id: str
    title: str
    kind: str
    required: bool
    progress: ItemProgressRead
    checkpoints: list[CheckpointStatusRead]


class CourseCompletionRead(BaseModel):
    completed: bool
    flagged: bool
    class_hours: float = Field(description="Class hours (学时) credited; 0 when flagged")
    completed_at: datetime | None

    @classmethod
    def from_proto(cls, c: pb.CourseCompletion) -> CourseCompletionRead:
        return cls(
            completed=c.completed,
            flagged=c.flagged,
            class_hours=c.class_hours_hundredths / 100,
            completed_at=timestamp(c, "completed_at"),
        )


class MyCourseProgressRead(BaseModel):
    course_id: str
    title: str
    items: list[CourseItemProgressRead]
    required_items: int
    required_completed: int
    completion: CourseCompletionRead
    continue_item_id: str | None = Field(description="Where to continue; null when all done")
    continue_position: int

    @classmethod
    def from_proto(cls, r: pb.GetMyCourseProgressResponse) -> MyCourseProgressRead:
        return cls(
            course_id=r.course_id,
            title=r.title,
            items=[
                CourseItemProgressRead(
                    item_id=e.item_id, chapter_id=e.chapter_id, title=e.title, kind=e.kind,
                    required=e.required, progress=ItemProgressRead.from_proto(e.progress),
                    checkpoints=[
                        CheckpointStatusRead(
                            checkpoint_id=c.checkpoint_id, position=c.position,
                            answered=c.answered, correct=c.correct, attempts=c.attempts,
                        )
                        for c in e.checkpoints
                    ],
                )
                for e in r.items
            ],
            required_items=r.required_items,
            required_completed=r.required_completed,
            completion=CourseCompletionRead.from_proto(r.completion),
            continue_item_id=opt_str(r.continue_item_id),
            continue_position=r.continue_position,
        )  # fmt: skip


class ContinueLearningRead(BaseModel):
    course_id: str
    course_title: str
    item_id: str
    item_title: str
    kind: str
    position: int
    length: int
    last_report_at: datetime | None

    @classmethod
    def from_proto(cls, r: pb.GetContinueLearningResponse) -> ContinueLearningRead:
        return cls(
            course_id=r.course_id, course_title=r.course_title, item_id=r.item_id,
            item_title=r.item_title, kind=r.kind, position=r.position, length=r.length,
            last_report_at=timestamp(r, "last_report_at"),
        )  # fmt: skip


class CourseLearnerRead(BaseModel):
    learner_id: str
    org_id: str | None
    items_started: int
    items_completed: int
    required_items: int
    required_completed: int
    completion: CourseCompletionRead
    flags: int = Field(description="Flags recorded on this course")
    last_report_at: datetime | None

    @classmethod
    def from_proto(cls, v: pb.CourseLearner) -> CourseLearnerRead:
        return cls(
            learner_id=v.learner_id, org_id=opt_str(v.org_id), items_started=v.items_started,
            items_completed=v.items_completed, required_items=v.required_items,
            required_completed=v.required_completed,
            completion=CourseCompletionRead.from_proto(v.completion), flags=v.flags,
            last_report_at=timestamp(v, "last_report_at"),
        )  # fmt: skip


CourseLearnerPage = Page[CourseLearnerRead]


class ProgressFlagRead(BaseModel):
    id: str
    learner_id: str
    org_id: str | None
    course_id: str
    item_id: str
    kind: FlagKind | None
    detail: str
    attempt: int
    created_at: datetime | None

    @classmethod
    def from_proto(cls, f: pb.ProgressFlag) -> ProgressFlagRead:
        return cls(
            id=f.id, learner_id=f.learner_id, org_id=opt_str(f.org_id), course_id=f.course_id,
            item_id=f.item_id, kind=_FLAG.get(f.kind), detail=f.detail, attempt=f.attempt,
            created_at=timestamp(f, "created_at"),
        )  # fmt: skip


ProgressFlagPage = Page[ProgressFlagRead]


class SettingSource(StrEnum):
    DEFAULT = "default"
    TENANT = "tenant"


class SettingsRead(BaseModel):
    end_tolerance_percent: float
    end_tolerance_seconds: int
    end_tolerance_pages: int
    max_playback_rate: float
    slack_seconds: float
    burst_seconds: float
    min_seconds_per_page: float
    slack_pages: float
    burst_pages: float
    parallel_window_seconds: float
    parallel_min_rate: float
    points_enabled: bool
    points_per_item: int
    points_per_checkpoint: int
    points_daily_cap: int
    citation: str
    sources: dict[str, SettingSource]

    @classmethod
    def from_proto(cls, s: pb.ProgressSettings) -> SettingsRead:
        src = {pb.SETTING_SOURCE_DEFAULT: SettingSource.DEFAULT,
               pb.SETTING_SOURCE_TENANT: SettingSource.TENANT}  # fmt: skip
        names = [f for f in cls.model_fields if f not in ("citation", "sources")]
        return cls(
            **{n: getattr(s, n) for n in names},
            citation=s.citation,
            sources={k: src[v] for k, v in s.sources.items() if v in src},
        )


class MyPointsRead(BaseModel):
    total: int
    today: int
    daily_cap: int


class BranchPointsRead(BaseModel):
    learner_id: str
    total: int


class BranchPointsPage(BaseModel):
    org_id: str = Field(description="The secretary's own branch")
    items: list[BranchPointsRead] = Field(description="Ordered by learner id, never by points")
    next_cursor: str | None = None
