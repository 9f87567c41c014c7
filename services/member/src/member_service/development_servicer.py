"""gRPC transport of DevelopmentService (docs/adr/0015): proto in, use case in one unit of work,
proto out. A step refused by a rule fails with FAILED_PRECONDITION / rule_violated and carries the
rule key and citation as trailing metadata too (x-hongyun-rule-key, x-hongyun-rule-citation-bin),
so the gateway can put them in the problem without parsing the message."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date

import grpc
from hongyun.member.v1 import member_development_pb2 as pb
from hongyun.member.v1 import member_development_pb2_grpc
from hongyun_platform.db import Database
from hongyun_platform.db.caller_uow import caller_unit_of_work
from hongyun_platform.grpc.context import CallerContext, current_caller
from hongyun_platform.grpc.errors import MD_ERROR_CODE, MD_ERROR_FIELD, status_for

from member_service.development import (
    CaseView,
    DevelopmentPipeline,
    StepRequest,
    TimelineEntry,
)
from member_service.development_events import DECISION, STATUS
from member_service.development_models import (
    DevelopmentExtensionRow,
    DevelopmentMaterial,
    DevelopmentStepRow,
    DevelopmentTrainingRow,
)
from member_service.domain import development as dev
from member_service.mappers import timestamp

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["DevelopmentService"].full_name
MD_RULE_KEY = "x-hongyun-rule-key"
MD_RULE_CITATION = "x-hongyun-rule-citation-bin"  # UTF-8 bytes ("-bin": not ASCII)
STATUS_FROM_PB = {v: k for k, v in STATUS.items()}
DECISION_FROM_PB = {v: k for k, v in DECISION.items()}
TIMELINE = {
    "step": pb.DEVELOPMENT_TIMELINE_KIND_STEP,
    "training": pb.DEVELOPMENT_TIMELINE_KIND_TRAINING,
    "probation_extended": pb.DEVELOPMENT_TIMELINE_KIND_PROBATION_EXTENDED,
    "closed": pb.DEVELOPMENT_TIMELINE_KIND_CLOSED,
}


def _day(d: date | None) -> str:
    return d.isoformat() if d else ""


def _bilingual(zh: str, en: str) -> str:
    return f"{zh} ({en})"


# ---- domain → proto ----


def case_to_pb(v: CaseView) -> pb.DevelopmentCase:
    c = v.case
    return pb.DevelopmentCase(
        id=str(c.id), organization_id=str(c.organization_id), name=c.name,
        gender=c.gender,  # type: ignore[arg-type]
        birth_date=_day(c.birth_date), id_number=v.id_number, ethnicity=c.ethnicity,
        education=c.education, status=STATUS[dev.CaseStatus(c.status)],
        current_step=c.current_step, current_stage=dev.STEPS[c.current_step].stage,
        application_date=_day(c.application_on), member_id=str(c.member_id or ""),
        closed_on=_day(c.closed_on), closed_reason=c.closed_reason, version=c.version,
        created_at=timestamp(c.created_at), created_by=c.created_by, revealed=v.revealed,
    )  # fmt: skip


def deadline_to_pb(d: dev.Deadline, today: date) -> pb.DevelopmentDeadline:
    spec = dev.STEPS[d.step]
    return pb.DevelopmentDeadline(
        step=d.step, step_name=_bilingual(spec.name_zh, spec.name_en), due_on=_day(d.due_on),
        overdue=d.overdue(today), days_left=(d.due_on - today).days, rule_key=d.rule_key,
        rule_citation=d.citation,
    )  # fmt: skip


def reason_to_pb(r: dev.Reason) -> pb.DevelopmentReason:
    return pb.DevelopmentReason(
        rule_key=r.rule_key, rule_citation=r.citation, message=r.message, field=r.field,
        clears_on=_day(r.clears_on),
    )  # fmt: skip


def evaluation_to_pb(e: dev.Evaluation, today: date) -> pb.DevelopmentEvaluation:
    stage = dev.STAGES[e.stage]
    nxt = dev.STEPS.get(e.next_step or 0)
    msg = pb.DevelopmentEvaluation(
        as_of=_day(today), status=STATUS[e.status], stage=e.stage,
        stage_name=_bilingual(stage.name_zh, stage.name_en), last_step=e.last_step,
        next_step=e.next_step or 0,
        next_step_name=_bilingual(nxt.name_zh, nxt.name_en) if nxt else "",
        not_before=_day(e.not_before), blockers=[reason_to_pb(b) for b in e.blockers],
        repeatable_step=e.repeatable_step or 0, probation_ends_on=_day(e.probation_ends_on),
        political_review_expires_on=_day(e.political_review_expires_on),
        training_days=e.training_days, training_class_hours_hundredths=e.training_hours_centi,
    )  # fmt: skip
    if e.deadline:
        msg.deadline.CopyFrom(deadline_to_pb(e.deadline, today))
    return msg


def step_to_pb(s: DevelopmentStepRow) -> pb.DevelopmentStepRecord:
    msg = pb.DevelopmentStepRecord(
        id=str(s.id), number=s.number, occurrence=s.occurrence, date=_day(s.occurred_on),
        acting=s.acting, member_ids=[str(m) for m in s.member_ids or ()],
        decision=DECISION[dev.Decision(s.decision or "")], publicity_from=_day(s.publicity_from),
        publicity_to=_day(s.publicity_to), training_days=s.training_days,
        training_class_hours_hundredths=s.training_hours_centi, note=s.note,
        recorded_by=s.recorded_by, recorded_at=timestamp(s.recorded_at), late=s.late,
        late_reason=s.late_reason,
    )  # fmt: skip
    if s.votes:
        msg.votes.CopyFrom(pb.DevelopmentVotes(**s.votes))
    return msg


def extension_to_pb(e: DevelopmentExtensionRow) -> pb.DevelopmentProbationExtension:
    return pb.DevelopmentProbationExtension(
        id=str(e.id), date=_day(e.decided_on), months=e.months, reason=e.reason,
        recorded_by=e.recorded_by, recorded_at=timestamp(e.recorded_at),
    )  # fmt: skip


def training_to_pb(t: DevelopmentTrainingRow) -> pb.DevelopmentTraining:
    return pb.DevelopmentTraining(
        id=str(t.id), completed_on=_day(t.completed_on), days=t.days,
        class_hours_hundredths=t.hours_centi, title=t.title, source=t.source,
        recorded_by=t.recorded_by, recorded_at=timestamp(t.recorded_at),
    )  # fmt: skip


def timeline_to_pb(t: TimelineEntry) -> pb.DevelopmentTimelineEntry:
    return pb.DevelopmentTimelineEntry(
        date=_day(t.on), kind=TIMELINE[t.kind], step=t.step, title=t.title, detail=t.detail,
        record_id=str(t.record_id or ""), recorded_by=t.recorded_by,
        recorded_at=timestamp(t.recorded_at), late=t.late,
    )  # fmt: skip


def material_to_pb(m: DevelopmentMaterial) -> pb.DevelopmentMaterial:
    return pb.DevelopmentMaterial(
        id=str(m.id), step_record_id=str(m.step_id or ""), file_name=m.file_name,
        content_type=m.content_type, size=m.size, uploaded_by=m.uploaded_by,
        uploaded_at=timestamp(m.uploaded_at),
    )  # fmt: skip


# ---- proto → domain ----


def step_request(r: pb.RecordDevelopmentStepRequest) -> StepRequest:
    votes = None
    if r.HasField("votes"):
        v = r.votes
        votes = dev.Votes(v.entitled, v.present, v.yes, v.no, v.abstain)
    return StepRequest(
        number=r.number, date=r.date, acting=r.acting, votes=votes, member_ids=list(r.member_ids),
        decision=DECISION_FROM_PB.get(r.decision, dev.Decision.NONE),
        publicity_from=r.publicity_from, publicity_to=r.publicity_to,
        training_days=r.training_days, training_hours_centi=r.training_class_hours_hundredths,
        note=r.note, late_reason=r.late_reason, expected_version=r.expected_version,
    )  # fmt: skip


# ---- errors ----


async def abort_rule_violation(context: grpc.aio.ServicerContext, err: dev.RuleViolation) -> None:
    md: list[tuple[str, str | bytes]] = [
        (MD_ERROR_CODE, err.code),
        (MD_RULE_KEY, err.rule_key),
        (MD_RULE_CITATION, err.citation.encode()),
    ]
    if err.field:
        md.append((MD_ERROR_FIELD, err.field))
    context.set_trailing_metadata(tuple(md))
    await context.abort(status_for(err), err.message)


def rule_metadata(method: Callable) -> Callable:
    """A RuleViolation leaves with the rule in trailing metadata (other errors: interceptor)."""

    @functools.wraps(method)
    async def wrapper(self, request, context):
        try:
            return await method(self, request, context)
        except dev.RuleViolation as err:
            await abort_rule_violation(context, err)
            return None

    return wrapper


class DevelopmentServicer(member_development_pb2_grpc.DevelopmentServiceServicer):
    def __init__(
        self,
        db: Database,
        pipeline: DevelopmentPipeline,
        after_commit: Callable[[], None] = lambda: None,
    ):
        self.db = db
        self.pipeline = pipeline
        self.after_commit = after_commit  # wakes the outbox relay

    def _uow(self, caller: CallerContext, *, writes: bool = True):
        return caller_unit_of_work(self.db, caller, self.after_commit, writes=writes)

    async def ListDevelopmentSteps(self, request, context) -> pb.ListDevelopmentStepsResponse:
        current_caller().require_tenant()
        stages, steps = self.pipeline.catalogue()
        return pb.ListDevelopmentStepsResponse(
            stages=[pb.DevelopmentStage(number=s.number, name_zh=s.name_zh, name_en=s.name_en)
                    for s in stages],
            steps=[pb.DevelopmentStepSpec(
                number=s.number, stage=s.stage, name_zh=s.name_zh, name_en=s.name_en,
                actor_zh=s.actor_zh, records=sorted(r.value for r in s.records),
                repeatable=s.repeatable,
            ) for s in steps],
        )  # fmt: skip

    @rule_metadata
    async def OpenDevelopmentCase(
        self, request: pb.OpenDevelopmentCaseRequest, context
    ) -> pb.OpenDevelopmentCaseResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            view, evaluation, today = await self.pipeline.open_case(
                uow, caller, organization_id=request.organization_id, name=request.name,
                id_number=request.id_number, ethnicity=request.ethnicity,
                education=request.education, application_date=request.application_date,
                acting=request.acting, note=request.note, late_reason=request.late_reason,
            )  # fmt: skip
            return pb.OpenDevelopmentCaseResponse(
                case=case_to_pb(view), evaluation=evaluation_to_pb(evaluation, today)
            )

    async def GetDevelopmentCase(
        self, request: pb.GetDevelopmentCaseRequest, context
    ) -> pb.GetDevelopmentCaseResponse:
        caller = current_caller()
        # A reveal writes an audit row.
        async with self._uow(caller, writes=request.reveal) as uow:
            d = await self.pipeline.get_case(
                uow, caller, request.id, reveal=request.reveal, reason=request.reason
            )
            return pb.GetDevelopmentCaseResponse(
                case=case_to_pb(d.view),
                evaluation=evaluation_to_pb(d.evaluation, d.as_of),
                steps=[step_to_pb(s) for s in d.steps],
                extensions=[extension_to_pb(e) for e in d.extensions],
                training=[training_to_pb(t) for t in d.training],
                timeline=[timeline_to_pb(t) for t in d.timeline],
            )

    async def ListDevelopmentCases(
        self, request: pb.ListDevelopmentCasesRequest, context
    ) -> pb.ListDevelopmentCasesResponse:
        caller = current_caller()
        status = STATUS_FROM_PB.get(request.status)
        async with self._uow(caller, writes=False) as uow:
            items, token = await self.pipeline.list_cases(
                uow, caller, organization_id=request.organization_id,
                status=status.value if status else "", stage=request.stage,
                page_size=request.page_size, page_token=request.page_token,
            )  # fmt: skip
            today = self.pipeline.today()
            out = []
            for item in items:
                summary = pb.DevelopmentCaseSummary(case=case_to_pb(item.view))
                if item.deadline:
                    summary.deadline.CopyFrom(deadline_to_pb(item.deadline, today))
                out.append(summary)
            return pb.ListDevelopmentCasesResponse(cases=out, next_page_token=token)

    @rule_metadata
    async def RecordDevelopmentStep(
        self, request: pb.RecordDevelopmentStepRequest, context
    ) -> pb.RecordDevelopmentStepResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            out = await self.pipeline.record_step(uow, caller, request.case_id,
                                                  step_request(request))  # fmt: skip
            return pb.RecordDevelopmentStepResponse(
                case=case_to_pb(out.view),
                step=step_to_pb(out.step),
                evaluation=evaluation_to_pb(out.evaluation, out.as_of),
            )

    @rule_metadata
    async def ExtendProbation(
        self, request: pb.ExtendProbationRequest, context
    ) -> pb.ExtendProbationResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            view, ext, evaluation, today = await self.pipeline.extend_probation(
                uow, caller, request.case_id, date_=request.date, months=request.months,
                reason=request.reason,
            )  # fmt: skip
            return pb.ExtendProbationResponse(
                case=case_to_pb(view),
                extension=extension_to_pb(ext),
                evaluation=evaluation_to_pb(evaluation, today),
            )

    async def CloseDevelopmentCase(
        self, request: pb.CloseDevelopmentCaseRequest, context
    ) -> pb.CloseDevelopmentCaseResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            view = await self.pipeline.close_case(
                uow, caller, request.case_id, date_=request.date, reason=request.reason
            )
            return pb.CloseDevelopmentCaseResponse(case=case_to_pb(view))

    async def RecordDevelopmentTraining(
        self, request: pb.RecordDevelopmentTrainingRequest, context
    ) -> pb.RecordDevelopmentTrainingResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            row, evaluation, today = await self.pipeline.record_training(
                uow, caller, request.case_id, completed_on=request.completed_on,
                days=request.days, hours_centi=request.class_hours_hundredths, title=request.title,
            )  # fmt: skip
            return pb.RecordDevelopmentTrainingResponse(
                training=training_to_pb(row), evaluation=evaluation_to_pb(evaluation, today)
            )

    async def UploadDevelopmentMaterial(
        self, request: pb.UploadDevelopmentMaterialRequest, context
    ) -> pb.UploadDevelopmentMaterialResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            row = await self.pipeline.upload_material(
                uow, caller, request.case_id, step_record_id=request.step_record_id,
                file_name=request.file_name, content_type=request.content_type,
                content=request.content,
            )  # fmt: skip
            return pb.UploadDevelopmentMaterialResponse(material=material_to_pb(row))

    async def ListDevelopmentMaterials(
        self, request: pb.ListDevelopmentMaterialsRequest, context
    ) -> pb.ListDevelopmentMaterialsResponse:
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            rows = await self.pipeline.list_materials(uow, caller, request.case_id)
            return pb.ListDevelopmentMaterialsResponse(materials=[material_to_pb(m) for m in rows])

    async def GetDevelopmentMaterialDownload(
        self, request: pb.GetDevelopmentMaterialDownloadRequest, context
    ) -> pb.GetDevelopmentMaterialDownloadResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            url, expires = await self.pipeline.material_download(
                uow, caller, request.case_id, request.material_id, request.reason
            )
        return pb.GetDevelopmentMaterialDownloadResponse(url=url, expires_at=timestamp(expires))
