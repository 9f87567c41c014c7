"""An in-memory MemberStatsService for gateway tests (same server and store as
FakeMemberService): roles, tenant and scope (an organisation outside is NOT_FOUND) and counts of
the stored members of a subtree. The real counts come from rollups in the member service."""

from __future__ import annotations

from collections import Counter
from typing import Any

import grpc
from hongyun.member.v1 import member_stats_pb2 as spb
from hongyun.member.v1 import member_stats_pb2_grpc
from hongyun_platform.grpc.context import ROLE_PLATFORM_ADMIN, ROLE_SECRETARY, ROLE_TENANT_ADMIN


class FakeStatsService(member_stats_pb2_grpc.MemberStatsServiceServicer):
    def __init__(self, members: Any) -> None:
        self.members = members

    async def CountMembers(self, request: spb.CountMembersRequest, context: Any) -> Any:
        svc = self.members
        caller = await svc._begin("CountMembers", request, context)
        if not caller.has_role(ROLE_PLATFORM_ADMIN, ROLE_TENANT_ADMIN, ROLE_SECRETARY):
            await svc._fail(context, grpc.StatusCode.PERMISSION_DENIED, "permission_denied", "no")
        tenant = await svc._tenant(caller, context)
        root = request.organization_id
        if root:
            org = svc.store.organizations.get(root)
            if org is None or org.tenant_id != tenant or not svc._in_scope(caller, org.id):
                await svc._fail(context, grpc.StatusCode.NOT_FOUND, "organization_not_found",
                                "none", "organization_id")  # fmt: skip
        found = [
            m.profile
            for m in svc.store.members.values()
            if m.tenant_id == tenant
            and svc._in_scope(caller, m.organization_id)
            and (not root or self.members._under(m.organization_id, root))
        ]
        status, category = (
            Counter(p.party_status or 1 for p in found),
            Counter(p.category for p in found),
        )
        return spb.CountMembersResponse(
            total=len(found),
            by_status=[spb.StatusCount(party_status=k, count=v) for k, v in status.items()],
            by_category=[spb.CategoryCount(category=k, count=v) for k, v in category.items()],
            lost_contact=sum(p.lost_contact for p in found),
            floating=sum(p.floating for p in found),
        )


def add_stats_fake(server: grpc.aio.Server, members: Any) -> None:
    member_stats_pb2_grpc.add_MemberStatsServiceServicer_to_server(
        FakeStatsService(members), server
    )
