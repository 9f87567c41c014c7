"""Queries of courses and their materials (docs/adr/0018).

Row-level security scopes rows to the transaction's tenant and lets descendant tenants read
ancestors' published shared courses; authoring queries also filter by the caller's tenant, so an
ancestor's shared course is never edited from below. Positions are 1-based and contiguous; the
unique (parent, position) constraints are deferred, so shifting rows inside a transaction is
fine. Callers lock the course row before changing anything under it (one writer per course).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from hongyun_platform.db import Page
from hongyun_platform.db.repository import clamp_page_size
from hongyun_platform.errors import InvalidArgument
from sqlalchemy import Select, case, delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer
from sqlalchemy.sql.elements import ColumnElement

from learning_service import course_search
from learning_service.course_access import audience_matches, visible_condition
from learning_service.course_models import (
    Chapter,
    Checkpoint,
    Course,
    CourseAudience,
    Item,
    MaterialVersion,
)
from learning_service.domain.courses import ItemContent
from learning_service.learner import Learner
from learning_service.models import OrgPath


@dataclass(frozen=True)
class CatalogueRow:
    course: Course
    required: bool
    due_on: date | None
    shared_from_ancestor: bool


def _token(last: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(last.bytes).decode().rstrip("=")


def _after(token: str) -> uuid.UUID | None:
    if not token:
        return None
    try:
        return uuid.UUID(bytes=base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error) as exc:
        raise InvalidArgument("分页标记无效 (page token is not valid)",
                              code="invalid_page_token") from exc  # fmt: skip


class CourseRepository:
    def __init__(self, session: AsyncSession):
        self.session = session

    def add(self, obj: object) -> None:
        self.session.add(obj)

    async def flush(self) -> None:
        await self.session.flush()

    # ---- courses ----

    async def course(
        self, tenant_id: uuid.UUID, course_id: uuid.UUID, *, for_update: bool = False
    ) -> Course | None:
        """A course of the tenant itself (never an ancestor's shared one)."""
        stmt = (
            select(Course)
            .where(Course.id == course_id, Course.tenant_id == tenant_id)
            .options(defer(Course.search_terms))
        )
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def list_courses(
        self,
        tenant_id: uuid.UUID,
        *,
        status: str,
        query: str,
        tag: str,
        page_size: int,
        page_token: str,
    ) -> Page[Course]:
        stmt = select(Course).where(Course.tenant_id == tenant_id)
        if status:
            stmt = stmt.where(Course.status == status)
        stmt = _filtered(stmt, query, tag)
        rows, token = await self._newest_first(stmt, page_size, page_token)
        return Page(items=[r[0] for r in rows], next_token=token)

    async def _newest_first(
        self, stmt: Select, page_size: int, page_token: str
    ) -> tuple[Sequence, str]:
        """Keyset pages on the UUIDv7 id, newest first."""
        size = clamp_page_size(page_size)
        after = _after(page_token)
        if after is not None:
            stmt = stmt.where(Course.id < after)
        stmt = stmt.options(defer(Course.search_terms)).order_by(Course.id.desc()).limit(size + 1)
        rows = (await self.session.execute(stmt)).all()
        more = len(rows) > size
        rows = rows[:size]
        return rows, _token(rows[-1][0].id) if more else ""

    # ---- chapters and items ----

    async def chapters(self, course_id: uuid.UUID) -> list[Chapter]:
        stmt = select(Chapter).where(Chapter.course_id == course_id).order_by(Chapter.position)
        return list((await self.session.execute(stmt)).scalars())

    async def chapter(self, course_id: uuid.UUID, chapter_id: uuid.UUID) -> Chapter | None:
        stmt = select(Chapter).where(Chapter.id == chapter_id, Chapter.course_id == course_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def count_chapters(self, course_id: uuid.UUID) -> int:
        stmt = select(func.count()).where(Chapter.course_id == course_id)
        return int((await self.session.execute(stmt)).scalar_one())

    async def open_chapter_position(self, course_id: uuid.UUID, position: int) -> None:
        await self.session.execute(
            update(Chapter)
            .where(Chapter.course_id == course_id, Chapter.position >= position)
            .values(position=Chapter.position + 1)
        )

    async def delete_chapter(self, chapter: Chapter) -> None:
        await self.session.execute(delete(Chapter).where(Chapter.id == chapter.id))
        await self.session.execute(
            update(Chapter)
            .where(Chapter.course_id == chapter.course_id, Chapter.position > chapter.position)
            .values(position=Chapter.position - 1)
        )

    async def set_chapter_positions(self, positions: dict[uuid.UUID, int]) -> None:
        for chapter_id, position in positions.items():
            await self.session.execute(
                update(Chapter).where(Chapter.id == chapter_id).values(position=position)
            )

    async def items(self, course_id: uuid.UUID) -> list[Item]:
        stmt = (
            select(Item)
            .join(Chapter, Chapter.id == Item.chapter_id)
            .where(Item.course_id == course_id)
            .order_by(Chapter.position, Item.position)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def chapter_items(self, chapter_id: uuid.UUID) -> list[Item]:
        stmt = select(Item).where(Item.chapter_id == chapter_id).order_by(Item.position)
        return list((await self.session.execute(stmt)).scalars())

    async def item(
        self, course_id: uuid.UUID, item_id: uuid.UUID, *, for_update: bool = False
    ) -> Item | None:
        stmt = select(Item).where(Item.id == item_id, Item.course_id == course_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def count_items(self, chapter_id: uuid.UUID) -> int:
        stmt = select(func.count()).where(Item.chapter_id == chapter_id)
        return int((await self.session.execute(stmt)).scalar_one())

    async def open_item_position(self, chapter_id: uuid.UUID, position: int) -> None:
        await self.session.execute(
            update(Item)
            .where(Item.chapter_id == chapter_id, Item.position >= position)
            .values(position=Item.position + 1)
        )

    async def delete_item(self, item: Item) -> None:
        await self.session.execute(delete(Item).where(Item.id == item.id))
        await self.compact_items(item.chapter_id)

    async def compact_items(self, chapter_id: uuid.UUID) -> None:
        """Renumber a chapter's items 1..n in their current order."""
        ranked = (
            select(Item.id, func.row_number().over(order_by=Item.position).label("rank"))
            .where(Item.chapter_id == chapter_id)
            .subquery()
        )
        await self.session.execute(
            update(Item)
            .where(Item.id == ranked.c.id, Item.position != ranked.c.rank)
            .values(position=ranked.c.rank)
        )

    async def place_items(self, chapter_id: uuid.UUID, item_ids: Sequence[uuid.UUID]) -> None:
        for position, item_id in enumerate(item_ids, start=1):
            await self.session.execute(
                update(Item)
                .where(Item.id == item_id)
                .values(chapter_id=chapter_id, position=position)
            )

    async def item_contents(self, course_id: uuid.UUID) -> list[ItemContent]:
        ready = exists().where(
            MaterialVersion.id == Item.current_material_id, MaterialVersion.status == "ready"
        )
        stmt = (
            select(Item.kind, Item.title, Item.body != "", Item.url != "", ready)
            .join(Chapter, Chapter.id == Item.chapter_id)
            .where(Item.course_id == course_id)
            .order_by(Chapter.position, Item.position)
        )
        rows = (await self.session.execute(stmt)).all()
        return [ItemContent(k, t, bool(b), bool(u), bool(r)) for k, t, b, u, r in rows]

    # ---- checkpoints ----

    async def checkpoints(self, item_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Checkpoint]]:
        out: dict[uuid.UUID, list[Checkpoint]] = defaultdict(list)
        if not item_ids:
            return out
        stmt = (
            select(Checkpoint)
            .where(Checkpoint.item_id.in_(item_ids))
            .order_by(Checkpoint.item_id, Checkpoint.position, Checkpoint.id)
        )
        for cp in (await self.session.execute(stmt)).scalars():
            out[cp.item_id].append(cp)
        return out

    async def checkpoint(self, item_id: uuid.UUID, checkpoint_id: uuid.UUID) -> Checkpoint | None:
        stmt = select(Checkpoint).where(
            Checkpoint.id == checkpoint_id, Checkpoint.item_id == item_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def count_checkpoints(self, item_id: uuid.UUID) -> int:
        stmt = select(func.count()).where(Checkpoint.item_id == item_id)
        return int((await self.session.execute(stmt)).scalar_one())

    async def delete_checkpoint(self, checkpoint_id: uuid.UUID) -> None:
        await self.session.execute(delete(Checkpoint).where(Checkpoint.id == checkpoint_id))

    # ---- materials ----

    async def materials(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, MaterialVersion]:
        if not ids:
            return {}
        stmt = select(MaterialVersion).where(MaterialVersion.id.in_(ids))
        return {m.id: m for m in (await self.session.execute(stmt)).scalars()}

    async def material(
        self, item_id: uuid.UUID, material_id: uuid.UUID, *, for_update: bool = False
    ) -> MaterialVersion | None:
        stmt = select(MaterialVersion).where(
            MaterialVersion.id == material_id, MaterialVersion.item_id == item_id
        )
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def material_version(self, item_id: uuid.UUID, version: int) -> MaterialVersion | None:
        stmt = select(MaterialVersion).where(
            MaterialVersion.item_id == item_id, MaterialVersion.version == version
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def material_versions(self, item_id: uuid.UUID) -> list[MaterialVersion]:
        stmt = (
            select(MaterialVersion)
            .where(MaterialVersion.item_id == item_id)
            .order_by(MaterialVersion.version.desc())
        )
        return list((await self.session.execute(stmt)).scalars())

    async def next_material_version(self, item_id: uuid.UUID) -> int:
        stmt = select(func.coalesce(func.max(MaterialVersion.version), 0)).where(
            MaterialVersion.item_id == item_id
        )
        return int((await self.session.execute(stmt)).scalar_one()) + 1

    # ---- audiences ----

    async def audiences(self, course_id: uuid.UUID) -> list[CourseAudience]:
        stmt = (
            select(CourseAudience)
            .where(CourseAudience.course_id == course_id)
            .order_by(CourseAudience.id)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def clear_audiences(self, course_id: uuid.UUID) -> None:
        await self.session.execute(
            delete(CourseAudience).where(CourseAudience.course_id == course_id)
        )

    async def org_path(self, tenant_id: uuid.UUID, org_id: uuid.UUID) -> list[uuid.UUID] | None:
        stmt = select(OrgPath.path).where(OrgPath.org_id == org_id, OrgPath.tenant_id == tenant_id)
        path = (await self.session.execute(stmt)).scalar_one_or_none()
        return list(path) if path is not None else None

    # ---- learners ----

    async def catalogue(
        self,
        learner: Learner,
        *,
        assignment: str,
        query: str,
        tag: str,
        page_size: int,
        page_token: str,
    ) -> Page[CatalogueRow]:
        required = _required(learner)
        stmt = select(Course, required.label("required"), _due_on(learner).label("due_on"))
        stmt = _filtered(stmt.where(visible_condition(learner)), query, tag)
        if assignment == "required":
            stmt = stmt.where(required)
        elif assignment == "optional":
            stmt = stmt.where(~required)
        rows, token = await self._newest_first(stmt, page_size, page_token)
        items = [CatalogueRow(c, bool(r), d, c.tenant_id != learner.tenant_id) for c, r, d in rows]
        return Page(items=items, next_token=token)

    async def learner_due_on(self, learner: Learner, course_id: uuid.UUID) -> date | None:
        stmt = select(func.min(CourseAudience.due_on)).where(
            CourseAudience.course_id == course_id, CourseAudience.required,
            audience_matches(learner),
        )  # fmt: skip
        return (await self.session.execute(stmt)).scalar_one_or_none()


def _filtered(stmt: Select, query: str, tag: str) -> Select:
    condition = course_search.matches(query)
    if condition is not None:
        stmt = stmt.where(condition)
    if tag:
        stmt = stmt.where(course_search.has_tag(tag))
    return stmt


def _required(learner: Learner) -> ColumnElement[bool]:
    """Assigned to the learner: a required audience they are in (own tenant), or shared down
    as required (an ancestor's course; its audiences are the ancestor's own business)."""
    own = exists().where(
        CourseAudience.course_id == Course.id, CourseAudience.required, audience_matches(learner)
    )
    return case((Course.tenant_id == learner.tenant_id, own),
                else_=Course.shared_down == "required")  # fmt: skip


def _due_on(learner: Learner):
    return (
        select(func.min(CourseAudience.due_on))
        .where(
            CourseAudience.course_id == Course.id, CourseAudience.required,
            audience_matches(learner),
        )
        .scalar_subquery()
    )  # fmt: skip
