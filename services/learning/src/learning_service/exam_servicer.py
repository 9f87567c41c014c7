"""gRPC transport of ExamService: proto in, use case in one unit of work, proto out."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from hongyun.learning.v1 import learning_exams_pb2 as pb
from hongyun.learning.v1 import learning_exams_pb2_grpc
from hongyun_platform.db import Database
from hongyun_platform.db.caller_uow import caller_unit_of_work
from hongyun_platform.errors import InvalidArgument
from hongyun_platform.grpc.context import CallerContext, current_caller

from learning_service.domain import exams as dx
from learning_service.domain import questions as q
from learning_service.exam_attempts import AttemptView, ExamAttempts, ResultView
from learning_service.exam_grading import Grading, GradingView
from learning_service.exams import AvailableView, Exams, ExamView
from learning_service.question_servicer import KIND_FROM_PB, KIND_PB, set_ts

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["ExamService"].full_name
STATUS_PB = {
    "draft": pb.EXAM_STATUS_DRAFT,
    "published": pb.EXAM_STATUS_PUBLISHED,
    "closed": pb.EXAM_STATUS_CLOSED,
}
STATUS_FROM_PB = {v: k for k, v in STATUS_PB.items()}
MODE_PB = {dx.FIXED: pb.EXAM_PAPER_MODE_FIXED, dx.RANDOM: pb.EXAM_PAPER_MODE_RANDOM}
MODE_FROM_PB = {v: k for k, v in MODE_PB.items()}
VISIBILITY_PB = {
    dx.AFTER_SUBMIT: pb.EXAM_RESULTS_VISIBILITY_AFTER_SUBMIT,
    dx.AFTER_CLOSE: pb.EXAM_RESULTS_VISIBILITY_AFTER_CLOSE,
}
VISIBILITY_FROM_PB = {v: k for k, v in VISIBILITY_PB.items()}
RULE_PB = {
    q.ALL_OR_NOTHING: pb.EXAM_MULTIPLE_RULE_ALL_OR_NOTHING,
    q.PARTIAL: pb.EXAM_MULTIPLE_RULE_PARTIAL,
}
RULE_FROM_PB = {v: k for k, v in RULE_PB.items()}
AUDIENCE_PB = {
    "tenant": pb.EXAM_AUDIENCE_KIND_TENANT,
    "org_subtree": pb.EXAM_AUDIENCE_KIND_ORG_SUBTREE,
    "role": pb.EXAM_AUDIENCE_KIND_ROLE,
    "learner": pb.EXAM_AUDIENCE_KIND_LEARNER,
}
AUDIENCE_FROM_PB = {v: k for k, v in AUDIENCE_PB.items()}
ATTEMPT_PB = {
    "in_progress": pb.EXAM_ATTEMPT_STATUS_IN_PROGRESS,
    "submitted": pb.EXAM_ATTEMPT_STATUS_SUBMITTED,
    "graded": pb.EXAM_ATTEMPT_STATUS_GRADED,
}
REASON_PB = {
    "learner": pb.EXAM_SUBMISSION_REASON_LEARNER,
    "deadline": pb.EXAM_SUBMISSION_REASON_DEADLINE,
}


def _uuid(value: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidArgument(
            f"{field} 不是有效的 ID (not a valid id)", code="invalid_id", field=field
        ) from None


def _time(msg, name: str) -> datetime | None:
    return getattr(msg, name).ToDatetime(tzinfo=UTC) if msg.HasField(name) else None


def spec_from_pb(m: pb.ExamInput) -> dx.ExamSpec:
    mode = MODE_FROM_PB.get(m.paper_mode) or (dx.RANDOM if m.rules and not m.items else dx.FIXED)
    items = tuple(
        dx.PaperItem(_uuid(i.question_id, f"items[{n}].question_id"), i.points)
        for n, i in enumerate(m.items)
    )
    rules = []
    for n, r in enumerate(m.rules):
        if any(k not in KIND_FROM_PB for k in r.kinds):
            raise InvalidArgument(
                "题型无效 (unknown kind)", code="exam_rule_kind", field=f"rules[{n}].kinds"
            )
        rules.append(
            dx.DrawRule(
                bank_ids=tuple(_uuid(b, f"rules[{n}].bank_ids") for b in r.bank_ids),
                count=r.count,
                points=r.points,
                kinds=tuple(KIND_FROM_PB[k] for k in r.kinds),
                tags=tuple(r.tags),
                difficulty_min=r.difficulty_min or q.MIN_DIFFICULTY,
                difficulty_max=r.difficulty_max or q.MAX_DIFFICULTY,
            )
        )
    audiences = tuple(
        dx.AudienceSpec(
            kind=AUDIENCE_FROM_PB.get(a.kind, ""),
            org_id=_uuid(a.org_id, f"audiences[{n}].org_id") if a.org_id else None,
            role=a.role.strip(),
            learner_id=a.learner_id.strip(),
        )
        for n, a in enumerate(m.audiences)
    )
    return dx.ExamSpec(
        title=m.title,
        description=m.description,
        paper_mode=mode,
        items=items,
        rules=tuple(rules),
        time_limit_minutes=m.time_limit_minutes,
        max_attempts=m.max_attempts or 1,
        opens_at=_time(m, "opens_at"),
        closes_at=_time(m, "closes_at"),
        pass_score=m.pass_score_hundredths,
        shuffle_questions=m.shuffle_questions,
        shuffle_options=m.shuffle_options,
        results_visibility=VISIBILITY_FROM_PB.get(m.results_visibility, dx.AFTER_SUBMIT),
        multiple_rule=RULE_FROM_PB.get(m.multiple_rule, q.ALL_OR_NOTHING),
        audiences=audiences,
    )


def exam_pb(v: ExamView) -> pb.Exam:
    e = v.exam
    msg = pb.Exam(
        id=str(e.id),
        title=e.title,
        description=e.description,
        org_id=str(e.org_id or ""),
        status=STATUS_PB[e.status],
        paper_mode=MODE_PB[e.paper_mode],
        items=[pb.ExamPaperItem(question_id=str(i.question_id), points=i.points) for i in v.items],
        rules=[
            pb.ExamDrawRule(
                bank_ids=[str(b) for b in r.bank_ids],
                kinds=[KIND_PB[k] for k in r.kinds],
                tags=list(r.tags),
                difficulty_min=r.difficulty_min,
                difficulty_max=r.difficulty_max,
                count=r.count,
                points=r.points,
            )
            for r in v.rules
        ],
        time_limit_minutes=e.time_limit_minutes,
        max_attempts=e.max_attempts,
        pass_score_hundredths=e.pass_score,
        total_score_hundredths=e.total_score,
        question_count=v.question_count,
        shuffle_questions=e.shuffle_questions,
        shuffle_options=e.shuffle_options,
        results_visibility=VISIBILITY_PB[e.results_visibility],
        multiple_rule=RULE_PB[e.multiple_rule],
        audiences=[
            pb.ExamAudience(
                kind=AUDIENCE_PB[a.kind],
                org_id=str(a.org_id or ""),
                role=a.role or "",
                learner_id=a.learner_id or "",
            )
            for a in v.audiences
        ],
        created_by=e.created_by,
    )
    for name in ("opens_at", "closes_at", "published_at", "closed_at", "created_at", "updated_at"):
        set_ts(msg, name, getattr(e, name))
    return msg


def available_pb(a: AvailableView) -> pb.AvailableExam:
    e = a.view.exam
    msg = pb.AvailableExam(
        id=str(e.id),
        title=e.title,
        description=e.description,
        status=STATUS_PB[e.status],
        time_limit_minutes=e.time_limit_minutes,
        max_attempts=e.max_attempts,
        attempts_used=a.summary.used,
        open_attempt_id=str(a.summary.open_attempt_id or ""),
        question_count=a.view.question_count,
        total_score_hundredths=e.total_score,
        pass_score_hundredths=e.pass_score,
        results_visibility=VISIBILITY_PB[e.results_visibility],
        can_start=a.can_start,
    )
    set_ts(msg, "opens_at", e.opens_at)
    set_ts(msg, "closes_at", e.closes_at)
    return msg


def _content(r: dx.Response | None) -> pb.ExamAnswerContent | None:
    if r is None:
        return None
    return pb.ExamAnswerContent(choices=list(r.choices), blanks=list(r.blanks), text=r.text)


def attempt_pb(v: AttemptView) -> pb.ExamAttempt:
    a = v.attempt
    msg = pb.ExamAttempt(
        id=str(a.id),
        exam_id=str(a.exam_id),
        exam_title=v.exam_title,
        number=a.number,
        status=ATTEMPT_PB[a.status],
        remaining_seconds=v.remaining_seconds,
        submitted_by=REASON_PB.get(a.submitted_by or "", 0),
        max_score_hundredths=a.max_score,
    )
    for pos, pq in enumerate(v.paper):
        state = v.answers.get(pos)
        item = msg.questions.add(
            position=pos,
            kind=KIND_PB[pq.kind],
            prompt=pq.prompt,
            options=list(pq.displayed_options),
            blank_count=pq.blank_count,
            points=pq.points,
        )
        if state is not None and state.response is not None:
            item.answer.CopyFrom(_content(state.response))
            item.answer_version = state.version
            set_ts(item, "saved_at", state.saved_at)
    for name in ("started_at", "deadline_at", "submitted_at"):
        set_ts(msg, name, getattr(a, name))
    set_ts(msg, "server_time", v.now)
    return msg


def result_pb(v: ResultView) -> pb.ExamAttemptResult:
    a, e = v.attempt, v.exam
    msg = pb.ExamAttemptResult(
        attempt_id=str(a.id),
        exam_id=str(e.id),
        exam_title=e.title,
        number=a.number,
        status=ATTEMPT_PB[a.status],
        results_visible=v.visible,
        submitted_by=REASON_PB.get(a.submitted_by or "", 0),
        max_score_hundredths=a.max_score,
        pass_score_hundredths=a.pass_score,
    )
    set_ts(msg, "submitted_at", a.submitted_at)
    set_ts(msg, "results_available_at", v.available_at)
    if not v.visible:
        return msg
    msg.score_hundredths = a.score or 0
    msg.passed = bool(a.passed)
    msg.pending_grades = a.pending_grades
    set_ts(msg, "graded_at", a.graded_at)
    for pos, pq in enumerate(v.paper):
        state = v.answers.get(pos)
        response = state.response if state else None
        graded = dx.grade_answer(pq, response, a.multiple_rule)
        item = msg.questions.add(
            position=pos,
            kind=KIND_PB[pq.kind],
            prompt=pq.prompt,
            options=list(pq.displayed_options),
            points=pq.points,
            score_hundredths=(state.score or 0) if state else 0,
            graded=bool(state and state.score is not None),
            correct=bool(state and state.correct),
            correct_choices=list(pq.displayed_correct) if pq.correct else [],
            blanks=[pb.QuestionBlank(accepted=list(b)) for b in pq.blanks],
            blanks_correct=list(graded.blanks_correct),
            explanation=pq.explanation,
            reference_answer=pq.reference_answer,
            grader_comment=state.comment if state else "",
        )
        if response is not None:
            item.answer.CopyFrom(_content(response))
    return msg


def grading_pb(v: GradingView) -> pb.GradingItem:
    a = v.answer
    msg = pb.GradingItem(
        attempt_id=str(a.attempt_id),
        position=a.position,
        exam_id=str(a.exam_id),
        question_id=str(a.question_id),
        prompt=v.question.prompt,
        reference_answer=v.question.reference_answer,
        answer_text=v.text,
        points=a.points,
        graded=a.score is not None,
        score_hundredths=a.score or 0,
        comment=a.grade_comment,
    )
    set_ts(msg, "submitted_at", v.attempt.submitted_at)
    return msg


class ExamServicer(learning_exams_pb2_grpc.ExamServiceServicer):
    def __init__(
        self,
        db: Database,
        exams: Exams,
        attempts: ExamAttempts,
        grading: Grading,
        *,
        after_commit: Callable[[], None],
    ):
        self.db = db
        self.exams = exams
        self.attempts = attempts
        self.grading = grading
        self.after_commit = after_commit

    def _uow(self, caller: CallerContext, *, writes: bool = True):
        return caller_unit_of_work(self.db, caller, self.after_commit, writes=writes)

    # ---- authoring ----

    async def CreateExam(self, request, context) -> pb.CreateExamResponse:
        caller = current_caller()
        spec = spec_from_pb(request.exam)
        async with self._uow(caller) as uow:
            v = await self.exams.create(uow, caller, spec, org_id=request.exam.org_id)
            return pb.CreateExamResponse(exam=exam_pb(v))

    async def GetExam(self, request, context) -> pb.GetExamResponse:
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            return pb.GetExamResponse(exam=exam_pb(await self.exams.get(uow, caller, request.id)))

    async def ListExams(self, request, context) -> pb.ListExamsResponse:
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            page = await self.exams.list_exams(
                uow,
                caller,
                status=STATUS_FROM_PB.get(request.status, ""),
                page_size=request.page_size,
                page_token=request.page_token,
            )
            return pb.ListExamsResponse(
                exams=[exam_pb(v) for v in page.items], next_page_token=page.next_token
            )

    async def UpdateExam(self, request, context) -> pb.UpdateExamResponse:
        caller = current_caller()
        spec = spec_from_pb(request.exam)
        async with self._uow(caller) as uow:
            v = await self.exams.update(uow, caller, request.id, spec)
            return pb.UpdateExamResponse(exam=exam_pb(v))

    async def DeleteExam(self, request, context) -> pb.DeleteExamResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            await self.exams.delete(uow, caller, request.id)
        return pb.DeleteExamResponse()

    async def PublishExam(self, request, context) -> pb.PublishExamResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            v = await self.exams.publish(uow, caller, request.id)
            return pb.PublishExamResponse(exam=exam_pb(v))

    async def CloseExam(self, request, context) -> pb.CloseExamResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            v = await self.exams.close(uow, caller, request.id)
            return pb.CloseExamResponse(exam=exam_pb(v))

    # ---- learners ----

    async def ListAvailableExams(self, request, context) -> pb.ListAvailableExamsResponse:
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            page = await self.exams.available(
                uow, caller, page_size=request.page_size, page_token=request.page_token
            )
            return pb.ListAvailableExamsResponse(
                exams=[available_pb(a) for a in page.items], next_page_token=page.next_token
            )

    async def StartExamAttempt(self, request, context) -> pb.StartExamAttemptResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            view, resumed = await self.attempts.start(uow, caller, request.exam_id)
            return pb.StartExamAttemptResponse(attempt=attempt_pb(view), resumed=resumed)

    async def GetExamAttempt(self, request, context) -> pb.GetExamAttemptResponse:
        caller = current_caller()
        # Writes when the attempt is past its deadline: it is submitted then.
        async with self._uow(caller) as uow:
            view = await self.attempts.get(uow, caller, request.id)
            return pb.GetExamAttemptResponse(attempt=attempt_pb(view))

    async def SaveExamAnswer(self, request, context) -> pb.SaveExamAnswerResponse:
        caller = current_caller()
        a = request.answer
        response = dx.Response(tuple(a.choices), tuple(a.blanks), a.text)
        async with self._uow(caller, writes=False) as uow:
            out = await self.attempts.save(
                uow,
                caller,
                attempt_id=request.attempt_id,
                position=request.position,
                response=response,
                version=request.version,
            )
        msg = pb.SaveExamAnswerResponse(
            position=out.position,
            version=out.version,
            stored=out.stored,
            remaining_seconds=out.remaining_seconds,
        )
        set_ts(msg, "saved_at", out.saved_at)
        return msg

    async def SubmitExamAttempt(self, request, context) -> pb.SubmitExamAttemptResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            view = await self.attempts.submit(uow, caller, request.id)
            return pb.SubmitExamAttemptResponse(result=result_pb(view))

    async def GetExamAttemptResult(self, request, context) -> pb.GetExamAttemptResultResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            view = await self.attempts.result(uow, caller, request.id)
            return pb.GetExamAttemptResultResponse(result=result_pb(view))

    async def ListMyExamAttempts(self, request, context) -> pb.ListMyExamAttemptsResponse:
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            views = await self.attempts.mine(uow, caller, request.exam_id)
            return pb.ListMyExamAttemptsResponse(attempts=[result_pb(v) for v in views])

    # ---- graders and authors ----

    async def ListGradingQueue(self, request, context) -> pb.ListGradingQueueResponse:
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            items, token = await self.grading.queue(
                uow,
                caller,
                request.exam_id,
                page_size=request.page_size,
                page_token=request.page_token,
            )
            return pb.ListGradingQueueResponse(
                items=[grading_pb(v) for v in items], next_page_token=token
            )

    async def GradeExamAnswer(self, request, context) -> pb.GradeExamAnswerResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            out = await self.grading.grade(
                uow,
                caller,
                attempt_id=request.attempt_id,
                position=request.position,
                score=request.score_hundredths,
                comment=request.comment,
            )
            return pb.GradeExamAnswerResponse(
                item=grading_pb(out.view),
                attempt_status=ATTEMPT_PB[out.attempt_status],
                pending_grades=out.pending,
            )

    async def GetExamStatistics(self, request, context) -> pb.GetExamStatisticsResponse:
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            s = await self.grading.statistics(uow, caller, request.exam_id)
            return pb.GetExamStatisticsResponse(
                exam_id=str(s.exam.id),
                submitted_attempts=s.submitted,
                graded_attempts=s.graded,
                passed_attempts=s.passed,
                average_score_hundredths=s.average_score,
                questions=[
                    pb.QuestionStatistics(
                        question_id=str(x.question_id),
                        kind=KIND_PB.get(x.kind, 0),
                        prompt=x.prompt,
                        options=list(s.options.get(x.question_id, ())),
                        answered=x.answered,
                        graded=x.graded,
                        correct=x.correct,
                        correct_rate=round(x.correct_rate, 4),
                        average_score_hundredths=x.average_score,
                        points=x.max_points,
                        option_counts=x.option_counts,
                    )
                    for x in s.questions
                ],
            )
