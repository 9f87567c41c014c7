"""Member counts of a subtree (GET /api/v1/members/counts)."""

from __future__ import annotations

from hongyun.member.v1 import member_stats_pb2 as spb
from pydantic import BaseModel, Field

from hongyun_gateway import enums
from hongyun_gateway.enums import MemberCategory, PartyStatus


class StatusCount(BaseModel):
    party_status: PartyStatus | None = Field(
        description="党籍状态 (null: a status this API does not know)"
    )
    count: int


class CategoryCount(BaseModel):
    category: MemberCategory | None = Field(description="人员类别")
    count: int


class MemberCounts(BaseModel):
    total: int = Field(description="党员总数 Members in the subtree")
    by_status: list[StatusCount] = Field(description="按党籍状态 By 党籍 status")
    by_category: list[CategoryCount] = Field(description="按人员类别 By category")
    lost_contact: int = Field(description="失联党员 Members flagged 失联")
    floating: int = Field(description="流动党员 Members flagged 流动")

    @classmethod
    def from_proto(cls, r: spb.CountMembersResponse) -> MemberCounts:
        return cls(
            total=r.total,
            by_status=[
                StatusCount(
                    party_status=enums.from_proto(PartyStatus, s.party_status), count=s.count
                )
                for s in r.by_status
            ],
            by_category=[
                CategoryCount(category=enums.from_proto(MemberCategory, c.category), count=c.count)
                for c in r.by_category
            ],
            lost_contact=r.lost_contact,
            floating=r.floating,
        )
