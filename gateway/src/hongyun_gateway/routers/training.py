"""/api/v1/training-classes — 培训班与学时 Training classes and class hours, on the learning
service's TrainingService.

A class belongs to an organisation (its scope): tenant admins organise for the whole tenant,
secretaries for their organisation subtree; a class outside the caller's scope is 404 like an
absent one. Its completion rule (结业条件) is stored on the class — the kind's default (with its
citation, e.g. 发展对象: 3 days or 24 class hours) unless the organiser gives one. Closing a class
records a completion per trainee who met the rule and sends the class hours to the member service
once (the development case counts them toward dev.candidate.training_min). Responses that hold
names are never cached.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status
from hongyun.learning.v1 import learning_training_pb2 as pb
from hongyun.learning.v1 import learning_training_pb2_grpc
from hongyun_platform.grpc.context import CallerContext

from hongyun_gateway.auth import TenantCaller
from hongyun_gateway.learning_client import LearningClient
from hongyun_gateway.pagination import PageParams, encode_cursor, page_params
from hongyun_gateway.private_responses import NO_STORE, attachment_disposition
from hongyun_gateway.problems import problem_responses
from hongyun_gateway.schemas.training import (
    KIND_PB,
    STATUS_PB,
    AttendanceList,
    AttendanceRecordRead,
    AttendanceWrite,
    ClassClosedRead,
    ClassEvaluationRead,
    CompletionRuleRead,
    EnrolmentCreate,
    EnrolmentPage,
    EnrolmentRead,
    KindDefaultList,
    KindDefaultRead,
    SessionCreate,
    SessionList,
    SessionRead,
    TrainingClassCreate,
    TrainingClassPage,
    TrainingClassRead,
    TrainingClassStatus,
    TrainingKind,
)
from hongyun_gateway.state import Learning

router = APIRouter(prefix="/api/v1/training-classes", tags=["培训班 Training classes"])

CERTIFICATE_DEADLINE = 20.0  # rendering a PDF takes longer than a lookup
_PDF = {"description": "结业证书 The certificate (PDF)", "content": {"application/pdf": {}}}


async def _call(learning: LearningClient, caller: CallerContext, rpc: str, request: Any,
                **kw: Any) -> Any:  # fmt: skip
    stub = learning_training_pb2_grpc.TrainingServiceStub(learning.channel)
    return await learning.call(getattr(stub, rpc), request, caller, **kw)


@router.get(
    "/kinds",
    response_model=KindDefaultList,
    summary="培训类别及默认结业条件 Kinds of class and their default completion rule",
    responses=problem_responses(401, 403, 503),
)
async def kind_defaults(caller: TenantCaller, learning: Learning) -> KindDefaultList:
    resp = await _call(learning, caller, "ListTrainingKindDefaults",
                       pb.ListTrainingKindDefaultsRequest())  # fmt: skip
    kinds = {v: k for k, v in KIND_PB.items()}
    return KindDefaultList(items=[
        KindDefaultRead(kind=kinds[d.kind], label=d.label,
                        rule=CompletionRuleRead.from_proto(d.rule))
        for d in resp.defaults if d.kind in kinds
    ])  # fmt: skip


@router.post(
    "",
    response_model=TrainingClassRead,
    status_code=status.HTTP_201_CREATED,
    summary="创建培训班 Create a class (planned)",
    description="Without `rule` the kind's default completion rule is stored on the class. A "
    "secretary creates classes for their organisation or one below it (else 404 "
    "`organization_not_found`).",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def create_class(
    body: TrainingClassCreate, caller: TenantCaller, learning: Learning
) -> TrainingClassRead:
    resp = await _call(learning, caller, "CreateTrainingClass", body.to_proto())
    return TrainingClassRead.from_proto(resp.training_class)


@router.get(
    "",
    response_model=TrainingClassPage,
    summary="培训班列表 Classes in the caller's scope",
    responses=problem_responses(401, 403, 422, 503),
)
async def list_classes(
    caller: TenantCaller,
    learning: Learning,
    page: Annotated[PageParams, Depends(page_params)],
    organizer_org_id: Annotated[
        uuid.UUID | None, Query(description="classes of this organisation's subtree")
    ] = None,
    class_status: Annotated[TrainingClassStatus | None, Query(alias="status")] = None,
    kind: TrainingKind | None = None,
) -> TrainingClassPage:
    resp = await _call(learning, caller, "ListTrainingClasses", pb.ListTrainingClassesRequest(
        organizer_org_id=str(organizer_org_id or ""),
        status=STATUS_PB[class_status] if class_status else 0,
        kind=KIND_PB[kind] if kind else 0, page_size=page.limit,
        page_token=page.page_token))  # fmt: skip
    return TrainingClassPage(
        items=[TrainingClassRead.from_proto(c) for c in resp.training_classes],
        next_cursor=encode_cursor(resp.next_page_token),
    )


@router.get(
    "/{class_id}",
    response_model=TrainingClassRead,
    summary="培训班 One class",
    responses=problem_responses(401, 403, 404, 503),
)
async def get_class(
    class_id: uuid.UUID, caller: TenantCaller, learning: Learning
) -> TrainingClassRead:
    resp = await _call(learning, caller, "GetTrainingClass",
                       pb.GetTrainingClassRequest(id=str(class_id)))  # fmt: skip
    return TrainingClassRead.from_proto(resp.training_class)


@router.post(
    "/{class_id}/open",
    response_model=TrainingClassRead,
    summary="开班 Open the class (attendance may be recorded)",
    description="Only a planned class opens (409 `training_class_state`).",
    responses=problem_responses(401, 403, 404, 409, 503),
)
async def open_class(
    class_id: uuid.UUID, caller: TenantCaller, learning: Learning
) -> TrainingClassRead:
    resp = await _call(learning, caller, "OpenTrainingClass",
                       pb.OpenTrainingClassRequest(id=str(class_id)))  # fmt: skip
    return TrainingClassRead.from_proto(resp.training_class)


@router.get(
    "/{class_id}/evaluation",
    response_model=ClassEvaluationRead,
    summary="结业预评估 Who would complete now, and what is missing",
    description="Evaluates the completion rule for every trainee; writes nothing.",
    responses=problem_responses(401, 403, 404, 503),
)
async def evaluate_class(
    class_id: uuid.UUID, caller: TenantCaller, learning: Learning, response: Response
) -> ClassEvaluationRead:
    resp = await _call(learning, caller, "EvaluateTrainingClass",
                       pb.EvaluateTrainingClassRequest(id=str(class_id)))  # fmt: skip
    response.headers.update(NO_STORE)
    return ClassEvaluationRead.from_proto(resp.evaluation)


@router.post(
    "/{class_id}/close",
    response_model=ClassClosedRead,
    summary="结业 Close the class: completions and their class hours",
    description="Records a completion per trainee who met the rule and sends their class hours "
    "to the member service, once per trainee. An open class only: planned is 409 "
    "`training_class_not_open`, closed is 409 `training_class_closed`.",
    responses=problem_responses(401, 403, 404, 409, 503),
)
async def close_class(
    class_id: uuid.UUID, caller: TenantCaller, learning: Learning, response: Response
) -> ClassClosedRead:
    resp = await _call(learning, caller, "CloseTrainingClass",
                       pb.CloseTrainingClassRequest(id=str(class_id)))  # fmt: skip
    response.headers.update(NO_STORE)
    evaluation = ClassEvaluationRead.from_proto(resp.evaluation)
    return ClassClosedRead(**dict(evaluation), newly_completed=resp.newly_completed)


@router.post(
    "/{class_id}/enrolments",
    response_model=EnrolmentRead,
    status_code=status.HTTP_201_CREATED,
    summary="报名 Enrol a person",
    description="By `member_id` and/or `development_case_id` (the member service's ids). The same "
    "person twice is 409 `training_already_enrolled`; a closed class 409 `training_class_closed`.",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def enrol(
    class_id: uuid.UUID, body: EnrolmentCreate, caller: TenantCaller, learning: Learning,
    response: Response,
) -> EnrolmentRead:  # fmt: skip
    resp = await _call(learning, caller, "EnrolTrainee", body.to_proto(class_id))
    response.headers.update(NO_STORE)
    return EnrolmentRead.from_proto(resp.enrolment)


@router.get(
    "/{class_id}/enrolments",
    response_model=EnrolmentPage,
    summary="学员名单 The trainees, with their completion",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def list_enrolments(
    class_id: uuid.UUID,
    caller: TenantCaller,
    learning: Learning,
    response: Response,
    page: Annotated[PageParams, Depends(page_params)],
) -> EnrolmentPage:
    resp = await _call(learning, caller, "ListTrainingEnrolments",
                       pb.ListTrainingEnrolmentsRequest(class_id=str(class_id),
                                                        page_size=page.limit,
                                                        page_token=page.page_token))  # fmt: skip
    response.headers.update(NO_STORE)
    return EnrolmentPage(
        items=[EnrolmentRead.from_proto(e) for e in resp.enrolments],
        next_cursor=encode_cursor(resp.next_page_token),
    )


@router.post(
    "/{class_id}/sessions",
    response_model=SessionRead,
    status_code=status.HTTP_201_CREATED,
    summary="添加课程 Add an offline or online session",
    description="Offline: `held_on` within the class dates, `class_hours`, optional times and "
    "place. Online: `course_id` of a published course (404 `course_not_found`); its class hours "
    "unless given.",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def add_session(
    class_id: uuid.UUID, body: SessionCreate, caller: TenantCaller, learning: Learning
) -> SessionRead:
    resp = await _call(learning, caller, "AddTrainingSession", body.to_proto(class_id))
    return SessionRead.from_proto(resp.session)


@router.get(
    "/{class_id}/sessions",
    response_model=SessionList,
    summary="课程安排 The sessions, by date",
    responses=problem_responses(401, 403, 404, 503),
)
async def list_sessions(
    class_id: uuid.UUID, caller: TenantCaller, learning: Learning
) -> SessionList:
    resp = await _call(learning, caller, "ListTrainingSessions",
                       pb.ListTrainingSessionsRequest(class_id=str(class_id)))  # fmt: skip
    return SessionList(items=[SessionRead.from_proto(s) for s in resp.sessions])


@router.post(
    "/{class_id}/sessions/{session_id}/attendance",
    response_model=AttendanceList,
    summary="登记出勤 Record attendance of an offline session",
    description="present / absent / leave (请假, not attended). A correction is a new record that "
    "supersedes the previous one (the history stays); the same entry again records nothing. An "
    "open class only (409 `training_class_not_open` / `training_class_closed`); not before the "
    "session (409 `training_session_in_future`).",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def record_attendance(
    class_id: uuid.UUID, session_id: uuid.UUID, body: AttendanceWrite, caller: TenantCaller,
    learning: Learning, response: Response,
) -> AttendanceList:  # fmt: skip
    resp = await _call(learning, caller, "RecordTrainingAttendance",
                       body.to_proto(class_id, session_id))  # fmt: skip
    response.headers.update(NO_STORE)
    return AttendanceList(items=[AttendanceRecordRead.from_proto(r) for r in resp.records])


@router.get(
    "/{class_id}/attendance",
    response_model=AttendanceList,
    summary="出勤记录 Current attendance, or every record with history=true",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def list_attendance(
    class_id: uuid.UUID,
    caller: TenantCaller,
    learning: Learning,
    response: Response,
    session_id: uuid.UUID | None = None,
    history: bool = False,
) -> AttendanceList:
    resp = await _call(learning, caller, "ListTrainingAttendance", pb.ListTrainingAttendanceRequest(
        class_id=str(class_id), session_id=str(session_id or ""), history=history))  # fmt: skip
    response.headers.update(NO_STORE)
    return AttendanceList(items=[AttendanceRecordRead.from_proto(r) for r in resp.records])


@router.get(
    "/{class_id}/enrolments/{enrolment_id}/certificate",
    summary="结业证书 The certificate of a completed trainee (PDF)",
    description="Organisers in scope, or the trainee (the enrolment's learner account). Not "
    "completed: 409 `training_not_completed`.",
    response_class=Response,
    responses={200: _PDF, **problem_responses(401, 403, 404, 409, 503)},
)
async def certificate(
    class_id: uuid.UUID, enrolment_id: uuid.UUID, caller: TenantCaller, learning: Learning
) -> Response:
    resp = await _call(learning, caller, "GetTrainingCertificate",
                       pb.GetTrainingCertificateRequest(class_id=str(class_id),
                                                        enrolment_id=str(enrolment_id)),
                       deadline=CERTIFICATE_DEADLINE)  # fmt: skip
    return Response(
        content=resp.content,
        media_type=resp.content_type or "application/pdf",
        headers={**NO_STORE, "Content-Disposition": attachment_disposition(resp.file_name)},
    )
