"""Outbox payloads of party dues (docs/adr/0017), written in the caller's transaction on subjects
member.<tenant>.dues.<event>. No declared income and no hardship reasons: they are personal data."""

from __future__ import annotations

import uuid
from datetime import date

from hongyun.member.v1 import member_dues_pb2 as pb
from hongyun_platform.messaging.envelope import subject_for
from hongyun_platform.messaging.outbox import add_event
from sqlalchemy.ext.asyncio import AsyncSession

from member_service.domain import dues as d
from member_service.models import messaging

GROUP_PB = {
    d.DuesGroup.EMPLOYED: pb.DUES_GROUP_EMPLOYED,
    d.DuesGroup.RETIRED: pb.DUES_GROUP_RETIRED,
    d.DuesGroup.FARMER: pb.DUES_GROUP_FARMER,
    d.DuesGroup.STUDENT: pb.DUES_GROUP_STUDENT,
    d.DuesGroup.UNEMPLOYED: pb.DUES_GROUP_UNEMPLOYED,
    d.DuesGroup.SUBSISTENCE: pb.DUES_GROUP_SUBSISTENCE,
}


async def _emit(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    event: str,
    payload,
    event_id: uuid.UUID | None = None,
) -> uuid.UUID:
    return await add_event(
        session,
        messaging.outbox,
        subject=subject_for("member", tenant_id, "dues", event),
        tenant_id=tenant_id,
        payload=payload,
        event_id=event_id,
    )


def _paid_through(paid_through: date, start: date) -> str:
    return d.fmt_month(paid_through) if paid_through >= start else ""


async def standard_set(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    member_id: uuid.UUID,
    organization_id: uuid.UUID,
    effective_month: date,
    group: d.DuesGroup,
    monthly_fen: int,
    rule_key: str,
    set_by: str,
) -> None:
    await _emit(
        session,
        tenant_id,
        "standard_set",
        pb.DuesStandardSet(
            member_id=str(member_id),
            tenant_id=str(tenant_id),
            organization_id=str(organization_id),
            effective_month=d.fmt_month(effective_month),
            group=GROUP_PB[group],
            monthly_fen=monthly_fen,
            rule_key=rule_key,
            set_by=set_by,
        ),
    )


async def payment_recorded(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    payment_id: uuid.UUID,
    member_id: uuid.UUID,
    organization_id: uuid.UUID,
    first_month: date,
    last_month: date,
    months: int,
    amount_fen: int,
    paid_through: date,
    start_month: date,
    recorded_by: str,
) -> None:
    await _emit(
        session,
        tenant_id,
        "payment_recorded",
        pb.DuesPaymentRecorded(
            payment_id=str(payment_id),
            member_id=str(member_id),
            tenant_id=str(tenant_id),
            organization_id=str(organization_id),
            first_month=d.fmt_month(first_month),
            last_month=d.fmt_month(last_month),
            months=months,
            amount_fen=amount_fen,
            paid_through=_paid_through(paid_through, start_month),
            recorded_by=recorded_by,
        ),
    )


async def hardship_decided(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    hardship_id: uuid.UUID,
    member_id: uuid.UUID,
    organization_id: uuid.UUID,
    first_month: date,
    last_month: date,
    waived: bool,
    reduced_fen: int | None,
    approved: bool,
    decided_by: str,
) -> None:
    await _emit(
        session,
        tenant_id,
        "hardship_decided",
        pb.DuesHardshipDecided(
            hardship_id=str(hardship_id),
            member_id=str(member_id),
            tenant_id=str(tenant_id),
            organization_id=str(organization_id),
            first_month=d.fmt_month(first_month),
            last_month=d.fmt_month(last_month),
            waived=waived,
            reduced_monthly_fen=reduced_fen or 0,
            approved=approved,
            decided_by=decided_by,
        ),
    )


async def arrears_flagged(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    member_id: uuid.UUID,
    organization_id: uuid.UUID,
    flag_months: int,
    months_owed: int,
    paid_through: date,
    start_month: date,
    first_unpaid: date,
    amount_owed_fen: int,
    final: bool,
    rule_key: str,
    rule_citation: str,
    day: date,
    event_id: uuid.UUID,
) -> uuid.UUID:
    return await _emit(
        session,
        tenant_id,
        "arrears_flagged",
        pb.DuesArrearsFlagged(
            member_id=str(member_id),
            tenant_id=str(tenant_id),
            organization_id=str(organization_id),
            flag_months=flag_months,
            months_owed=months_owed,
            paid_through=_paid_through(paid_through, start_month),
            first_unpaid_month=d.fmt_month(first_unpaid),
            amount_owed_fen=amount_owed_fen,
            final_flag=final,
            rule_key=rule_key,
            rule_citation=rule_citation,
            flagged_on=day.isoformat(),
        ),
        event_id,
    )
