"""Bodies of organisation changes with effective dates, history, the tree on a day, branch-rule
warnings and committee terms (docs/adr/0007)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from hongyun.member.v1 import organization_admin_pb2 as opb
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from hongyun_gateway import enums
from hongyun_gateway.enums import OrganizationType
from hongyun_gateway.pagination import Page
from hongyun_gateway.schemas.common import PastDate, china_today, opt_str, text, timestamp
from hongyun_gateway.schemas.rules import RuleRead


class OrganizationStatus(StrEnum):
    ACTIVE = "active"
    DISSOLVED = "dissolved"  # 撤销
    MERGED = "merged"  # 合并


class OrganizationChange(StrEnum):
    CREATED = "created"
    RENAMED = "renamed"
    MOVED = "moved"
    ANCESTOR_MOVED = "ancestor_moved"
    MERGED = "merged"
    PARENT_MERGED = "parent_merged"
    DISSOLVED = "dissolved"


class CommitteeUnitKind(StrEnum):
    VILLAGE_COMMUNITY = "village_community"  # 村、社区
    OTHER = "other"  # 其他基层单位


def _from(enum_cls, prefix: str, wrapper, number: int):
    if number == 0:
        return None
    try:
        return enum_cls[wrapper.Name(number).removeprefix(prefix)]
    except (ValueError, KeyError):
        return None


def _to(prefix: str, wrapper, value: StrEnum) -> int:
    return int(wrapper.Value(prefix + value.name))


def _date(value: str) -> date | None:
    return date.fromisoformat(value) if value else None


# ---- changes ----


class _Change(BaseModel):
    model_config = ConfigDict(extra="forbid")

    effective_on: PastDate | None = Field(
        default=None, description="生效日期 YYYY-MM-DD; default today (China); not in the future"
    )
    reason: Annotated[str, text(0, 500)] = Field(
        default="",
        validate_default=True,
        description="原因; required when effective_on is in the past (补录)",
    )

    @field_validator("reason")
    @classmethod
    def _reason_for_backdating(cls, reason: str, info: ValidationInfo) -> str:
        effective_on = info.data.get("effective_on")
        if effective_on and effective_on < china_today() and not reason:
            raise PydanticCustomError(
                "reason_required",
                "补录过去日期的变更须填写原因 (a back-dated change needs a reason)",
                {"reason": "reason_required"},
            )
        return reason

    def _when(self) -> str:
        return self.effective_on.isoformat() if self.effective_on else ""


class OrganizationRename(_Change):
    name: Annotated[str, text(1, 100)] = Field(examples=["第一党支部"])

    def to_proto(self, org_id: uuid.UUID) -> opb.RenameOrganizationRequest:
        return opb.RenameOrganizationRequest(
            id=str(org_id), name=self.name, effective_on=self._when(), reason=self.reason
        )


class OrganizationMove(_Change):
    new_parent_id: uuid.UUID

    def to_proto(self, org_id: uuid.UUID) -> opb.MoveOrganizationRequest:
        return opb.MoveOrganizationRequest(
            id=str(org_id),
            new_parent_id=str(self.new_parent_id),
            effective_on=self._when(),
            reason=self.reason,
        )


class OrganizationMerge(_Change):
    target_id: uuid.UUID = Field(description="The organisation that takes the members and children")

    def to_proto(self, org_id: uuid.UUID) -> opb.MergeOrganizationRequest:
        return opb.MergeOrganizationRequest(
            id=str(org_id), target_id=str(self.target_id), effective_on=self._when(),
            reason=self.reason,
        )  # fmt: skip


class OrganizationDissolve(_Change):
    def to_proto(self, org_id: uuid.UUID) -> opb.DissolveOrganizationRequest:
        return opb.DissolveOrganizationRequest(
            id=str(org_id), effective_on=self._when(), reason=self.reason
        )


# ---- versions ----


class OrganizationVersionRead(BaseModel):
    """One version of an organisation, valid from valid_from to valid_to (exclusive)."""

    organization_id: str
    parent_id: str | None
    name: str
    type: OrganizationType | None
    status: OrganizationStatus | None
    depth: int = Field(description="Root = 1")
    valid_from: date
    valid_to: date | None = Field(description="Exclusive; null while current")
    change: OrganizationChange | None
    changed_by: str
    reason: str
    merged_into_id: str | None
    recorded_at: datetime | None

    @classmethod
    def from_proto(cls, v: opb.OrganizationVersion) -> OrganizationVersionRead:
        return cls(
            organization_id=v.organization_id,
            parent_id=opt_str(v.parent_id),
            name=v.name,
            type=enums.from_proto(OrganizationType, v.type),
            status=_from(OrganizationStatus, "ORGANIZATION_STATUS_", opb.OrganizationStatus, v.status),
            depth=v.depth,
            valid_from=date.fromisoformat(v.valid_from),
            valid_to=_date(v.valid_to),
            change=_from(OrganizationChange, "ORGANIZATION_CHANGE_", opb.OrganizationChange, v.change),
            changed_by=v.changed_by,
            reason=v.reason,
            merged_into_id=opt_str(v.merged_into_id),
            recorded_at=timestamp(v, "recorded_at"),
        )  # fmt: skip


class OrganizationVersionPage(Page[OrganizationVersionRead]):
    pass


class MoveRead(BaseModel):
    organization: OrganizationVersionRead
    moved_organizations: int = Field(description="The organisation and its descendants")


class MergeRead(BaseModel):
    source: OrganizationVersionRead
    target: OrganizationVersionRead
    moved_members: int
    moved_child_organizations: int


class OrganizationTreeRead(Page[OrganizationVersionRead]):
    """The organisations active on as_of under the root (root included), with parent ids."""

    as_of: date
    root_id: str


# ---- health ----


class CommitteeTermRead(BaseModel):
    id: str
    organization_id: str
    unit_kind: CommitteeUnitKind | None
    started_on: date
    term_years: int
    ends_on: date = Field(description="届满日: the term holds while today < ends_on")
    committee_members: int | None
    rule_citation: str
    note: str
    created_at: datetime | None
    created_by: str

    @classmethod
    def from_proto(cls, t: opb.CommitteeTerm) -> CommitteeTermRead:
        return cls(
            id=t.id,
            organization_id=t.organization_id,
            unit_kind=_from(CommitteeUnitKind, "COMMITTEE_UNIT_KIND_", opb.CommitteeUnitKind, t.unit_kind),
            started_on=date.fromisoformat(t.started_on),
            term_years=t.term_years,
            ends_on=date.fromisoformat(t.ends_on),
            committee_members=t.committee_members or None,
            rule_citation=t.rule_citation,
            note=t.note,
            created_at=timestamp(t, "created_at"),
            created_by=t.created_by,
        )  # fmt: skip


class CommitteeTermPage(Page[CommitteeTermRead]):
    pass


class OrganizationWarningRead(BaseModel):
    code: str = Field(examples=["branch_too_few_full_members"])
    rule: RuleRead
    message_zh: str
    message_en: str


class OrganizationHealthRead(BaseModel):
    organization_id: str
    type: OrganizationType | None
    full_members: int = Field(description="正式党员 with party status 正常, in the subtree")
    members: int = Field(description="Members with party status 正常, in the subtree")
    latest_term: CommitteeTermRead | None
    warnings: list[OrganizationWarningRead]
    as_of: date

    @classmethod
    def from_proto(cls, h: opb.GetOrganizationHealthResponse) -> OrganizationHealthRead:
        return cls(
            organization_id=h.organization_id,
            type=enums.from_proto(OrganizationType, h.type),
            full_members=h.full_members,
            members=h.members,
            latest_term=CommitteeTermRead.from_proto(h.latest_term)
            if h.HasField("latest_term")
            else None,
            warnings=[
                OrganizationWarningRead(
                    code=w.code,
                    rule=RuleRead.from_proto(w.rule),
                    message_zh=w.message_zh,
                    message_en=w.message_en,
                )
                for w in h.warnings
            ],
            as_of=date.fromisoformat(h.as_of),
        )


class CommitteeTermCreate(BaseModel):
    """登记委员会任期 (换届). The length comes from the rule org.committee.term_years."""

    model_config = ConfigDict(extra="forbid")

    unit_kind: CommitteeUnitKind = Field(examples=["other"])
    started_on: PastDate = Field(description="选举产生之日 the election day")
    committee_members: int | None = Field(default=None, ge=1, le=99)
    term_years: int | None = Field(
        default=None,
        ge=1,
        le=10,
        description="Only for terms that began under earlier regulations; default: the rule",
    )
    note: Annotated[str, text(0, 500)] = ""

    def to_proto(self, org_id: uuid.UUID) -> opb.RecordCommitteeTermRequest:
        return opb.RecordCommitteeTermRequest(
            organization_id=str(org_id),
            unit_kind=_to("COMMITTEE_UNIT_KIND_", opb.CommitteeUnitKind, self.unit_kind),  # type: ignore[arg-type]
            started_on=self.started_on.isoformat(),
            committee_members=self.committee_members or 0,
            term_years=self.term_years or 0,
            note=self.note,
        )
