"""gRPC transport of MemberSearchService (docs/adr/0008)."""

from __future__ import annotations

from hongyun.member.v1 import member_search_pb2 as pb
from hongyun.member.v1 import member_search_pb2_grpc
from hongyun_platform.db import Database
from hongyun_platform.grpc.context import ROLE_PLATFORM_ADMIN, current_caller

from member_service import mappers
from member_service.search import MemberSearch

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["MemberSearchService"].full_name


class MemberSearchServicer(member_search_pb2_grpc.MemberSearchServiceServicer):
    def __init__(self, db: Database, search: MemberSearch):
        self.db = db
        self.search = search

    async def SearchMembers(
        self, request: pb.SearchMembersRequest, context
    ) -> pb.SearchMembersResponse:
        caller = current_caller()
        # Not read_only=True: the cross-tenant audit hook (on_begin) writes its row first and
        # then makes the transaction read-only itself.
        async with self.db.unit_of_work(
            caller.tenant_id, platform_admin=caller.has_role(ROLE_PLATFORM_ADMIN)
        ) as uow:
            result = await self.search.search(
                uow,
                caller,
                query=request.query,
                organization_id=request.organization_id,
                category=request.category,
                party_status=request.party_status,
                page_size=request.page_size,
                page_token=request.page_token,
            )
        return pb.SearchMembersResponse(
            hits=[
                pb.MemberSearchHit(
                    member=mappers.member_to_pb(h.view),
                    matched=[int(m) for m in h.matched],  # type: ignore[misc]
                )
                for h in result.hits
            ],
            next_page_token=result.next_token,
            mode=int(result.mode),  # type: ignore[arg-type]
        )
