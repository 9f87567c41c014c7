"""党籍 status history and 失联/流动 flag history, and keeping the member row in step with them.

`members.party_status` is always the status of the latest history entry effective today or
earlier (changes cannot be future-dated, so no job is needed on the day). The history starts
with a baseline entry holding the member's status before the first change. `members.lost_contact*`
and `members.floating*` are the latest flag entries. Also the hook that records history for
changes made through the member's profile (MemberDirectory.update_member).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from hongyun_platform.crypto import FieldCipher
from hongyun_platform.db import UnitOfWork
from hongyun_platform.grpc.context import CallerContext
from hongyun_platform.ids import new_id

from member_service import archive_events
from member_service.archive_history import FieldHistory
from member_service.archive_models import FlagChange, StatusChange
from member_service.archive_repository import ArchiveRepositories
from member_service.domain.archive import (
    FlagChangeInput,
    MemberFlag,
    StatusEntry,
    check_status_change,
    diff_values,
    status_as_of,
)
from member_service.domain.profile import (
    PERSONAL_FIELDS,
    PROFILE_FIELDS,
    Category,
    Gender,
    PartyStatus,
    Profile,
)
from member_service.models import Member

BASELINE_REASON = "党籍记录起点：登记时的状态 (history starts with the status as registered)"
PROFILE_REASON = "通过党员信息修改 (changed through the member's profile)"
FLAG_FIELDS = ("lost_contact", "lost_contact_since", "floating", "floating_destination")


@dataclass(frozen=True)
class FlagsView:
    lost_contact: bool
    lost_contact_since: date | None
    floating: bool
    floating_since: date | None
    floating_destination: str


def entry(row: StatusChange) -> StatusEntry:
    return StatusEntry(PartyStatus(row.status), row.effective_on, row.recorded_at, row.id)


def _touch(member: Member, caller: CallerContext) -> None:
    member.version += 1
    member.updated_at = datetime.now(UTC)
    member.updated_by = caller.user_id


async def status_rows(
    repos: ArchiveRepositories, caller: CallerContext, member: Member, *, baseline_status: int
) -> list[StatusChange]:
    """The member's status history, oldest first, starting it with a baseline if empty."""
    rows = await repos.history.status_changes(member.tenant_id, member.id)
    if rows:
        return rows
    baseline = StatusChange(
        id=new_id(),
        tenant_id=member.tenant_id,
        member_id=member.id,
        status=baseline_status or int(PartyStatus.NORMAL),
        effective_on=member.joined_on or member.created_at.date(),
        reason=BASELINE_REASON,
        document="",
        recorded_by=caller.user_id,
        recorded_at=member.created_at,  # earlier than any change, also on the same day
    )
    repos.history.add(baseline)
    return [baseline]


async def record_status_change(
    uow: UnitOfWork,
    repos: ArchiveRepositories,
    history: FieldHistory,
    caller: CallerContext,
    member: Member,
    *,
    status: PartyStatus,
    effective_on: date,
    reason: str,
    document: str,
    today: date,
) -> tuple[StatusChange, PartyStatus]:
    """A rule-checked change (RecordStatusChange). Returns the entry and the current status."""
    rows = await status_rows(repos, caller, member, baseline_status=member.party_status)
    entries = [entry(r) for r in rows]
    check_status_change(entries, status, effective_on, today=today)
    change = StatusChange(
        id=new_id(),
        tenant_id=member.tenant_id,
        member_id=member.id,
        status=int(status),
        effective_on=effective_on,
        reason=reason,
        document=document,
        recorded_by=caller.user_id,
        recorded_at=datetime.now(UTC),
    )
    repos.history.add(change)
    current = status_as_of([*entries, entry(change)], today)
    assert current is not None  # the baseline is effective today or earlier
    previous = member.party_status
    if int(current.status) != previous:
        member.party_status = int(current.status)
        _touch(member, caller)
        history.record(
            uow.session,
            caller,
            tenant_id=member.tenant_id,
            member_id=member.id,
            source="status",
            record_id=change.id,
            diffs=diff_values(
                {"party_status": PartyStatus(previous)},
                {"party_status": current.status},
                ["party_status"],
            ),
        )
        await archive_events.member_status_changed(uow, member, change, previous)
    return change, current.status


async def record_flag_change(
    uow: UnitOfWork,
    repos: ArchiveRepositories,
    history: FieldHistory,
    caller: CallerContext,
    member: Member,
    change: FlagChangeInput,
) -> FlagChange:
    """A checked flag change (RecordFlagChange): history row, member row, field history, event."""
    before = {f: getattr(member, f) for f in FLAG_FIELDS}
    if change.flag == MemberFlag.LOST_CONTACT:
        member.lost_contact = change.active
        member.lost_contact_since = change.effective_on if change.active else None
    else:
        member.floating = change.active
        member.floating_destination = change.destination if change.active else ""
    _touch(member, caller)
    row = _flag_row(member, caller, change)
    repos.history.add(row)
    history.record(
        uow.session,
        caller,
        tenant_id=member.tenant_id,
        member_id=member.id,
        source="flag",
        record_id=row.id,
        diffs=diff_values(before, {f: getattr(member, f) for f in FLAG_FIELDS}, FLAG_FIELDS),
    )
    await archive_events.member_flagged(uow, member, row)
    return row


def _flag_row(member: Member, caller: CallerContext, change: FlagChangeInput) -> FlagChange:
    return FlagChange(
        id=new_id(),
        tenant_id=member.tenant_id,
        member_id=member.id,
        flag=int(change.flag),
        active=change.active,
        effective_on=change.effective_on,
        destination=change.destination,
        reason=change.reason,
        recorded_by=caller.user_id,
        recorded_at=datetime.now(UTC),
    )


async def flags_view(repos: ArchiveRepositories, member: Member) -> FlagsView:
    floating_since = None
    if member.floating:
        rows = await repos.history.flag_changes(
            member.tenant_id, member.id, int(MemberFlag.FLOATING)
        )
        floating_since = next((r.effective_on for r in rows if r.active), None)
    return FlagsView(
        member.lost_contact,
        member.lost_contact_since,
        member.floating,
        floating_since,
        member.floating_destination,
    )


_PROFILE_ENUMS = {"gender": Gender, "category": Category, "party_status": PartyStatus}


def _profile_values(p: Profile) -> dict[str, object]:
    """A profile's values for the history; enums as enums (a profile read from a row has ints)."""
    values: dict[str, object] = {f: getattr(p, f) for f in PROFILE_FIELDS}
    for f, enum_cls in _PROFILE_ENUMS.items():
        values[f] = enum_cls(int(values[f] or 0))  # type: ignore[call-overload]
    return values


async def after_member_update(
    uow: UnitOfWork,
    cipher: FieldCipher,
    caller: CallerContext,
    member: Member,
    *,
    old: Profile,
    new: Profile,
    changed: list[str],
    old_organization_id: object,
    today: date,
) -> None:
    """Hook for MemberDirectory.update_member, after the row is written: the field history of
    the change, and status / flag history rows when those fields changed through the profile
    (status changes checked against the transition table; flags recorded as they are)."""
    repos = ArchiveRepositories(uow.session)
    history = FieldHistory(cipher)
    olds, news = _profile_values(old), _profile_values(new)
    olds["organization_id"], news["organization_id"] = old_organization_id, member.organization_id
    history.record(
        uow.session,
        caller,
        tenant_id=member.tenant_id,
        member_id=member.id,
        source="member",
        diffs=diff_values(olds, news, changed),
        personal=PERSONAL_FIELDS,
    )
    if old.party_status != new.party_status:
        rows = await status_rows(repos, caller, member, baseline_status=int(old.party_status))
        # The correction path follows the same transition table as the status endpoint: a
        # refusal rolls the whole update back (the hook runs in the update's transaction).
        check_status_change([entry(r) for r in rows], new.party_status, today, today=today)
        change = StatusChange(
            id=new_id(),
            tenant_id=member.tenant_id,
            member_id=member.id,
            status=int(new.party_status),
            effective_on=today,
            reason=PROFILE_REASON,
            document="",
            recorded_by=caller.user_id,
            recorded_at=datetime.now(UTC),
        )
        repos.history.add(change)
        await archive_events.member_status_changed(uow, member, change, int(old.party_status))
    flag_changes = []
    if (old.lost_contact, old.lost_contact_since) != (new.lost_contact, new.lost_contact_since):
        flag_changes.append(
            FlagChangeInput(
                MemberFlag.LOST_CONTACT,
                new.lost_contact,
                new.lost_contact_since or today,
                "",
                PROFILE_REASON,
            )
        )
    if (old.floating, old.floating_destination) != (new.floating, new.floating_destination):
        flag_changes.append(
            FlagChangeInput(
                MemberFlag.FLOATING, new.floating, today, new.floating_destination, PROFILE_REASON
            )
        )
    for fc in flag_changes:
        row = _flag_row(member, caller, fc)
        repos.history.add(row)
        await archive_events.member_flagged(uow, member, row)
