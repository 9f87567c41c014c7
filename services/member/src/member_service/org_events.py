"""Outbox payloads of organisation changes and committee-term reminders (docs/adr/0007), written
in the caller's transaction. No reasons or other free text typed by users: they may hold
personal data."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from hongyun.member.v1 import organization_events_pb2 as pb
from hongyun_platform.messaging.envelope import subject_for
from hongyun_platform.messaging.outbox import add_event
from sqlalchemy.ext.asyncio import AsyncSession

from member_service.models import messaging


async def _emit(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    aggregate: str,
    event: str,
    payload,
    event_id: uuid.UUID | None = None,
) -> uuid.UUID:
    return await add_event(
        session,
        messaging.outbox,
        subject=subject_for("member", tenant_id, aggregate, event),
        tenant_id=tenant_id,
        payload=payload,
        event_id=event_id,
    )


async def organization_renamed(
    session: AsyncSession, *, tenant_id: uuid.UUID, org_id: uuid.UUID, old: str, new: str, day: date
) -> None:
    await _emit(
        session,
        tenant_id,
        "organization",
        "renamed",
        pb.OrganizationRenamed(
            organization_id=str(org_id),
            tenant_id=str(tenant_id),
            old_name=old,
            new_name=new,
            effective_on=day.isoformat(),
        ),
    )


async def organization_moved(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    org_id: uuid.UUID,
    old_parent_id: uuid.UUID | None,
    new_parent_id: uuid.UUID,
    old_path: str,
    new_path: str,
    moved: int,
    day: date,
) -> None:
    await _emit(
        session,
        tenant_id,
        "organization",
        "moved",
        pb.OrganizationMoved(
            organization_id=str(org_id),
            tenant_id=str(tenant_id),
            old_parent_id=str(old_parent_id or ""),
            new_parent_id=str(new_parent_id),
            old_path=old_path,
            new_path=new_path,
            moved_organizations=moved,
            effective_on=day.isoformat(),
        ),
    )


async def organizations_merged(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    source_id: uuid.UUID,
    target_id: uuid.UUID,
    source_path: str,
    target_path: str,
    moved_members: int,
    moved_children: Sequence[uuid.UUID],
    day: date,
) -> None:
    await _emit(
        session,
        tenant_id,
        "organization",
        "merged",
        pb.OrganizationsMerged(
            source_organization_id=str(source_id),
            target_organization_id=str(target_id),
            tenant_id=str(tenant_id),
            source_path=source_path,
            target_path=target_path,
            moved_members=moved_members,
            moved_child_organization_ids=[str(c) for c in moved_children],
            effective_on=day.isoformat(),
        ),
    )


async def organization_dissolved(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    org_id: uuid.UUID,
    parent_id: uuid.UUID | None,
    path: str,
    day: date,
) -> None:
    await _emit(
        session,
        tenant_id,
        "organization",
        "dissolved",
        pb.OrganizationDissolved(
            organization_id=str(org_id),
            tenant_id=str(tenant_id),
            parent_id=str(parent_id or ""),
            path=path,
            effective_on=day.isoformat(),
        ),
    )


async def committee_term_ending(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    term_id: uuid.UUID,
    org_id: uuid.UUID,
    started_on: date,
    ends_on: date,
    months_before: int,
    remind_on: date,
    today: date,
    event_id: uuid.UUID,
) -> uuid.UUID:
    return await _emit(
        session,
        tenant_id,
        "committee_term",
        "ending",
        pb.CommitteeTermEnding(
            term_id=str(term_id),
            organization_id=str(org_id),
            tenant_id=str(tenant_id),
            started_on=started_on.isoformat(),
            ends_on=ends_on.isoformat(),
            months_before=months_before,
            remind_on=remind_on.isoformat(),
            days_remaining=(ends_on - today).days,
        ),
        event_id,
    )
