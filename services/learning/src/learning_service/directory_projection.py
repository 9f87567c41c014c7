"""Projection of the member service's directory (docs/adr/0018): tenant ancestry and organisation
paths, kept from MEMBER events, so audiences ("this org subtree") and courses shared down to
descendant tenants need no call to the member service on the learner's path.

Two durable consumers on the MEMBER stream with narrow filters (the stream also carries every
member registration; this projection never sees those). Each handler is an idempotent upsert
and the platform's inbox skips redeliveries, so at-least-once delivery is safe.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from hongyun.member.v1 import events_pb2 as mpb
from hongyun.member.v1 import organization_events_pb2 as opb
from hongyun.member.v1 import tenant_admin_pb2 as tpb
from hongyun_platform.db import Database, UnitOfWork
from hongyun_platform.logging import get_logger
from hongyun_platform.messaging.consumer import ConsumerSpec
from hongyun_platform.messaging.consumer_job import StreamConsumerJob
from hongyun_platform.messaging.envelope import Envelope
from sqlalchemy import ARRAY, Uuid, bindparam, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from learning_service.models import OrgPath, TenantAncestry, messaging

log = get_logger(__name__)

MEMBER_STREAM = "MEMBER"
TENANTS_CONSUMER = "learning__directory_tenants"
ORGS_CONSUMER = "learning__directory_orgs"
_IDS = ARRAY(Uuid)


def parse_path(path: str) -> list[uuid.UUID]:
    """The member service's materialised path: UUID-hex labels, root first, '.' separated."""
    return [uuid.UUID(label) for label in path.split(".") if label]


async def record_tenant(session: AsyncSession, tenant_id: uuid.UUID, parent_id: uuid.UUID | None):
    parent_ancestors: Sequence[uuid.UUID] = ()
    if parent_id is not None:
        parent_ancestors = (
            await session.execute(
                select(TenantAncestry.ancestors).where(TenantAncestry.tenant_id == parent_id)
            )
        ).scalar_one_or_none() or ()
    ancestors = [*parent_ancestors, parent_id] if parent_id else []
    stmt = pg_insert(TenantAncestry).values(tenant_id=tenant_id, ancestors=ancestors)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[TenantAncestry.tenant_id],
            set_={"ancestors": ancestors, "updated_at": text("now()")},
        )
    )


async def record_org(session: AsyncSession, tenant_id: uuid.UUID, org_id: uuid.UUID, path):
    stmt = pg_insert(OrgPath).values(tenant_id=tenant_id, org_id=org_id, path=path)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[OrgPath.org_id],
            set_={"path": path, "status": "active", "updated_at": text("now()")},
        )
    )


async def move_subtree(session: AsyncSession, tenant_id, old: list, new: list, *, strict: bool):
    """Re-root every path under `old` (and `old` itself unless strict) at `new`."""
    await session.execute(
        text(
            "UPDATE learning.org_paths SET path = :new || path[cardinality(:old) + 1:], "
            "updated_at = now() WHERE tenant_id = :tenant AND path[1:cardinality(:old)] = :old "
            "AND (cardinality(path) > cardinality(:old) OR NOT :strict)"
        ).bindparams(bindparam("new", type_=_IDS), bindparam("old", type_=_IDS)),
        {"new": new, "old": old, "tenant": tenant_id, "strict": strict},
    )


async def set_status(session: AsyncSession, org_id: uuid.UUID, status: str, path=None) -> None:
    values = {"status": status, "updated_at": text("now()")}
    if path is not None:
        values["path"] = path
    await session.execute(OrgPath.__table__.update().where(OrgPath.org_id == org_id).values(values))


async def handle_tenant(uow: UnitOfWork, env: Envelope, data: bytes) -> None:
    if env.event_type != tpb.TenantProvisioned.DESCRIPTOR.full_name:
        return
    event = tpb.TenantProvisioned.FromString(data)
    parent = uuid.UUID(event.parent_id) if event.parent_id else None
    await record_tenant(uow.session, uuid.UUID(event.tenant_id), parent)


async def handle_org(uow: UnitOfWork, env: Envelope, data: bytes) -> None:
    kind, s = env.event_type, uow.session
    if kind == mpb.OrganizationCreated.DESCRIPTOR.full_name:
        e = mpb.OrganizationCreated.FromString(data)
        await record_org(
            s, uuid.UUID(e.tenant_id), uuid.UUID(e.organization_id), parse_path(e.path)
        )
    elif kind == opb.OrganizationMoved.DESCRIPTOR.full_name:
        e = opb.OrganizationMoved.FromString(data)
        await move_subtree(s, uuid.UUID(e.tenant_id), parse_path(e.old_path),
                           parse_path(e.new_path), strict=False)  # fmt: skip
    elif kind == opb.OrganizationsMerged.DESCRIPTOR.full_name:
        # The source's children now sit under the target; learners still scoped to the source
        # see what the target's subtree sees.
        e = opb.OrganizationsMerged.FromString(data)
        source, target = parse_path(e.source_path), parse_path(e.target_path)
        await move_subtree(s, uuid.UUID(e.tenant_id), source, target, strict=True)
        await set_status(s, uuid.UUID(e.source_organization_id), "merged", path=target)
    elif kind == opb.OrganizationDissolved.DESCRIPTOR.full_name:
        e = opb.OrganizationDissolved.FromString(data)
        await set_status(s, uuid.UUID(e.organization_id), "dissolved")


def consumer_specs(max_deliver: int) -> list[ConsumerSpec]:
    return [
        ConsumerSpec(TENANTS_CONSUMER, MEMBER_STREAM, "member.*.tenant.provisioned",
                     handle_tenant, max_deliver=max_deliver),
        ConsumerSpec(ORGS_CONSUMER, MEMBER_STREAM, "member.*.organization.>",
                     handle_org, max_deliver=max_deliver),
    ]  # fmt: skip


class DirectoryProjectionJob(StreamConsumerJob):
    def __init__(self, db: Database, nats_url: str, *, retry_seconds: float, max_deliver: int):
        super().__init__(
            db, messaging, nats_url, MEMBER_STREAM, consumer_specs(max_deliver),
            name="learning-directory", retry_seconds=retry_seconds,
        )  # fmt: skip
