"""Queries of training classes: the only place that builds them. Every query names the tenant
(row-level security underneath); a secretary's scope is a condition on the class's organisation
path (the directory projection's current path, else the one stored with the class)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from hongyun_platform.db import Page, Repository
from sqlalchemy import (
    Boolean,
    ColumnElement,
    Select,
    String,
    Uuid,
    any_,
    column,
    func,
    literal,
    select,
    table,
    true,
    tuple_,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from learning_service.course_models import Course
from learning_service.models import OrgPath
from learning_service.training_models import (
    TrainingAttendance,
    TrainingClass,
    TrainingCompletion,
    TrainingEnrolment,
    TrainingKindDefault,
    TrainingSession,
)

PUBLISHED = "published"


@dataclass(frozen=True)
class ClassCounts:
    enrolments: int = 0
    sessions: int = 0
    completions: int = 0


def effective_path() -> ColumnElement:
    """The class organisation's path: the projection's current one (the organisation may have
    moved), else the path stored when the class was created."""
    current = (
        select(OrgPath.path)
        .where(
            OrgPath.org_id == TrainingClass.organizer_org_id,
            OrgPath.tenant_id == TrainingClass.tenant_id,
        )
        .scalar_subquery()
    )
    return func.coalesce(current, TrainingClass.org_path)


def in_subtree(org_id: uuid.UUID | None) -> ColumnElement[bool]:
    """Classes organised by `org_id` or an organisation below it (None: no restriction)."""
    if org_id is None:
        return true()
    return literal(org_id) == any_(effective_path())


class KindDefaultRepository:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def all(self) -> Sequence[TrainingKindDefault]:
        stmt = select(TrainingKindDefault).order_by(TrainingKindDefault.position)
        return (await self.session.execute(stmt)).scalars().all()

    async def get(self, kind: str) -> TrainingKindDefault | None:
        return await self.session.get(TrainingKindDefault, kind)


class TrainingClassRepository(Repository[TrainingClass]):
    model = TrainingClass

    async def org_path(self, tenant_id: uuid.UUID, org_id: uuid.UUID) -> list[uuid.UUID] | None:
        stmt = select(OrgPath.path).where(OrgPath.org_id == org_id, OrgPath.tenant_id == tenant_id)
        path = (await self.session.execute(stmt)).scalar_one_or_none()
        return list(path) if path else None

    async def in_scope(
        self,
        tenant_id: uuid.UUID,
        class_id: uuid.UUID,
        scope_org_id: uuid.UUID | None,
        *,
        for_update: bool = False,
    ) -> TrainingClass | None:
        stmt = select(TrainingClass).where(
            TrainingClass.id == class_id,
            TrainingClass.tenant_id == tenant_id,
            in_subtree(scope_org_id),
        )
        if for_update:
            stmt = stmt.with_for_update(of=TrainingClass)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def page_in_scope(
        self,
        tenant_id: uuid.UUID,
        scope_org_id: uuid.UUID | None,
        *,
        org_id: uuid.UUID | None,
        status: str | None,
        kind: str | None,
        page_size: int,
        page_token: str,
    ) -> Page[TrainingClass]:
        conds = [TrainingClass.tenant_id == tenant_id, in_subtree(scope_org_id), in_subtree(org_id)]
        if status:
            conds.append(TrainingClass.status == status)
        if kind:
            conds.append(TrainingClass.kind == kind)
        return await self.page(
            select(TrainingClass).where(*conds), page_size=page_size, page_token=page_token
        )

    async def counts(self, class_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, ClassCounts]:
        if not class_ids:
            return {}

        def per_class(model) -> Select:
            return (
                select(model.class_id, func.count())
                .where(model.class_id.in_(class_ids))
                .group_by(model.class_id)
            )

        got = {}
        for name, model in (
            ("enrolments", TrainingEnrolment),
            ("sessions", TrainingSession),
            ("completions", TrainingCompletion),
        ):
            got[name] = dict((await self.session.execute(per_class(model))).tuples().all())
        return {
            cid: ClassCounts(**{name: got[name].get(cid, 0) for name in got}) for cid in class_ids
        }

    async def due_to_close(self, today: date) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """(tenant, class) of open classes past their automatic closing day, every tenant (the
        job's platform-level read, a SELECT-only policy)."""
        stmt = (
            select(TrainingClass.tenant_id, TrainingClass.id)
            .where(
                TrainingClass.status == "open",
                TrainingClass.auto_close_after_days > 0,
                TrainingClass.ends_on + TrainingClass.auto_close_after_days < today,
            )
            .order_by(TrainingClass.tenant_id, TrainingClass.id)
        )
        return [(t, c) for t, c in (await self.session.execute(stmt)).tuples()]


class EnrolmentRepository(Repository[TrainingEnrolment]):
    model = TrainingEnrolment

    async def add_new(self, row: TrainingEnrolment) -> bool:
        """False when the person is already enrolled in the class (a unique index)."""
        try:
            async with self.session.begin_nested():
                self.session.add(row)
                await self.session.flush()
        except IntegrityError as exc:
            if "uq_training_enrolments" in str(exc.orig):
                return False
            raise
        return True

    async def in_class(
        self, class_id: uuid.UUID, enrolment_id: uuid.UUID
    ) -> TrainingEnrolment | None:
        stmt = select(TrainingEnrolment).where(
            TrainingEnrolment.id == enrolment_id, TrainingEnrolment.class_id == class_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def of_class(self, class_id: uuid.UUID) -> Sequence[TrainingEnrolment]:
        stmt = (
            select(TrainingEnrolment)
            .where(TrainingEnrolment.class_id == class_id)
            .order_by(TrainingEnrolment.id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def page_of_class(
        self, class_id: uuid.UUID, *, page_size: int, page_token: str
    ) -> Page[TrainingEnrolment]:
        return await self.page(
            select(TrainingEnrolment).where(TrainingEnrolment.class_id == class_id),
            page_size=page_size,
            page_token=page_token,
        )

    async def existing(
        self, class_id: uuid.UUID, enrolment_ids: Iterable[uuid.UUID]
    ) -> set[uuid.UUID]:
        ids = list(enrolment_ids)
        stmt = select(TrainingEnrolment.id).where(
            TrainingEnrolment.class_id == class_id, TrainingEnrolment.id.in_(ids)
        )
        return set((await self.session.execute(stmt)).scalars())


class SessionRepository(Repository[TrainingSession]):
    model = TrainingSession

    async def in_class(self, class_id: uuid.UUID, session_id: uuid.UUID) -> TrainingSession | None:
        stmt = select(TrainingSession).where(
            TrainingSession.id == session_id, TrainingSession.class_id == class_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def of_class(self, class_id: uuid.UUID) -> Sequence[TrainingSession]:
        stmt = (
            select(TrainingSession)
            .where(TrainingSession.class_id == class_id)
            .order_by(
                TrainingSession.held_on.asc().nulls_last(),
                TrainingSession.starts_at.asc().nulls_last(),
                TrainingSession.id,
            )
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def published_course(self, course_id: uuid.UUID) -> Course | None:
        """A published course this tenant reads (its own, or shared down by an ancestor:
        row-level security decides which rows are visible)."""
        stmt = select(Course).where(Course.id == course_id, Course.status == PUBLISHED)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def course_titles(self, course_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
        ids = [c for c in set(course_ids) if c is not None]
        if not ids:
            return {}
        stmt = select(Course.id, Course.title).where(Course.id.in_(ids))
        return dict((await self.session.execute(stmt)).tuples().all())


class AttendanceRepository(Repository[TrainingAttendance]):
    model = TrainingAttendance

    async def of_class(
        self, class_id: uuid.UUID, session_id: uuid.UUID | None = None
    ) -> Sequence[TrainingAttendance]:
        conds = [TrainingAttendance.class_id == class_id]
        if session_id is not None:
            conds.append(TrainingAttendance.session_id == session_id)
        stmt = (
            select(TrainingAttendance)
            .where(*conds)
            .order_by(TrainingAttendance.recorded_at, TrainingAttendance.id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    def add_all(self, rows: Sequence[TrainingAttendance]) -> None:
        self.session.add_all(rows)


class CompletionRepository(Repository[TrainingCompletion]):
    model = TrainingCompletion

    async def add_once(self, values: dict) -> bool:
        """Inserts the completion unless the enrolment already has one; True when inserted."""
        stmt = (
            insert(TrainingCompletion)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[TrainingCompletion.enrolment_id])
            .returning(TrainingCompletion.id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def set_event(self, completion_id: uuid.UUID, event_id: uuid.UUID) -> None:
        row = await self.get(completion_id)
        if row is not None:
            row.event_id = event_id

    async def of_class(self, class_id: uuid.UUID) -> dict[uuid.UUID, TrainingCompletion]:
        stmt = select(TrainingCompletion).where(TrainingCompletion.class_id == class_id)
        return {c.enrolment_id: c for c in (await self.session.execute(stmt)).scalars()}

    async def of_enrolments(
        self, enrolment_ids: Iterable[uuid.UUID]
    ) -> dict[uuid.UUID, TrainingCompletion]:
        ids = list(enrolment_ids)
        if not ids:
            return {}
        stmt = select(TrainingCompletion).where(TrainingCompletion.enrolment_id.in_(ids))
        return {c.enrolment_id: c for c in (await self.session.execute(stmt)).scalars()}


# The progress area's record of completed courses (migration 20261203_0002), only the columns
# read here: a light table clause rather than its ORM class keeps the two areas loosely coupled.
_COURSE_COMPLETIONS = table(
    "course_completions",
    column("tenant_id", Uuid),
    column("learner_id", String),
    column("course_id", Uuid),
    column("flagged", Boolean),
    schema="learning",
)


class ProgressTableCompletion:
    """The OnlineCompletion seam over the progress area's course completions: a course counts
    when the learner account completed it and the completion is not flagged by the anti-gaming
    checks (a flagged one counts once its flagged items are redone cleanly)."""

    async def completed(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        pairs: set[tuple[str, uuid.UUID]],
    ) -> set[tuple[str, uuid.UUID]]:
        if not pairs:
            return set()
        c = _COURSE_COMPLETIONS.c
        stmt = select(c.learner_id, c.course_id).where(
            c.tenant_id == tenant_id,
            c.flagged.is_(False),
            tuple_(c.learner_id, c.course_id).in_(sorted(pairs, key=str)),
        )
        return {(learner, course) for learner, course in (await session.execute(stmt)).tuples()}
