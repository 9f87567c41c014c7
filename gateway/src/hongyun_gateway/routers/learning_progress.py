"""/api/v1/learning — 学习进度 Learning progress that measures understanding (domain.md §8).

A player reports its position about every 30 s; the server's own clock decides what was
plausibly covered (seeking is allowed but not counted). Completion is reaching the end and
answering every checkpoint correctly — never time spent. Anomalies (too fast, two playback
sessions at once) are recorded as flags that explain, never block; a flagged completion earns no
points and no class hours, and the learner may restart the item to redo it.

Items and courses a learner may not open are 404, like ones that do not exist. Secretaries see
learners of their subtree, tenant admins the whole tenant. Points are off unless the tenant admin
turns them on, and are then visible only to the learner and inside their own branch: there is no
ranking and no list across branches.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response
from hongyun.learning.v1 import learning_progress_pb2 as pb
from hongyun.learning.v1 import learning_progress_pb2_grpc

from hongyun_gateway.auth import TenantCaller
from hongyun_gateway.pagination import PageParams, encode_cursor, page_params
from hongyun_gateway.private_responses import NO_STORE
from hongyun_gateway.problems import problem_responses
from hongyun_gateway.schemas.learning_progress import (
    BranchPointsPage,
    BranchPointsRead,
    CheckpointAnswerRead,
    CheckpointAnswerWrite,
    ContinueLearningRead,
    CourseLearnerPage,
    CourseLearnerRead,
    ItemProgressRead,
    MyCourseProgressRead,
    MyPointsRead,
    ProgressFlagPage,
    ProgressFlagRead,
    ProgressReportRead,
    ProgressReportWrite,
    SettingsRead,
    SettingsWrite,
)
from hongyun_gateway.state import Learning

router = APIRouter(prefix="/api/v1/learning", tags=["学习 Learning"])


def _stub(learning: Learning) -> learning_progress_pb2_grpc.ProgressServiceStub:
    return learning_progress_pb2_grpc.ProgressServiceStub(learning.channel)


@router.put(
    "/items/{item_id}/progress",
    response_model=ProgressReportRead,
    summary="上报学习进度 Report the player's position",
    description="`position` is seconds (video/audio) or the 0-based page (document). The span "
    "covered grows only at a plausible pace measured by the server (the tenant's max playback "
    "rate, min seconds per page); a seek (`seeked`) moves the resume point without counting. "
    "Rich text completes when opened and its checkpoints are answered; a link when opened. "
    "Position beyond the item: 422 `progress_position_out_of_range`.",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def report_progress(
    item_id: uuid.UUID, body: ProgressReportWrite, caller: TenantCaller, learning: Learning
) -> ProgressReportRead:
    resp = await learning.call(_stub(learning).ReportProgress, body.to_proto(item_id), caller)
    return ProgressReportRead.from_proto(resp)


@router.post(
    "/items/{item_id}/progress/restart",
    response_model=ItemProgressRead,
    summary="重新学习 Start the item again (a new attempt)",
    description="Resets the position and covered span and clears the attempt's flags (their "
    "records stay). A completion already reached stays; a flagged one becomes clean when the new "
    "attempt completes without flags.",
    responses=problem_responses(401, 403, 404, 409, 503),
)
async def restart_item(
    item_id: uuid.UUID, caller: TenantCaller, learning: Learning
) -> ItemProgressRead:
    resp = await learning.call(
        _stub(learning).RestartItem, pb.RestartItemRequest(item_id=str(item_id)), caller
    )
    return ItemProgressRead.from_proto(resp.progress)


@router.post(
    "/items/{item_id}/checkpoints/{checkpoint_id}/answer",
    response_model=CheckpointAnswerRead,
    summary="回答检查点 Answer a checkpoint question",
    description="A wrong answer is recorded and may be retried freely; the explanation is shown "
    "once answered correctly. Invalid selection: 422 `checkpoint_invalid_selection`.",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def answer_checkpoint(
    item_id: uuid.UUID,
    checkpoint_id: uuid.UUID,
    body: CheckpointAnswerWrite,
    caller: TenantCaller,
    learning: Learning,
) -> CheckpointAnswerRead:
    req = pb.AnswerCheckpointRequest(
        item_id=str(item_id), checkpoint_id=str(checkpoint_id), selected=body.selected
    )
    resp = await learning.call(_stub(learning).AnswerCheckpoint, req, caller)
    return CheckpointAnswerRead.from_proto(resp, resp.points_enabled)


@router.get(
    "/courses/{course_id}/my-progress",
    response_model=MyCourseProgressRead,
    summary="我的课程进度 My progress in a course",
    description="Each item with its resume position, covered span, completion, flags of the "
    "current attempt (with what they mean) and checkpoint status; the course completion and "
    "class hours credited; where to continue.",
    responses=problem_responses(401, 404, 503),
)
async def my_course_progress(
    course_id: uuid.UUID, caller: TenantCaller, learning: Learning, response: Response
) -> MyCourseProgressRead:
    resp = await learning.call(
        _stub(learning).GetMyCourseProgress,
        pb.GetMyCourseProgressRequest(course_id=str(course_id)),
        caller,
    )
    response.headers.update(NO_STORE)
    return MyCourseProgressRead.from_proto(resp)


@router.get(
    "/my-progress/continue",
    response_model=ContinueLearningRead | None,
    summary="继续学习 Continue where I left off",
    description="The most recent unfinished item the learner may still open; null when none.",
    responses=problem_responses(401, 503),
)
async def continue_learning(
    caller: TenantCaller, learning: Learning, response: Response
) -> ContinueLearningRead | None:
    resp = await learning.call(
        _stub(learning).GetContinueLearning, pb.GetContinueLearningRequest(), caller
    )
    response.headers.update(NO_STORE)
    return ContinueLearningRead.from_proto(resp) if resp.found else None


@router.get(
    "/courses/{course_id}/learners",
    response_model=CourseLearnerPage,
    summary="学员学习情况 Learners' progress in a course (secretaries, tenant admins)",
    description="Learners of your subtree (or of `org_id` inside it) who started the course, "
    "with completion and flags, ordered by learner id.",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def course_learners(
    course_id: uuid.UUID,
    caller: TenantCaller,
    learning: Learning,
    response: Response,
    page: Annotated[PageParams, Depends(page_params)],
    org_id: Annotated[uuid.UUID | None, Query(description="Subtree inside your scope")] = None,
) -> CourseLearnerPage:
    resp = await learning.call(
        _stub(learning).ListCourseLearners,
        pb.ListCourseLearnersRequest(
            course_id=str(course_id), org_id=str(org_id or ""), page_size=page.limit,
            page_token=page.page_token,
        ),
        caller,
    )  # fmt: skip
    response.headers.update(NO_STORE)
    return CourseLearnerPage(
        items=[CourseLearnerRead.from_proto(v) for v in resp.learners],
        next_cursor=encode_cursor(resp.next_page_token),
    )


@router.get(
    "/learners/{learner_id}/flags",
    response_model=ProgressFlagPage,
    summary="学员进度标记 A learner's progress flags (secretaries, tenant admins)",
    description="Newest first. A learner outside your subtree is 404.",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def learner_flags(
    learner_id: Annotated[str, Path(min_length=1, max_length=64)],
    caller: TenantCaller,
    learning: Learning,
    response: Response,
    page: Annotated[PageParams, Depends(page_params)],
) -> ProgressFlagPage:
    resp = await learning.call(
        _stub(learning).ListLearnerFlags,
        pb.ListLearnerFlagsRequest(
            learner_id=learner_id, page_size=page.limit, page_token=page.page_token
        ),
        caller,
    )
    response.headers.update(NO_STORE)
    return ProgressFlagPage(
        items=[ProgressFlagRead.from_proto(f) for f in resp.flags],
        next_cursor=encode_cursor(resp.next_page_token),
    )


@router.get(
    "/progress-settings",
    response_model=SettingsRead,
    summary="学习进度设置 The tenant's progress and points settings",
    description="Effective values and where each comes from (`default` or `tenant`).",
    responses=problem_responses(401, 403, 503),
)
async def get_settings(caller: TenantCaller, learning: Learning) -> SettingsRead:
    resp = await learning.call(
        _stub(learning).GetProgressSettings, pb.GetProgressSettingsRequest(), caller
    )
    return SettingsRead.from_proto(resp.settings)


@router.put(
    "/progress-settings",
    response_model=SettingsRead,
    summary="修改学习进度设置 Set the tenant's overrides (tenant admins)",
    description="Replaces the overrides: an omitted or null field uses the platform default. "
    "Points stay off unless `points_enabled` is true.",
    responses=problem_responses(401, 403, 422, 503),
)
async def put_settings(
    body: SettingsWrite, caller: TenantCaller, learning: Learning
) -> SettingsRead:
    resp = await learning.call(_stub(learning).UpdateProgressSettings, body.to_proto(), caller)
    return SettingsRead.from_proto(resp.settings)


@router.get(
    "/my-points",
    response_model=MyPointsRead,
    summary="我的学习积分 My points (when the tenant turned points on)",
    description="Points off: 409 `points_disabled`.",
    responses=problem_responses(401, 409, 503),
)
async def my_points(caller: TenantCaller, learning: Learning, response: Response) -> MyPointsRead:
    resp = await learning.call(_stub(learning).GetMyPoints, pb.GetMyPointsRequest(), caller)
    response.headers.update(NO_STORE)
    return MyPointsRead(total=resp.total, today=resp.today, daily_cap=resp.daily_cap)


@router.get(
    "/points/my-branch",
    response_model=BranchPointsPage,
    summary="本支部学习积分 Point totals of my own branch (its secretary)",
    description="Members of the secretary's own organisation, ordered by learner id — never by "
    "points. There is no list across branches: anyone else gets 403 `points_branch_only`.",
    responses=problem_responses(401, 403, 409, 422, 503),
)
async def branch_points(
    caller: TenantCaller,
    learning: Learning,
    response: Response,
    page: Annotated[PageParams, Depends(page_params)],
) -> BranchPointsPage:
    resp = await learning.call(
        _stub(learning).ListBranchPoints,
        pb.ListBranchPointsRequest(page_size=page.limit, page_token=page.page_token),
        caller,
    )
    response.headers.update(NO_STORE)
    return BranchPointsPage(
        org_id=resp.org_id,
        items=[BranchPointsRead(learner_id=m.learner_id, total=m.total) for m in resp.members],
        next_cursor=encode_cursor(resp.next_page_token),
    )
