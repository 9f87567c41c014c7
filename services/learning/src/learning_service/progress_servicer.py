"""gRPC transport of ProgressService: proto in, use case in one unit of work, proto out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from hongyun.learning.v1 import learning_progress_pb2 as pb
from hongyun.learning.v1 import learning_progress_pb2_grpc
from hongyun_platform.db import Database
from hongyun_platform.db.caller_uow import caller_unit_of_work
from hongyun_platform.grpc.context import CallerContext, current_caller

from learning_service.progress import (
    CompletionView,
    CourseLearnerView,
    ItemProgressView,
    Progress,
    SettingsView,
)
from learning_service.progress_models import SETTING_FIELDS, ProgressFlag

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["ProgressService"].full_name
FLAG_KIND = {
    "too_fast": pb.PROGRESS_FLAG_KIND_TOO_FAST,
    "parallel_playback": pb.PROGRESS_FLAG_KIND_PARALLEL_PLAYBACK,
}


def _ts(msg: Any, name: str, value: datetime | None) -> None:
    if value is not None:
        getattr(msg, name).FromDatetime(value.astimezone(UTC))


def _s(value: Any) -> str:
    return str(value) if value else ""


def item_progress_pb(v: ItemProgressView) -> pb.ItemProgress:
    msg = pb.ItemProgress(
        item_id=str(v.item_id),
        course_id=str(v.course_id),
        started=v.started,
        position=v.position,
        furthest=v.furthest,
        length=v.length,
        percent=v.percent,
        reached_end=v.reached_end,
        checkpoints_total=v.checkpoints_total,
        checkpoints_correct=v.checkpoints_correct,
        completed=v.completed,
        completion_flagged=v.completion_flagged,
        attempt=v.attempt,
        attempt_flags=[FLAG_KIND[k] for k in v.attempt_flags],
        attempt_flag_notes=v.flag_notes,
    )
    _ts(msg, "completed_at", v.completed_at)
    _ts(msg, "started_at", v.started_at)
    _ts(msg, "last_report_at", v.last_report_at)
    return msg


def completion_pb(c: CompletionView) -> pb.CourseCompletion:
    msg = pb.CourseCompletion(
        completed=c.completed, flagged=c.flagged, class_hours_hundredths=c.class_hours_hundredths
    )
    _ts(msg, "completed_at", c.completed_at)
    return msg


def flag_pb(f: ProgressFlag) -> pb.ProgressFlag:
    msg = pb.ProgressFlag(
        id=str(f.id), learner_id=f.learner_id, org_id=_s(f.org_id), course_id=str(f.course_id),
        item_id=str(f.item_id), kind=FLAG_KIND.get(f.kind, pb.PROGRESS_FLAG_KIND_UNSPECIFIED),
        detail=f.detail, attempt=f.attempt,
    )  # fmt: skip
    _ts(msg, "created_at", f.created_at)
    return msg


def learner_pb(v: CourseLearnerView) -> pb.CourseLearner:
    msg = pb.CourseLearner(
        learner_id=v.learner_id, org_id=_s(v.org_id), items_started=v.items_started,
        items_completed=v.items_completed, required_items=v.required_items,
        required_completed=v.required_completed, completion=completion_pb(v.completion),
        flags=v.flags,
    )  # fmt: skip
    _ts(msg, "last_report_at", v.last_report_at)
    return msg


def settings_pb(v: SettingsView) -> pb.ProgressSettings:
    msg = pb.ProgressSettings(citation=v.citation, **v.values)
    for name in SETTING_FIELDS:
        msg.sources[name] = (
            pb.SETTING_SOURCE_TENANT if name in v.overridden else pb.SETTING_SOURCE_DEFAULT
        )
    return msg


def _nothing() -> None:
    pass


class ProgressServicer(learning_progress_pb2_grpc.ProgressServiceServicer):
    def __init__(self, db: Database, progress: Progress, *, after_commit: Callable[[], None]):
        self.db = db
        self.progress = progress
        self.after_commit = after_commit  # wakes the outbox relay

    def _uow(self, caller: CallerContext, *, writes: bool = True):
        return caller_unit_of_work(self.db, caller, self.after_commit, writes=writes)

    async def ReportProgress(
        self, request: pb.ReportProgressRequest, context
    ) -> pb.ReportProgressResponse:
        caller = current_caller()
        # Most reports emit nothing: wake the outbox relay only when one did.
        async with caller_unit_of_work(self.db, caller, _nothing) as uow:
            r = await self.progress.report(
                uow, caller, item_id=request.item_id, session_id=request.session_id,
                position=request.position, playback_rate=request.playback_rate,
                seeked=request.seeked,
            )  # fmt: skip
        if r.emitted:
            self.after_commit()
        return pb.ReportProgressResponse(
            progress=item_progress_pb(r.progress),
            new_flags=[FLAG_KIND[k] for k in r.new_flags],
            course_completed=r.course_completed,
        )

    async def AnswerCheckpoint(
        self, request: pb.AnswerCheckpointRequest, context
    ) -> pb.AnswerCheckpointResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            r = await self.progress.answer(
                uow, caller, item_id=request.item_id, checkpoint_id=request.checkpoint_id,
                selected=list(request.selected),
            )  # fmt: skip
        return pb.AnswerCheckpointResponse(
            correct=r.correct,
            attempts=r.attempts,
            explanation=r.explanation,
            progress=item_progress_pb(r.progress),
            course_completed=r.course_completed,
            points_awarded=r.points_awarded,
            points_enabled=r.points_enabled,
        )

    async def RestartItem(self, request: pb.RestartItemRequest, context) -> pb.RestartItemResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            v = await self.progress.restart(uow, caller, item_id=request.item_id)
        return pb.RestartItemResponse(progress=item_progress_pb(v))

    async def GetMyCourseProgress(
        self, request: pb.GetMyCourseProgressRequest, context
    ) -> pb.GetMyCourseProgressResponse:
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            v = await self.progress.my_course(uow, caller, course_id=request.course_id)
        return pb.GetMyCourseProgressResponse(
            course_id=str(v.course_id),
            title=v.title,
            items=[
                pb.ItemProgressEntry(
                    item_id=str(e.item_id), chapter_id=str(e.chapter_id), title=e.title,
                    kind=e.kind, required=e.required, progress=item_progress_pb(e.progress),
                    checkpoints=[
                        pb.CheckpointStatus(
                            checkpoint_id=str(c.checkpoint_id), position=c.position,
                            answered=c.answered, correct=c.correct, attempts=c.attempts,
                        )
                        for c in e.checkpoints
                    ],
                )
                for e in v.items
            ],
            required_items=v.required_items,
            required_completed=v.required_completed,
            completion=completion_pb(v.completion),
            continue_item_id=_s(v.continue_item_id),
            continue_position=v.continue_position,
        )  # fmt: skip

    async def GetContinueLearning(
        self, request: pb.GetContinueLearningRequest, context
    ) -> pb.GetContinueLearningResponse:
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            v = await self.progress.continue_learning(uow, caller)
        if v is None:
            return pb.GetContinueLearningResponse(found=False)
        msg = pb.GetContinueLearningResponse(
            found=True, course_id=str(v.course_id), course_title=v.course_title,
            item_id=str(v.item_id), item_title=v.item_title, kind=v.kind, position=v.position,
            length=v.length,
        )  # fmt: skip
        _ts(msg, "last_report_at", v.last_report_at)
        return msg

    async def ListCourseLearners(
        self, request: pb.ListCourseLearnersRequest, context
    ) -> pb.ListCourseLearnersResponse:
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            page = await self.progress.course_learners(
                uow, caller, course_id=request.course_id, org_id=request.org_id,
                page_size=request.page_size, page_token=request.page_token,
            )  # fmt: skip
        return pb.ListCourseLearnersResponse(
            learners=[learner_pb(v) for v in page.items], next_page_token=page.next_token
        )

    async def ListLearnerFlags(
        self, request: pb.ListLearnerFlagsRequest, context
    ) -> pb.ListLearnerFlagsResponse:
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            page = await self.progress.learner_flags(
                uow, caller, learner_id=request.learner_id, page_size=request.page_size,
                page_token=request.page_token,
            )  # fmt: skip
        return pb.ListLearnerFlagsResponse(
            flags=[flag_pb(f) for f in page.items], next_page_token=page.next_token
        )

    async def GetProgressSettings(
        self, request: pb.GetProgressSettingsRequest, context
    ) -> pb.GetProgressSettingsResponse:
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            v = await self.progress.get_settings(uow, caller)
        return pb.GetProgressSettingsResponse(settings=settings_pb(v))

    async def UpdateProgressSettings(
        self, request: pb.UpdateProgressSettingsRequest, context
    ) -> pb.UpdateProgressSettingsResponse:
        caller = current_caller()
        o = request.overrides
        overrides = {name: getattr(o, name) for name in SETTING_FIELDS if o.HasField(name)}
        async with self._uow(caller) as uow:
            v = await self.progress.update_settings(uow, caller, overrides=overrides)
        return pb.UpdateProgressSettingsResponse(settings=settings_pb(v))

    async def GetMyPoints(self, request: pb.GetMyPointsRequest, context) -> pb.GetMyPointsResponse:
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            v = await self.progress.my_points(uow, caller)
        return pb.GetMyPointsResponse(total=v.total, today=v.today, daily_cap=v.daily_cap)

    async def ListBranchPoints(
        self, request: pb.ListBranchPointsRequest, context
    ) -> pb.ListBranchPointsResponse:
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            v = await self.progress.branch_points(
                uow, caller, page_size=request.page_size, page_token=request.page_token
            )
        return pb.ListBranchPointsResponse(
            org_id=str(v.org_id),
            members=[pb.BranchPoints(learner_id=lid, total=t) for lid, t in v.members],
            next_page_token=v.next_token,
        )
