"""Queries of relationship transfers (docs/adr/0016). Row-level security scopes every row to the
transaction's tenant (letters: the sending tenant, or the receiving sibling once issued); these
queries filter by tenant as well."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hongyun_platform.db.repository import clamp_page_size, decode_token, encode_token
from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    false,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from member_service.archive_models import (
    Attachment,
    Award,
    FamilyMember,
    FlagChange,
    Hardship,
    MemberExtension,
    MemberTag,
    StatusChange,
    Travel,
)
from member_service.domain.archive import AttachmentStatus
from member_service.domain.letters import OPEN_STATES, LetterScope, LetterState
from member_service.letter_models import Letter, LetterCounter, LetterReminder
from member_service.models import Member, Organization, Tenant

OPEN = [s.value for s in OPEN_STATES]
# Inlined, so that the planner can match the partial index ix_letters_due with any plan.
ISSUED = bindparam("issued", LetterState.ISSUED.value, literal_execute=True)


@dataclass(frozen=True)
class LetterFilter:
    tenant_id: uuid.UUID
    root_path: str | None  # subtree of the caller (or the organisation asked for); None = all
    outgoing: bool
    incoming: bool
    state: str | None = None
    scope: str | None = None


@dataclass(frozen=True)
class ArchiveBundle:
    """A member's archive sections, as stored (ciphertext and all), for a copy."""

    extension: MemberExtension | None
    family: list[FamilyMember]
    awards: list[Award]
    travels: list[Travel]
    hardships: list[Hardship]
    tags: list[MemberTag]
    status_changes: list[StatusChange]
    flag_changes: list[FlagChange]
    attachments: list[Attachment]  # available ones


class LetterRepository:
    def __init__(self, session: AsyncSession):
        self.session = session

    # ---- letters ----

    def add(self, letter: Letter) -> None:
        self.session.add(letter)

    async def get(self, letter_id: uuid.UUID, *, for_update: bool = False) -> Letter | None:
        """The letter if the transaction's tenant may see it (sender or receiving sibling)."""
        stmt = select(Letter).where(Letter.id == letter_id)
        if for_update:
            # The latest committed row after waiting for the lock, not the session's copy.
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def open_letter_of(
        self, member_id: uuid.UUID, *, besides: uuid.UUID | None = None
    ) -> Letter | None:
        stmt = select(Letter).where(Letter.member_id == member_id, Letter.state.in_(OPEN))
        if besides is not None:
            stmt = stmt.where(Letter.id != besides)
        return (await self.session.execute(stmt)).scalars().first()

    async def organization(self, org_id: uuid.UUID | None) -> Organization | None:
        """Any organisation of the transaction's tenant, dissolved ones too (history)."""
        if org_id is None:
            return None
        return await self.session.get(Organization, org_id)

    async def page(
        self, f: LetterFilter, *, page_size: int, page_token: str
    ) -> tuple[list[tuple[Letter, str | None]], str]:
        """(letter, the sending organisation's path_key when the caller's tenant sent it)."""
        size = clamp_page_size(page_size)
        o_from, o_to, o_placed = aliased(Organization), aliased(Organization), aliased(Organization)

        def inside(o: Any) -> ColumnElement[bool]:
            return o.in_subtree(f.root_path) if f.root_path else true()

        mine = Letter.tenant_id == f.tenant_id
        parts: list[ColumnElement[bool]] = []
        if f.outgoing:
            parts.append(and_(mine, inside(o_from)))
        if f.incoming:
            parts.append(
                and_(
                    mine,
                    Letter.scope == LetterScope.WITHIN_TENANT.value,
                    or_(inside(o_to), inside(o_placed)),
                )
            )
            # From sibling tenants: the whole tenant's (admins), or once placed in the scope.
            parts.append(
                and_(
                    Letter.receiving_tenant_id == f.tenant_id,
                    Letter.issued_on.is_not(None),
                    inside(o_placed),
                )
            )
        stmt = (
            select(Letter, o_from.path_key)
            .outerjoin(o_from, o_from.id == Letter.from_organization_id)
            .outerjoin(o_to, o_to.id == Letter.to_organization_id)
            .outerjoin(o_placed, o_placed.id == Letter.placed_organization_id)
            .where(or_(*parts) if parts else false())
        )
        if f.state:
            stmt = stmt.where(Letter.state == f.state)
        if f.scope:
            stmt = stmt.where(Letter.scope == f.scope)
        after = decode_token(page_token)
        if after is not None:
            stmt = stmt.where(Letter.id > after)
        rows = (await self.session.execute(stmt.order_by(Letter.id).limit(size + 1))).all()
        more = len(rows) > size
        items = [(r[0], r[1]) for r in rows[:size]]
        return items, encode_token(items[-1][0].id) if more else ""

    async def next_number(self, tenant_id: uuid.UUID, year: int) -> int:
        """The next letter number of the tenant's year; the counter row serialises issuers."""
        stmt = (
            pg_insert(LetterCounter)
            .values(tenant_id=tenant_id, year=year, last_no=1)
            .on_conflict_do_update(
                index_elements=["tenant_id", "year"],
                set_={"last_no": LetterCounter.last_no + 1},
            )
            .returning(LetterCounter.last_no)
        )
        return int((await self.session.execute(stmt)).scalar_one())

    # ---- members ----

    async def member_for_update(self, tenant_id: uuid.UUID, member_id: uuid.UUID) -> Member | None:
        """The member row locked, departed or not (the letter decides what is allowed)."""
        stmt = (
            select(Member)
            .where(Member.tenant_id == tenant_id, Member.id == member_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def member_by_id_index(self, tenant_id: uuid.UUID, index: str) -> Member | None:
        stmt = (
            select(Member)
            .where(Member.tenant_id == tenant_id, Member.id_number_index == index)
            .with_for_update()
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def archive(self, tenant_id: uuid.UUID, member_id: uuid.UUID) -> ArchiveBundle:
        async def rows(model: Any, *order: Any) -> list[Any]:
            stmt = select(model).where(model.tenant_id == tenant_id, model.member_id == member_id)
            return list((await self.session.execute(stmt.order_by(*order))).scalars())

        ext = await self.session.get(MemberExtension, member_id)
        attachments = [
            a
            for a in await rows(Attachment, Attachment.id)
            if a.status == int(AttachmentStatus.AVAILABLE)
        ]
        return ArchiveBundle(
            extension=ext if ext is not None and ext.tenant_id == tenant_id else None,
            family=await rows(FamilyMember, FamilyMember.id),
            awards=await rows(Award, Award.id),
            travels=await rows(Travel, Travel.id),
            hardships=await rows(Hardship, Hardship.id),
            tags=await rows(MemberTag, MemberTag.id),
            status_changes=await rows(StatusChange, StatusChange.recorded_at, StatusChange.id),
            flag_changes=await rows(FlagChange, FlagChange.recorded_at, FlagChange.id),
            attachments=attachments,
        )

    # ---- tenants ----

    async def tenant(self, tenant_id: uuid.UUID) -> Tenant | None:
        return await self.session.get(Tenant, tenant_id)

    async def children_of(self, parent_id: uuid.UUID) -> list[Tenant]:
        stmt = select(Tenant).where(Tenant.parent_id == parent_id).order_by(Tenant.name, Tenant.id)
        return list((await self.session.execute(stmt)).scalars())

    # ---- the expiry job ----

    async def expire(self, tenant_id: uuid.UUID, today: date) -> list[Letter]:
        """Marks the tenant's issued letters past their last valid day expired; returns them.
        The UPDATE re-checks each row after waiting for a concurrent receive or revoke."""
        stmt = (
            update(Letter)
            .where(
                Letter.tenant_id == tenant_id,
                Letter.state == ISSUED,
                Letter.valid_until < today,
            )
            .values(
                state=LetterState.EXPIRED.value,
                expired_at=datetime.now(UTC),
                version=Letter.version + 1,
            )
            .returning(Letter)
            .execution_options(synchronize_session=False)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def to_remind(self, tenant_id: uuid.UUID, today: date, lead_days: int) -> list[Letter]:
        """Issued letters whose reminder day has come, still valid, not reminded yet."""
        reminded = select(LetterReminder.letter_id).where(LetterReminder.letter_id == Letter.id)
        stmt = (
            select(Letter)
            .where(
                Letter.tenant_id == tenant_id,
                Letter.state == ISSUED,
                Letter.valid_until >= today,
                Letter.valid_until <= today + timedelta(days=lead_days),
                ~reminded.exists(),
            )
            .order_by(Letter.valid_until, Letter.id)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def record_reminder(
        self, letter: Letter, *, days_before: int, remind_on: date, event_id: uuid.UUID
    ) -> bool:
        """True when this call recorded it (not another run or replica)."""
        stmt = (
            pg_insert(LetterReminder)
            .values(
                letter_id=letter.id,
                tenant_id=letter.tenant_id,
                days_before=days_before,
                remind_on=remind_on,
                event_id=event_id,
            )
            .on_conflict_do_nothing(index_elements=["letter_id"])
            .returning(LetterReminder.letter_id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def add_rows(self, model: Any, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(model), list(rows))
