"""Outbox payloads of the development pipeline (docs/adr/0015), written in the caller's
transaction. Subjects member.<tenant>.development_case.<event>. No names, ID numbers or other
free text typed by users: the events say what happened to which case, the case holds the rest."""

from __future__ import annotations

import uuid
from datetime import date

from hongyun.member.v1 import member_development_pb2 as pb
from hongyun_platform.messaging.envelope import subject_for
from hongyun_platform.messaging.outbox import add_event
from sqlalchemy.ext.asyncio import AsyncSession

from member_service.development_models import (
    DevelopmentCase,
    DevelopmentExtensionRow,
    DevelopmentStepRow,
)
from member_service.domain import development as dev
from member_service.models import messaging

AGGREGATE = "development_case"
STATUS = {
    dev.CaseStatus.OPEN: pb.DEVELOPMENT_CASE_STATUS_OPEN,
    dev.CaseStatus.ADMITTED: pb.DEVELOPMENT_CASE_STATUS_ADMITTED,
    dev.CaseStatus.CONVERTED: pb.DEVELOPMENT_CASE_STATUS_CONVERTED,
    dev.CaseStatus.CLOSED: pb.DEVELOPMENT_CASE_STATUS_CLOSED,
}
DECISION = {
    dev.Decision.NONE: pb.DEVELOPMENT_DECISION_UNSPECIFIED,
    dev.Decision.APPROVED: pb.DEVELOPMENT_DECISION_APPROVED,
    dev.Decision.REJECTED: pb.DEVELOPMENT_DECISION_REJECTED,
}


async def _emit(
    session: AsyncSession, tenant_id: uuid.UUID, event: str, payload,
    event_id: uuid.UUID | None = None,
) -> uuid.UUID:  # fmt: skip
    return await add_event(
        session,
        messaging.outbox,
        subject=subject_for("member", tenant_id, AGGREGATE, event),
        tenant_id=tenant_id,
        payload=payload,
        event_id=event_id,
    )


def _member(case: DevelopmentCase) -> str:
    return str(case.member_id or "")


async def case_opened(session: AsyncSession, case: DevelopmentCase, by: str) -> None:
    await _emit(session, case.tenant_id, "opened", pb.DevelopmentCaseOpened(
        case_id=str(case.id), tenant_id=str(case.tenant_id),
        organization_id=str(case.organization_id),
        application_date=case.application_on.isoformat(), recorded_by=by,
    ))  # fmt: skip


async def step_recorded(
    session: AsyncSession, case: DevelopmentCase, row: DevelopmentStepRow, by: str
) -> None:
    await _emit(session, case.tenant_id, "step_recorded", pb.DevelopmentStepRecorded(
        case_id=str(case.id), tenant_id=str(case.tenant_id),
        organization_id=str(case.organization_id), step=row.number,
        stage=dev.STEPS[row.number].stage, occurrence=row.occurrence,
        date=row.occurred_on.isoformat(), decision=DECISION[dev.Decision(row.decision or "")],
        status=STATUS[dev.CaseStatus(case.status)], late=row.late, member_id=_member(case),
        recorded_by=by, step_record_id=str(row.id),
    ))  # fmt: skip


async def probation_extended(
    session: AsyncSession, case: DevelopmentCase, row: DevelopmentExtensionRow, ends_on: date
) -> None:
    await _emit(session, case.tenant_id, "probation_extended", pb.ProbationExtended(
        case_id=str(case.id), tenant_id=str(case.tenant_id),
        organization_id=str(case.organization_id), member_id=_member(case),
        date=row.decided_on.isoformat(), months=row.months, probation_ends_on=ends_on.isoformat(),
    ))  # fmt: skip


async def case_closed(session: AsyncSession, case: DevelopmentCase) -> None:
    await _emit(session, case.tenant_id, "closed", pb.DevelopmentCaseClosed(
        case_id=str(case.id), tenant_id=str(case.tenant_id),
        organization_id=str(case.organization_id),
        closed_on=case.closed_on.isoformat() if case.closed_on else "",
        rejected_at_step=case.rejected_at_step or 0, member_id=_member(case),
    ))  # fmt: skip


async def step_due(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    case_id: uuid.UUID,
    organization_id: uuid.UUID,
    deadline: dev.Deadline,
    days_before: int,
    remind_on: date,
    today: date,
    event_id: uuid.UUID,
) -> None:
    spec = dev.STEPS[deadline.step]
    await _emit(session, tenant_id, "step_due", pb.DevelopmentStepDue(
        case_id=str(case_id), tenant_id=str(tenant_id), organization_id=str(organization_id),
        step=deadline.step, step_name=f"{spec.name_zh} ({spec.name_en})",
        due_on=deadline.due_on.isoformat(), days_before=days_before,
        remind_on=remind_on.isoformat(), days_remaining=(deadline.due_on - today).days,
        rule_key=deadline.rule_key, rule_citation=deadline.citation,
    ), event_id)  # fmt: skip
