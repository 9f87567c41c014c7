"""Use cases of relationship transfers by introduction letter (组织关系转接, docs/adr/0016).
No transport imports; raises DomainError; never commits (the caller's unit of work does, once).

The invariant — a member always belongs to exactly one organisation and is never lost or counted
twice, whatever order the steps arrive in — rests on row locks: every step locks the letter
(SELECT … FOR UPDATE, re-read after the wait) and then, when it moves the member, the member;
the state it finds after the lock decides. A second open letter for a member is refused by a
partial unique index. Moving the member, marking the sending record departed, creating the
receiving record, the letter's new state and the events are one transaction.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from hongyun_platform.db import UnitOfWork
from hongyun_platform.errors import (
    Conflict,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from hongyun_platform.grpc.context import ROLE_SECRETARY, ROLE_TENANT_ADMIN, CallerContext
from hongyun_platform.ids import new_id
from hongyun_platform.storage import ObjectStore
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from member_service import events, letter_events, letter_print
from member_service.archive_history import FieldHistory
from member_service.domain import letters as L
from member_service.domain import masking, org_path
from member_service.domain.archive import diff_values
from member_service.domain.dates import china_today
from member_service.domain.letters import LetterAction, LetterScope, LetterState
from member_service.domain.lifecycle_rules import TRANSFER_LETTER_VALID_DAYS
from member_service.domain.profile import parse_date
from member_service.dues_models import DuesAccount
from member_service.letter_copy import ArchiveCopier
from member_service.letter_models import Letter
from member_service.letter_repository import LetterFilter, LetterRepository
from member_service.models import AuditEntry, Member, Organization, Tenant
from member_service.repository import Repositories
from member_service.rules import RuleBook
from member_service.service import MemberDirectory, parse_uuid

ROLES = (ROLE_TENANT_ADMIN, ROLE_SECRETARY)  # personal data: never platform operators
MAX_REASON = 500
MAX_DESTINATION = 200
DEPARTED_TO_TENANT = "transferred_to_tenant"
DEPARTED_OUT = "transferred_out_of_platform"


@dataclass(frozen=True)
class LetterView:
    letter: Letter
    id_number: str  # masked
    outgoing: bool  # the caller's tenant sent it and it is inside the caller's scope


@dataclass(frozen=True)
class PrintedLetter:
    file_name: str
    content: bytes


@dataclass(frozen=True)
class Destination:
    tenant_id: uuid.UUID
    name: str
    code: str


def _not_found() -> NotFound:
    # Outside the caller's tenant or scope looks exactly like absent.
    return NotFound("介绍信不存在 (letter not found)", code="letter_not_found")


def _text(value: str, field: str, label: str, max_len: int) -> str:
    value = value.strip()
    if not 1 <= len(value) <= max_len:
        raise InvalidArgument(
            f"请填写{label}（1–{max_len}字）({field}: 1–{max_len} characters)",
            code="required",
            field=field,
        )
    return value


class RelationshipTransfers:
    def __init__(
        self,
        directory: MemberDirectory,
        rules: RuleBook,
        store: ObjectStore,
        today: Callable[[], date] = china_today,
    ):
        self.directory = directory
        self.cipher = directory.cipher
        self.rules = rules
        self.store = store
        self.today = today
        self.history = FieldHistory(directory.cipher)

    # ---- create ----

    async def create(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        *,
        member_id: str,
        scope: LetterScope | None,
        to_organization_id: str,
        receiving_tenant_id: str,
        destination: str,
        dues_paid_until: str,
        reason: str,
    ) -> LetterView:
        caller.require_role(*ROLES)
        tenant_id = caller.require_tenant()
        if scope is None:
            raise InvalidArgument(
                "请选择转接范围 (scope is required)", code="required", field="scope"
            )
        dues = L.parse_dues_month(dues_paid_until) if dues_paid_until.strip() else None
        reason = _text(reason, "reason", "转接原因", MAX_REASON)
        repos = Repositories(uow.session)
        repo = LetterRepository(uow.session)
        member, org = await self.directory.member_in_scope(
            repos, caller, member_id, for_update=True
        )
        to_org_id, receiving, dest = None, None, destination.strip()
        if scope is LetterScope.WITHIN_TENANT:
            target = await repos.organizations.in_tenant(
                tenant_id, parse_uuid(to_organization_id, "to_organization_id")
            )
            if target is None:
                raise NotFound(
                    "接收组织不存在 (receiving organisation not found)",
                    code="organization_not_found",
                    field="to_organization_id",
                )
            if target.id == member.organization_id:
                raise InvalidArgument(
                    "接收组织与党员所在组织相同 (the member already belongs to that organisation)",
                    code="same_organization",
                    field="to_organization_id",
                )
            to_org_id, dest = target.id, target.name
        elif scope is LetterScope.CROSS_TENANT:
            rid = parse_uuid(receiving_tenant_id, "receiving_tenant_id")
            sibling = {d.tenant_id: d for d in await self._siblings(uow, tenant_id)}.get(rid)
            if sibling is None:
                raise NotFound(
                    "接收租户不存在或不是同级租户 (the receiving tenant is not a sibling tenant)",
                    code="receiving_tenant_not_found",
                    field="receiving_tenant_id",
                )
            receiving = rid
            dest = dest[:MAX_DESTINATION] or sibling.name
        else:
            dest = _text(destination, "destination", "接收单位", MAX_DESTINATION)
        if await repo.open_letter_of(member.id) is not None:
            raise _open_letter_exists()
        dues = dues or await _recorded_dues_month(uow.session, member.id)
        lid = new_id()
        letter = Letter(
            id=lid, tenant_id=tenant_id, receiving_tenant_id=receiving, member_id=member.id,
            scope=scope.value, state=LetterState.DRAFT.value, from_organization_id=org.id,
            from_organization_name=org.name, to_organization_id=to_org_id, destination=dest,
            dues_paid_until=dues, reason=reason, created_by=caller.user_id, version=1,
        )  # fmt: skip
        self._snapshot(letter, member)
        repo.add(letter)
        try:
            async with uow.session.begin_nested():
                await uow.session.flush()
        except IntegrityError as exc:  # the partial unique index: a concurrent letter won
            raise _open_letter_exists() from exc
        await self._audit(uow, caller, tenant_id, "letter_create", letter.id, [scope.value])
        return self._view(letter, outgoing=True)

    def _snapshot(self, letter: Letter, member: Member) -> None:
        """The member's particulars as printed on the letter (ID number re-encrypted for it)."""
        p = self.directory.read_profile(member)
        letter.member_name = p.name
        letter.member_gender = int(p.gender)
        assert p.birth_date is not None
        letter.member_birth_date = p.birth_date
        letter.member_ethnicity = p.ethnicity
        letter.member_category = int(p.category)
        letter.member_id_number_enc = self.cipher.encrypt(p.id_number, aad=self._aad(letter.id))
        letter.key_id = self.cipher.active_key_id

    @staticmethod
    def _aad(letter_id: uuid.UUID) -> bytes:
        return f"letters:{letter_id}:id_number".encode()

    # ---- sending side: approve, issue, revoke, confirm the receipt ----

    async def approve(
        self, uow: UnitOfWork, caller: CallerContext, letter_id: str, *, expected_version: int
    ) -> LetterView:
        letter, from_org, scope = await self._sender_letter(uow, caller, letter_id)
        _check_version(letter, expected_version)
        new_state = L.next_state(self._state(letter), LetterAction.APPROVE, self._scope(letter))
        _require_superior(scope, from_org)
        if scope is not None and caller.user_id == letter.created_by:
            raise PermissionDenied(
                "填写人不能审批自己填写的介绍信 (the one who filled in a letter cannot approve it)",
                code="approver_is_author",
            )
        now = datetime.now(UTC)
        self._move(letter, new_state, caller)
        letter.approved_at, letter.approved_by = now, caller.user_id
        await self._audit(uow, caller, letter.tenant_id, "letter_approve", letter.id, [])
        return self._view(letter, outgoing=True)

    async def issue(
        self, uow: UnitOfWork, caller: CallerContext, letter_id: str, *, expected_version: int
    ) -> LetterView:
        letter, from_org, scope = await self._sender_letter(uow, caller, letter_id)
        _check_version(letter, expected_version)
        letter_scope = self._scope(letter)
        new_state = L.next_state(self._state(letter), LetterAction.ISSUE, letter_scope)
        _require_superior(scope, from_org)
        repo = LetterRepository(uow.session)
        member = await repo.member_for_update(letter.tenant_id, letter.member_id)
        if member is None or member.departed_on is not None:
            raise FailedPrecondition(
                "党员已不在本租户 (the member has left this tenant)", code="member_departed"
            )
        if member.organization_id != letter.from_organization_id:
            raise FailedPrecondition(
                "填写介绍信后党员已调整组织，请撤销后重新填写 (the member moved to another"
                " organisation since the letter was filled in: revoke it and fill in a new one)",
                code="member_moved",
            )
        today = self.today()
        rule = await self.rules.effective_rule(
            uow.session, letter.tenant_id, TRANSFER_LETTER_VALID_DAYS, today
        )
        days = L.validity_days(rule.value, letter_scope)
        self._snapshot(letter, member)  # as on the day of issue
        self._move(letter, new_state, caller)
        letter.letter_number = L.letter_number(
            today.year, await repo.next_number(letter.tenant_id, today.year)
        )
        letter.valid_days = days
        letter.validity_citation = rule.citation
        letter.validity_source = rule.source.value
        letter.issued_on = today
        letter.valid_until = L.valid_until(today, days)
        letter.issued_at, letter.issued_by = datetime.now(UTC), caller.user_id
        await uow.session.flush()
        await letter_events.letter_issued(uow.session, letter)
        await self._audit(uow, caller, letter.tenant_id, "letter_issue", letter.id, [])
        return self._view(letter, outgoing=True)

    async def revoke(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        letter_id: str,
        *,
        reason: str,
        expected_version: int,
    ) -> LetterView:
        reason = _text(reason, "reason", "撤销原因", MAX_REASON)
        letter, _, _ = await self._sender_letter(uow, caller, letter_id)
        _check_version(letter, expected_version)
        previous = self._state(letter)
        new_state = L.next_state(previous, LetterAction.REVOKE, self._scope(letter))
        self._move(letter, new_state, caller)
        letter.revoked_at, letter.revoked_by = datetime.now(UTC), caller.user_id
        letter.revoke_reason = reason
        await uow.session.flush()
        await letter_events.letter_revoked(uow.session, letter, previous)
        await self._audit(uow, caller, letter.tenant_id, "letter_revoke", letter.id, [], reason)
        return self._view(letter, outgoing=True)

    async def confirm_receipt(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        letter_id: str,
        *,
        reported_on: str,
        expected_version: int,
    ) -> LetterView:
        letter, _, _ = await self._sender_letter(uow, caller, letter_id)
        _check_version(letter, expected_version)
        letter_scope = self._scope(letter)
        new_state = L.next_state(self._state(letter), LetterAction.CONFIRM_RECEIPT, letter_scope)
        if letter_scope is LetterScope.OUT_OF_PLATFORM:
            # The receipt completes a transfer out of the platform: the member leaves.
            day = parse_date(reported_on, "reported_on")
            if day is None:
                raise InvalidArgument(
                    "请填写回执上的报到日期 (reported_on: the day on the receipt)",
                    code="required",
                    field="reported_on",
                )
            assert letter.issued_on is not None and letter.valid_until is not None
            L.check_reported_on(
                day, issued_on=letter.issued_on, until=letter.valid_until, today=self.today(),
                rule_key=TRANSFER_LETTER_VALID_DAYS, citation=letter.validity_citation,
            )  # fmt: skip
            repo = LetterRepository(uow.session)
            member = await repo.member_for_update(letter.tenant_id, letter.member_id)
            other = await repo.open_letter_of(letter.member_id, besides=letter.id)
            if member is None or member.departed_on is not None:
                raise FailedPrecondition(
                    "党员已不在本租户 (the member has left this tenant)", code="member_departed"
                )
            if other is not None:
                raise FailedPrecondition(
                    "该党员另有未完成的介绍信，请先撤销 (the member has another open letter:"
                    " revoke it first)",
                    code="open_letter_exists",
                )
            letter.reported_on = day
            from_org = member.organization_id
            await self._depart(uow, caller, member, letter, DEPARTED_OUT)
            await letter_events.member_transferred(
                uow.session, letter, from_organization_id=from_org, to_tenant_id=None,
                to_member_id=None, to_organization_id=None,
            )  # fmt: skip
        self._move(letter, new_state, caller)
        letter.receipt_at, letter.receipt_by = datetime.now(UTC), caller.user_id
        await uow.session.flush()
        await letter_events.letter_receipt_returned(uow.session, letter)
        await self._audit(uow, caller, letter.tenant_id, "letter_receipt", letter.id, [])
        return self._view(letter, outgoing=True)

    # ---- receiving side ----

    async def receive(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        letter_id: str,
        *,
        organization_id: str,
        reported_on: str,
        expected_version: int,
    ) -> tuple[LetterView, uuid.UUID]:
        """Reports the member in to `organization_id`; returns the letter and the member's record
        on the receiving side."""
        caller.require_role(*ROLES)
        tenant_id = caller.require_tenant()
        repos = Repositories(uow.session)
        repo = LetterRepository(uow.session)
        letter = await repo.get(parse_uuid(letter_id, "id"), for_update=True)
        if letter is None:
            raise _not_found()
        scope = await self.directory.scope_root(repos, caller)
        target = await repos.organizations.in_tenant(
            tenant_id, parse_uuid(organization_id, "organization_id")
        )
        letter_scope = self._scope(letter)
        if letter.tenant_id == tenant_id and letter_scope is not LetterScope.CROSS_TENANT:
            addressee = await repo.organization(letter.to_organization_id)
            seen = addressee is not None and _inside(scope, addressee)
            if not seen and not await self._sender_may_see(repo, scope, letter):
                raise _not_found()
        elif letter.receiving_tenant_id == tenant_id:
            if scope is not None:  # letters from a sibling tenant: its admins receive them
                raise _not_found()
            addressee = None
        else:
            raise FailedPrecondition(
                "该介绍信须由接收租户报到 (the receiving tenant reports this member in)",
                code="letter_scope",
            )
        _check_version(letter, expected_version)
        new_state = L.next_state(self._state(letter), LetterAction.RECEIVE, letter_scope)
        if target is None or not _inside(scope, target):
            raise NotFound(
                "接收组织不存在 (organisation not found)",
                code="organization_not_found",
                field="organization_id",
            )
        if addressee is not None and not org_path.is_ancestor_or_self(addressee.path, target.path):
            raise InvalidArgument(
                f"报到组织须为{addressee.name}或其下级组织 (the member reports in to the"
                " organisation the letter is addressed to or one below it)",
                code="outside_addressee",
                field="organization_id",
            )
        today = self.today()
        assert letter.valid_until is not None and letter.issued_on is not None
        L.check_receivable(
            letter.valid_until, today, rule_key=TRANSFER_LETTER_VALID_DAYS,
            citation=letter.validity_citation,
        )  # fmt: skip
        day = parse_date(reported_on, "reported_on") or today
        L.check_reported_on(
            day, issued_on=letter.issued_on, until=letter.valid_until, today=today,
            rule_key=TRANSFER_LETTER_VALID_DAYS, citation=letter.validity_citation,
        )  # fmt: skip
        letter.reported_on = day
        if letter_scope is LetterScope.WITHIN_TENANT:
            received, from_org = await self._move_within(uow, caller, letter, target)
        else:
            received, from_org = await self._move_across(uow, caller, letter, target)
        self._move(letter, new_state, caller)
        letter.placed_organization_id = target.id
        letter.received_member_id = received
        letter.received_at, letter.received_by = datetime.now(UTC), caller.user_id
        await uow.session.flush()
        await letter_events.letter_received(uow.session, letter)
        await letter_events.member_transferred(
            uow.session, letter, from_organization_id=from_org, to_tenant_id=tenant_id,
            to_member_id=received, to_organization_id=target.id,
        )  # fmt: skip
        await self._audit(uow, caller, tenant_id, "letter_receive", letter.id, [])
        return self._view(letter, outgoing=letter.tenant_id == tenant_id), received

    async def _move_within(
        self, uow: UnitOfWork, caller: CallerContext, letter: Letter, target: Organization
    ) -> tuple[uuid.UUID, uuid.UUID]:
        repo = LetterRepository(uow.session)
        member = await repo.member_for_update(letter.tenant_id, letter.member_id)
        if member is None or member.departed_on is not None:
            raise FailedPrecondition(
                "党员已不在本租户 (the member has left this tenant)", code="member_departed"
            )
        old_org = member.organization_id
        member.organization_id = target.id
        _touch(member, caller)
        self.history.record(
            uow.session, caller, tenant_id=member.tenant_id, member_id=member.id, source="letter",
            record_id=letter.id,
            diffs=diff_values({"organization_id": old_org}, {"organization_id": target.id},
                              ["organization_id"]),
        )  # fmt: skip
        await uow.session.flush()
        await events.member_updated(uow, member, ["organization_id"])
        return member.id, old_org

    async def _move_across(
        self, uow: UnitOfWork, caller: CallerContext, letter: Letter, target: Organization
    ) -> tuple[uuid.UUID, uuid.UUID]:
        """To a sibling tenant: the letter — visible here only because it is addressed to this
        tenant and issued — is the authority to act in the sending tenant for this one member."""
        home = caller.require_tenant()
        repo = LetterRepository(uow.session)
        copier = ArchiveCopier(self.directory, self.store)
        await uow.session.flush()
        try:
            await uow.act_as_tenant(letter.tenant_id)
            member = await repo.member_for_update(letter.tenant_id, letter.member_id)
            if member is None or member.departed_on is not None:
                raise FailedPrecondition(
                    "党员已不在转出租户 (the member has left the sending tenant)",
                    code="member_departed",
                )
            source = await copier.read(repo, member)
            from_org = member.organization_id
            await self._depart(uow, caller, member, letter, DEPARTED_TO_TENANT)
            await uow.session.flush()
            await uow.act_as_tenant(home)
            existing = await repo.member_by_id_index(home, member.id_number_index)
            if existing is not None and existing.departed_on is None:
                raise _already_member()
            if existing is not None:  # returning: their departed record comes back
                copier.reactivate(existing, source, organization_id=target.id,
                                  actor=caller.user_id)  # fmt: skip
                await uow.session.flush()
                await events.member_updated(
                    uow, existing, ["organization_id", "departed_on", "profile"]
                )
                received = existing
            else:
                try:
                    received = await copier.create(
                        uow.session, repo, source, tenant_id=home, organization_id=target.id,
                        actor=caller.user_id,
                    )  # fmt: skip
                except IntegrityError as exc:  # registered here meanwhile
                    raise _already_member() from exc
                await events.member_registered(uow, received)
            self.history.record(
                uow.session, caller, tenant_id=home, member_id=received.id, source="letter",
                record_id=letter.id,
                diffs=diff_values({}, {"organization_id": target.id}, ["organization_id"]),
            )  # fmt: skip
            await uow.session.flush()
        except BaseException:
            await copier.discard_copies()
            raise
        return received.id, from_org

    async def _depart(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        member: Member,
        letter: Letter,
        reason: str,
    ) -> None:
        """The sending record stays as archive, no longer listed or counted (docs/adr/0016)."""
        assert letter.reported_on is not None
        member.departed_on = letter.reported_on
        member.departed_reason = reason
        member.departed_letter_id = letter.id
        _touch(member, caller)
        self.history.record(
            uow.session, caller, tenant_id=member.tenant_id, member_id=member.id,
            source="letter", record_id=letter.id,
            diffs=diff_values({}, {"departed_on": letter.reported_on}, ["departed_on"]),
        )  # fmt: skip
        await uow.session.flush()
        await events.member_updated(uow, member, ["departed_on"])
        await uow.session.execute(
            insert(AuditEntry).values(
                id=new_id(), tenant_id=member.tenant_id, actor=caller.user_id,
                actor_roles=sorted(caller.roles), action="member_departed", target_type="member",
                target_id=member.id, fields=["departed_on"], reason=f"letter {letter.id}",
            )
        )  # fmt: skip

    # ---- reading ----

    async def get(self, uow: UnitOfWork, caller: CallerContext, letter_id: str) -> LetterView:
        caller.require_role(*ROLES)
        letter, outgoing = await self._readable(uow, caller, parse_uuid(letter_id, "id"))
        return self._view(letter, outgoing=outgoing)

    async def list_letters(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        *,
        outgoing: bool,
        incoming: bool,
        state: LetterState | None,
        scope: LetterScope | None,
        organization_id: str,
        page_size: int,
        page_token: str,
    ) -> tuple[list[LetterView], str]:
        caller.require_role(*ROLES)
        tenant_id = caller.require_tenant()
        repos = Repositories(uow.session)
        root_path = await self.directory.subtree_path(repos, caller, organization_id)
        f = LetterFilter(
            tenant_id=tenant_id, root_path=root_path, outgoing=outgoing, incoming=incoming,
            state=state.value if state else None, scope=scope.value if scope else None,
        )  # fmt: skip
        rows, token = await LetterRepository(uow.session).page(
            f, page_size=page_size, page_token=page_token
        )
        views = [
            self._view(
                letter,
                outgoing=letter.tenant_id == tenant_id
                and (root_path is None or (key is not None and _key_inside(root_path, key))),
            )
            for letter, key in rows
        ]
        return views, token

    async def print_letter(
        self, uow: UnitOfWork, caller: CallerContext, letter_id: str
    ) -> PrintedLetter:
        """The three-part letter, ID number in full: sending side, audited."""
        letter, _, _ = await self._sender_letter(uow, caller, letter_id, for_update=False)
        state = self._state(letter)
        if letter.letter_number is None or state is LetterState.REVOKED:
            raise FailedPrecondition(
                f"介绍信{L.STATE_NAMES[state].split(' ')[0]}，不能打印（开具后方可打印）"
                " (only an issued letter can be printed)",
                code="letter_state",
            )
        id_number = self.cipher.decrypt(letter.member_id_number_enc, aad=self._aad(letter.id))
        content = await asyncio.to_thread(
            letter_print.letter_pdf, letter, id_number,
            f"{caller.user_id} · {datetime.now(UTC).astimezone(letter_print.CHINA_TZ):%Y-%m-%d %H:%M}",
        )  # fmt: skip
        await self._audit(uow, caller, letter.tenant_id, "letter_print", letter.id, ["id_number"])
        return PrintedLetter(f"介绍信-{letter.letter_number}-{letter.member_name}.pdf", content)

    async def destinations(self, uow: UnitOfWork, caller: CallerContext) -> list[Destination]:
        caller.require_role(*ROLES)
        return await self._siblings(uow, caller.require_tenant())

    async def _siblings(self, uow: UnitOfWork, tenant_id: uuid.UUID) -> list[Destination]:
        """Active tenants with the same parent. Tenants see only their own subtree, so this reads
        as the parent tenant — names and codes only, nothing else of theirs."""
        repo = LetterRepository(uow.session)
        own = await repo.tenant(tenant_id)
        if own is None or own.parent_id is None:
            return []
        await uow.session.flush()
        await uow.act_as_tenant(own.parent_id)
        try:
            children: list[Tenant] = await repo.children_of(own.parent_id)
        finally:
            await uow.act_as_tenant(tenant_id)
        return [
            Destination(t.id, t.name, t.code)
            for t in children
            if t.id != tenant_id and t.status == "active"
        ]

    # ---- helpers ----

    async def _sender_letter(
        self, uow: UnitOfWork, caller: CallerContext, letter_id: str, *, for_update: bool = True
    ) -> tuple[Letter, Organization, Organization | None]:
        """(letter, its sending organisation, the caller's scope root): the caller's tenant sent
        it and the sending organisation is inside the caller's scope."""
        caller.require_role(*ROLES)
        tenant_id = caller.require_tenant()
        repo = LetterRepository(uow.session)
        letter = await repo.get(parse_uuid(letter_id, "id"), for_update=for_update)
        if letter is None or letter.tenant_id != tenant_id:
            raise _not_found()
        scope = await self.directory.scope_root(Repositories(uow.session), caller)
        from_org = await repo.organization(letter.from_organization_id)
        if from_org is None or not _inside(scope, from_org):
            raise _not_found()
        return letter, from_org, scope

    async def _sender_may_see(
        self, repo: LetterRepository, scope: Organization | None, letter: Letter
    ) -> bool:
        from_org = await repo.organization(letter.from_organization_id)
        return from_org is not None and _inside(scope, from_org)

    async def _readable(
        self, uow: UnitOfWork, caller: CallerContext, letter_id: uuid.UUID
    ) -> tuple[Letter, bool]:
        tenant_id = caller.require_tenant()
        repo = LetterRepository(uow.session)
        letter = await repo.get(letter_id)
        if letter is None:
            raise _not_found()
        scope = await self.directory.scope_root(Repositories(uow.session), caller)
        if letter.tenant_id == tenant_id:
            if await self._sender_may_see(repo, scope, letter):
                return letter, True
            for org_id in (letter.to_organization_id, letter.placed_organization_id):
                org = await repo.organization(org_id)
                if org is not None and _inside(scope, org):
                    return letter, False
            raise _not_found()
        if letter.receiving_tenant_id == tenant_id:
            placed = await repo.organization(letter.placed_organization_id)
            if scope is None or (placed is not None and _inside(scope, placed)):
                return letter, False
        raise _not_found()

    @staticmethod
    def _state(letter: Letter) -> LetterState:
        return LetterState(letter.state)

    @staticmethod
    def _scope(letter: Letter) -> LetterScope:
        return LetterScope(letter.scope)

    @staticmethod
    def _move(letter: Letter, state: LetterState, caller: CallerContext) -> None:
        letter.state = state.value
        letter.version += 1

    def _view(self, letter: Letter, *, outgoing: bool) -> LetterView:
        id_number = self.cipher.decrypt(letter.member_id_number_enc, aad=self._aad(letter.id))
        return LetterView(letter, masking.mask_id_number(id_number), outgoing)

    @staticmethod
    async def _audit(
        uow: UnitOfWork,
        caller: CallerContext,
        tenant_id: uuid.UUID,
        action: str,
        letter_id: uuid.UUID,
        fields: list[str],
        reason: str = "",
    ) -> None:
        # Executed now (not at the next flush), in the tenant the transaction acts as.
        await uow.session.execute(
            insert(AuditEntry).values(
                id=new_id(), tenant_id=tenant_id, actor=caller.user_id,
                actor_roles=sorted(caller.roles), action=action, target_type="letter",
                target_id=letter_id, fields=fields, reason=reason[:500],
            )
        )  # fmt: skip


def _inside(scope: Organization | None, org: Organization) -> bool:
    return scope is None or org_path.is_ancestor_or_self(scope.path, org.path)


def _key_inside(root_path: str, key: str) -> bool:
    return root_path <= key < root_path + "/"


def _require_superior(scope: Organization | None, from_org: Organization) -> None:
    """Approval and issue are a superior organisation's: a tenant admin, or a secretary whose
    scope is strictly above the sending organisation."""
    if scope is not None and scope.path == from_org.path:
        raise PermissionDenied(
            "须由上级党组织审批、开具 (a superior organisation approves and issues the letter)",
            code="superior_required",
        )


def _check_version(letter: Letter, expected: int) -> None:
    if expected and expected != letter.version:
        raise Conflict(
            f"介绍信已被他人处理 (the letter changed: version {letter.version})",
            code="version_conflict",
        )


def _touch(member: Member, caller: CallerContext) -> None:
    member.version += 1
    member.updated_at = datetime.now(UTC)
    member.updated_by = caller.user_id


def _open_letter_exists() -> FailedPrecondition:
    return FailedPrecondition(
        "该党员已有未完成的介绍信 (the member already has an open letter)",
        code="open_letter_exists",
    )


def _already_member() -> FailedPrecondition:
    return FailedPrecondition(
        "该党员已在本租户登记，请先核对重复记录 (the member is already registered in this tenant)",
        code="already_member",
    )


async def _recorded_dues_month(session: AsyncSession, member_id: uuid.UUID) -> date:
    """党费交至 from the dues records (docs/adr/0017) when the secretary leaves it blank."""
    paid = await session.scalar(
        select(DuesAccount.paid_through).where(DuesAccount.member_id == member_id)
    )
    if paid is None:
        raise InvalidArgument(
            "该党员没有党费记录，请填写党费交至月份 (no dues records: give dues_paid_until)",
            code="dues_paid_until_unknown",
            field="dues_paid_until",
        )
    return paid
