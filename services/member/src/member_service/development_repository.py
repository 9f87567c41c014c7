"""Queries of the development pipeline (docs/adr/0015). Row-level security scopes every row to the
transaction's tenant; these queries filter by tenant and data scope as well (defence in depth)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from hongyun_platform.db import Page, Repository
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from member_service.development_models import (
    DevelopmentCase,
    DevelopmentExtensionRow,
    DevelopmentMaterial,
    DevelopmentReminder,
    DevelopmentStepRow,
    DevelopmentTrainingRow,
)
from member_service.models import Member, Organization

ACTIVE = ("open", "admitted")
# Stage of a step number: stage n covers steps [first, last].
STAGE_STEPS = {1: (1, 2), 2: (3, 6), 3: (7, 11), 4: (12, 18), 5: (19, 25)}


class DevelopmentCaseRepository(Repository[DevelopmentCase]):
    model = DevelopmentCase

    async def in_subtree(
        self,
        tenant_id: uuid.UUID,
        case_id: uuid.UUID,
        root_path: str | None,
        *,
        for_update: bool = False,
    ) -> tuple[DevelopmentCase, Organization] | None:
        c, o = DevelopmentCase, Organization
        stmt = (
            select(c, o)
            .join(o, o.id == c.organization_id)
            .where(c.tenant_id == tenant_id, c.id == case_id)
        )
        if root_path:
            stmt = stmt.where(o.in_subtree(root_path))
        if for_update:
            stmt = stmt.with_for_update(of=c)
        row = (await self.session.execute(stmt)).first()
        return (row[0], row[1]) if row else None

    async def by_member(self, tenant_id: uuid.UUID, member_id: uuid.UUID) -> DevelopmentCase | None:
        stmt = (
            select(DevelopmentCase)
            .where(DevelopmentCase.tenant_id == tenant_id, DevelopmentCase.member_id == member_id)
            .order_by(DevelopmentCase.id.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def active_for_person(self, tenant_id: uuid.UUID, index: str) -> DevelopmentCase | None:
        stmt = select(DevelopmentCase).where(
            DevelopmentCase.tenant_id == tenant_id,
            DevelopmentCase.id_number_index == index,
            DevelopmentCase.status.in_(ACTIVE),
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def page_subtree(
        self,
        tenant_id: uuid.UUID,
        root_path: str | None,
        *,
        status: str,
        stage: int,
        page_size: int,
        page_token: str,
    ) -> Page[DevelopmentCase]:
        c, o = DevelopmentCase, Organization
        stmt = select(c).where(c.tenant_id == tenant_id)
        if root_path:
            in_scope = select(o.id).where(o.tenant_id == tenant_id, o.in_subtree(root_path))
            stmt = stmt.where(c.organization_id.in_(in_scope))
        if status:
            stmt = stmt.where(c.status == status)
        if stage:
            first, last = STAGE_STEPS[stage]
            stmt = stmt.where(c.current_step.between(first, last))
        return await self.page(stmt, page_size=page_size, page_token=page_token)


class DevelopmentRecords:
    """The rows hanging off a case: steps, training, extensions, materials, reminders."""

    def __init__(self, session: AsyncSession):
        self.session = session

    def add(self, row: object) -> None:
        self.session.add(row)

    async def steps(self, tenant_id: uuid.UUID, case_id: uuid.UUID) -> list[DevelopmentStepRow]:
        s = DevelopmentStepRow
        stmt = (
            select(s)
            .where(s.tenant_id == tenant_id, s.case_id == case_id)
            .order_by(s.number, s.occurrence)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def step(
        self, tenant_id: uuid.UUID, case_id: uuid.UUID, step_id: uuid.UUID
    ) -> DevelopmentStepRow | None:
        s = DevelopmentStepRow
        stmt = select(s).where(s.tenant_id == tenant_id, s.case_id == case_id, s.id == step_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def training(
        self, tenant_id: uuid.UUID, case_id: uuid.UUID
    ) -> list[DevelopmentTrainingRow]:
        t = DevelopmentTrainingRow
        stmt = (
            select(t)
            .where(t.tenant_id == tenant_id, t.case_id == case_id)
            .order_by(t.completed_on, t.id)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def add_training_once(self, values: dict) -> bool:
        """Inserts a training row unless one with its source_event_id exists (True if new)."""
        t = DevelopmentTrainingRow.__table__
        stmt = (
            pg_insert(t)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[t.c.source_event_id])
            .returning(t.c.id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def extensions(
        self, tenant_id: uuid.UUID, case_id: uuid.UUID
    ) -> list[DevelopmentExtensionRow]:
        e = DevelopmentExtensionRow
        stmt = (
            select(e)
            .where(e.tenant_id == tenant_id, e.case_id == case_id)
            .order_by(e.decided_on, e.id)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def materials(
        self, tenant_id: uuid.UUID, case_id: uuid.UUID
    ) -> list[DevelopmentMaterial]:
        m = DevelopmentMaterial
        stmt = select(m).where(m.tenant_id == tenant_id, m.case_id == case_id).order_by(m.id)
        return list((await self.session.execute(stmt)).scalars())

    async def material(
        self, tenant_id: uuid.UUID, case_id: uuid.UUID, material_id: uuid.UUID
    ) -> DevelopmentMaterial | None:
        m = DevelopmentMaterial
        stmt = select(m).where(m.tenant_id == tenant_id, m.case_id == case_id, m.id == material_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def members(self, tenant_id: uuid.UUID, ids: Iterable[uuid.UUID]) -> list[Member]:
        ids = list(ids)
        if not ids:
            return []
        stmt = select(Member).where(Member.tenant_id == tenant_id, Member.id.in_(ids))
        return list((await self.session.execute(stmt)).scalars())

    async def member_index_taken(self, tenant_id: uuid.UUID, index: str) -> bool:
        stmt = select(func.count()).where(
            Member.tenant_id == tenant_id, Member.id_number_index == index
        )
        return bool((await self.session.execute(stmt)).scalar_one())

    async def record_reminder(
        self,
        *,
        tenant_id: uuid.UUID,
        case_id: uuid.UUID,
        step: int,
        due_on,
        days_before: int,
        remind_on,
        outcome: str,
        event_id: uuid.UUID | None,
    ) -> bool:
        """True when this reminder was not recorded before (INSERT … ON CONFLICT DO NOTHING)."""
        r = DevelopmentReminder.__table__
        stmt = (
            pg_insert(r)
            .values(
                tenant_id=tenant_id, case_id=case_id, step=step, due_on=due_on,
                days_before=days_before, remind_on=remind_on, outcome=outcome, event_id=event_id,
            )
            .on_conflict_do_nothing()
            .returning(r.c.case_id)
        )  # fmt: skip
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def reminders_done(
        self, tenant_id: uuid.UUID, keys: list[tuple[uuid.UUID, int, object]]
    ) -> dict[tuple[uuid.UUID, int, object], set[int]]:
        """For (case, step, due_on) keys: the offsets already sent or skipped."""
        if not keys:
            return {}
        r = DevelopmentReminder
        case_ids = list({k[0] for k in keys})
        stmt = select(r.case_id, r.step, r.due_on, r.days_before).where(
            r.tenant_id == tenant_id, r.case_id.in_(case_ids)
        )
        out: dict[tuple[uuid.UUID, int, object], set[int]] = {}
        for case_id, step, due_on, days in await self.session.execute(stmt):
            out.setdefault((case_id, step, due_on), set()).add(days)
        return out
