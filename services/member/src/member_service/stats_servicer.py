"""gRPC transport of MemberStatsService."""

from __future__ import annotations

from hongyun.member.v1 import member_stats_pb2 as pb
from hongyun.member.v1 import member_stats_pb2_grpc
from hongyun_platform.db import Database
from hongyun_platform.grpc.context import ROLE_PLATFORM_ADMIN, current_caller

from member_service.stats import MemberStats


class MemberStatsServicer(member_stats_pb2_grpc.MemberStatsServiceServicer):
    def __init__(self, db: Database, stats: MemberStats):
        self.db = db
        self.stats = stats

    async def CountMembers(
        self, request: pb.CountMembersRequest, context
    ) -> pb.CountMembersResponse:
        caller = current_caller()
        async with self.db.unit_of_work(
            caller.tenant_id, platform_admin=caller.has_role(ROLE_PLATFORM_ADMIN), read_only=True
        ) as uow:
            c = await self.stats.count(uow, caller, request.organization_id)
        return pb.CountMembersResponse(
            total=c.total,
            by_status=[
                pb.StatusCount(party_status=s, count=n) for s, n in sorted(c.by_status.items())
            ],
            by_category=[
                pb.CategoryCount(category=k, count=n) for k, n in sorted(c.by_category.items())
            ],
            lost_contact=c.lost_contact,
            floating=c.floating,
        )
