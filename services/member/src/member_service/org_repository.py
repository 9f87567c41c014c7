"""Queries of rules, organisation history and committee terms (docs/adr/0007). Row-level security
scopes every row to the transaction's tenant; these queries filter by tenant as well."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime

from hongyun_platform.db import Page
from hongyun_platform.db.repository import clamp_page_size, decode_token, encode_token
from hongyun_platform.ids import new_id
from sqlalchemy import (
    ColumnElement,
    Select,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from member_service.development_models import DevelopmentCase
from member_service.domain import org_path
from member_service.domain.org_history import ChangeKind, Current, OrgState, OrgStatus, Version
from member_service.domain.rules import RuleRow
from member_service.models import Ltree, Member, Organization, Tenant
from member_service.org_models import (
    CommitteeTerm,
    CommitteeTermReminder,
    OrganizationHistory,
    Rule,
)

ACTIVE = OrgStatus.ACTIVE.value
H = OrganizationHistory


def _under(path_col, root_path: str) -> ColumnElement[bool]:
    return path_col.op("<@")(cast(literal(root_path), Ltree()))


def state_of(o: Organization) -> OrgState:
    return OrgState(
        organization_id=o.id,
        parent_id=o.parent_id,
        name=o.name,
        type=o.type,
        path=o.path,
        status=OrgStatus(o.status),
        merged_into_id=o.merged_into_id,
    )


def version_of(h: OrganizationHistory) -> Version:
    return Version(
        state=OrgState(
            organization_id=h.organization_id,
            parent_id=h.parent_id,
            name=h.name,
            type=h.type,
            path=h.path,
            status=OrgStatus(h.status),
            merged_into_id=h.merged_into_id,
        ),
        valid_from=h.valid_from,
        valid_to=h.valid_to,
        change=ChangeKind(h.change),
        changed_by=h.changed_by,
        reason=h.reason,
        id=h.id,
    )


class RuleRepository:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def tenant_chain(self, tenant_id: uuid.UUID) -> list[uuid.UUID]:
        """The tenant, its parent, … up to its top-level tenant (from its own ltree path)."""
        path = (
            await self.session.execute(select(Tenant.path).where(Tenant.id == tenant_id))
        ).scalar_one_or_none()
        return list(reversed(org_path.ids_in(path))) if path else [tenant_id]

    async def rows(
        self, keys: Iterable[str] | None, tenant_chain: Sequence[uuid.UUID]
    ) -> list[RuleRow]:
        stmt = select(Rule).where(or_(Rule.tenant_id.is_(None), Rule.tenant_id.in_(tenant_chain)))
        if keys is not None:
            stmt = stmt.where(Rule.key.in_(list(keys)))
        return [
            RuleRow(
                key=r.key,
                tenant_id=r.tenant_id,
                value=r.value,
                citation=r.citation,
                effective_from=r.effective_from,
                note=r.note,
                id=r.id,
                created_by=r.created_by,
            )
            for r in (await self.session.execute(stmt.order_by(Rule.key))).scalars()
        ]

    async def own(self, tenant_id: uuid.UUID, key: str, effective_from: date) -> Rule | None:
        stmt = (
            select(Rule)
            .where(Rule.tenant_id == tenant_id, Rule.key == key)
            .where(Rule.effective_from == effective_from)
            .with_for_update()
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    def add(self, rule: Rule) -> None:
        self.session.add(rule)

    async def delete_own(self, tenant_id: uuid.UUID, key: str) -> list[uuid.UUID]:
        stmt = delete(Rule).where(Rule.tenant_id == tenant_id, Rule.key == key).returning(Rule.id)
        return list((await self.session.execute(stmt)).scalars())


class OrganizationAdminRepository:
    """Organisations with their lifecycle, their history, and committee terms."""

    def __init__(self, session: AsyncSession):
        self.session = session

    # ---- organisations ----

    async def lock_tree(self, tenant_id: uuid.UUID) -> None:
        """Structural changes of one tenant run one at a time (moves checked against a stale
        tree could create a cycle); the lock ends with the transaction."""
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
            {"k": f"hongyun:org-tree:{tenant_id}"},
        )

    async def get(
        self, tenant_id: uuid.UUID, org_id: uuid.UUID, *, any_status: bool = False
    ) -> Organization | None:
        stmt = select(Organization).where(
            Organization.tenant_id == tenant_id, Organization.id == org_id
        )
        if not any_status:
            stmt = stmt.where(Organization.status == ACTIVE)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def root_of(self, tenant_id: uuid.UUID) -> Organization | None:
        stmt = select(Organization).where(
            Organization.tenant_id == tenant_id, Organization.parent_id.is_(None)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def subtree(self, tenant_id: uuid.UUID, root_path: str) -> list[Organization]:
        """The organisation at root_path and all its descendants, any status, root first."""
        stmt = (
            select(Organization)
            .where(Organization.tenant_id == tenant_id, Organization.in_subtree(root_path))
            .order_by(Organization.depth, Organization.id)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def active_children(
        self, tenant_id: uuid.UUID, parent_id: uuid.UUID
    ) -> list[Organization]:
        stmt = select(Organization).where(
            Organization.tenant_id == tenant_id,
            Organization.parent_id == parent_id,
            Organization.status == ACTIVE,
        )
        return list((await self.session.execute(stmt.order_by(Organization.id))).scalars())

    async def active_sibling_names(
        self, tenant_id: uuid.UUID, parent_id: uuid.UUID, names: Iterable[str], *, but: uuid.UUID
    ) -> list[str]:
        stmt = select(Organization.name).where(
            Organization.tenant_id == tenant_id,
            Organization.parent_id == parent_id,
            Organization.status == ACTIVE,
            Organization.name.in_(list(names)),
            Organization.id != but,
        )
        return sorted((await self.session.execute(stmt)).scalars())

    async def rename(self, org: Organization, name: str) -> None:
        await self.session.execute(
            update(Organization).where(Organization.id == org.id).values(name=name)
        )

    async def set_path_of_subtree(
        self,
        tenant_id: uuid.UUID,
        old_prefix: str,
        new_prefix: str,
        *,
        keep_root: bool,
        root_parent: uuid.UUID | None = None,
        children_parent: uuid.UUID | None = None,
    ) -> int:
        """One UPDATE rewriting the paths (and depths) of a subtree.

        keep_root=True (a move): the node at old_prefix becomes new_prefix and its descendants
        follow. keep_root=False (a merge): only the descendants move, dropping the old node's
        label, so new_prefix is the merge target's path.
        root_parent: the moved node's new parent; children_parent: the new parent of the old
        node's direct children (a merge).
        """
        root_id = org_path.ids_in(old_prefix)[-1]
        old, new = cast(literal(old_prefix), Ltree()), cast(literal(new_prefix), Ltree())
        old_levels = func.nlevel(old)
        descendant_path = new.op("||", return_type=Ltree())(
            func.subpath(Organization.path, old_levels, type_=Ltree())
        )
        stmt = (
            update(Organization)
            .where(Organization.tenant_id == tenant_id, Organization.in_subtree(old_prefix))
            .values(
                path=case(
                    (func.nlevel(Organization.path) == old_levels, new), else_=descendant_path
                ),
                depth=func.nlevel(new) + func.nlevel(Organization.path) - old_levels,
                parent_id=case(
                    (Organization.id == root_id, root_parent or Organization.parent_id),
                    (Organization.parent_id == root_id, children_parent or Organization.parent_id),
                    else_=Organization.parent_id,
                ),
            )
            .execution_options(synchronize_session=False)
        )
        if not keep_root:
            stmt = stmt.where(Organization.path != old)
        result = await self.session.execute(stmt)
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def set_parent(
        self, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID], parent_id: uuid.UUID
    ) -> None:
        await self.session.execute(
            update(Organization)
            .where(Organization.tenant_id == tenant_id, Organization.id.in_(list(ids)))
            .values(parent_id=parent_id)
        )

    async def end(
        self, org: Organization, *, status: OrgStatus, day: date, merged_into: uuid.UUID | None
    ) -> None:
        await self.session.execute(
            update(Organization)
            .where(Organization.id == org.id)
            .values(status=status.value, dissolved_on=day, merged_into_id=merged_into)
        )

    # ---- members ----

    async def member_count(self, tenant_id: uuid.UUID, org_id: uuid.UUID) -> int:
        stmt = select(func.count()).where(
            Member.tenant_id == tenant_id,
            Member.organization_id == org_id,
            Member.departed_on.is_(None),  # left through a transfer: archive only
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def move_members(
        self, tenant_id: uuid.UUID, from_org: uuid.UUID, to_org: uuid.UUID, actor: str
    ) -> list[tuple[uuid.UUID, int]]:
        """One UPDATE moving every direct member of `from_org` (version bumped); returns each
        moved member's (id, new version), for their history rows and events."""
        stmt = (
            update(Member)
            .where(
                Member.tenant_id == tenant_id,
                Member.organization_id == from_org,
                Member.departed_on.is_(None),  # departed records keep their organisation
            )
            .values(
                organization_id=to_org,
                version=Member.version + 1,
                updated_at=datetime.now(UTC),
                updated_by=actor,
            )
            .returning(Member.id, Member.version)
        )
        rows = (await self.session.execute(stmt)).all()
        return sorted((mid, int(version)) for mid, version in rows)

    async def move_open_cases(
        self, tenant_id: uuid.UUID, from_org: uuid.UUID, to_org: uuid.UUID
    ) -> None:
        """Development cases not yet admitted go with the merged organisation's members (the
        admitted ones follow their member by trigger, migration 20261203_0012)."""
        await self.session.execute(
            update(DevelopmentCase)
            .where(
                DevelopmentCase.tenant_id == tenant_id,
                DevelopmentCase.organization_id == from_org,
                DevelopmentCase.status == "open",
            )
            .values(organization_id=to_org)
        )

    async def counts_in_subtree(
        self, tenant_id: uuid.UUID, root_path: str, *, status: int, full: int
    ) -> tuple[int, int]:
        """(members with party status `status`, of them category `full`) in the subtree."""
        stmt = (
            select(
                func.count(),
                func.count().filter(Member.category == full),
            )
            .select_from(Member)
            .join(Organization, Organization.id == Member.organization_id)
            .where(
                Member.tenant_id == tenant_id,
                Member.party_status == status,
                Member.departed_on.is_(None),
                Organization.in_subtree(root_path),
            )
        )
        total, fulls = (await self.session.execute(stmt)).one()
        return int(total), int(fulls)

    # ---- history ----

    async def currents(self, orgs: Sequence[Organization]) -> dict[uuid.UUID, Current]:
        """Each organisation with its open version (None when it never changed)."""
        ids = [o.id for o in orgs]
        rows = (
            await self.session.execute(
                select(H).where(H.organization_id.in_(ids), H.valid_to.is_(None))
            )
        ).scalars()
        open_by_org = {h.organization_id: version_of(h) for h in rows}
        return {
            o.id: Current(
                state=state_of(o),
                established_on=o.established_on,
                created_by=o.created_by,
                open_version=open_by_org.get(o.id),
            )
            for o in orgs
        }

    async def open_row(self, org_id: uuid.UUID) -> OrganizationHistory | None:
        stmt = select(H).where(H.organization_id == org_id, H.valid_to.is_(None))
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def close_versions(self, ids: Sequence[uuid.UUID], day: date) -> None:
        if ids:
            await self.session.execute(update(H).where(H.id.in_(list(ids))).values(valid_to=day))

    async def insert_versions(
        self, tenant_id: uuid.UUID, versions: Sequence[Version], *, recorded_at: datetime
    ) -> None:
        if not versions:
            return
        await self.session.execute(
            insert(H),
            [
                {
                    "id": new_id(),
                    "tenant_id": tenant_id,
                    "organization_id": v.state.organization_id,
                    "valid_from": v.valid_from,
                    "valid_to": v.valid_to,
                    "name": v.state.name,
                    "parent_id": v.state.parent_id,
                    "path": v.state.path,
                    "type": v.state.type,
                    "status": v.state.status.value,
                    "merged_into_id": v.state.merged_into_id,
                    "change": v.change.value,
                    "changed_by": v.changed_by,
                    "reason": v.reason,
                    "recorded_at": recorded_at,
                }
                for v in versions
            ],
        )

    async def history_page(
        self, tenant_id: uuid.UUID, org_id: uuid.UUID, *, page_size: int, page_token: str
    ) -> Page[OrganizationHistory]:
        size = clamp_page_size(page_size)
        stmt = select(H).where(H.tenant_id == tenant_id, H.organization_id == org_id)
        after = decode_token(page_token)
        if after is not None:
            stmt = stmt.where(H.id > after)
        rows = list((await self.session.execute(stmt.order_by(H.id).limit(size + 1))).scalars())
        more = len(rows) > size
        items = rows[:size]
        return Page(items=items, next_token=encode_token(items[-1].id) if more else "")

    async def versions(self, tenant_id: uuid.UUID, org_id: uuid.UUID) -> list[Version]:
        stmt = select(H).where(H.tenant_id == tenant_id, H.organization_id == org_id)
        return [version_of(h) for h in (await self.session.execute(stmt.order_by(H.id))).scalars()]

    def _state_on(self, tenant_id: uuid.UUID, day: date) -> Select:
        """Every organisation's version valid on `day`: recorded versions, plus organisations
        that never changed (no history rows) established on or before that day."""
        recorded = select(
            H.organization_id.label("id"),
            H.parent_id,
            H.name,
            H.type,
            H.path,
            H.status,
            H.valid_from,
            H.valid_to,
            H.change,
            H.changed_by,
            H.reason,
            H.merged_into_id,
            H.recorded_at,
        ).where(
            H.tenant_id == tenant_id,
            H.valid_from <= day,
            or_(H.valid_to.is_(None), H.valid_to > day),
        )
        never_changed = select(
            Organization.id.label("id"),
            Organization.parent_id,
            Organization.name,
            Organization.type,
            Organization.path,
            Organization.status,
            Organization.established_on.label("valid_from"),
            cast(null(), H.valid_to.type).label("valid_to"),
            literal(ChangeKind.CREATED.value).label("change"),
            Organization.created_by.label("changed_by"),
            literal("").label("reason"),
            Organization.merged_into_id,
            cast(null(), H.recorded_at.type).label("recorded_at"),
        ).where(
            Organization.tenant_id == tenant_id,
            Organization.established_on <= day,
            ~exists().where(H.organization_id == Organization.id),
        )
        return union_all(recorded, never_changed).subquery("state")  # type: ignore[return-value]

    async def tree_on(
        self,
        tenant_id: uuid.UUID,
        day: date,
        root_path: str,
        *,
        max_depth: int,
        page_size: int,
        page_token: str,
    ) -> tuple[list, str]:
        state = self._state_on(tenant_id, day)
        size = clamp_page_size(page_size)
        stmt = select(state).where(state.c.status == ACTIVE, _under(state.c.path, root_path))
        if max_depth:
            stmt = stmt.where(func.nlevel(state.c.path) <= org_path.depth(root_path) + max_depth)
        after = decode_token(page_token)
        if after is not None:
            stmt = stmt.where(state.c.id > after)
        rows = list((await self.session.execute(stmt.order_by(state.c.id).limit(size + 1))).all())
        more = len(rows) > size
        items = rows[:size]
        return items, encode_token(items[-1].id) if more else ""

    # ---- committee terms ----

    def add_term(self, term: CommitteeTerm) -> None:
        self.session.add(term)

    async def term_started(
        self, tenant_id: uuid.UUID, org_id: uuid.UUID, started_on: date
    ) -> CommitteeTerm | None:
        stmt = select(CommitteeTerm).where(
            CommitteeTerm.tenant_id == tenant_id,
            CommitteeTerm.organization_id == org_id,
            CommitteeTerm.started_on == started_on,
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def terms_page(
        self, tenant_id: uuid.UUID, org_id: uuid.UUID, *, page_size: int, page_token: str
    ) -> Page[CommitteeTerm]:
        size = clamp_page_size(page_size)
        stmt = select(CommitteeTerm).where(
            CommitteeTerm.tenant_id == tenant_id, CommitteeTerm.organization_id == org_id
        )
        after = decode_token(page_token)
        if after is not None:
            stmt = stmt.where(CommitteeTerm.id > after)
        rows = list(
            (await self.session.execute(stmt.order_by(CommitteeTerm.id).limit(size + 1))).scalars()
        )
        more = len(rows) > size
        items = rows[:size]
        return Page(items=items, next_token=encode_token(items[-1].id) if more else "")

    async def latest_term(
        self, tenant_id: uuid.UUID, org_id: uuid.UUID, today: date
    ) -> CommitteeTerm | None:
        stmt = (
            select(CommitteeTerm)
            .where(
                CommitteeTerm.tenant_id == tenant_id,
                CommitteeTerm.organization_id == org_id,
                CommitteeTerm.started_on <= today,
            )
            .order_by(CommitteeTerm.started_on.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def terms_to_remind(
        self, tenant_id: uuid.UUID, today: date, horizon: date
    ) -> list[tuple[CommitteeTerm, set[int]]]:
        """The latest term of each active organisation that has not ended and ends on or before
        `horizon`, with the reminder offsets already recorded for it."""
        latest = (
            select(CommitteeTerm.id)
            .distinct(CommitteeTerm.organization_id)
            .join(Organization, Organization.id == CommitteeTerm.organization_id)
            .where(
                CommitteeTerm.tenant_id == tenant_id,
                CommitteeTerm.started_on <= today,
                Organization.status == ACTIVE,
            )
            .order_by(CommitteeTerm.organization_id, CommitteeTerm.started_on.desc())
            .subquery()
        )
        stmt = (
            select(CommitteeTerm)
            .where(CommitteeTerm.id.in_(select(latest.c.id)))
            .where(CommitteeTerm.ends_on > today, CommitteeTerm.ends_on <= horizon)
            .order_by(CommitteeTerm.id)
        )
        terms = list((await self.session.execute(stmt)).scalars())
        done: dict[uuid.UUID, set[int]] = {t.id: set() for t in terms}
        if terms:
            rows = await self.session.execute(
                select(CommitteeTermReminder.term_id, CommitteeTermReminder.months_before).where(
                    CommitteeTermReminder.term_id.in_(list(done))
                )
            )
            for term_id, months in rows:
                done[term_id].add(int(months))
        return [(t, done[t.id]) for t in terms]

    async def record_reminder(
        self,
        *,
        tenant_id: uuid.UUID,
        term_id: uuid.UUID,
        months_before: int,
        remind_on: date,
        outcome: str,
        event_id: uuid.UUID | None,
    ) -> bool:
        """True when this call recorded it; False when it already was (another run, replica)."""
        stmt = (
            pg_insert(CommitteeTermReminder)
            .values(
                id=new_id(),
                tenant_id=tenant_id,
                term_id=term_id,
                months_before=months_before,
                remind_on=remind_on,
                outcome=outcome,
                event_id=event_id,
            )
            .on_conflict_do_nothing(index_elements=["term_id", "months_before"])
            .returning(CommitteeTermReminder.id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def reminders_of(self, term_ids: Sequence[uuid.UUID]) -> list[CommitteeTermReminder]:
        stmt = select(CommitteeTermReminder).where(CommitteeTermReminder.term_id.in_(term_ids))
        return list((await self.session.execute(stmt.order_by(CommitteeTermReminder.id))).scalars())


def active_tenants_stmt() -> Select:
    return select(Tenant.id).where(Tenant.status == "active").order_by(Tenant.id)
