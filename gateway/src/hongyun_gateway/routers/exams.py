"""/api/v1/question-banks and /api/v1/exams — 题库与在线考试 Question banks and exams.

- Authors (tenant admins; secretaries for their subtree) keep questions in banks, import them
  from the .xlsx template (all or nothing: any bad row and nothing is written, every bad cell is
  listed in the 422 problem), and build exams with a fixed paper or random draw rules.
- Learners see the exams they are in the audience of, start an attempt (the paper drawn,
  shuffled and frozen; starting again returns the running attempt), autosave each answer with a
  version counter, resume after a reconnect with the server's deadline, and submit; the server
  submits on its own at the deadline. Results come at once or after the exam closes.
- Graders grade short answers of learners in their scope (never their own); authors see
  per-question statistics, never a ranking of people.

Anything out of the caller's tenant or scope is 404. Refusals are problem+json with the
service's reason code (e.g. 409 `exam_attempt_time_up`, 409 `exam_attempts_used_up`).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response, status
from hongyun.learning.v1 import learning_exams_pb2 as pb
from hongyun.learning.v1 import learning_exams_pb2_grpc as pbg
from hongyun_platform.grpc.context import CallerContext

from hongyun_gateway.auth import TenantCaller
from hongyun_gateway.learning_client import LearningClient
from hongyun_gateway.multipart_form import read_multipart
from hongyun_gateway.pagination import encode_cursor, page_params
from hongyun_gateway.private_responses import NO_STORE, attachment_disposition
from hongyun_gateway.problems import ProblemError, problem_responses, validation_problem
from hongyun_gateway.schemas.common import timestamp
from hongyun_gateway.schemas.exams import (
    ATTEMPT_FROM_PB,
    KIND_TO_PB,
    STATUS_TO_PB,
    AnswerSavedRead,
    AnswerWrite,
    AttemptRead,
    AttemptResultRead,
    AttemptStartRead,
    AvailableExamPage,
    AvailableExamRead,
    ExamPage,
    ExamRead,
    ExamStatisticsRead,
    ExamStatus,
    ExamWrite,
    GradeRead,
    GradeWrite,
    GradingItemRead,
    GradingPage,
    QuestionBankPage,
    QuestionBankRead,
    QuestionBankUpdate,
    QuestionBankWrite,
    QuestionImportRead,
    QuestionKind,
    QuestionPage,
    QuestionRead,
    QuestionWrite,
    to_hundredths,
)
from hongyun_gateway.state import Learning, State

router = APIRouter(prefix="/api/v1", tags=["题库与考试 Question banks and exams"])
BANKS = "/question-banks"
EXAMS = "/exams"
ATTEMPTS = "/exams/attempts"
# A spreadsheet, not a study material; the learning service enforces its own limit too.
DEFAULT_IMPORT_MAX_BYTES = 5 * 1024 * 1024
_UPLOAD_CHUNK = 256 * 1024
_XLSX = {
    "description": "题目导入模板 The import template",
    "content": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}},
}


def _banks(learning: LearningClient) -> pbg.QuestionBankServiceStub:
    return pbg.QuestionBankServiceStub(learning.channel)


def _exams(learning: LearningClient) -> pbg.ExamServiceStub:
    return pbg.ExamServiceStub(learning.channel)


async def _bank_call(learning: LearningClient, caller: CallerContext, rpc: str, req: Any) -> Any:
    return await learning.call(getattr(_banks(learning), rpc), req, caller)


async def _exam_call(learning: LearningClient, caller: CallerContext, rpc: str, req: Any) -> Any:
    return await learning.call(getattr(_exams(learning), rpc), req, caller)


def _question_not_found() -> ProblemError:
    return ProblemError(404, "question_not_found", "题目不存在 (question not found)")


# ---- question banks ----


@router.get(
    f"{BANKS}/import-template.xlsx",
    summary="下载题目导入模板 Download the question import template",
    description="Sheet 题目 (Chinese headers, example rows that the import skips) and sheet "
    "填写说明 (what each column takes).",
    response_class=Response,
    responses={200: _XLSX, **problem_responses(400, 401, 503)},
)
async def import_template(caller: TenantCaller, learning: Learning) -> Response:
    resp = await _bank_call(
        learning, caller, "GetQuestionImportTemplate", pb.GetQuestionImportTemplateRequest()
    )
    return Response(
        resp.content,
        media_type=resp.content_type,
        headers={"Content-Disposition": attachment_disposition(resp.file_name)},
    )


@router.post(
    BANKS,
    status_code=status.HTTP_201_CREATED,
    response_model=QuestionBankRead,
    summary="新建题库 Create a question bank",
    responses=problem_responses(400, 401, 403, 404, 422, 503),
)
async def create_bank(
    body: QuestionBankWrite, caller: TenantCaller, learning: Learning, response: Response
) -> QuestionBankRead:
    resp = await _bank_call(
        learning,
        caller,
        "CreateQuestionBank",
        pb.CreateQuestionBankRequest(
            name=body.name, description=body.description, org_id=str(body.org_id or "")
        ),
    )
    response.headers["Location"] = f"/api/v1{BANKS}/{resp.bank.id}"
    return QuestionBankRead.from_proto(resp.bank)


@router.get(
    BANKS,
    response_model=QuestionBankPage,
    summary="题库列表 Banks the caller may use (tenant-wide and their subtree's)",
    responses=problem_responses(400, 401, 403, 422, 503),
)
async def list_banks(
    caller: TenantCaller,
    learning: Learning,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> QuestionBankPage:
    p = page_params(limit, cursor)
    resp = await _bank_call(
        learning,
        caller,
        "ListQuestionBanks",
        pb.ListQuestionBanksRequest(page_size=p.limit, page_token=p.page_token),
    )
    return QuestionBankPage(
        items=[QuestionBankRead.from_proto(b) for b in resp.banks],
        next_cursor=encode_cursor(resp.next_page_token),
    )


@router.get(
    f"{BANKS}/{{bank_id}}",
    response_model=QuestionBankRead,
    summary="题库 A question bank",
    responses=problem_responses(400, 401, 403, 404, 422, 503),
)
async def get_bank(
    bank_id: uuid.UUID, caller: TenantCaller, learning: Learning
) -> QuestionBankRead:
    resp = await _bank_call(
        learning, caller, "GetQuestionBank", pb.GetQuestionBankRequest(id=str(bank_id))
    )
    return QuestionBankRead.from_proto(resp.bank)


@router.put(
    f"{BANKS}/{{bank_id}}",
    response_model=QuestionBankRead,
    summary="修改题库 Rename or describe a bank",
    responses=problem_responses(400, 401, 403, 404, 422, 503),
)
async def update_bank(
    bank_id: uuid.UUID, body: QuestionBankUpdate, caller: TenantCaller, learning: Learning
) -> QuestionBankRead:
    resp = await _bank_call(
        learning,
        caller,
        "UpdateQuestionBank",
        pb.UpdateQuestionBankRequest(id=str(bank_id), name=body.name, description=body.description),
    )
    return QuestionBankRead.from_proto(resp.bank)


@router.delete(
    f"{BANKS}/{{bank_id}}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="删除题库 Delete a bank and its questions (refused while an exam uses it)",
    responses=problem_responses(400, 401, 403, 404, 409, 422, 503),
)
async def delete_bank(bank_id: uuid.UUID, caller: TenantCaller, learning: Learning) -> Response:
    await _bank_call(
        learning, caller, "DeleteQuestionBank", pb.DeleteQuestionBankRequest(id=str(bank_id))
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    f"{BANKS}/{{bank_id}}/questions",
    status_code=status.HTTP_201_CREATED,
    response_model=QuestionRead,
    summary="新增题目 Add a question",
    responses=problem_responses(400, 401, 403, 404, 422, 503),
)
async def create_question(
    bank_id: uuid.UUID,
    body: QuestionWrite,
    caller: TenantCaller,
    learning: Learning,
    response: Response,
) -> QuestionRead:
    resp = await _bank_call(
        learning,
        caller,
        "CreateQuestion",
        pb.CreateQuestionRequest(bank_id=str(bank_id), question=body.to_proto()),
    )
    response.headers["Location"] = f"/api/v1{BANKS}/{bank_id}/questions/{resp.question.id}"
    return QuestionRead.from_proto(resp.question)


@router.get(
    f"{BANKS}/{{bank_id}}/questions",
    response_model=QuestionPage,
    summary="题目列表 Questions of a bank, optionally by kind, tag and difficulty",
    responses=problem_responses(400, 401, 403, 404, 422, 503),
)
async def list_questions(
    bank_id: uuid.UUID,
    caller: TenantCaller,
    learning: Learning,
    kind: QuestionKind | None = None,
    tag: Annotated[str, Query(max_length=30)] = "",
    difficulty: Annotated[int | None, Query(ge=1, le=5)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> QuestionPage:
    p = page_params(limit, cursor)
    resp = await _bank_call(
        learning,
        caller,
        "ListQuestions",
        pb.ListQuestionsRequest(
            bank_id=str(bank_id),
            kind=KIND_TO_PB[kind] if kind else 0,
            tag=tag,
            difficulty=difficulty or 0,
            page_size=p.limit,
            page_token=p.page_token,
        ),
    )
    return QuestionPage(
        items=[QuestionRead.from_proto(q) for q in resp.questions],
        next_cursor=encode_cursor(resp.next_page_token),
    )


async def _question_in(
    learning: LearningClient, caller: CallerContext, bank_id: uuid.UUID, question_id: uuid.UUID
) -> pb.Question:
    resp = await _bank_call(
        learning, caller, "GetQuestion", pb.GetQuestionRequest(id=str(question_id))
    )
    if resp.question.bank_id != str(bank_id):
        raise _question_not_found()
    return resp.question


@router.get(
    f"{BANKS}/{{bank_id}}/questions/{{question_id}}",
    response_model=QuestionRead,
    summary="题目 A question",
    responses=problem_responses(400, 401, 403, 404, 422, 503),
)
async def get_question(
    bank_id: uuid.UUID, question_id: uuid.UUID, caller: TenantCaller, learning: Learning
) -> QuestionRead:
    return QuestionRead.from_proto(await _question_in(learning, caller, bank_id, question_id))


@router.put(
    f"{BANKS}/{{bank_id}}/questions/{{question_id}}",
    response_model=QuestionRead,
    summary="修改题目 Replace a question (running attempts keep what they were shown)",
    responses=problem_responses(400, 401, 403, 404, 409, 422, 503),
)
async def update_question(
    bank_id: uuid.UUID,
    question_id: uuid.UUID,
    body: QuestionWrite,
    caller: TenantCaller,
    learning: Learning,
) -> QuestionRead:
    await _question_in(learning, caller, bank_id, question_id)
    resp = await _bank_call(
        learning,
        caller,
        "UpdateQuestion",
        pb.UpdateQuestionRequest(
            id=str(question_id),
            question=body.to_proto(),
            expected_version=body.expected_version or 0,
        ),
    )
    return QuestionRead.from_proto(resp.question)


@router.delete(
    f"{BANKS}/{{bank_id}}/questions/{{question_id}}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="删除题目 Delete a question (refused while on an exam's fixed paper)",
    responses=problem_responses(400, 401, 403, 404, 409, 422, 503),
)
async def delete_question(
    bank_id: uuid.UUID, question_id: uuid.UUID, caller: TenantCaller, learning: Learning
) -> Response:
    await _question_in(learning, caller, bank_id, question_id)
    await _bank_call(
        learning, caller, "DeleteQuestion", pb.DeleteQuestionRequest(id=str(question_id))
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    f"{BANKS}/{{bank_id}}/questions/import",
    response_model=QuestionImportRead,
    summary="导入题目 Import a filled template (all or nothing)",
    description=(
        "multipart/form-data with `file` (the .xlsx template, at most 5 MB) and optional "
        "`dry_run` (true: validate only). Every row is validated; when any is rejected nothing "
        "is written and the answer is a 422 problem `question_import_rejected` whose `errors` "
        "list every bad cell: `row` (the spreadsheet's row number), `column` (the header), "
        "`reason` and `message` (Chinese, then English)."
    ),
    responses=problem_responses(400, 401, 403, 404, 413, 415, 422, 503),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "dry_run": {"type": "boolean", "default": False},
                        },
                    }
                }
            },
        }
    },
)
async def import_questions(
    bank_id: uuid.UUID,
    request: Request,
    caller: TenantCaller,
    state: State,
    learning: Learning,
) -> QuestionImportRead:
    max_bytes = state.settings.question_import_max_bytes
    form = await read_multipart(request, max_bytes=max_bytes)
    upload = form.files.get("file")
    dry_text = form.fields.get("dry_run", "false").strip().lower()
    errors = []
    if upload is None or not upload.data:
        errors.append(
            {
                "field": "file",
                "reason": "required",
                "message": "请选择要上传的文件 (file is required)",
            }
        )
    if dry_text not in {"true", "false", "1", "0", ""}:
        errors.append(
            {
                "field": "dry_run",
                "reason": "bool",
                "message": "dry_run 应为 true 或 false (dry_run is true or false)",
            }
        )
    if errors:
        raise validation_problem(errors)
    assert upload is not None
    dry_run = dry_text in {"true", "1"}
    name = upload.filename.replace("\\", "/").rsplit("/", 1)[-1][:255] or "upload.xlsx"

    async def messages() -> AsyncIterator[pb.ImportQuestionsRequest]:
        yield pb.ImportQuestionsRequest(
            header=pb.ImportQuestionsHeader(bank_id=str(bank_id), file_name=name, dry_run=dry_run)
        )
        for i in range(0, len(upload.data), _UPLOAD_CHUNK):
            yield pb.ImportQuestionsRequest(chunk=upload.data[i : i + _UPLOAD_CHUNK])

    resp = await _banks(learning).ImportQuestions(
        messages(), metadata=caller.to_metadata(), timeout=max(learning.deadline_seconds, 60.0)
    )
    if not resp.accepted:
        rows = len({e.row for e in resp.errors})
        raise ProblemError(
            422,
            "question_import_rejected",
            f"导入失败：{rows} 行有错误，未导入任何题目，请改正后重新上传 (import rejected: "
            f"{rows} rows have errors; nothing was imported)",
            errors=[
                {
                    "field": f"rows[{e.row}].{e.column}" if e.column else f"rows[{e.row}]",
                    "row": e.row,
                    "column": e.column,
                    "reason": e.code,
                    "message": e.message,
                }
                for e in resp.errors
            ],
        )
    return QuestionImportRead(
        accepted=True, dry_run=dry_run, row_count=resp.row_count, imported_count=resp.imported_count
    )


# ---- exams: learners' routes first (their paths are not exam ids) ----


@router.get(
    f"{EXAMS}/available",
    response_model=AvailableExamPage,
    summary="我的考试 Exams the caller may take, with their attempts",
    responses=problem_responses(400, 401, 422, 503),
)
async def available_exams(
    caller: TenantCaller,
    learning: Learning,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> AvailableExamPage:
    p = page_params(limit, cursor)
    resp = await _exam_call(
        learning,
        caller,
        "ListAvailableExams",
        pb.ListAvailableExamsRequest(page_size=p.limit, page_token=p.page_token),
    )
    response.headers.update(NO_STORE)
    return AvailableExamPage(
        items=[AvailableExamRead.from_proto(e) for e in resp.exams],
        next_cursor=encode_cursor(resp.next_page_token),
    )


@router.get(
    f"{ATTEMPTS}/{{attempt_id}}",
    response_model=AttemptRead,
    summary="答卷 The caller's attempt (resume: paper in its order, saved answers, deadline)",
    responses=problem_responses(400, 401, 404, 422, 503),
)
async def get_attempt(
    attempt_id: uuid.UUID, caller: TenantCaller, learning: Learning, response: Response
) -> AttemptRead:
    resp = await _exam_call(
        learning, caller, "GetExamAttempt", pb.GetExamAttemptRequest(id=str(attempt_id))
    )
    response.headers.update(NO_STORE)
    return AttemptRead.from_proto(resp.attempt)


@router.put(
    f"{ATTEMPTS}/{{attempt_id}}/answers/{{position}}",
    response_model=AnswerSavedRead,
    summary="保存答案 Autosave one answer",
    description="`version` is the client's counter for this question: a save whose version is "
    "not above the stored one changes nothing (`stored: false`), so retries are safe. After "
    "the deadline: 409 `exam_attempt_time_up`; after submission: 409 `exam_attempt_closed` "
    "(nothing written).",
    responses=problem_responses(400, 401, 404, 409, 422, 503),
)
async def save_answer(
    attempt_id: uuid.UUID,
    position: Annotated[int, Path(ge=0, le=199)],
    body: AnswerWrite,
    caller: TenantCaller,
    learning: Learning,
    response: Response,
) -> AnswerSavedRead:
    resp = await _exam_call(
        learning,
        caller,
        "SaveExamAnswer",
        pb.SaveExamAnswerRequest(
            attempt_id=str(attempt_id),
            position=position,
            version=body.version,
            answer=pb.ExamAnswerContent(choices=body.choices, blanks=body.blanks, text=body.text),
        ),
    )
    response.headers.update(NO_STORE)
    return AnswerSavedRead(
        position=resp.position,
        version=resp.version,
        stored=resp.stored,
        saved_at=timestamp(resp, "saved_at"),
        remaining_seconds=resp.remaining_seconds,
    )


@router.post(
    f"{ATTEMPTS}/{{attempt_id}}/submit",
    response_model=AttemptResultRead,
    summary="交卷 Submit (submitting again returns the same result)",
    responses=problem_responses(400, 401, 404, 422, 503),
)
async def submit_attempt(
    attempt_id: uuid.UUID, caller: TenantCaller, learning: Learning, response: Response
) -> AttemptResultRead:
    resp = await _exam_call(
        learning, caller, "SubmitExamAttempt", pb.SubmitExamAttemptRequest(id=str(attempt_id))
    )
    response.headers.update(NO_STORE)
    return AttemptResultRead.from_proto(resp.result)


@router.get(
    f"{ATTEMPTS}/{{attempt_id}}/result",
    response_model=AttemptResultRead,
    summary="成绩 The caller's result (at once or after the exam closes, per the exam)",
    responses=problem_responses(400, 401, 404, 409, 422, 503),
)
async def attempt_result(
    attempt_id: uuid.UUID, caller: TenantCaller, learning: Learning, response: Response
) -> AttemptResultRead:
    resp = await _exam_call(
        learning, caller, "GetExamAttemptResult", pb.GetExamAttemptResultRequest(id=str(attempt_id))
    )
    response.headers.update(NO_STORE)
    return AttemptResultRead.from_proto(resp.result)


@router.post(
    f"{ATTEMPTS}/{{attempt_id}}/answers/{{position}}/grade",
    response_model=GradeRead,
    summary="阅卷评分 Grade one short answer (once; score ≤ its points)",
    responses=problem_responses(400, 401, 403, 404, 409, 422, 503),
)
async def grade_answer(
    attempt_id: uuid.UUID,
    position: Annotated[int, Path(ge=0, le=199)],
    body: GradeWrite,
    caller: TenantCaller,
    learning: Learning,
) -> GradeRead:
    resp = await _exam_call(
        learning,
        caller,
        "GradeExamAnswer",
        pb.GradeExamAnswerRequest(
            attempt_id=str(attempt_id),
            position=position,
            score_hundredths=to_hundredths(body.score),
            comment=body.comment,
        ),
    )
    return GradeRead(
        item=GradingItemRead.from_proto(resp.item),
        attempt_status=ATTEMPT_FROM_PB[resp.attempt_status],
        pending_grades=resp.pending_grades,
    )


# ---- exams: authors ----


@router.post(
    EXAMS,
    status_code=status.HTTP_201_CREATED,
    response_model=ExamRead,
    summary="新建考试（草稿） Create a draft exam",
    responses=problem_responses(400, 401, 403, 404, 422, 503),
)
async def create_exam(
    body: ExamWrite, caller: TenantCaller, learning: Learning, response: Response
) -> ExamRead:
    resp = await _exam_call(
        learning, caller, "CreateExam", pb.CreateExamRequest(exam=body.to_proto())
    )
    response.headers["Location"] = f"/api/v1{EXAMS}/{resp.exam.id}"
    return ExamRead.from_proto(resp.exam)


@router.get(
    EXAMS,
    response_model=ExamPage,
    summary="考试列表 Exams of the caller's scope (authors)",
    responses=problem_responses(400, 401, 403, 422, 503),
)
async def list_exams(
    caller: TenantCaller,
    learning: Learning,
    status_filter: Annotated[ExamStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> ExamPage:
    p = page_params(limit, cursor)
    resp = await _exam_call(
        learning,
        caller,
        "ListExams",
        pb.ListExamsRequest(
            status=STATUS_TO_PB[status_filter] if status_filter else 0,
            page_size=p.limit,
            page_token=p.page_token,
        ),
    )
    return ExamPage(
        items=[ExamRead.from_proto(e) for e in resp.exams],
        next_cursor=encode_cursor(resp.next_page_token),
    )


@router.get(
    f"{EXAMS}/{{exam_id}}",
    response_model=ExamRead,
    summary="考试 An exam as authored",
    responses=problem_responses(400, 401, 403, 404, 422, 503),
)
async def get_exam(exam_id: uuid.UUID, caller: TenantCaller, learning: Learning) -> ExamRead:
    resp = await _exam_call(learning, caller, "GetExam", pb.GetExamRequest(id=str(exam_id)))
    return ExamRead.from_proto(resp.exam)


@router.put(
    f"{EXAMS}/{{exam_id}}",
    response_model=ExamRead,
    summary="修改考试 Replace a draft exam",
    responses=problem_responses(400, 401, 403, 404, 409, 422, 503),
)
async def update_exam(
    exam_id: uuid.UUID, body: ExamWrite, caller: TenantCaller, learning: Learning
) -> ExamRead:
    resp = await _exam_call(
        learning, caller, "UpdateExam", pb.UpdateExamRequest(id=str(exam_id), exam=body.to_proto())
    )
    return ExamRead.from_proto(resp.exam)


@router.delete(
    f"{EXAMS}/{{exam_id}}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="删除考试 Delete a draft exam",
    responses=problem_responses(400, 401, 403, 404, 409, 422, 503),
)
async def delete_exam(exam_id: uuid.UUID, caller: TenantCaller, learning: Learning) -> Response:
    await _exam_call(learning, caller, "DeleteExam", pb.DeleteExamRequest(id=str(exam_id)))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    f"{EXAMS}/{{exam_id}}/publish",
    response_model=ExamRead,
    summary="发布考试 Publish (needs an audience; draw rules the banks can satisfy)",
    responses=problem_responses(400, 401, 403, 404, 409, 422, 503),
)
async def publish_exam(exam_id: uuid.UUID, caller: TenantCaller, learning: Learning) -> ExamRead:
    resp = await _exam_call(learning, caller, "PublishExam", pb.PublishExamRequest(id=str(exam_id)))
    return ExamRead.from_proto(resp.exam)


@router.post(
    f"{EXAMS}/{{exam_id}}/close",
    response_model=ExamRead,
    summary="结束考试 Close: no new attempts; running ones keep their deadline",
    responses=problem_responses(400, 401, 403, 404, 409, 422, 503),
)
async def close_exam(exam_id: uuid.UUID, caller: TenantCaller, learning: Learning) -> ExamRead:
    resp = await _exam_call(learning, caller, "CloseExam", pb.CloseExamRequest(id=str(exam_id)))
    return ExamRead.from_proto(resp.exam)


@router.post(
    f"{EXAMS}/{{exam_id}}/attempts",
    status_code=status.HTTP_201_CREATED,
    response_model=AttemptStartRead,
    summary="开始考试 Start an attempt (201), or get the running one (200)",
    responses=problem_responses(400, 401, 404, 409, 422, 503),
)
async def start_attempt(
    exam_id: uuid.UUID, caller: TenantCaller, learning: Learning, response: Response
) -> AttemptStartRead:
    resp = await _exam_call(
        learning, caller, "StartExamAttempt", pb.StartExamAttemptRequest(exam_id=str(exam_id))
    )
    if resp.resumed:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/api/v1{ATTEMPTS}/{resp.attempt.id}"
    response.headers.update(NO_STORE)
    return AttemptStartRead(attempt=AttemptRead.from_proto(resp.attempt), resumed=resp.resumed)


@router.get(
    f"{EXAMS}/{{exam_id}}/attempts/mine",
    response_model=list[AttemptResultRead],
    summary="我的作答记录 The caller's attempts of an exam",
    responses=problem_responses(400, 401, 404, 422, 503),
)
async def my_attempts(
    exam_id: uuid.UUID, caller: TenantCaller, learning: Learning, response: Response
) -> list[AttemptResultRead]:
    resp = await _exam_call(
        learning, caller, "ListMyExamAttempts", pb.ListMyExamAttemptsRequest(exam_id=str(exam_id))
    )
    response.headers.update(NO_STORE)
    return [AttemptResultRead.from_proto(a) for a in resp.attempts]


@router.get(
    f"{EXAMS}/{{exam_id}}/grading-queue",
    response_model=GradingPage,
    summary="待阅卷 Short answers waiting for a grader in the caller's scope",
    responses=problem_responses(400, 401, 403, 404, 422, 503),
)
async def grading_queue(
    exam_id: uuid.UUID,
    caller: TenantCaller,
    learning: Learning,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> GradingPage:
    p = page_params(limit, cursor)
    resp = await _exam_call(
        learning,
        caller,
        "ListGradingQueue",
        pb.ListGradingQueueRequest(
            exam_id=str(exam_id), page_size=p.limit, page_token=p.page_token
        ),
    )
    response.headers.update(NO_STORE)
    return GradingPage(
        items=[GradingItemRead.from_proto(i) for i in resp.items],
        next_cursor=encode_cursor(resp.next_page_token),
    )


@router.get(
    f"{EXAMS}/{{exam_id}}/statistics",
    response_model=ExamStatisticsRead,
    summary="试题分析 Per-question statistics (no ranking of people)",
    responses=problem_responses(400, 401, 403, 404, 422, 503),
)
async def exam_statistics(
    exam_id: uuid.UUID, caller: TenantCaller, learning: Learning
) -> ExamStatisticsRead:
    resp = await _exam_call(
        learning, caller, "GetExamStatistics", pb.GetExamStatisticsRequest(exam_id=str(exam_id))
    )
    return ExamStatisticsRead.from_proto(resp)
