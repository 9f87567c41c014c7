"""Organisation history: each organisation's states as versions valid over date intervals.

A version holds from `valid_from` (inclusive) to `valid_to` (exclusive; None = still current).
A change effective on day D ends every affected open version on D and opens new ones from D,
so the tree on any day is "every version valid on that day" (docs/adr/0007).

History is written lazily: an organisation that never changed has no rows; its one implicit
version runs from `established_on` with its current state. Its first change writes that initial
version (closed on D) before the new one.

Changes are recorded in date order per organisation: D must not be earlier than the start of the
current version of any organisation the change rewrites or relies on (the new parent, the merge
target). Stored paths therefore stay exact for every interval, and the tree on a past day is one
indexed query. Back-dating is allowed within that bound, with a reason; future dates are not
(nothing would apply them on the day).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from enum import IntEnum, StrEnum

from hongyun_platform.errors import FailedPrecondition, InvalidArgument

EARLIEST = date(1921, 7, 1)
MAX_REASON = 500


class OrgType(IntEnum):  # hongyun.member.v1.OrganizationType
    COMMITTEE = 1  # 党委
    GENERAL_BRANCH = 2  # 党总支
    BRANCH = 3  # 党支部
    GROUP = 4  # 党小组
    JOINT_BRANCH = 5  # 联合支部


BRANCH_TYPES = frozenset({OrgType.BRANCH, OrgType.JOINT_BRANCH})
ELECTS_COMMITTEE = frozenset(
    {OrgType.COMMITTEE, OrgType.GENERAL_BRANCH, OrgType.BRANCH, OrgType.JOINT_BRANCH}
)


class OrgStatus(StrEnum):
    ACTIVE = "active"
    DISSOLVED = "dissolved"  # 撤销
    MERGED = "merged"  # 合并到另一组织


class ChangeKind(StrEnum):
    CREATED = "created"
    RENAMED = "renamed"
    MOVED = "moved"  # this organisation got a new parent
    ANCESTOR_MOVED = "ancestor_moved"  # an ancestor moved: same parent, new path
    MERGED = "merged"  # this organisation was merged into another
    PARENT_MERGED = "parent_merged"  # its parent was merged: now under the merge target
    DISSOLVED = "dissolved"


@dataclass(frozen=True)
class OrgState:
    organization_id: uuid.UUID
    parent_id: uuid.UUID | None
    name: str
    type: int
    path: str
    status: OrgStatus = OrgStatus.ACTIVE
    merged_into_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Version:
    state: OrgState
    valid_from: date
    valid_to: date | None
    change: ChangeKind
    changed_by: str = ""
    reason: str = ""
    id: uuid.UUID | None = None


@dataclass(frozen=True)
class Current:
    """An organisation as it is now, with its open version (None if it never changed)."""

    state: OrgState
    established_on: date
    created_by: str = ""
    open_version: Version | None = None

    @property
    def current_since(self) -> date:
        return self.open_version.valid_from if self.open_version else self.established_on


@dataclass
class Transition:
    close_ids: list[uuid.UUID] = field(default_factory=list)  # open versions that end on the day
    versions: list[Version] = field(default_factory=list)  # rows to insert


class ChangeOutOfOrder(FailedPrecondition):
    def __init__(self, not_before: date) -> None:
        super().__init__(
            f"生效日期不能早于 {not_before.isoformat()}：相关组织在该日之后已有变更 "
            f"(effective_on must be on or after {not_before.isoformat()}, "
            "the latest recorded change of the organisations involved)",
            code="org_change_out_of_order",
            field="effective_on",
        )
        self.not_before = not_before


def valid_on(v: Version, day: date) -> bool:
    return v.valid_from <= day and (v.valid_to is None or day < v.valid_to)


def version_on(versions: Iterable[Version], day: date) -> Version | None:
    """The version valid on `day`; of several (never expected), the latest starting one."""
    found = [v for v in versions if valid_on(v, day)]
    return max(found, key=lambda v: v.valid_from) if found else None


def implicit_version(c: Current) -> Version:
    return Version(c.state, c.established_on, None, ChangeKind.CREATED, c.created_by)


def versions_of(c: Current, recorded: Sequence[Version]) -> list[Version]:
    """The recorded versions, or the implicit one of an organisation that never changed."""
    return list(recorded) if recorded else [implicit_version(c)]


def check_effective_on(effective_on: date, *, today: date, reason: str) -> str:
    """The date policy of every change: not in the future; a past date needs a reason.
    Returns the normalised reason."""
    reason = reason.strip()
    if len(reason) > MAX_REASON:
        raise InvalidArgument(
            f"原因不超过 {MAX_REASON} 个字符 (reason: at most {MAX_REASON} characters)",
            code="reason_too_long",
            field="reason",
        )
    if effective_on > today:
        raise InvalidArgument(
            "生效日期不能晚于今天 (effective_on must not be in the future)",
            code="effective_on_in_future",
            field="effective_on",
        )
    if effective_on < EARLIEST:
        raise InvalidArgument(
            "生效日期过早 (effective_on is too early)",
            code="effective_on_too_early",
            field="effective_on",
        )
    if effective_on < today and not reason:
        raise InvalidArgument(
            "补录过去日期的变更须填写原因 (a back-dated change needs a reason)",
            code="reason_required",
            field="reason",
        )
    return reason


def transition(
    changes: Sequence[tuple[Current, OrgState, ChangeKind]],
    *,
    day: date,
    actor: str,
    reason: str,
    anchors: Sequence[Current] = (),
) -> Transition:
    """History rows for `changes` (organisation now, its new state, why) effective on `day`.

    `anchors` are organisations the change relies on without changing them (the new parent, the
    merge target): their current version must already hold on `day` too.
    """
    involved = [c for c, _, _ in changes] + list(anchors)
    not_before = max((c.current_since for c in involved), default=day)
    if day < not_before:
        raise ChangeOutOfOrder(not_before)
    out = Transition()
    for current, new_state, kind in changes:
        if current.open_version is None:
            out.versions.append(replace(implicit_version(current), valid_to=day))
        else:
            assert current.open_version.id is not None
            out.close_ids.append(current.open_version.id)
        out.versions.append(Version(new_state, day, None, kind, actor, reason))
    return out
