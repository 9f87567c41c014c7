"""What is due (GET /api/v1/due-items): items of an organisation subtree by kind."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from hongyun.member.v1 import member_due_pb2 as dpb
from pydantic import BaseModel, Field


class DueKind(StrEnum):
    development_step = "development_step"
    letter_expiring = "letter_expiring"
    committee_term = "committee_term"
    dues_arrears = "dues_arrears"


KIND_PB = {
    DueKind.development_step: dpb.DUE_KIND_DEVELOPMENT_STEP,
    DueKind.letter_expiring: dpb.DUE_KIND_LETTER_EXPIRING,
    DueKind.committee_term: dpb.DUE_KIND_COMMITTEE_TERM,
    DueKind.dues_arrears: dpb.DUE_KIND_DUES_ARREARS,
}
KIND_FROM_PB = {v: k for k, v in KIND_PB.items()}

KIND_TITLES = {
    DueKind.development_step: "发展党员步骤 (development steps)",
    DueKind.letter_expiring: "组织关系介绍信 (introduction letters)",
    DueKind.committee_term: "委员会换届 (committee terms)",
    DueKind.dues_arrears: "党费欠缴 (dues arrears)",
}


class DueItem(BaseModel):
    kind: DueKind
    organization_id: str = Field(description="所在组织 Where it is due")
    subject_id: str = Field(description="对象 The development case, letter, term or member")
    subject_label: str = Field(description="名称 Name to show")
    title: str = Field(description="待办事项 What is due")
    due_on: date = Field(description="到期日 Due date")
    overdue: bool = Field(description="已逾期 Past the due date")
    days_left: int = Field(description="剩余天数（逾期为负）Days left, negative when overdue")
    rule_key: str = Field(description="依据规则 The rule behind the date (GET /api/v1/rules/{key})")
    rule_citation: str = Field(description="规则出处 Its citation")
    rule_source: str = Field(description="national 全国默认 | tenant 本单位 | inherited 上级单位")
    detail: str = Field(description="说明 What blocks it or what to do")

    @classmethod
    def from_proto(cls, i: dpb.DueItem) -> DueItem:
        return cls(
            kind=KIND_FROM_PB[i.kind],
            organization_id=i.organization_id,
            subject_id=i.subject_id,
            subject_label=i.subject_label,
            title=i.title,
            due_on=date.fromisoformat(i.due_on),
            overdue=i.overdue,
            days_left=i.days_left,
            rule_key=i.rule_key,
            rule_citation=i.rule_citation,
            rule_source=i.rule_source,
            detail=i.detail,
        )


class DueSection(BaseModel):
    kind: DueKind
    title: str = Field(description="类别 What kind of item")
    total: int = Field(description="总数 All items of this kind in the subtree")
    overdue: int = Field(description="已逾期 Of them overdue")
    items: list[DueItem] = Field(description="最早到期的若干项 The earliest, at most `limit`")


class DueView(BaseModel):
    as_of: date = Field(description="计算日期（北京时间）Today in China")
    sections: list[DueSection]

    @classmethod
    def from_proto(cls, r: dpb.ListDueResponse) -> DueView:
        sections = []
        for s in r.sections:
            kind = KIND_FROM_PB[s.kind]
            items = [DueItem.from_proto(i) for i in s.items]
            sections.append(
                DueSection(kind=kind, title=KIND_TITLES[kind], total=s.total, overdue=s.overdue,
                           items=items)
            )  # fmt: skip
        return cls(as_of=date.fromisoformat(r.as_of), sections=sections)
