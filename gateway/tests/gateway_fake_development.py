"""An in-memory DevelopmentService for gateway tests (a unit-level fake on the same server and store
as FakeMemberService, not the real pipeline).

It mimics the contract as far as the gateway can tell: roles, tenant and scope (outside looks like
NOT_FOUND), steps in order, a few rules refused exactly as the service refuses them —
FAILED_PRECONDITION with reason code rule_violated and the rule in trailing metadata
(x-hongyun-rule-key, x-hongyun-rule-citation-bin) — and approval of step 17 registering a
probationary member in the shared store. The real rules live in the member service's tests.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from hongyun.member.v1 import member_development_pb2 as dpb
from hongyun.member.v1 import member_development_pb2_grpc
from hongyun.member.v1 import member_pb2 as pb
from hongyun_platform.grpc.context import (
    ROLE_PLATFORM_ADMIN,
    ROLE_SECRETARY,
    ROLE_TENANT_ADMIN,
    CallerContext,
)

MANAGERS = (ROLE_PLATFORM_ADMIN, ROLE_TENANT_ADMIN, ROLE_SECRETARY)
STAGES = [(1, "申请入党", "Application"), (2, "入党积极分子", "Activist"),
          (3, "发展对象", "Development candidate"), (4, "预备党员的接收", "Admission"),
          (5, "预备期与转正", "Probation and conversion")]  # fmt: skip
STAGE_OF = {n: s for s, lo, hi in ((1, 1, 2), (2, 3, 6), (3, 7, 11), (4, 12, 18), (5, 19, 25))
            for n in range(lo, hi + 1)}  # fmt: skip
RULES = {
    "dev.application.min_age_years": "《中国共产党章程》第一条：年满十八岁",
    "dev.steps.order": "《中国共产党发展党员工作细则》：发展党员须按程序逐步进行",
    "dev.candidate.introducers": "《中国共产党章程》第五条：要有两名正式党员作介绍人",
    "dev.branch_meeting.vote": "《中国共产党发展党员工作细则》第二十四条",
    "dev.probation.extension": "《中国共产党章程》第七条；细则第三十二条",
    "dev.application.talk_within_months": "细则第七条：一个月内派人谈话",
}


def _now() -> Timestamp:
    ts = Timestamp()
    ts.GetCurrentTime()
    return ts


def _add_months(d: date, months: int) -> date:
    import calendar

    index = d.year * 12 + d.month - 1 + months
    y, m = divmod(index, 12)
    return date(y, m + 1, min(d.day, calendar.monthrange(y, m + 1)[1]))


def _mask(value: str) -> str:
    return value[:3] + "*" * (len(value) - 5) + value[-2:]


@dataclass
class Case:
    msg: dpb.DevelopmentCase
    id_number: str
    tenant_id: str
    steps: list[dpb.DevelopmentStepRecord] = field(default_factory=list)
    extensions: list[dpb.DevelopmentProbationExtension] = field(default_factory=list)
    training: list[dpb.DevelopmentTraining] = field(default_factory=list)
    materials: list[dpb.DevelopmentMaterial] = field(default_factory=list)


class FakeDevelopment(member_development_pb2_grpc.DevelopmentServiceServicer):
    def __init__(self, member_service: Any) -> None:
        self.members = member_service  # FakeMemberService: its store, call log and helpers

    @property
    def cases(self) -> dict[str, Case]:
        store = self.members.store  # a new store per test: a new set of cases
        if not hasattr(store, "development_cases"):
            store.development_cases = {}
        return store.development_cases  # type: ignore[no-any-return]

    # ---- helpers ----

    async def _caller(self, method: str, request: Any, context: Any) -> tuple[CallerContext, str]:
        caller = await self.members._begin(method, request, context)
        tenant = await self.members._tenant(caller, context)
        if not caller.has_role(*MANAGERS):
            await self.members._fail(context, grpc.StatusCode.PERMISSION_DENIED,
                                     "permission_denied", "managers only")  # fmt: skip
        return caller, tenant

    async def _case(self, caller: CallerContext, tenant: str, case_id: str, context: Any) -> Case:
        c = self.cases.get(case_id)
        if (
            c is None
            or c.tenant_id != tenant
            or not self.members._in_scope(caller, c.msg.organization_id)
        ):
            await self.members._fail(context, grpc.StatusCode.NOT_FOUND, "case_not_found",
                                     "发展对象不存在 (development case not found)")  # fmt: skip
        return c  # type: ignore[return-value]

    @staticmethod
    async def _rule(context: Any, key: str, message: str, fld: str = "") -> None:
        citation = RULES[key]
        md: list[tuple[str, Any]] = [
            ("x-hongyun-error-code", "rule_violated"),
            ("x-hongyun-rule-key", key),
            ("x-hongyun-rule-citation-bin", citation.encode()),
        ]
        if fld:
            md.append(("x-hongyun-error-field", fld))
        await context.abort(grpc.StatusCode.FAILED_PRECONDITION,
                            f"{message}（规则 {key}：{citation}）", trailing_metadata=tuple(md))  # fmt: skip

    def _evaluation(self, c: Case) -> dpb.DevelopmentEvaluation:
        last = c.steps[-1].number if c.steps else 0
        done = c.msg.status == dpb.DEVELOPMENT_CASE_STATUS_CLOSED or last == 25
        stage = STAGE_OF.get(last, 1)
        e = dpb.DevelopmentEvaluation(
            as_of=date.today().isoformat(), status=c.msg.status, stage=stage,
            stage_name=f"{STAGES[stage - 1][1]} ({STAGES[stage - 1][2]})", last_step=last,
            next_step=0 if done else last + 1, next_step_name="" if done else f"第{last + 1}步",
        )  # fmt: skip
        if last == 1 and not done:
            due = _add_months(date.fromisoformat(c.steps[0].date), 1)
            key = "dev.application.talk_within_months"
            e.deadline.CopyFrom(dpb.DevelopmentDeadline(
                step=2, step_name="党组织派人谈话", due_on=due.isoformat(),
                overdue=due < date.today(), days_left=(due - date.today()).days, rule_key=key,
                rule_citation=RULES[key]))  # fmt: skip
        return e

    def _summary(self, c: Case) -> dpb.DevelopmentCaseSummary:
        out = dpb.DevelopmentCaseSummary(case=self._view(c))
        e = self._evaluation(c)
        if e.HasField("deadline"):
            out.deadline.CopyFrom(e.deadline)
        return out

    def _timeline(self, c: Case) -> list[dpb.DevelopmentTimelineEntry]:
        return [dpb.DevelopmentTimelineEntry(
            date=s.date, kind=dpb.DEVELOPMENT_TIMELINE_KIND_STEP, step=s.number,
            title=f"第{s.number}步", record_id=s.id, recorded_by=s.recorded_by,
            recorded_at=s.recorded_at, late=s.late) for s in c.steps]  # fmt: skip

    def _view(self, c: Case, reveal: bool = False) -> dpb.DevelopmentCase:
        out = dpb.DevelopmentCase()
        out.CopyFrom(c.msg)
        out.id_number = c.id_number if reveal else _mask(c.id_number)
        out.revealed = reveal
        return out

    def _record(self, c: Case, r: Any, caller: CallerContext) -> dpb.DevelopmentStepRecord:
        late = r.date < date.today().isoformat()
        rec = dpb.DevelopmentStepRecord(
            id=str(uuid.uuid4()), number=r.number, occurrence=1, date=r.date, acting=r.acting,
            member_ids=list(getattr(r, "member_ids", [])), decision=getattr(r, "decision", 0),
            note=r.note, recorded_by=caller.user_id, recorded_at=_now(), late=late,
            late_reason=r.late_reason if late else "",
        )  # fmt: skip
        if getattr(r, "votes", None) is not None and r.HasField("votes"):
            rec.votes.CopyFrom(r.votes)
        c.steps.append(rec)
        c.msg.current_step, c.msg.current_stage = r.number, STAGE_OF[r.number]
        c.msg.version += 1
        return rec

    # ---- RPCs ----

    async def ListDevelopmentSteps(self, request: Any, context: Any) -> Any:
        await self.members._begin("ListDevelopmentSteps", request, context)
        return dpb.ListDevelopmentStepsResponse(
            stages=[dpb.DevelopmentStage(number=n, name_zh=zh, name_en=en) for n, zh, en in STAGES],
            steps=[dpb.DevelopmentStepSpec(
                number=n, stage=STAGE_OF[n], name_zh=f"第{n}步", name_en=f"step {n}",
                actor_zh="党支部", repeatable=n in (6, 21),
                records=["votes"] if n in (15, 23) else []) for n in range(1, 26)],
        )  # fmt: skip

    async def OpenDevelopmentCase(self, request: dpb.OpenDevelopmentCaseRequest, context) -> Any:
        caller, tenant = await self._caller("OpenDevelopmentCase", request, context)
        o = self.members.store.organizations.get(request.organization_id)
        if o is None or o.tenant_id != tenant or not self.members._in_scope(caller, o.id):
            await self.members._fail(context, grpc.StatusCode.NOT_FOUND, "organization_not_found",
                                     "组织不存在", "organization_id")  # fmt: skip
        number = request.id_number
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
        applied = date.fromisoformat(request.application_date)
        if applied < _add_months(born, 18 * 12):
            await self._rule(context, "dev.application.min_age_years", "申请日未满18周岁", "date")
        if applied < date.today() and not request.late_reason:
            await self.members._fail(context, grpc.StatusCode.INVALID_ARGUMENT,
                                     "late_reason_required", "补录须说明理由", "late_reason")  # fmt: skip
        if any(c.id_number == number and c.msg.status in (1, 2) for c in self.cases.values()):
            await self.members._fail(context, grpc.StatusCode.ALREADY_EXISTS, "duplicate_case",
                                     "此人已有进行中的发展程序", "id_number")  # fmt: skip
        msg = dpb.DevelopmentCase(
            id=str(uuid.uuid4()), organization_id=o.id, name=request.name,
            gender=pb.GENDER_MALE if int(number[16]) % 2 else pb.GENDER_FEMALE,
            birth_date=born.isoformat(), ethnicity=request.ethnicity,
            education=request.education, status=dpb.DEVELOPMENT_CASE_STATUS_OPEN,
            application_date=request.application_date, version=0, created_at=_now(),
            created_by=caller.user_id,
        )  # fmt: skip
        c = Case(msg, number, tenant)
        self.cases[msg.id] = c
        self._record(c, dpb.RecordDevelopmentStepRequest(
            number=1, date=request.application_date, acting=request.acting, note=request.note,
            late_reason=request.late_reason), caller)  # fmt: skip
        return dpb.OpenDevelopmentCaseResponse(case=self._view(c), evaluation=self._evaluation(c))

    async def GetDevelopmentCase(self, request: dpb.GetDevelopmentCaseRequest, context) -> Any:
        caller, tenant = await self._caller("GetDevelopmentCase", request, context)
        c = await self._case(caller, tenant, request.id, context)
        return dpb.GetDevelopmentCaseResponse(
            case=self._view(c, request.reveal), evaluation=self._evaluation(c), steps=c.steps,
            extensions=c.extensions, training=c.training, timeline=self._timeline(c),
        )  # fmt: skip

    async def ListDevelopmentCases(self, request: dpb.ListDevelopmentCasesRequest, context) -> Any:
        caller, tenant = await self._caller("ListDevelopmentCases", request, context)
        items = [
            self._summary(c)
            for c in self.cases.values()
            if c.tenant_id == tenant
            and self.members._in_scope(caller, c.msg.organization_id)
            and (not request.status or c.msg.status == request.status)
            and (not request.stage or c.msg.current_stage == request.stage)
        ]
        chunk, nxt = self.members._page(items, request.page_size, request.page_token)
        return dpb.ListDevelopmentCasesResponse(cases=chunk, next_page_token=nxt)

    async def RecordDevelopmentStep(self, request: dpb.RecordDevelopmentStepRequest, context):
        caller, tenant = await self._caller("RecordDevelopmentStep", request, context)
        c = await self._case(caller, tenant, request.case_id, context)
        last = c.steps[-1].number if c.steps else 0
        if c.msg.status == dpb.DEVELOPMENT_CASE_STATUS_CLOSED or not (
            request.number == last + 1 or (request.number == last and last in (6, 21))
        ):
            await self._rule(context, "dev.steps.order", f"须先完成第{last + 1}步", "number")
        if request.date < date.today().isoformat() and not request.late_reason:
            await self.members._fail(context, grpc.StatusCode.INVALID_ARGUMENT,
                                     "late_reason_required", "补录须说明理由", "late_reason")  # fmt: skip
        if request.number == 9:
            ok = len(request.member_ids) == 2 and all(
                (m := self.members.store.members.get(i)) is not None and m.tenant_id == tenant
                and m.profile.category == pb.MEMBER_CATEGORY_FULL for i in request.member_ids
            )  # fmt: skip
            if not ok:
                await self._rule(context, "dev.candidate.introducers",
                                 "入党介绍人应为两名正式党员", "member_ids")  # fmt: skip
        if request.number in (15, 23):
            v = request.votes
            if v.present * 2 <= v.entitled:
                await self._rule(context, "dev.branch_meeting.vote", "到会人数不足",
                                 "votes.present")  # fmt: skip
            if v.yes * 2 <= v.entitled:
                await self._rule(context, "dev.branch_meeting.vote", "赞成票不足", "votes.yes")
        rec = self._record(c, request, caller)
        if request.decision == dpb.DEVELOPMENT_DECISION_REJECTED:
            c.msg.status = dpb.DEVELOPMENT_CASE_STATUS_CLOSED
        elif request.number == 17:
            c.msg.status = dpb.DEVELOPMENT_CASE_STATUS_ADMITTED
            meeting = next(s.date for s in c.steps if s.number == 15)
            m = pb.Member(
                id=str(uuid.uuid4()), tenant_id=tenant, organization_id=c.msg.organization_id,
                profile=pb.MemberProfile(
                    name=c.msg.name, id_number=c.id_number, birth_date=c.msg.birth_date,
                    category=pb.MEMBER_CATEGORY_PROBATIONARY, joined_on=meeting,
                    party_status=pb.PARTY_STATUS_NORMAL),
                version=1, created_at=_now(), updated_at=_now(),
            )  # fmt: skip
            self.members.store.members[m.id] = m
            c.msg.member_id = m.id
        elif request.number == 24:
            c.msg.status = dpb.DEVELOPMENT_CASE_STATUS_CONVERTED
        return dpb.RecordDevelopmentStepResponse(case=self._view(c), step=rec,
                                                 evaluation=self._evaluation(c))  # fmt: skip

    async def ExtendProbation(self, request: dpb.ExtendProbationRequest, context) -> Any:
        caller, tenant = await self._caller("ExtendProbation", request, context)
        c = await self._case(caller, tenant, request.case_id, context)
        if c.msg.status != dpb.DEVELOPMENT_CASE_STATUS_ADMITTED or c.extensions:
            await self._rule(context, "dev.probation.extension", "只能延长一次预备期")
        if not 6 <= request.months <= 12:
            await self._rule(context, "dev.probation.extension", "延长期应为6至12个月", "months")
        ext = dpb.DevelopmentProbationExtension(
            id=str(uuid.uuid4()), date=request.date, months=request.months, reason=request.reason,
            recorded_by=caller.user_id, recorded_at=_now())  # fmt: skip
        c.extensions.append(ext)
        return dpb.ExtendProbationResponse(case=self._view(c), extension=ext,
                                           evaluation=self._evaluation(c))  # fmt: skip

    async def CloseDevelopmentCase(self, request: dpb.CloseDevelopmentCaseRequest, context) -> Any:
        caller, tenant = await self._caller("CloseDevelopmentCase", request, context)
        c = await self._case(caller, tenant, request.case_id, context)
        if c.msg.status != dpb.DEVELOPMENT_CASE_STATUS_OPEN:
            await self.members._fail(context, grpc.StatusCode.FAILED_PRECONDITION,
                                     "case_not_open", "只能终止尚未接收的发展程序")  # fmt: skip
        c.msg.status = dpb.DEVELOPMENT_CASE_STATUS_CLOSED
        c.msg.closed_on = request.date or date.today().isoformat()
        c.msg.closed_reason = request.reason
        return dpb.CloseDevelopmentCaseResponse(case=self._view(c))

    async def RecordDevelopmentTraining(self, request, context) -> Any:
        caller, tenant = await self._caller("RecordDevelopmentTraining", request, context)
        c = await self._case(caller, tenant, request.case_id, context)
        t = dpb.DevelopmentTraining(
            id=str(uuid.uuid4()), completed_on=request.completed_on, days=request.days,
            class_hours_hundredths=request.class_hours_hundredths, title=request.title,
            source="manual", recorded_by=caller.user_id, recorded_at=_now())  # fmt: skip
        c.training.append(t)
        e = self._evaluation(c)
        e.training_class_hours_hundredths = sum(x.class_hours_hundredths for x in c.training)
        return dpb.RecordDevelopmentTrainingResponse(training=t, evaluation=e)

    async def UploadDevelopmentMaterial(self, request, context) -> Any:
        caller, tenant = await self._caller("UploadDevelopmentMaterial", request, context)
        c = await self._case(caller, tenant, request.case_id, context)
        m = dpb.DevelopmentMaterial(
            id=str(uuid.uuid4()), step_record_id=request.step_record_id,
            file_name=request.file_name, content_type=request.content_type,
            size=len(request.content), uploaded_by=caller.user_id, uploaded_at=_now())  # fmt: skip
        c.materials.append(m)
        return dpb.UploadDevelopmentMaterialResponse(material=m)

    async def ListDevelopmentMaterials(self, request, context) -> Any:
        caller, tenant = await self._caller("ListDevelopmentMaterials", request, context)
        c = await self._case(caller, tenant, request.case_id, context)
        return dpb.ListDevelopmentMaterialsResponse(materials=c.materials)

    async def GetDevelopmentMaterialDownload(self, request, context) -> Any:
        caller, tenant = await self._caller("GetDevelopmentMaterialDownload", request, context)
        c = await self._case(caller, tenant, request.case_id, context)
        if not any(m.id == request.material_id for m in c.materials):
            await self.members._fail(context, grpc.StatusCode.NOT_FOUND, "material_not_found",
                                     "材料不存在")  # fmt: skip
        return dpb.GetDevelopmentMaterialDownloadResponse(
            url=f"http://files.test/files/{request.material_id}", expires_at=_now()
        )


def add_development_fake(server: grpc.aio.Server, member_service: Any) -> FakeDevelopment:
    fake = FakeDevelopment(member_service)
    member_development_pb2_grpc.add_DevelopmentServiceServicer_to_server(fake, server)
    member_service.development = fake  # tests reach it as fake_member.service.development
    return fake
