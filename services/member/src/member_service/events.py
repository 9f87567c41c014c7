"""Event payloads of the member service, written to the outbox in the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from hongyun.member.v1 import events_pb2
from hongyun_platform.db import UnitOfWork
from hongyun_platform.messaging.envelope import subject_for
from hongyun_platform.messaging.outbox import add_event, add_events
from sqlalchemy.ext.asyncio import AsyncSession

from member_service.models import Member, Organization, messaging

STREAM = "MEMBER"
STREAM_SUBJECTS = ["member.>"]


def _subject(tenant_id, aggregate: str, event: str) -> str:
    return subject_for("member", tenant_id, aggregate, event)


async def organization_created(uow: UnitOfWork, org: Organization) -> None:
    await add_event(
        uow.session,
        messaging.outbox,
        subject=_subject(org.tenant_id, "organization", "created"),
        tenant_id=org.tenant_id,
        payload=events_pb2.OrganizationCreated(
            organization_id=str(org.id),
            tenant_id=str(org.tenant_id),
            parent_id=str(org.parent_id or ""),
            name=org.name,
            type=org.type,
            path=org.path,
        ),
    )


def _registered(m: Member) -> events_pb2.MemberRegistered:
    return events_pb2.MemberRegistered(
        member_id=str(m.id),
        tenant_id=str(m.tenant_id),
        organization_id=str(m.organization_id),
        category=m.category,
        party_status=m.party_status,
        joined_on=m.joined_on.isoformat() if m.joined_on else "",
    )


async def member_registered(uow: UnitOfWork, m: Member) -> None:
    await add_event(
        uow.session,
        messaging.outbox,
        subject=_subject(m.tenant_id, "member", "registered"),
        tenant_id=m.tenant_id,
        payload=_registered(m),
    )


async def members_registered(uow: UnitOfWork, members: Iterable[Member]) -> None:
    """One MemberRegistered per member of a bulk write (imports), in one batched insert."""
    await add_events(
        uow.session,
        messaging.outbox,
        [(_subject(m.tenant_id, "member", "registered"), _registered(m), m.tenant_id)
         for m in members],
    )  # fmt: skip


def _updated(
    member_id: uuid.UUID, tenant_id: uuid.UUID, organization_id: uuid.UUID, changed: list[str],
    version: int,
) -> events_pb2.MemberUpdated:  # fmt: skip
    return events_pb2.MemberUpdated(
        member_id=str(member_id),
        tenant_id=str(tenant_id),
        organization_id=str(organization_id),
        changed_fields=changed,
        version=version,
    )


async def member_updated(uow: UnitOfWork, m: Member, changed: list[str]) -> None:
    await add_event(
        uow.session,
        messaging.outbox,
        subject=_subject(m.tenant_id, "member", "updated"),
        tenant_id=m.tenant_id,
        payload=_updated(m.id, m.tenant_id, m.organization_id, changed, m.version),
    )


async def members_moved(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    moved: Iterable[tuple[uuid.UUID, int]],
    *,
    organization_id: uuid.UUID,
) -> None:
    """One MemberUpdated per member moved to `organization_id` in bulk (an organisation merge),
    the same event an update of the member's organisation emits; `moved` holds (member id, new
    version) pairs. One batched insert."""
    subject = _subject(tenant_id, "member", "updated")
    changed = ["organization_id"]
    await add_events(
        session,
        messaging.outbox,
        [(subject, _updated(mid, tenant_id, organization_id, changed, version), tenant_id)
         for mid, version in moved],
    )  # fmt: skip
