"""gRPC transport of QuestionBankService: proto in, use case in one unit of work, proto out.
ImportQuestions is client-streaming (the header, then the file in chunks): the platform
interceptor handles unary calls only, so it sets the caller and maps refusals itself."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from hongyun.learning.v1 import learning_exams_pb2 as pb
from hongyun.learning.v1 import learning_exams_pb2_grpc
from hongyun_platform.db import Database
from hongyun_platform.db.caller_uow import caller_unit_of_work
from hongyun_platform.errors import DomainError, InvalidArgument
from hongyun_platform.grpc.context import CallerContext, caller_scope, current_caller
from hongyun_platform.grpc.errors import abort_with
from hongyun_platform.logging import get_logger

from learning_service.domain import questions as q
from learning_service.exam_models import Question
from learning_service.question_import import QuestionImport, check_size
from learning_service.questions import BankView, QuestionBanks

log = get_logger(__name__)
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["QuestionBankService"].full_name
KIND_PB = {
    q.SINGLE: pb.QUESTION_KIND_SINGLE,
    q.MULTIPLE: pb.QUESTION_KIND_MULTIPLE,
    q.TRUE_FALSE: pb.QUESTION_KIND_TRUE_FALSE,
    q.FILL_IN: pb.QUESTION_KIND_FILL_IN,
    q.SHORT_ANSWER: pb.QUESTION_KIND_SHORT_ANSWER,
}
KIND_FROM_PB = {v: k for k, v in KIND_PB.items()}


def set_ts(msg: Any, name: str, value: datetime | None) -> None:
    if value is not None:
        ts = Timestamp()
        ts.FromDatetime(value)
        getattr(msg, name).CopyFrom(ts)


def spec_from_pb(m: pb.QuestionInput) -> q.QuestionSpec:
    return q.QuestionSpec(
        kind=KIND_FROM_PB.get(m.kind, ""),
        prompt=m.prompt,
        options=tuple(m.options),
        answer=tuple(m.answer),
        blanks=tuple(tuple(b.accepted) for b in m.blanks),
        reference_answer=m.reference_answer,
        tags=tuple(m.tags),
        difficulty=m.difficulty or q.DEFAULT_DIFFICULTY,
        explanation=m.explanation,
    )


def bank_pb(v: BankView) -> pb.QuestionBank:
    b = v.bank
    msg = pb.QuestionBank(
        id=str(b.id),
        name=b.name,
        description=b.description,
        org_id=str(b.org_id or ""),
        question_count=v.question_count,
        can_manage=v.can_manage,
        created_by=b.created_by,
    )
    set_ts(msg, "created_at", b.created_at)
    set_ts(msg, "updated_at", b.updated_at)
    return msg


def question_pb(r: Question) -> pb.Question:
    msg = pb.Question(
        id=str(r.id),
        bank_id=str(r.bank_id),
        kind=KIND_PB.get(r.kind, 0),
        prompt=r.prompt,
        options=list(r.options),
        answer=list(r.answer),
        blanks=[pb.QuestionBlank(accepted=list(b)) for b in r.blanks],
        reference_answer=r.reference_answer,
        tags=list(r.tags),
        difficulty=r.difficulty,
        explanation=r.explanation,
        version=r.version,
        created_by=r.created_by,
    )
    set_ts(msg, "created_at", r.created_at)
    set_ts(msg, "updated_at", r.updated_at)
    return msg


@contextlib.asynccontextmanager
async def streaming_call(context) -> AsyncIterator[CallerContext]:
    """What the platform's CallerContextInterceptor does for unary calls, for a streaming one."""
    try:
        caller = CallerContext.from_metadata(context.invocation_metadata())
    except DomainError as err:
        await abort_with(context, err)
        raise
    with caller_scope(caller):
        try:
            yield caller
        except DomainError as err:
            log.info("request refused", code=err.code, reason=err.message)
            await abort_with(context, err)


class QuestionBankServicer(learning_exams_pb2_grpc.QuestionBankServiceServicer):
    def __init__(
        self,
        db: Database,
        banks: QuestionBanks,
        imports: QuestionImport,
        *,
        after_commit: Callable[[], None],
    ):
        self.db = db
        self.banks = banks
        self.imports = imports
        self.after_commit = after_commit

    def _uow(self, caller: CallerContext, *, writes: bool = True):
        return caller_unit_of_work(self.db, caller, self.after_commit, writes=writes)

    async def CreateQuestionBank(self, request, context) -> pb.CreateQuestionBankResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            v = await self.banks.create_bank(
                uow,
                caller,
                name=request.name,
                description=request.description,
                org_id=request.org_id,
            )
            return pb.CreateQuestionBankResponse(bank=bank_pb(v))

    async def GetQuestionBank(self, request, context) -> pb.GetQuestionBankResponse:
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            v = await self.banks.get_bank(uow, caller, request.id)
            return pb.GetQuestionBankResponse(bank=bank_pb(v))

    async def ListQuestionBanks(self, request, context) -> pb.ListQuestionBanksResponse:
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            page = await self.banks.list_banks(
                uow, caller, page_size=request.page_size, page_token=request.page_token
            )
            return pb.ListQuestionBanksResponse(
                banks=[bank_pb(v) for v in page.items], next_page_token=page.next_token
            )

    async def UpdateQuestionBank(self, request, context) -> pb.UpdateQuestionBankResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            v = await self.banks.update_bank(
                uow, caller, request.id, name=request.name, description=request.description
            )
            return pb.UpdateQuestionBankResponse(bank=bank_pb(v))

    async def DeleteQuestionBank(self, request, context) -> pb.DeleteQuestionBankResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            await self.banks.delete_bank(uow, caller, request.id)
        return pb.DeleteQuestionBankResponse()

    async def CreateQuestion(self, request, context) -> pb.CreateQuestionResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            row = await self.banks.create_question(
                uow, caller, request.bank_id, spec_from_pb(request.question)
            )
            return pb.CreateQuestionResponse(question=question_pb(row))

    async def GetQuestion(self, request, context) -> pb.GetQuestionResponse:
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            row = await self.banks.get_question(uow, caller, request.id)
            return pb.GetQuestionResponse(question=question_pb(row))

    async def ListQuestions(self, request, context) -> pb.ListQuestionsResponse:
        caller = current_caller()
        if request.kind and request.kind not in KIND_FROM_PB:
            raise InvalidArgument(
                "题型无效 (unknown kind)", code="question_unknown_kind", field="kind"
            )
        async with self._uow(caller, writes=False) as uow:
            page = await self.banks.list_questions(
                uow,
                caller,
                request.bank_id,
                kind=KIND_FROM_PB.get(request.kind, ""),
                tag=request.tag,
                difficulty=request.difficulty,
                page_size=request.page_size,
                page_token=request.page_token,
            )
            return pb.ListQuestionsResponse(
                questions=[question_pb(r) for r in page.items], next_page_token=page.next_token
            )

    async def UpdateQuestion(self, request, context) -> pb.UpdateQuestionResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            row = await self.banks.update_question(
                uow,
                caller,
                request.id,
                spec_from_pb(request.question),
                expected_version=request.expected_version,
            )
            return pb.UpdateQuestionResponse(question=question_pb(row))

    async def DeleteQuestion(self, request, context) -> pb.DeleteQuestionResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            await self.banks.delete_question(uow, caller, request.id)
        return pb.DeleteQuestionResponse()

    async def GetQuestionImportTemplate(
        self, request, context
    ) -> pb.GetQuestionImportTemplateResponse:
        content, name, ctype = self.imports.template()
        return pb.GetQuestionImportTemplateResponse(
            content=content, file_name=name, content_type=ctype
        )

    async def ImportQuestions(self, request_iterator, context) -> pb.ImportQuestionsResponse:
        async with streaming_call(context) as caller:
            header: pb.ImportQuestionsHeader | None = None
            parts: list[bytes] = []
            size = 0
            async for message in request_iterator:
                which = message.WhichOneof("part")
                if which == "header":
                    if header is not None or parts:
                        raise InvalidArgument(
                            "上传头只能出现一次且在最前 (the header comes first, once)",
                            code="question_import_header",
                        )
                    header = message.header
                elif which == "chunk":
                    if header is None:
                        raise InvalidArgument(
                            "缺少上传头 (the header must come first)", code="question_import_header"
                        )
                    size += len(message.chunk)
                    check_size(size, self.imports.limits)
                    parts.append(message.chunk)
            if header is None:
                raise InvalidArgument(
                    "缺少上传头 (no upload header)", code="question_import_header"
                )
            async with self._uow(caller, writes=not header.dry_run) as uow:
                outcome = await self.imports.import_file(
                    uow,
                    caller,
                    bank_id=header.bank_id,
                    data=b"".join(parts),
                    dry_run=header.dry_run,
                )
            return pb.ImportQuestionsResponse(
                accepted=outcome.accepted,
                row_count=outcome.row_count,
                imported_count=outcome.imported,
                errors=[
                    pb.ImportRowError(row=e.row, column=e.column, code=e.code, message=e.message)
                    for e in outcome.errors
                ],
            )
