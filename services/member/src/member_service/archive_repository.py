"""Queries of the member archive. Row-level security scopes rows to the transaction's tenant;
every query here also names the tenant and the member (defence in depth), so a record id of
another member or tenant finds nothing."""

from __future__ import annotations

import uuid
from typing import Any, Generic, TypeVar

from hongyun_platform.db import Page, Repository
from hongyun_platform.db.repository import clamp_page_size, decode_token, encode_token
from sqlalchemy import ColumnElement, Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from member_service.archive_models import (
    Attachment,
    FieldChangeRecord,
    FlagChange,
    MemberExtension,
    MemberTag,
    StatusChange,
)
from member_service.models import Member, Organization

R = TypeVar("R")


class MemberRecords(Repository[R], Generic[R]):
    """One kind of sub-record (family member, award, ...) of one member."""

    def __init__(self, session: AsyncSession, model: type[R]):
        super().__init__(session)
        self.model = model

    def _of(self, tenant_id: uuid.UUID, member_id: uuid.UUID) -> Select[Any]:
        m: Any = self.model
        return select(m).where(m.tenant_id == tenant_id, m.member_id == member_id)

    async def page_of(
        self,
        tenant_id: uuid.UUID,
        member_id: uuid.UUID,
        *,
        page_size: int,
        page_token: str,
        where: tuple[ColumnElement[bool], ...] = (),
    ) -> Page[R]:
        return await self.page(
            self._of(tenant_id, member_id).where(*where), page_size=page_size, page_token=page_token
        )

    async def one_of(
        self,
        tenant_id: uuid.UUID,
        member_id: uuid.UUID,
        record_id: uuid.UUID,
        *,
        for_update: bool = False,
    ) -> R | None:
        stmt = self._of(tenant_id, member_id).where(self.model.id == record_id)  # type: ignore[attr-defined]
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def all_of(self, tenant_id: uuid.UUID, member_id: uuid.UUID) -> list[R]:
        stmt = self._of(tenant_id, member_id).order_by(self.model.id)  # type: ignore[attr-defined]
        return list((await self.session.execute(stmt)).scalars())

    async def remove(self, obj: R) -> None:
        await self.session.delete(obj)
        await self.session.flush()


class ExtensionRepository:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def of(
        self, tenant_id: uuid.UUID, member_id: uuid.UUID, *, for_update: bool = False
    ) -> MemberExtension | None:
        stmt = select(MemberExtension).where(
            MemberExtension.tenant_id == tenant_id, MemberExtension.member_id == member_id
        )
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    def add(self, ext: MemberExtension) -> None:
        self.session.add(ext)


class TagRepository:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def of(self, tenant_id: uuid.UUID, member_id: uuid.UUID) -> list[str]:
        stmt = (
            select(MemberTag.tag)
            .where(MemberTag.tenant_id == tenant_id, MemberTag.member_id == member_id)
            .order_by(MemberTag.tag)
        )
        return list((await self.session.execute(stmt)).scalars())

    def add(self, tag: MemberTag) -> None:
        self.session.add(tag)

    async def remove(self, tenant_id: uuid.UUID, member_id: uuid.UUID, tag: str) -> int:
        result = await self.session.execute(
            delete(MemberTag).where(
                MemberTag.tenant_id == tenant_id,
                MemberTag.member_id == member_id,
                MemberTag.tag == tag,
            )
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def counts(
        self, tenant_id: uuid.UUID, root_path: str | None, *, prefix: str, limit: int
    ) -> list[tuple[str, int]]:
        """Tags in use among the members of a subtree (None = the whole tenant), most used
        first."""
        n = func.count(MemberTag.member_id.distinct())
        stmt = select(MemberTag.tag, n).where(MemberTag.tenant_id == tenant_id)
        if root_path:
            stmt = (
                stmt.join(Member, Member.id == MemberTag.member_id)
                .join(Organization, Organization.id == Member.organization_id)
                .where(Organization.in_subtree(root_path))
            )
        if prefix:
            escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            stmt = stmt.where(MemberTag.tag.like(escaped + "%", escape="\\"))
        stmt = stmt.group_by(MemberTag.tag).order_by(n.desc(), MemberTag.tag).limit(limit)
        return [(t, int(c)) for t, c in (await self.session.execute(stmt)).all()]


class HistoryRepository:
    """Status and flag history (whole, small) and the field history (paged, newest first)."""

    def __init__(self, session: AsyncSession):
        self.session = session

    async def status_changes(
        self, tenant_id: uuid.UUID, member_id: uuid.UUID
    ) -> list[StatusChange]:
        stmt = (
            select(StatusChange)
            .where(StatusChange.tenant_id == tenant_id, StatusChange.member_id == member_id)
            .order_by(StatusChange.effective_on, StatusChange.recorded_at, StatusChange.id)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def flag_changes(
        self, tenant_id: uuid.UUID, member_id: uuid.UUID, flag: int = 0
    ) -> list[FlagChange]:
        stmt = select(FlagChange).where(
            FlagChange.tenant_id == tenant_id, FlagChange.member_id == member_id
        )
        if flag:
            stmt = stmt.where(FlagChange.flag == flag)
        stmt = stmt.order_by(FlagChange.id.desc())
        return list((await self.session.execute(stmt)).scalars())

    def add(self, obj: Any) -> None:
        self.session.add(obj)

    async def field_changes(
        self, tenant_id: uuid.UUID, member_id: uuid.UUID, *, page_size: int, page_token: str
    ) -> Page[FieldChangeRecord]:
        size = clamp_page_size(page_size)
        stmt = select(FieldChangeRecord).where(
            FieldChangeRecord.tenant_id == tenant_id, FieldChangeRecord.member_id == member_id
        )
        before = decode_token(page_token)
        if before is not None:
            stmt = stmt.where(FieldChangeRecord.id < before)
        stmt = stmt.order_by(FieldChangeRecord.id.desc()).limit(size + 1)
        rows = list((await self.session.execute(stmt)).scalars())
        items = rows[:size]
        more = len(rows) > size
        return Page(items=items, next_token=encode_token(items[-1].id) if more else "")


class AttachmentRepository(MemberRecords[Attachment]):
    def __init__(self, session: AsyncSession):
        super().__init__(session, Attachment)


class ArchiveRepositories:
    def __init__(self, session: AsyncSession):
        self.session = session
        self.extensions = ExtensionRepository(session)
        self.tags = TagRepository(session)
        self.history = HistoryRepository(session)
        self.attachments = AttachmentRepository(session)

    def records(self, model: type[R]) -> MemberRecords[R]:
        return MemberRecords(self.session, model)
