"""/api/v1/development — 发展党员, the development pipeline of 5 stages and 25 steps
(docs/adr/0015), on the member service's DevelopmentService.

A step a rule refuses answers 409 `rule_violated` (application/problem+json) with the rule in the
problem: `rule_key` and `rule_citation` extension members, and `errors[0]` naming the offending
field with the rule key as its reason. Cases outside the caller's scope are 404 like absent ones.
Responses hold personal data (masked unless revealed) and are never cached.
"""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

import grpc
from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse
from hongyun.member.v1 import member_development_pb2 as dpb
from hongyun.member.v1 import member_development_pb2_grpc
from hongyun_platform.grpc.context import CallerContext

from hongyun_gateway.auth import TenantCaller
from hongyun_gateway.member_client import MemberClient
from hongyun_gateway.pagination import PageParams, encode_cursor, page_params
from hongyun_gateway.private_responses import NO_STORE
from hongyun_gateway.problems import (
    PROBLEM_MEDIA_TYPE,
    ProblemError,
    metadata_value,
    problem_from_rpc_error,
    problem_response,
    problem_responses,
)
from hongyun_gateway.reveal import reveal_reason
from hongyun_gateway.schemas.common import timestamp
from hongyun_gateway.schemas.development import (
    CaseClose,
    CaseCreate,
    CaseDetailRead,
    CaseOpenedRead,
    CasePage,
    CaseRead,
    CaseStatus,
    CaseSummaryRead,
    CatalogueRead,
    DownloadRead,
    EvaluationRead,
    ExtensionRead,
    ExtensionRecordedRead,
    MaterialList,
    MaterialRead,
    ProbationExtensionCreate,
    StepCreate,
    StepRead,
    StepRecordedRead,
    TrainingCreate,
    TrainingRead,
    TrainingRecordedRead,
    status_to_pb,
)
from hongyun_gateway.state import Members

router = APIRouter(prefix="/api/v1/development", tags=["发展党员 Development pipeline"])

RULE_KEY_METADATA = "x-hongyun-rule-key"
RULE_CITATION_METADATA = "x-hongyun-rule-citation-bin"
MATERIAL_MAX_BYTES = 4 * 1024 * 1024 - 64 * 1024  # one gRPC message
MATERIAL_TYPES = ("application/pdf", "image/jpeg", "image/png")
_RULE_NOTE = (
    " A step a rule refuses is 409 `rule_violated` with `rule_key` and `rule_citation` in the "
    "problem (the rule is shown in full by GET /api/v1/rules/{key})."
)


def _stub(members: MemberClient) -> member_development_pb2_grpc.DevelopmentServiceStub:
    return member_development_pb2_grpc.DevelopmentServiceStub(members.channel)


def rule_problem(request: Request, error: grpc.aio.AioRpcError) -> JSONResponse:
    """The problem of a failed call; a rule's refusal carries the rule key and citation."""
    trailing = error.trailing_metadata()
    key = metadata_value(trailing, RULE_KEY_METADATA)
    if not key:
        raise problem_from_rpc_error(error) from error
    citation = ""
    for k, v in trailing or ():
        if k == RULE_CITATION_METADATA:
            citation = v.decode() if isinstance(v, bytes) else v
    base = problem_from_rpc_error(error)
    errors = [{"field": (base.errors or [{}])[0].get("field") or "number",
               "message": base.detail or base.code, "reason": key}]  # fmt: skip
    resp = problem_response(base.status, base.code, detail=base.detail,
                            instance=request.url.path, errors=errors)  # fmt: skip
    body = json.loads(bytes(resp.body))
    body["rule_key"], body["rule_citation"] = key, citation
    return JSONResponse(body, status_code=base.status, media_type=PROBLEM_MEDIA_TYPE)


async def _call(
    request: Request, members: MemberClient, caller: CallerContext, rpc: str, msg: Any
) -> Any:
    method = getattr(_stub(members), rpc)
    return await method(msg, metadata=caller.to_metadata(), timeout=members.deadline_seconds)


@router.get(
    "/steps",
    response_model=CatalogueRead,
    summary="发展党员的五个阶段二十五个步骤 The 5 stages and 25 steps",
    description="The catalogue as data: what each step records (contacts, introducers, votes, "
    "publicity, training, decision) and which steps may repeat.",
    responses=problem_responses(401, 403, 503),
)
async def list_steps(request: Request, caller: TenantCaller, members: Members) -> CatalogueRead:
    resp = await _call(request, members, caller, "ListDevelopmentSteps",
                       dpb.ListDevelopmentStepsRequest())  # fmt: skip
    return CatalogueRead.from_proto(resp)


@router.post(
    "/cases",
    response_model=CaseOpenedRead,
    status_code=status.HTTP_201_CREATED,
    summary="登记入党申请 Open a development case with the application (step 1)",
    description="Refused under the minimum age at the application date (409 `rule_violated`, "
    "rule dev.application.min_age_years), for a member of the tenant (409 `already_member`) "
    "and while the person has an open case (409 `duplicate_case`). A past application date is "
    "a late entry and needs `late_reason`." + _RULE_NOTE,
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def open_case(
    body: CaseCreate, request: Request, response: Response, caller: TenantCaller, members: Members
) -> Any:
    try:
        resp = await _call(request, members, caller, "OpenDevelopmentCase", body.to_proto())
    except grpc.aio.AioRpcError as exc:
        return rule_problem(request, exc)
    response.headers.update(NO_STORE)
    response.headers["Location"] = f"/api/v1/development/cases/{resp.case.id}"
    return CaseOpenedRead(
        case=CaseRead.from_proto(resp.case), evaluation=EvaluationRead.from_proto(resp.evaluation)
    )


@router.get(
    "/cases",
    response_model=CasePage,
    summary="发展对象列表 Development cases of a subtree",
    description="Cases of `organization_id`'s subtree (default: your scope), by status and "
    "stage, each with the deadline it waits for.",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def list_cases(
    request: Request,
    response: Response,
    caller: TenantCaller,
    members: Members,
    page: Annotated[PageParams, Depends(page_params)],
    organization_id: Annotated[uuid.UUID | None, Query(description="子树根 subtree root")] = None,
    case_status: Annotated[CaseStatus | None, Query(alias="status")] = None,
    stage: Annotated[int | None, Query(ge=1, le=5, description="阶段 1–5")] = None,
) -> CasePage:
    resp = await _call(request, members, caller, "ListDevelopmentCases",
                       dpb.ListDevelopmentCasesRequest(
                           organization_id=str(organization_id or ""),
                           status=status_to_pb(case_status), stage=stage or 0,
                           page_size=page.limit, page_token=page.page_token))  # fmt: skip
    response.headers.update(NO_STORE)
    return CasePage(
        items=[CaseSummaryRead.from_proto(c) for c in resp.cases],
        next_cursor=encode_cursor(resp.next_page_token),
    )


@router.get(
    "/cases/{case_id}",
    response_model=CaseDetailRead,
    summary="发展对象详情 A case: stage, next step, deadline, blockers and timeline",
    description="The evaluation says where the person stands today: the stage, the next step, "
    "the deadline the case waits for and what blocks the next step, each blocker with its rule "
    "key and citation. `reveal=true` shows the ID number in full (needs a reason; audited).",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def get_case(
    case_id: uuid.UUID,
    request: Request,
    response: Response,
    caller: TenantCaller,
    members: Members,
    reveal: Annotated[bool, Query(description="显示完整身份证号 show the ID number")] = False,
    reason: Annotated[str | None, Query(max_length=200, description="查看理由")] = None,
) -> CaseDetailRead:
    why = reveal_reason(reveal, reason)
    resp = await _call(request, members, caller, "GetDevelopmentCase",
                       dpb.GetDevelopmentCaseRequest(id=str(case_id), reveal=reveal,
                                                     reason=why))  # fmt: skip
    response.headers.update(NO_STORE)
    return CaseDetailRead.from_proto(resp)


@router.post(
    "/cases/{case_id}/steps",
    response_model=StepRecordedRead,
    status_code=status.HTTP_201_CREATED,
    summary="记录发展步骤 Record the next step",
    description="Steps go in order (step 6, the activist review, and step 21 may repeat). "
    "Every timing and threshold comes from the tenant's rules: the wait from application to "
    "activist, a year as activist before step 7, full members as contact persons (step 5) and "
    "introducers (step 9), training before step 12, at least N working days of publicity "
    "ended before step 12, the branch meeting's vote (steps 15 and 23), approval within the "
    "limit after step 15 with a political review still valid, and the end of probation before "
    "step 24. Approving step 17 makes the person a probationary member; approving step 24 a "
    "full member. A past date is a late entry and needs `late_reason`." + _RULE_NOTE,
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def record_step(
    case_id: uuid.UUID,
    body: StepCreate,
    request: Request,
    response: Response,
    caller: TenantCaller,
    members: Members,
) -> Any:
    try:
        resp = await _call(request, members, caller, "RecordDevelopmentStep",
                           body.to_proto(case_id))  # fmt: skip
    except grpc.aio.AioRpcError as exc:
        return rule_problem(request, exc)
    response.headers.update(NO_STORE)
    return StepRecordedRead(
        case=CaseRead.from_proto(resp.case),
        step=StepRead.from_proto(resp.step),
        evaluation=EvaluationRead.from_proto(resp.evaluation),
    )


@router.post(
    "/cases/{case_id}/probation-extension",
    response_model=ExtensionRecordedRead,
    status_code=status.HTTP_201_CREATED,
    summary="延长预备期 Extend a probationary member's probation",
    description="Once (rule dev.probation.extension: times), by its fewest to most months, "
    "decided during the probation." + _RULE_NOTE,
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def extend_probation(
    case_id: uuid.UUID,
    body: ProbationExtensionCreate,
    request: Request,
    response: Response,
    caller: TenantCaller,
    members: Members,
) -> Any:
    try:
        resp = await _call(request, members, caller, "ExtendProbation", body.to_proto(case_id))
    except grpc.aio.AioRpcError as exc:
        return rule_problem(request, exc)
    response.headers.update(NO_STORE)
    return ExtensionRecordedRead(
        case=CaseRead.from_proto(resp.case),
        extension=ExtensionRead.from_proto(resp.extension),
        evaluation=EvaluationRead.from_proto(resp.evaluation),
    )


@router.post(
    "/cases/{case_id}/close",
    response_model=CaseRead,
    summary="终止发展程序 Close an open case",
    description="Only before admission (409 `case_not_open` for a probationary member, whose "
    "case ends through steps 23 and 24).",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def close_case(
    case_id: uuid.UUID,
    body: CaseClose,
    request: Request,
    response: Response,
    caller: TenantCaller,
    members: Members,
) -> CaseRead:
    resp = await _call(request, members, caller, "CloseDevelopmentCase", body.to_proto(case_id))
    response.headers.update(NO_STORE)
    return CaseRead.from_proto(resp.case)


@router.post(
    "/cases/{case_id}/training",
    response_model=TrainingRecordedRead,
    status_code=status.HTTP_201_CREATED,
    summary="登记培训 Record training (days or class hours)",
    description="Counted toward dev.candidate.training_min before step 12, with step 11's own "
    "record and the hours the learning service reports.",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def record_training(
    case_id: uuid.UUID,
    body: TrainingCreate,
    request: Request,
    response: Response,
    caller: TenantCaller,
    members: Members,
) -> TrainingRecordedRead:
    resp = await _call(request, members, caller, "RecordDevelopmentTraining",
                       body.to_proto(case_id))  # fmt: skip
    response.headers.update(NO_STORE)
    return TrainingRecordedRead(
        training=TrainingRead.from_proto(resp.training),
        evaluation=EvaluationRead.from_proto(resp.evaluation),
    )


@router.post(
    "/cases/{case_id}/materials",
    response_model=MaterialRead,
    status_code=status.HTTP_201_CREATED,
    summary="上传材料 Upload a scan of a step's material",
    description="The request body is the file itself (PDF, JPEG or PNG, Content-Type set "
    "accordingly, at most about 4 MB); `file_name` and optionally `step_record_id` in the query.",
    responses=problem_responses(401, 403, 404, 413, 415, 422, 503),
)
async def upload_material(
    case_id: uuid.UUID,
    request: Request,
    caller: TenantCaller,
    members: Members,
    file_name: Annotated[str, Query(min_length=1, max_length=200)],
    step_record_id: Annotated[uuid.UUID | None, Query()] = None,
) -> MaterialRead:
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type not in MATERIAL_TYPES:
        raise ProblemError(415, "unsupported_content_type",
                           "只接受 PDF、JPEG、PNG 文件 (only PDF, JPEG or PNG)")  # fmt: skip
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MATERIAL_MAX_BYTES:
            raise ProblemError(413, "file_too_large",
                               f"文件过大 (larger than {MATERIAL_MAX_BYTES} bytes)")  # fmt: skip
    resp = await _call(request, members, caller, "UploadDevelopmentMaterial",
                       dpb.UploadDevelopmentMaterialRequest(
                           case_id=str(case_id), step_record_id=str(step_record_id or ""),
                           file_name=file_name, content_type=content_type,
                           content=bytes(data)))  # fmt: skip
    return MaterialRead.from_proto(resp.material)


@router.get(
    "/cases/{case_id}/materials",
    response_model=MaterialList,
    summary="材料列表 The materials of a case",
    responses=problem_responses(401, 403, 404, 503),
)
async def list_materials(
    case_id: uuid.UUID, request: Request, caller: TenantCaller, members: Members
) -> MaterialList:
    resp = await _call(request, members, caller, "ListDevelopmentMaterials",
                       dpb.ListDevelopmentMaterialsRequest(case_id=str(case_id)))  # fmt: skip
    return MaterialList(items=[MaterialRead.from_proto(m) for m in resp.materials])


@router.get(
    "/cases/{case_id}/materials/{material_id}/download",
    response_model=DownloadRead,
    summary="下载材料 A short-lived download link of a material (audited)",
    responses=problem_responses(401, 403, 404, 503),
)
async def material_download(
    case_id: uuid.UUID,
    material_id: uuid.UUID,
    request: Request,
    response: Response,
    caller: TenantCaller,
    members: Members,
    reason: Annotated[str, Query(max_length=200, description="用途")] = "",
) -> DownloadRead:
    resp = await _call(request, members, caller, "GetDevelopmentMaterialDownload",
                       dpb.GetDevelopmentMaterialDownloadRequest(
                           case_id=str(case_id), material_id=str(material_id),
                           reason=reason))  # fmt: skip
    response.headers.update(NO_STORE)
    return DownloadRead(url=resp.url, expires_at=timestamp(resp, "expires_at"))
