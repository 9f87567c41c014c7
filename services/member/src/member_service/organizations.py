"""Use cases of organisation management with effective dates and history, branch-rule warnings
and committee terms (docs/adr/0007).

Permissions: tenant admins (and platform admins acting in a tenant) on the whole tenant;
secretaries inside their subtree, never changing their scope root itself (they may record its
committee terms); members not at all. Outside the caller's scope looks like absent (NOT_FOUND).

No transport imports; raises DomainError; never commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from hongyun_platform.db import UnitOfWork
from hongyun_platform.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from hongyun_platform.grpc.context import (
    ROLE_PLATFORM_ADMIN,
    ROLE_SECRETARY,
    ROLE_TENANT_ADMIN,
    CallerContext,
)
from hongyun_platform.ids import new_id
from sqlalchemy.exc import IntegrityError

from member_service import events, org_events
from member_service.archive_history import FieldHistory
from member_service.domain import org_health, org_path
from member_service.domain import rules as r
from member_service.domain.archive import FieldDiff
from member_service.domain.committee_terms import (
    Term,
    UnitKind,
    check_committee_members,
    term_end,
    term_years,
)
from member_service.domain.dates import china_today
from member_service.domain.org_history import (
    ELECTS_COMMITTEE,
    ChangeKind,
    Current,
    OrgState,
    OrgStatus,
    Transition,
    Version,
    check_effective_on,
    implicit_version,
    transition,
    version_on,
)
from member_service.domain.profile import Category, PartyStatus, parse_date
from member_service.models import AuditEntry, Organization
from member_service.org_models import CommitteeTerm, OrganizationHistory
from member_service.org_repository import OrganizationAdminRepository, state_of, version_of
from member_service.rules import RuleBook
from member_service.service import parse_uuid

MANAGERS = (ROLE_PLATFORM_ADMIN, ROLE_TENANT_ADMIN, ROLE_SECRETARY)
MAX_NOTE = 500
MAX_TERM_YEARS = 10
HAND_ENTERED = "登记人按任期开始时的规定填写 (term length entered by the recorder)"
MERGE_HISTORY_SOURCE = "org_merge"  # members' field history: moved by an organisation merge


@dataclass(frozen=True)
class VersionView:
    version: Version
    recorded_at: datetime | None  # None for the implicit first version


@dataclass(frozen=True)
class MoveResult:
    organization: VersionView
    moved: int


@dataclass(frozen=True)
class MergeResult:
    source: VersionView
    target: VersionView
    moved_members: int
    moved_children: int


@dataclass(frozen=True)
class TreePage:
    as_of: date
    root_id: uuid.UUID
    versions: list[VersionView]
    next_token: str


@dataclass(frozen=True)
class Health:
    organization: Organization
    counts: org_health.Counts
    latest_term: CommitteeTerm | None
    warnings: list[org_health.HealthWarning]
    as_of: date


class OrganizationAdmin:
    def __init__(self, rules: RuleBook, today: Callable[[], date] = china_today):
        self.rules = rules
        self.today = today

    # ---- changes ----

    async def rename(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        org_id: str,
        *,
        name: str,
        effective_on: str,
        reason: str,
    ) -> VersionView:
        name = name.strip()
        if not 1 <= len(name) <= 100:
            raise InvalidArgument("组织名称为 1–100 个字符 (name: 1–100 characters)", field="name")
        day, reason = self._when(effective_on, reason)
        repo, tenant_id, _, org = await self._target(uow, caller, org_id)
        if name == org.name:
            raise InvalidArgument(
                "新名称与现名称相同 (the organisation already has this name)",
                code="org_rename_unchanged",
                field="name",
            )
        if org.parent_id and await repo.active_sibling_names(
            tenant_id, org.parent_id, [name], but=org.id
        ):
            raise _name_taken([name])
        current = (await repo.currents([org]))[org.id]
        new_state = replace(current.state, name=name)
        t = transition(
            [(current, new_state, ChangeKind.RENAMED)], day=day, actor=caller.user_id, reason=reason
        )
        old_name = org.name
        await self._guard_names(uow, repo.rename(org, name))
        now = await self._write(repo, tenant_id, t)
        self._audit(uow, caller, tenant_id, "org_rename", org.id, ["name"], reason)
        await org_events.organization_renamed(
            uow.session, tenant_id=tenant_id, org_id=org.id, old=old_name, new=name, day=day
        )
        return VersionView(t.versions[-1], now)

    async def move(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        org_id: str,
        *,
        new_parent_id: str,
        effective_on: str,
        reason: str,
    ) -> MoveResult:
        day, reason = self._when(effective_on, reason)
        repo, tenant_id, scope, org = await self._target(uow, caller, org_id)
        parent = await self._in_scope(repo, tenant_id, scope, new_parent_id, "new_parent_id")
        if org.parent_id is None:
            raise _root_immutable()
        if org_path.would_create_cycle(org.path, parent.path):
            raise org_path.OrgMoveCycle()
        if parent.id == org.parent_id:
            raise InvalidArgument(
                "组织已在该上级组织之下 (the organisation is already under that parent)",
                code="org_move_unchanged",
                field="new_parent_id",
            )
        if await repo.active_sibling_names(tenant_id, parent.id, [org.name], but=org.id):
            raise _name_taken([org.name])
        subtree = await repo.subtree(tenant_id, org.path)
        currents = await repo.currents([*subtree, parent])
        new_prefix = org_path.child_path(parent.path, org.id)
        changes = []
        for o in subtree:
            is_root = o.id == org.id
            changes.append(
                (
                    currents[o.id],
                    replace(
                        state_of(o),
                        path=org_path.rebase(o.path, org.path, new_prefix),
                        parent_id=parent.id if is_root else o.parent_id,
                    ),
                    ChangeKind.MOVED if is_root else ChangeKind.ANCESTOR_MOVED,
                )
            )
        t = transition(
            changes, day=day, actor=caller.user_id, reason=reason, anchors=[currents[parent.id]]
        )
        old_path, old_parent = org.path, org.parent_id
        await self._guard_names(
            uow,
            repo.set_path_of_subtree(
                tenant_id, org.path, new_prefix, keep_root=True, root_parent=parent.id
            ),
        )
        now = await self._write(repo, tenant_id, t)
        self._audit(uow, caller, tenant_id, "org_move", org.id, ["parent_id"], reason)
        await org_events.organization_moved(
            uow.session,
            tenant_id=tenant_id,
            org_id=org.id,
            old_parent_id=old_parent,
            new_parent_id=parent.id,
            old_path=old_path,
            new_path=new_prefix,
            moved=len(subtree),
            day=day,
        )
        moved = next(v for v in t.versions if v.state.organization_id == org.id and not v.valid_to)
        return MoveResult(VersionView(moved, now), len(subtree))

    async def merge(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        org_id: str,
        *,
        target_id: str,
        effective_on: str,
        reason: str,
    ) -> MergeResult:
        day, reason = self._when(effective_on, reason)
        repo, tenant_id, scope, source = await self._target(uow, caller, org_id)
        target = await self._in_scope(repo, tenant_id, scope, target_id, "target_id")
        if source.parent_id is None:
            raise _root_immutable()
        if target.id == source.id:
            raise InvalidArgument(
                "不能与自身合并 (an organisation cannot be merged into itself)",
                code="org_merge_into_self",
                field="target_id",
            )
        if org_path.is_ancestor_or_self(source.path, target.path):
            raise FailedPrecondition(
                "不能合并到自己的下级组织 (the target is inside the organisation being merged)",
                code="org_merge_cycle",
                field="target_id",
            )
        children = await repo.active_children(tenant_id, source.id)
        clash = await repo.active_sibling_names(
            tenant_id, target.id, [c.name for c in children], but=source.id
        )
        if clash:
            raise _name_taken(clash)
        subtree = await repo.subtree(tenant_id, source.path)
        currents = await repo.currents([*subtree, target])
        changes = []
        for o in subtree:
            state = state_of(o)
            if o.id == source.id:
                new_state = replace(state, status=OrgStatus.MERGED, merged_into_id=target.id)
                kind = ChangeKind.MERGED
            else:
                direct = o.parent_id == source.id
                suffix = o.path[len(source.path) :]
                new_state = replace(
                    state,
                    path=target.path + suffix,
                    parent_id=target.id if direct else o.parent_id,
                )
                kind = ChangeKind.PARENT_MERGED if direct else ChangeKind.ANCESTOR_MOVED
            changes.append((currents[o.id], new_state, kind))
        t = transition(
            changes, day=day, actor=caller.user_id, reason=reason, anchors=[currents[target.id]]
        )
        moved = await repo.move_members(tenant_id, source.id, target.id, caller.user_id)
        await repo.move_open_cases(tenant_id, source.id, target.id)
        await self._guard_names(
            uow,
            repo.set_path_of_subtree(
                tenant_id, source.path, target.path, keep_root=False, children_parent=target.id
            ),
        )
        await repo.end(source, status=OrgStatus.MERGED, day=day, merged_into=target.id)
        now = await self._write(repo, tenant_id, t)
        self._audit(
            uow, caller, tenant_id, "org_merge", source.id, ["status", "merged_into_id"], reason
        )
        await org_events.organizations_merged(
            uow.session,
            tenant_id=tenant_id,
            source_id=source.id,
            target_id=target.id,
            source_path=source.path,
            target_path=target.path,
            moved_members=len(moved),
            moved_children=[c.id for c in children],
            day=day,
        )
        # Each moved member's own trail, as if its organisation had been edited: a field-history
        # row (source org_merge, the merged organisation as the record) and a MemberUpdated with
        # the new version, so member consumers need not interpret OrganizationsMerged.
        await FieldHistory.record_bulk(
            uow.session,
            caller,
            tenant_id=tenant_id,
            member_ids=[mid for mid, _ in moved],
            source=MERGE_HISTORY_SOURCE,
            diff=FieldDiff("organization_id", str(source.id), str(target.id)),
            record_id=source.id,
        )
        await events.members_moved(uow.session, tenant_id, moved, organization_id=target.id)
        source_version = next(
            v for v in t.versions if v.state.organization_id == source.id and v.valid_to is None
        )
        target_row = await repo.open_row(target.id)
        target_view = (
            _view(target_row)
            if target_row
            else VersionView(implicit_version(currents[target.id]), None)
        )
        return MergeResult(
            VersionView(source_version, now),
            target_view,
            len(moved),
            len(children),
        )

    async def dissolve(
        self, uow: UnitOfWork, caller: CallerContext, org_id: str, *, effective_on: str, reason: str
    ) -> VersionView:
        day, reason = self._when(effective_on, reason)
        repo, tenant_id, _, org = await self._target(uow, caller, org_id)
        if org.parent_id is None:
            raise _root_immutable()
        members = await repo.member_count(tenant_id, org.id)
        children = await repo.active_children(tenant_id, org.id)
        if members or children:
            raise FailedPrecondition(
                f"该组织还有 {members} 名党员、{len(children)} 个下级组织，须先转出或合并后才能撤销 "
                f"(the organisation still has {members} members and {len(children)} child "
                "organisations: move them or merge the organisation instead)",
                code="org_not_empty",
            )
        current = (await repo.currents([org]))[org.id]
        t = transition(
            [(current, replace(current.state, status=OrgStatus.DISSOLVED), ChangeKind.DISSOLVED)],
            day=day,
            actor=caller.user_id,
            reason=reason,
        )
        await repo.end(org, status=OrgStatus.DISSOLVED, day=day, merged_into=None)
        now = await self._write(repo, tenant_id, t)
        self._audit(uow, caller, tenant_id, "org_dissolve", org.id, ["status"], reason)
        await org_events.organization_dissolved(
            uow.session,
            tenant_id=tenant_id,
            org_id=org.id,
            parent_id=org.parent_id,
            path=org.path,
            day=day,
        )
        return VersionView(t.versions[-1], now)

    # ---- reading history ----

    async def history(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        org_id: str,
        *,
        page_size: int,
        page_token: str,
    ) -> tuple[list[VersionView], str]:
        caller.require_role(*MANAGERS)
        tenant_id = caller.require_tenant()
        repo = OrganizationAdminRepository(uow.session)
        scope = await self.scope_root(repo, caller)
        org = await self._in_scope(repo, tenant_id, scope, org_id, "id", any_status=True)
        page = await repo.history_page(
            tenant_id, org.id, page_size=page_size, page_token=page_token
        )
        if not page.items and not page_token:
            current = (await repo.currents([org]))[org.id]
            return [VersionView(implicit_version(current), None)], ""
        return [_view(h) for h in page.items], page.next_token

    async def tree(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        *,
        as_of: str,
        root_id: str,
        max_depth: int,
        page_size: int,
        page_token: str,
    ) -> TreePage:
        caller.require_role(*MANAGERS)
        tenant_id = caller.require_tenant()
        today = self.today()
        day = parse_date(as_of, "as_of") or today
        if day > today:
            raise InvalidArgument(
                "as_of 不能晚于今天 (as_of must not be in the future)",
                code="as_of_in_future",
                field="as_of",
            )
        if not 0 <= max_depth <= 100:
            raise InvalidArgument("max_depth: 0–100", field="max_depth")
        repo = OrganizationAdminRepository(uow.session)
        scope = await self.scope_root(repo, caller)
        if root_id:
            root = await self._in_scope(repo, tenant_id, scope, root_id, "root_id", any_status=True)
        else:
            root = scope or await repo.root_of(tenant_id)
            if root is None:
                raise NotFound("租户还没有根组织 (the tenant has no root organisation)")
        recorded = await repo.versions(tenant_id, root.id)
        if not recorded:
            current = (await repo.currents([root]))[root.id]
            recorded = [implicit_version(current)]
        then = version_on(recorded, day)
        if then is None or then.state.status is not OrgStatus.ACTIVE:
            raise NotFound(
                f"该组织在 {day.isoformat()} 不存在 (the organisation did not exist on that day)",
                code="org_not_in_effect",
                field="as_of",
            )
        rows, token = await repo.tree_on(
            tenant_id,
            day,
            then.state.path,
            max_depth=max_depth,
            page_size=page_size,
            page_token=page_token,
        )
        return TreePage(day, root.id, [_row_view(row) for row in rows], token)

    # ---- branch rules ----

    async def health(self, uow: UnitOfWork, caller: CallerContext, org_id: str) -> Health:
        caller.require_role(*MANAGERS)
        tenant_id = caller.require_tenant()
        repo = OrganizationAdminRepository(uow.session)
        scope = await self.scope_root(repo, caller)
        org = await self._in_scope(repo, tenant_id, scope, org_id, "id")
        today = self.today()
        total, full = await repo.counts_in_subtree(
            tenant_id, org.path, status=int(PartyStatus.NORMAL), full=int(Category.FULL)
        )
        counts = org_health.Counts(full_members=full, members=total)
        latest = await repo.latest_term(tenant_id, org.id, today)
        needed = org_health.rules_needed(org.type)
        rules = await self.rules.effective(uow.session, tenant_id, needed, today)
        found = org_health.warnings(
            org_type=org.type,
            counts=counts,
            latest_term=_term(latest) if latest else None,
            rules=rules,
            today=today,
        )
        return Health(org, counts, latest, found, today)

    # ---- committee terms ----

    async def record_term(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        org_id: str,
        *,
        unit_kind: str,
        started_on: str,
        committee_members: int | None,
        term_years_given: int,
        note: str,
    ) -> CommitteeTerm:
        caller.require_role(*MANAGERS)
        tenant_id = caller.require_tenant()
        try:
            kind = UnitKind(unit_kind)
        except ValueError:
            raise InvalidArgument(
                "请选择村/社区或其他基层单位 (unit_kind: village_community or other)",
                code="invalid_unit_kind",
                field="unit_kind",
            ) from None
        start = parse_date(started_on, "started_on")
        if start is None:
            raise InvalidArgument("started_on 必填 (started_on is required)", field="started_on")
        if start > self.today():
            raise InvalidArgument(
                "任期开始日期不能晚于今天 (started_on must not be in the future)",
                code="started_on_in_future",
                field="started_on",
            )
        check_committee_members(committee_members)
        note = note.strip()
        if len(note) > MAX_NOTE:
            raise InvalidArgument("备注过长 (note: at most 500 characters)", field="note")
        if not 0 <= term_years_given <= MAX_TERM_YEARS:
            raise InvalidArgument(
                f"任期年数应为 1–{MAX_TERM_YEARS} (term_years: 1–{MAX_TERM_YEARS})",
                code="invalid_term_years",
                field="term_years",
            )
        repo = OrganizationAdminRepository(uow.session)
        scope = await self.scope_root(repo, caller)
        org = await self._in_scope(repo, tenant_id, scope, org_id, "organization_id")
        if org.type not in ELECTS_COMMITTEE:
            raise FailedPrecondition(
                "党小组不设委员会 (this type of organisation elects no committee)",
                code="org_type_has_no_committee",
                field="organization_id",
            )
        if term_years_given:
            years, citation = term_years_given, HAND_ENTERED
        else:
            try:
                rule = await self.rules.effective_rule(
                    uow.session, tenant_id, r.COMMITTEE_TERM_YEARS, start
                )
            except r.RuleMissing:
                raise FailedPrecondition(
                    f"{start.isoformat()} 时没有生效的任期规则，请填写任期年数 "
                    "(no term rule was in force on started_on: give term_years)",
                    code="rule_missing",
                    field="term_years",
                ) from None
            years, citation = term_years(rule.value, kind), rule.citation
        if await repo.term_started(tenant_id, org.id, start):
            raise _term_exists()
        term = CommitteeTerm(
            id=new_id(),
            tenant_id=tenant_id,
            organization_id=org.id,
            unit_kind=kind.value,
            started_on=start,
            term_years=years,
            ends_on=term_end(start, years),
            committee_members=committee_members,
            rule_citation=citation,
            note=note,
            created_by=caller.user_id,
            created_at=datetime.now(UTC),
        )
        repo.add_term(term)
        try:
            async with uow.session.begin_nested():
                await uow.session.flush()
        except IntegrityError as exc:
            raise _term_exists() from exc
        return term

    async def list_terms(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        org_id: str,
        *,
        page_size: int,
        page_token: str,
    ) -> tuple[list[CommitteeTerm], str]:
        caller.require_role(*MANAGERS)
        tenant_id = caller.require_tenant()
        repo = OrganizationAdminRepository(uow.session)
        scope = await self.scope_root(repo, caller)
        org = await self._in_scope(
            repo, tenant_id, scope, org_id, "organization_id", any_status=True
        )
        page = await repo.terms_page(tenant_id, org.id, page_size=page_size, page_token=page_token)
        return list(page.items), page.next_token

    # ---- helpers ----

    def _when(self, effective_on: str, reason: str) -> tuple[date, str]:
        today = self.today()
        day = parse_date(effective_on, "effective_on") or today
        return day, check_effective_on(day, today=today, reason=reason)

    async def _target(
        self, uow: UnitOfWork, caller: CallerContext, org_id: str
    ) -> tuple[OrganizationAdminRepository, uuid.UUID, Organization | None, Organization]:
        """The organisation a structural change acts on, with the tenant's tree locked."""
        caller.require_role(*MANAGERS)
        tenant_id = caller.require_tenant()
        oid = parse_uuid(org_id, "id")
        repo = OrganizationAdminRepository(uow.session)
        await repo.lock_tree(tenant_id)
        scope = await self.scope_root(repo, caller)
        org = await self._in_scope(repo, tenant_id, scope, str(oid), "id")
        if scope is not None and org.id == scope.id:
            raise PermissionDenied(
                "不能变更自己管理范围的根组织，请联系上级组织 "
                "(you cannot change the root of your own scope; ask the level above)",
                code="scope_root_protected",
            )
        return repo, tenant_id, scope, org

    async def scope_root(
        self, repo: OrganizationAdminRepository, caller: CallerContext
    ) -> Organization | None:
        tenant_id = caller.require_tenant()
        if caller.scope_org_id is None:
            if caller.has_role(ROLE_TENANT_ADMIN, ROLE_PLATFORM_ADMIN):
                return None
            raise PermissionDenied("没有数据范围 (no data scope assigned)", code="no_scope")
        root = await repo.get(tenant_id, caller.scope_org_id)
        if root is None:
            raise PermissionDenied("数据范围无效 (data scope not found)", code="no_scope")
        return root

    async def _in_scope(
        self,
        repo: OrganizationAdminRepository,
        tenant_id: uuid.UUID,
        scope: Organization | None,
        org_id: str,
        field: str,
        *,
        any_status: bool = False,
    ) -> Organization:
        org = await repo.get(tenant_id, parse_uuid(org_id, field), any_status=any_status)
        if org is None or (scope and not org_path.is_ancestor_or_self(scope.path, org.path)):
            raise NotFound(
                "组织不存在 (organisation not found)", code="organization_not_found", field=field
            )
        return org

    @staticmethod
    async def _guard_names(uow: UnitOfWork, write) -> None:
        """Runs a write that may collide with a sibling created meanwhile (unique names)."""
        try:
            async with uow.session.begin_nested():
                await write
        except IntegrityError as exc:
            raise AlreadyExists(
                "同级组织名称重复 (a sibling has this name)", code="org_name_taken", field="name"
            ) from exc

    @staticmethod
    async def _write(
        repo: OrganizationAdminRepository, tenant_id: uuid.UUID, t: Transition
    ) -> datetime:
        now = datetime.now(UTC)
        if t.versions:
            await repo.close_versions(t.close_ids, t.versions[-1].valid_from)
        await repo.insert_versions(tenant_id, t.versions, recorded_at=now)
        return now

    @staticmethod
    def _audit(
        uow: UnitOfWork,
        caller: CallerContext,
        tenant_id: uuid.UUID,
        action: str,
        org_id: uuid.UUID,
        fields: list[str],
        reason: str,
    ) -> None:
        uow.session.add(
            AuditEntry(
                id=new_id(),
                tenant_id=tenant_id,
                actor=caller.user_id,
                actor_roles=sorted(caller.roles),
                action=action,
                target_type="organization",
                target_id=org_id,
                fields=fields,
                reason=reason[:500],
            )
        )


def _view(h: OrganizationHistory) -> VersionView:
    return VersionView(version_of(h), h.recorded_at)


def _row_view(row) -> VersionView:
    return VersionView(
        Version(
            state=OrgState(
                organization_id=row.id,
                parent_id=row.parent_id,
                name=row.name,
                type=row.type,
                path=row.path,
                status=OrgStatus(row.status),
                merged_into_id=row.merged_into_id,
            ),
            valid_from=row.valid_from,
            valid_to=row.valid_to,
            change=ChangeKind(row.change),
            changed_by=row.changed_by,
            reason=row.reason,
        ),
        row.recorded_at,
    )


def _term(t: CommitteeTerm) -> Term:
    return Term(t.started_on, t.ends_on, t.committee_members)


def _root_immutable() -> FailedPrecondition:
    return FailedPrecondition(
        "租户根组织不能移动、合并或撤销 (the tenant's root organisation cannot be moved, merged "
        "or dissolved)",
        code="org_root_immutable",
    )


def _name_taken(names: Sequence[str]) -> AlreadyExists:
    listed = "、".join(names)
    return AlreadyExists(
        f"新上级组织下已有同名组织：{listed} (the new parent already has children named {listed})",
        code="org_name_taken",
        field="name",
    )


def _term_exists() -> AlreadyExists:
    return AlreadyExists(
        "该组织已登记同一天开始的任期 (a term starting that day is already recorded)",
        code="committee_term_exists",
        field="started_on",
    )


__all__ = ["Current", "Health", "MergeResult", "MoveResult", "OrganizationAdmin", "TreePage"]
