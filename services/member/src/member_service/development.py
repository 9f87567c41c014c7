"""Use cases of the development pipeline (发展党员, docs/adr/0015): open a case with the application,
record steps under the rules, extend probation, close, training and materials; the evaluation
and timeline of a case. The rules themselves are pure (domain/development.py) and their values
come from rule data (RuleBook).

Approving step 17 registers the person as a probationary member through MemberDirectory's own
create path (encryption, search keys, counts and MemberRegistered stay right); approving step 24
converts them through its update path (field history, MemberUpdated).

No transport imports; raises DomainError; never commits.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from hongyun_platform.crypto import FieldCipher
from hongyun_platform.db import UnitOfWork
from hongyun_platform.errors import (
    AlreadyExists,
    Conflict,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from hongyun_platform.grpc.context import ROLE_DESCENDANT_READER, CallerContext
from hongyun_platform.ids import new_id
from hongyun_platform.logging import get_logger
from hongyun_platform.storage import ObjectStore
from hongyun_platform.validation import validate_id_number
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from member_service import development_events as ev
from member_service import events as member_events
from member_service.archive_history import FieldHistory
from member_service.development_models import (
    DevelopmentCase,
    DevelopmentExtensionRow,
    DevelopmentMaterial,
    DevelopmentStepRow,
    DevelopmentTrainingRow,
)
from member_service.development_repository import DevelopmentCaseRepository, DevelopmentRecords
from member_service.domain import development as dev
from member_service.domain import masking
from member_service.domain.archive import diff_values
from member_service.domain.dates import china_today
from member_service.domain.profile import Category, Gender, PartyStatus, Profile, parse_date
from member_service.domain.rules import EffectiveRule, RuleMissing
from member_service.models import AuditEntry, Member, Organization
from member_service.repository import Repositories
from member_service.rules import RuleBook
from member_service.service import MANAGERS, MAY_REVEAL, MemberDirectory, parse_uuid

log = get_logger(__name__)
PROBATION_CANCELLED = "probation_cancelled"  # members.departed_reason

READERS = (*MANAGERS, ROLE_DESCENDANT_READER)
MAX_TEXT = 500  # acting body, reasons
MAX_NOTE = 2000
MAX_TITLE = 200
MAX_DAYS = 366
MAX_HOURS_CENTI = 100_000  # 1000 class hours
STATUS_ACTIVE = (dev.CaseStatus.OPEN, dev.CaseStatus.ADMITTED)
FILE_NAME = re.compile(r"^[^/\\\x00-\x1f]{1,200}$")
# Accepted scans and how they start (the declared type must match the bytes).
MATERIAL_TYPES = {
    "application/pdf": (b"%PDF-",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
}


@dataclass(frozen=True)
class MaterialLimits:
    max_bytes: int
    download_url_seconds: int = 300


@dataclass(frozen=True)
class StepRequest:
    """A step as the transport hands it over (strings unparsed)."""

    number: int
    date: str
    acting: str = ""
    votes: dev.Votes | None = None
    member_ids: Sequence[str] = ()
    decision: dev.Decision = dev.Decision.NONE
    publicity_from: str = ""
    publicity_to: str = ""
    training_days: int = 0
    training_hours_centi: int = 0
    note: str = ""
    late_reason: str = ""
    expected_version: int = 0


@dataclass(frozen=True)
class CaseView:
    case: DevelopmentCase
    id_number: str  # masked unless revealed
    revealed: bool = False


@dataclass(frozen=True)
class TimelineEntry:
    on: date
    kind: str  # step | training | probation_extended | closed
    title: str
    detail: str = ""
    step: int = 0
    record_id: uuid.UUID | None = None
    recorded_by: str = ""
    recorded_at: datetime | None = None
    late: bool = False


@dataclass(frozen=True)
class CaseDetail:
    view: CaseView
    evaluation: dev.Evaluation
    as_of: date
    steps: list[DevelopmentStepRow] = field(default_factory=list)
    extensions: list[DevelopmentExtensionRow] = field(default_factory=list)
    training: list[DevelopmentTrainingRow] = field(default_factory=list)
    timeline: list[TimelineEntry] = field(default_factory=list)


@dataclass(frozen=True)
class StepOutcome:
    view: CaseView
    step: DevelopmentStepRow
    evaluation: dev.Evaluation
    as_of: date


@dataclass(frozen=True)
class CaseSummary:
    view: CaseView
    deadline: dev.Deadline | None


# ---- row ↔ domain ----


def step_of(row: DevelopmentStepRow) -> dev.Step:
    return dev.Step(
        number=row.number,
        on=row.occurred_on,
        votes=dev.Votes(**row.votes) if row.votes else None,
        member_ids=tuple(row.member_ids or ()),
        decision=dev.Decision(row.decision or ""),
        publicity_from=row.publicity_from,
        publicity_to=row.publicity_to,
        training_days=row.training_days,
        training_hours_centi=row.training_hours_centi,
    )


def training_of(row: DevelopmentTrainingRow) -> dev.Training:
    return dev.Training(row.completed_on, row.days, row.hours_centi)


def facts_of(case: DevelopmentCase, extensions: Sequence[DevelopmentExtensionRow]) -> dev.CaseFacts:
    return dev.CaseFacts(
        birth_date=case.birth_date,
        status=dev.CaseStatus(case.status),
        extensions=tuple(dev.Extension(e.decided_on, e.months) for e in extensions),
    )


def _votes_json(v: dev.Votes | None) -> dict | None:
    if v is None:
        return None
    return {"entitled": v.entitled, "present": v.present, "yes": v.yes, "no": v.no,
            "abstain": v.abstain}  # fmt: skip


def _text(value: str, field: str, limit: int = MAX_TEXT) -> str:
    value = (value or "").strip()
    if len(value) > limit:
        raise InvalidArgument(
            f"{field}: 最多 {limit} 个字符 (at most {limit} characters)",
            code="too_long",
            field=field,
        )
    return value


def _required_date(value: str, field: str) -> date:
    day = parse_date(value, field)
    if day is None:
        raise InvalidArgument(f"{field}: 日期必填 (date is required)", code="required", field=field)
    return day


class DevelopmentPipeline:
    def __init__(
        self,
        directory: MemberDirectory,
        rules: RuleBook,
        store: ObjectStore,
        limits: MaterialLimits,
        today: Callable[[], date] = china_today,
    ):
        self.directory = directory
        self.rules = rules
        self.store = store
        self.limits = limits
        self.today = today

    @property
    def cipher(self) -> FieldCipher:
        return self.directory.cipher

    # ---- catalogue ----

    @staticmethod
    def catalogue() -> tuple[list[dev.Stage], list[dev.StepSpec]]:
        return list(dev.STAGES.values()), [dev.STEPS[n] for n in sorted(dev.STEPS)]

    # ---- cases ----

    async def open_case(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        *,
        organization_id: str,
        name: str,
        id_number: str,
        ethnicity: str,
        education: str,
        application_date: str,
        acting: str,
        note: str,
        late_reason: str,
    ) -> tuple[CaseView, dev.Evaluation, date]:
        caller.require_role(*MANAGERS)
        tenant_id = caller.require_tenant()
        today = self.today()
        org = await self.directory.get_organization(uow, caller, organization_id)
        name = _text(name, "name", 50)
        if not name:
            raise InvalidArgument("姓名不能为空 (name is required)", code="required", field="name")
        ethnicity, education = _text(ethnicity, "ethnicity", 20), _text(education, "education", 30)
        info = validate_id_number(id_number, today=today)
        applied = _required_date(application_date, "application_date")
        acting, note = _text(acting, "acting", 100), _text(note, "note", MAX_NOTE)
        late, late_reason = self._late(applied, late_reason, today)
        first = dev.Step(1, applied)
        rules = await self._rules(uow.session, tenant_id, applied)
        dev.check_step(dev.CaseFacts(info.birth_date), [], first, rules, today=today)

        index = self.directory.id_index(info.normalized)
        records = DevelopmentRecords(uow.session)
        if await records.member_index_taken(tenant_id, index):
            raise AlreadyExists(
                "此人已是本单位党员 (this person is already a member)",
                code="already_member",
                field="id_number",
            )
        if await DevelopmentCaseRepository(uow.session).active_for_person(tenant_id, index):
            raise AlreadyExists(
                "此人已有进行中的发展程序 (this person already has an open development case)",
                code="duplicate_case",
                field="id_number",
            )
        case_id = new_id()
        kind, anchor = dev.due_anchor(dev.CaseStatus.OPEN, [first])
        case = DevelopmentCase(
            id=case_id,
            tenant_id=tenant_id,
            organization_id=org.id,
            name=name,
            gender=int(Gender.MALE if info.gender == "male" else Gender.FEMALE),
            birth_date=info.birth_date,
            ethnicity=ethnicity,
            education=education,
            id_number_enc=self.cipher.encrypt(info.normalized, aad=_aad(case_id)),
            id_number_index=index,
            key_id=self.cipher.active_key_id,
            status=dev.CaseStatus.OPEN.value,
            current_step=1,
            current_step_on=applied,
            application_on=applied,
            due_step=int(kind),
            due_anchor=anchor,
            extension_months=0,
            version=1,
            created_by=caller.user_id,
            updated_by=caller.user_id,
        )
        uow.session.add(case)
        await _flush_or_conflict(
            uow,
            "此人已有进行中的发展程序 (this person already has an open development case)",
            "id_number",
            "duplicate_case",
        )
        row = self._step_row(case, first, 1, caller, acting, note, late, late_reason)
        uow.session.add(row)
        await uow.session.flush()
        _audit(uow.session, caller, tenant_id, "development_open", case.id, ["id_number"])
        await ev.case_opened(uow.session, case, caller.user_id)
        await ev.step_recorded(uow.session, case, row, caller.user_id)
        evaluation = dev.evaluate(facts_of(case, []), [first], await self._rules_today(uow, case),
                                  today)  # fmt: skip
        return self._view(case), evaluation, today

    async def get_case(
        self, uow: UnitOfWork, caller: CallerContext, case_id: str, *, reveal: bool, reason: str
    ) -> CaseDetail:
        caller.require_role(*READERS)
        case, _ = await self._case(uow, caller, case_id)
        view = self._view(case)
        if reveal:
            if not caller.has_role(*MAY_REVEAL) or caller.is_cross_tenant:
                raise PermissionDenied(
                    "无权查看完整个人信息 (your role may not see personal data in full)",
                    code="reveal_not_allowed",
                )
            _audit(uow.session, caller, case.tenant_id, "development_reveal", case.id,
                   ["id_number"], reason)  # fmt: skip
            view = CaseView(case, self._id_number(case), revealed=True)
        return await self._detail(uow, case, view)

    async def list_cases(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        *,
        organization_id: str,
        status: str,
        stage: int,
        page_size: int,
        page_token: str,
    ) -> tuple[list[CaseSummary], str]:
        caller.require_role(*READERS)
        tenant_id = caller.require_tenant()
        if stage and not 1 <= stage <= 5:
            raise InvalidArgument("阶段应为1–5 (stage must be 1–5)", field="stage")
        if status and status not in {s.value for s in dev.CaseStatus}:
            raise InvalidArgument("状态无效 (unknown status)", field="status")
        root_path = await self.directory.subtree_path(
            Repositories(uow.session), caller, organization_id
        )
        page = await DevelopmentCaseRepository(uow.session).page_subtree(
            tenant_id, root_path, status=status, stage=stage, page_size=page_size,
            page_token=page_token,
        )  # fmt: skip
        rules = await self._rules(uow.session, tenant_id, self.today())
        out = [
            CaseSummary(
                self._view(c),
                dev.deadline_of(dev.DueStep(c.due_step), c.due_anchor, rules, c.extension_months),
            )
            for c in page.items
        ]
        return out, page.next_token

    # ---- steps ----

    async def record_step(
        self, uow: UnitOfWork, caller: CallerContext, case_id: str, req: StepRequest
    ) -> StepOutcome:
        caller.require_role(*MANAGERS)
        today = self.today()
        case, _ = await self._case(uow, caller, case_id, for_update=True)
        if req.expected_version and req.expected_version != case.version:
            raise Conflict(
                f"记录已被他人修改 (the case changed: version {case.version})",
                code="version_conflict",
            )
        records = DevelopmentRecords(uow.session)
        new = dev.Step(
            number=req.number,
            on=_required_date(req.date, "date"),
            votes=req.votes,
            member_ids=tuple(parse_uuid(m, "member_ids") for m in req.member_ids),
            decision=req.decision,
            publicity_from=parse_date(req.publicity_from, "publicity_from"),
            publicity_to=parse_date(req.publicity_to, "publicity_to"),
            training_days=req.training_days,
            training_hours_centi=req.training_hours_centi,
        )
        if not 0 <= req.training_days <= MAX_DAYS or not (
            0 <= req.training_hours_centi <= MAX_HOURS_CENTI
        ):
            raise InvalidArgument(
                "培训天数或学时超出范围 (training days or hours out of range)",
                code="invalid_training",
                field="training",
            )
        acting, note = _text(req.acting, "acting", 100), _text(req.note, "note", MAX_NOTE)
        late, late_reason = self._late(new.on, req.late_reason, today)
        rows = await records.steps(case.tenant_id, case.id)
        steps = [step_of(r) for r in rows]
        extensions = await records.extensions(case.tenant_id, case.id)
        facts = facts_of(case, extensions)
        training = [training_of(t) for t in await records.training(case.tenant_id, case.id)]
        members = {
            m.id: dev.MemberFacts(m.category, m.party_status, m.name)
            for m in await records.members(case.tenant_id, new.member_ids)
        }
        rules = await self._rules(uow.session, case.tenant_id, new.on)
        dev.check_step(facts, steps, new, rules, members=members, training=training, today=today)

        occurrence = 1 + sum(1 for r in rows if r.number == new.number)
        row = self._step_row(case, new, occurrence, caller, acting, note, late, late_reason)
        records.add(row)
        status = dev.status_after(facts, new)
        all_steps = [*steps, new]
        case.status = status.value
        case.current_step, case.current_step_on = new.number, new.on
        kind, anchor = dev.due_anchor(status, all_steps)
        case.due_step, case.due_anchor = int(kind), anchor
        if new.decision == dev.Decision.REJECTED:
            case.closed_on, case.rejected_at_step = new.on, new.number
        self._touch(case, caller)
        await _flush_or_conflict(
            uow, "该步骤正被他人同时记录 (the step is being recorded concurrently)", "number",
            "step_conflict",
        )  # fmt: skip

        if new.number == dev.ADMISSION_APPROVAL and status == dev.CaseStatus.ADMITTED:
            meeting = next(s for s in all_steps if s.number == dev.ADMISSION_MEETING)
            case.member_id = await self._admit(uow, caller, case, meeting.on)
        if new.number == dev.CONVERSION_APPROVAL and status == dev.CaseStatus.CLOSED:
            await self._cancel_probation(uow, caller, case, new.on)
        if new.number == dev.CONVERSION_APPROVAL and status == dev.CaseStatus.CONVERTED:
            meeting = next(s for s in all_steps if s.number == dev.ADMISSION_MEETING)
            ended = dev.probation_end(meeting.on, rules, facts.extension_months)
            await self._convert(uow, caller, case, ended)
        await uow.session.flush()
        await ev.step_recorded(uow.session, case, row, caller.user_id)
        if status == dev.CaseStatus.CLOSED:
            await ev.case_closed(uow.session, case)
        rules_today = await self._rules_today(uow, case)
        evaluation = dev.evaluate(facts_of(case, extensions), all_steps, rules_today, today,
                                  training)  # fmt: skip
        return StepOutcome(self._view(case), row, evaluation, today)

    async def extend_probation(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        case_id: str,
        *,
        date_: str,
        months: int,
        reason: str,
    ) -> tuple[CaseView, DevelopmentExtensionRow, dev.Evaluation, date]:
        caller.require_role(*MANAGERS)
        today = self.today()
        case, _ = await self._case(uow, caller, case_id, for_update=True)
        records = DevelopmentRecords(uow.session)
        reason = _text(reason, "reason")
        if not reason:
            raise InvalidArgument(
                "须说明延长预备期的理由 (a reason is required)", code="required", field="reason"
            )
        ext = dev.Extension(_required_date(date_, "date"), months)
        steps = [step_of(r) for r in await records.steps(case.tenant_id, case.id)]
        extensions = await records.extensions(case.tenant_id, case.id)
        facts = facts_of(case, extensions)
        rules = await self._rules(uow.session, case.tenant_id, ext.on)
        dev.check_extension(facts, steps, ext, rules, today=today)
        row = DevelopmentExtensionRow(
            id=new_id(), tenant_id=case.tenant_id, case_id=case.id, decided_on=ext.on,
            months=months, reason=reason, recorded_by=caller.user_id,
            recorded_at=datetime.now(UTC),
        )  # fmt: skip
        records.add(row)
        case.extension_months += months
        self._touch(case, caller)
        await uow.session.flush()
        extensions = [*extensions, row]
        meeting = next(s for s in dev.ordered(steps) if s.number == dev.ADMISSION_MEETING)
        ends = dev.probation_end(meeting.on, rules, case.extension_months)
        await ev.probation_extended(uow.session, case, row, ends)
        training = [training_of(t) for t in await records.training(case.tenant_id, case.id)]
        evaluation = dev.evaluate(facts_of(case, extensions), steps,
                                  await self._rules_today(uow, case), today, training)  # fmt: skip
        return self._view(case), row, evaluation, today

    async def close_case(
        self, uow: UnitOfWork, caller: CallerContext, case_id: str, *, date_: str, reason: str
    ) -> CaseView:
        caller.require_role(*MANAGERS)
        today = self.today()
        case, _ = await self._case(uow, caller, case_id, for_update=True)
        reason = _text(reason, "reason")
        if not reason:
            raise InvalidArgument(
                "须说明终止理由 (a reason is required)", code="required", field="reason"
            )
        day = parse_date(date_, "date") or today
        if case.status != dev.CaseStatus.OPEN:
            raise FailedPrecondition(
                "只能终止尚未接收为预备党员的发展程序；预备党员须经支部大会讨论、上级党委审批"
                " (only an open case may be closed: a probationary member's case ends through"
                " steps 23 and 24)",
                code="case_not_open",
            )
        if day > today or day < case.current_step_on:
            raise InvalidArgument(
                "终止日期应在最近一步之后、不晚于今天 (the date must be between the latest step and"
                " today)",
                code="invalid_date",
                field="date",
            )
        case.status = dev.CaseStatus.CLOSED.value
        case.closed_on, case.closed_reason = day, reason
        case.due_step, case.due_anchor = int(dev.DueStep.NONE), None
        self._touch(case, caller)
        await uow.session.flush()
        await ev.case_closed(uow.session, case)
        return self._view(case)

    # ---- training ----

    async def record_training(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        case_id: str,
        *,
        completed_on: str,
        days: int,
        hours_centi: int,
        title: str,
    ) -> tuple[DevelopmentTrainingRow, dev.Evaluation, date]:
        caller.require_role(*MANAGERS)
        today = self.today()
        case, _ = await self._case(uow, caller, case_id, for_update=True)
        if case.status == dev.CaseStatus.CLOSED:
            raise FailedPrecondition("发展程序已结束 (the case is closed)", code="case_closed")
        day = _required_date(completed_on, "completed_on")
        if day > today:
            raise InvalidArgument(
                "完成日期不能晚于今天 (the date is in the future)",
                code="future_date",
                field="completed_on",
            )
        _check_training(days, hours_centi)
        row = DevelopmentTrainingRow(
            id=new_id(), tenant_id=case.tenant_id, case_id=case.id, completed_on=day, days=days,
            hours_centi=hours_centi, title=_text(title, "title", MAX_TITLE), source="manual",
            source_record_id="", recorded_by=caller.user_id, recorded_at=datetime.now(UTC),
        )  # fmt: skip
        uow.session.add(row)
        await uow.session.flush()
        return row, await self._evaluate(uow, case, today), today

    async def apply_training_event(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        event_id: uuid.UUID,
        *,
        case_id: str,
        member_id: str,
        days: int,
        hours_centi: int,
        title: str,
        completed_on: str,
        record_id: str,
    ) -> bool:
        """A TrainingHoursRecorded event from the learning service, in the consumer's transaction
        (tenant set by its envelope). Counted once per event id; an event for no known case is
        logged and dropped (True when it counted)."""
        cases = DevelopmentCaseRepository(session)
        case = None
        if case_id:
            try:
                case = await cases.get(uuid.UUID(case_id))
            except ValueError:
                case = None
        elif member_id:
            try:
                case = await cases.by_member(tenant_id, uuid.UUID(member_id))
            except ValueError:
                case = None
        if case is None or case.tenant_id != tenant_id:
            log.warning("training event for no known development case", event_id=str(event_id))
            return False
        try:
            day = date.fromisoformat(completed_on)
            _check_training(days, hours_centi)
        except (ValueError, InvalidArgument):
            log.warning("training event with invalid values dropped", event_id=str(event_id))
            return False
        return await DevelopmentRecords(session).add_training_once(
            dict(
                id=new_id(), tenant_id=tenant_id, case_id=case.id, completed_on=day, days=days,
                hours_centi=hours_centi, title=title[:MAX_TITLE], source="learning",
                source_event_id=event_id, source_record_id=record_id[:64],
                recorded_by="learning", recorded_at=datetime.now(UTC),
            )
        )  # fmt: skip

    # ---- materials ----

    async def upload_material(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        case_id: str,
        *,
        step_record_id: str,
        file_name: str,
        content_type: str,
        content: bytes,
    ) -> DevelopmentMaterial:
        caller.require_role(*MANAGERS)
        case, _ = await self._case(uow, caller, case_id)
        records = DevelopmentRecords(uow.session)
        step_id = None
        if step_record_id:
            found = await records.step(
                case.tenant_id, case.id, parse_uuid(step_record_id, "step_record_id")
            )
            if found is None:
                raise NotFound(
                    "步骤记录不存在 (step record not found)",
                    code="step_not_found",
                    field="step_record_id",
                )
            step_id = found.id
        file_name = (file_name or "").strip()
        if not FILE_NAME.match(file_name):
            raise InvalidArgument(
                "文件名无效 (file_name: 1–200 characters, no path)",
                code="invalid_file_name",
                field="file_name",
            )
        magic = MATERIAL_TYPES.get(content_type)
        if magic is None:
            raise InvalidArgument(
                "只接受 PDF、JPEG、PNG 文件 (only PDF, JPEG or PNG)",
                code="unsupported_content_type",
                field="content_type",
            )
        if not content:
            raise InvalidArgument(
                "文件为空 (the file is empty)", code="empty_file", field="content"
            )
        if len(content) > self.limits.max_bytes:
            raise InvalidArgument(
                f"文件超过 {self.limits.max_bytes} 字节 (file larger than "
                f"{self.limits.max_bytes} bytes)",
                code="file_too_large",
                field="content",
            )
        if not content.startswith(magic):
            raise InvalidArgument(
                "文件内容与类型不符 (the content does not match the content type)",
                code="content_mismatch",
                field="content",
            )
        material_id = new_id()
        key = f"development/{case.tenant_id}/{case.id}/{material_id}"
        row = DevelopmentMaterial(
            id=material_id, tenant_id=case.tenant_id, case_id=case.id, step_id=step_id,
            object_key=key, file_name=file_name, content_type=content_type, size=len(content),
            uploaded_by=caller.user_id, uploaded_at=datetime.now(UTC),
        )  # fmt: skip
        uow.session.add(row)
        await uow.session.flush()
        # The object is written last: a failed upload leaves no row; a failed commit leaves an
        # object no row points to (harmless, never served).
        await self.store.put_object(key, content, content_type, max_size=self.limits.max_bytes)
        return row

    async def list_materials(
        self, uow: UnitOfWork, caller: CallerContext, case_id: str
    ) -> list[DevelopmentMaterial]:
        caller.require_role(*READERS)
        case, _ = await self._case(uow, caller, case_id)
        return await DevelopmentRecords(uow.session).materials(case.tenant_id, case.id)

    async def material_download(
        self, uow: UnitOfWork, caller: CallerContext, case_id: str, material_id: str, reason: str
    ) -> tuple[str, datetime]:
        caller.require_role(*MANAGERS)
        case, _ = await self._case(uow, caller, case_id)
        m = await DevelopmentRecords(uow.session).material(
            case.tenant_id, case.id, parse_uuid(material_id, "material_id")
        )
        if m is None:
            raise NotFound("材料不存在 (material not found)", code="material_not_found")
        seconds = self.limits.download_url_seconds
        url = await self.store.presigned_get_url(m.object_key, expires=seconds)
        _audit(uow.session, caller, case.tenant_id, "development_download", case.id,
               [f"material:{m.id}"], reason)  # fmt: skip
        return url, datetime.now(UTC) + timedelta(seconds=seconds)

    # ---- helpers ----

    async def _case(
        self, uow: UnitOfWork, caller: CallerContext, case_id: str, *, for_update: bool = False
    ) -> tuple[DevelopmentCase, Organization]:
        repos = Repositories(uow.session)
        scope = await self.directory.scope_root(repos, caller)
        found = await DevelopmentCaseRepository(uow.session).in_subtree(
            caller.require_tenant(), parse_uuid(case_id, "id"), scope.path if scope else None,
            for_update=for_update,
        )  # fmt: skip
        if found is None:  # outside the scope looks exactly like absent
            raise NotFound("发展对象不存在 (development case not found)", code="case_not_found")
        return found

    async def _rules(
        self, session: AsyncSession, tenant_id: uuid.UUID, as_of: date
    ) -> dict[str, EffectiveRule]:
        try:
            return await self.rules.effective(session, tenant_id, dev.RULE_KEYS, as_of)
        except RuleMissing:
            # A step entered late from before a rule's recorded start (e.g. the 2022 党章 for the
            # age rule): today's rules apply, the earlier texts said the same.
            return await self.rules.effective(session, tenant_id, dev.RULE_KEYS, self.today())

    async def _rules_today(
        self, uow: UnitOfWork, case: DevelopmentCase
    ) -> dict[str, EffectiveRule]:
        return await self._rules(uow.session, case.tenant_id, self.today())

    async def _evaluate(
        self, uow: UnitOfWork, case: DevelopmentCase, today: date
    ) -> dev.Evaluation:
        records = DevelopmentRecords(uow.session)
        steps = [step_of(r) for r in await records.steps(case.tenant_id, case.id)]
        extensions = await records.extensions(case.tenant_id, case.id)
        training = [training_of(t) for t in await records.training(case.tenant_id, case.id)]
        return dev.evaluate(facts_of(case, extensions), steps, await self._rules_today(uow, case),
                            today, training)  # fmt: skip

    async def _detail(self, uow: UnitOfWork, case: DevelopmentCase, view: CaseView) -> CaseDetail:
        today = self.today()
        records = DevelopmentRecords(uow.session)
        rows = await records.steps(case.tenant_id, case.id)
        extensions = await records.extensions(case.tenant_id, case.id)
        training = await records.training(case.tenant_id, case.id)
        evaluation = dev.evaluate(
            facts_of(case, extensions), [step_of(r) for r in rows],
            await self._rules_today(uow, case), today, [training_of(t) for t in training],
        )  # fmt: skip
        return CaseDetail(view, evaluation, today, rows, extensions, training,
                          timeline(case, rows, extensions, training))  # fmt: skip

    def _late(self, day: date, reason: str, today: date) -> tuple[bool, str]:
        """A step dated before the day it is entered is a late entry: allowed with a reason,
        marked and kept (domain.md §4: no silent backfilling)."""
        reason = _text(reason, "late_reason")
        if day >= today:
            return False, ""
        if not reason:
            raise InvalidArgument(
                "补录须说明理由 (a step dated before today is a late entry: give late_reason)",
                code="late_reason_required",
                field="late_reason",
            )
        return True, reason

    @staticmethod
    def _step_row(
        case: DevelopmentCase,
        step: dev.Step,
        occurrence: int,
        caller: CallerContext,
        acting: str,
        note: str,
        late: bool,
        late_reason: str,
    ) -> DevelopmentStepRow:
        return DevelopmentStepRow(
            id=new_id(), tenant_id=case.tenant_id, case_id=case.id, number=step.number,
            occurrence=occurrence, occurred_on=step.on, acting=acting or step.spec.actor_zh,
            votes=_votes_json(step.votes), member_ids=list(step.member_ids),
            decision=step.decision.value, publicity_from=step.publicity_from,
            publicity_to=step.publicity_to, training_days=step.training_days,
            training_hours_centi=step.training_hours_centi, note=note, late=late,
            late_reason=late_reason, recorded_by=caller.user_id, recorded_at=datetime.now(UTC),
        )  # fmt: skip

    @staticmethod
    def _touch(case: DevelopmentCase, caller: CallerContext) -> None:
        case.version += 1
        case.updated_at = datetime.now(UTC)
        case.updated_by = caller.user_id

    def _id_number(self, case: DevelopmentCase) -> str:
        return self.cipher.decrypt(case.id_number_enc, aad=_aad(case.id))

    def _view(self, case: DevelopmentCase) -> CaseView:
        return CaseView(case, masking.mask_id_number(self._id_number(case)))

    async def _admit(
        self, uow: UnitOfWork, caller: CallerContext, case: DevelopmentCase, meeting_on: date
    ) -> uuid.UUID:
        """The person becomes a probationary member of the case's branch, joined on the day of
        the branch meeting (党章第七条), through the directory's own create path."""
        profile = Profile(
            name=case.name, gender=Gender(case.gender), id_number=self._id_number(case),
            ethnicity=case.ethnicity, birth_date=case.birth_date, education=case.education,
            category=Category.PROBATIONARY, joined_on=meeting_on, party_status=PartyStatus.NORMAL,
        )  # fmt: skip
        created = await self.directory.create_member(
            uow, caller, organization_id=str(case.organization_id), profile=profile
        )
        return created.member.id

    async def _convert(
        self, uow: UnitOfWork, caller: CallerContext, case: DevelopmentCase, ended: date
    ) -> None:
        """A full member from the day probation ended (细则第三十四条: 预备期满之日)."""
        if case.member_id is None:
            raise FailedPrecondition(
                "发展程序未关联党员记录 (the case has no member record)", code="no_member"
            )
        await self.directory.update_member(
            uow, caller, str(case.member_id),
            changes=Profile(category=Category.FULL, converted_on=ended),
            mask=["category", "converted_on"], organization_id="", expected_version=0,
        )  # fmt: skip

    async def _cancel_probation(
        self, uow: UnitOfWork, caller: CallerContext, case: DevelopmentCase, on: date
    ) -> None:
        """取消预备党员资格 (细则第三十五条): the probationary member leaves the register as
        departed archive, like a member transferred out (docs/adr/0016): no longer listed or
        counted, the record and its history kept."""
        if case.member_id is None:
            return
        member = await uow.session.get(Member, case.member_id, with_for_update=True)
        if member is None or member.departed_on is not None:
            return
        member.departed_on, member.departed_reason = on, PROBATION_CANCELLED
        member.version += 1
        member.updated_at, member.updated_by = datetime.now(UTC), caller.user_id
        FieldHistory(self.directory.cipher).record(
            uow.session, caller, tenant_id=member.tenant_id, member_id=member.id,
            source="development", record_id=case.id,
            diffs=diff_values({}, {"departed_on": on}, ["departed_on"]),
        )  # fmt: skip
        await uow.session.flush()
        await member_events.member_updated(uow, member, ["departed_on"])
        uow.session.add(AuditEntry(
            id=new_id(), tenant_id=member.tenant_id, actor=caller.user_id,
            actor_roles=sorted(caller.roles), action="member_departed", target_type="member",
            target_id=member.id, fields=["departed_on"], reason=f"development case {case.id}",
        ))  # fmt: skip


# ---- the timeline ----


def timeline(
    case: DevelopmentCase,
    steps: Sequence[DevelopmentStepRow],
    extensions: Sequence[DevelopmentExtensionRow],
    training: Sequence[DevelopmentTrainingRow],
) -> list[TimelineEntry]:
    out = []
    for s in steps:
        spec = dev.STEPS[s.number]
        detail = []
        if s.decision:
            detail.append("批准 (approved)" if s.decision == "approved" else "不批准 (rejected)")
        if s.votes:
            v = s.votes
            detail.append(
                f"应到{v['entitled']}人，实到{v['present']}人，赞成{v['yes']}、反对{v['no']}、"
                f"弃权{v['abstain']} ({v['yes']} yes, {v['no']} no, {v['abstain']} abstain; "
                f"{v['present']} of {v['entitled']} present)"
            )
        if s.publicity_from and s.publicity_to:
            detail.append(f"公示 {s.publicity_from.isoformat()} 至 {s.publicity_to.isoformat()}")
        if s.training_days or s.training_hours_centi:
            detail.append(
                f"培训{s.training_days}天、{s.training_hours_centi / 100:g}学时 "
                f"({s.training_days} days, {s.training_hours_centi / 100:g} class hours)"
            )
        if s.late:
            detail.append(f"补录：{s.late_reason} (late entry)")
        title = f"{spec.label_zh} ({spec.name_en})"
        if s.occurrence > 1:
            title = f"{spec.label_zh}（第{s.occurrence}次） ({spec.name_en}, #{s.occurrence})"
        out.append(TimelineEntry(
            s.occurred_on, "step", title, "；".join(detail), s.number, s.id, s.recorded_by,
            s.recorded_at, s.late,
        ))  # fmt: skip
    for t in training:
        out.append(TimelineEntry(
            t.completed_on, "training", f"培训 (training): {t.title}".strip(),
            f"{t.days}天、{t.hours_centi / 100:g}学时 ({t.days} days, "
            f"{t.hours_centi / 100:g} class hours; {t.source})",
            0, t.id, t.recorded_by, t.recorded_at,
        ))  # fmt: skip
    for e in extensions:
        out.append(TimelineEntry(
            e.decided_on, "probation_extended", f"延长预备期{e.months}个月 (probation extended by "
            f"{e.months} months)", e.reason, 0, e.id, e.recorded_by, e.recorded_at,
        ))  # fmt: skip
    if case.status == dev.CaseStatus.CLOSED and case.closed_on:
        why = (
            f"第{case.rejected_at_step}步未获通过 (rejected at step {case.rejected_at_step})"
            if case.rejected_at_step
            else case.closed_reason
        )
        out.append(TimelineEntry(case.closed_on, "closed", "发展程序终止 (case closed)", why,
                                 recorded_by=case.updated_by, recorded_at=case.updated_at))  # fmt: skip
    kinds = {"step": 0, "training": 1, "probation_extended": 2, "closed": 3}
    return sorted(out, key=lambda e: (e.on, kinds[e.kind], e.step))


# ---- module helpers ----


def _aad(case_id: uuid.UUID) -> bytes:
    return f"development_case:{case_id}:id_number".encode()


def _check_training(days: int, hours_centi: int) -> None:
    if not (0 <= days <= MAX_DAYS and 0 <= hours_centi <= MAX_HOURS_CENTI) or not (
        days or hours_centi
    ):
        raise InvalidArgument(
            "培训天数或学时须大于0且在合理范围内 (training: days or class hours, positive and in"
            " range)",
            code="invalid_training",
            field="days",
        )


def _audit(
    session: AsyncSession,
    caller: CallerContext,
    tenant_id: uuid.UUID,
    action: str,
    target_id: uuid.UUID,
    fields: list[str],
    reason: str = "",
) -> None:
    session.add(
        AuditEntry(
            id=new_id(), tenant_id=tenant_id, actor=caller.user_id,
            actor_roles=sorted(caller.roles), action=action, target_type="development_case",
            target_id=target_id, fields=fields, reason=reason[:500],
        )
    )  # fmt: skip


async def _flush_or_conflict(uow: UnitOfWork, message: str, field: str, code: str) -> None:
    try:
        async with uow.session.begin_nested():
            await uow.session.flush()
    except IntegrityError as exc:
        raise AlreadyExists(message, code=code, field=field) from exc


__all__ = [
    "CaseDetail",
    "CaseSummary",
    "CaseView",
    "DevelopmentPipeline",
    "MaterialLimits",
    "StepOutcome",
    "StepRequest",
    "TimelineEntry",
    "timeline",
]
