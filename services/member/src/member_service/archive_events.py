"""Events of the member archive, written to the outbox in the caller's transaction.

Subjects member.<tenant>.member.status_changed and member.<tenant>.member.flagged; payloads carry
ids, enum numbers and dates only: no reasons, documents or destinations (personal data)."""

from __future__ import annotations

from datetime import date

from hongyun.member.v1 import member_archive_pb2
from hongyun_platform.db import UnitOfWork
from hongyun_platform.messaging.envelope import subject_for
from hongyun_platform.messaging.outbox import add_event

from member_service.archive_models import FlagChange, StatusChange
from member_service.models import Member, messaging


async def member_status_changed(
    uow: UnitOfWork, m: Member, change: StatusChange, previous_status: int
) -> None:
    await add_event(
        uow.session,
        messaging.outbox,
        subject=subject_for("member", m.tenant_id, "member", "status_changed"),
        tenant_id=m.tenant_id,
        payload=member_archive_pb2.MemberStatusChanged(
            member_id=str(m.id),
            tenant_id=str(m.tenant_id),
            organization_id=str(m.organization_id),
            change_id=str(change.id),
            previous_status=previous_status,
            status=change.status,
            effective_on=_iso(change.effective_on),
        ),
    )


async def member_flagged(uow: UnitOfWork, m: Member, change: FlagChange) -> None:
    await add_event(
        uow.session,
        messaging.outbox,
        subject=subject_for("member", m.tenant_id, "member", "flagged"),
        tenant_id=m.tenant_id,
        payload=member_archive_pb2.MemberFlagged(
            member_id=str(m.id),
            tenant_id=str(m.tenant_id),
            organization_id=str(m.organization_id),
            change_id=str(change.id),
            flag=change.flag,
            active=change.active,
            effective_on=_iso(change.effective_on),
        ),
    )


def _iso(d: date | None) -> str:
    return d.isoformat() if d else ""
