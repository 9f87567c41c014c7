"""An in-memory MemberSearchService for gateway tests (a unit-level fake on the same server and
store as FakeMemberService).

It mimics the contract as far as the gateway can tell: roles, tenant and scope (outside is
NOT_FOUND), masking, page tokens, the mode of the query and why each member matched, and errors
with the reason and field ("query") in trailing metadata. Matching is simplified (a substring of
the name, or the last 4 of the stored numbers); the real rules live in the member service.
"""

from __future__ import annotations

from typing import Any

import grpc
from hongyun.member.v1 import member_search_pb2 as spb
from hongyun.member.v1 import member_search_pb2_grpc
from hongyun_platform.grpc.context import ROLE_PLATFORM_ADMIN, ROLE_SECRETARY, ROLE_TENANT_ADMIN


class FakeSearchService(member_search_pb2_grpc.MemberSearchServiceServicer):
    def __init__(self, members: Any) -> None:
        self.members = members  # FakeMemberService: its store, call log, helpers

    async def SearchMembers(self, request: spb.SearchMembersRequest, context: Any) -> Any:
        svc = self.members
        caller = await svc._begin("SearchMembers", request, context)
        if not caller.has_role(ROLE_PLATFORM_ADMIN, ROLE_TENANT_ADMIN, ROLE_SECRETARY):
            await svc._fail(context, grpc.StatusCode.PERMISSION_DENIED, "permission_denied", "no")
        tenant = await svc._tenant(caller, context)
        q = request.query.strip()
        if len(q) < 2:
            await svc._fail(
                context, grpc.StatusCode.INVALID_ARGUMENT, "query_too_short", "too short", "query"
            )
        if request.page_token and not request.page_token.isdigit():
            await svc._fail(
                context, grpc.StatusCode.INVALID_ARGUMENT, "invalid_page_token", "bad token"
            )
        if request.organization_id:
            org = svc.store.organizations.get(request.organization_id)
            if org is None or org.tenant_id != tenant or not svc._in_scope(caller, org.id):
                await svc._fail(
                    context,
                    grpc.StatusCode.NOT_FOUND,
                    "organization_not_found",
                    "none",
                    "organization_id",
                )
        number = q.upper()
        mode = spb.SEARCH_MODE_NUMBER_SUFFIX if len(number) == 4 and number[:3].isdigit() else (
            spb.SEARCH_MODE_PINYIN if q.isascii() and q.replace(" ", "").isalpha()
            else spb.SEARCH_MODE_NAME
        )  # fmt: skip
        hits = []
        for m in svc.store.members.values():
            if m.tenant_id != tenant or not svc._in_scope(caller, m.organization_id):
                continue
            if request.category and m.profile.category != request.category:
                continue
            if request.party_status and m.profile.party_status != request.party_status:
                continue
            matched = []
            if mode == spb.SEARCH_MODE_NAME and q in m.profile.name:
                matched = [spb.SEARCH_MATCH_NAME]
            if mode == spb.SEARCH_MODE_NUMBER_SUFFIX:
                if m.profile.id_number.endswith(number):
                    matched.append(spb.SEARCH_MATCH_ID_NUMBER_SUFFIX)
                if m.profile.mobile_phone.replace(" ", "").endswith(number):
                    matched.append(spb.SEARCH_MATCH_MOBILE_PHONE_SUFFIX)
            if matched:
                hits.append(spb.MemberSearchHit(member=svc._view(m, False), matched=matched))
        chunk, nxt = svc._page(hits, request.page_size or 20, request.page_token)
        return spb.SearchMembersResponse(hits=chunk, next_page_token=nxt, mode=mode)


def add_search_fake(server: grpc.aio.Server, members: Any) -> FakeSearchService:
    fake = FakeSearchService(members)
    member_search_pb2_grpc.add_MemberSearchServiceServicer_to_server(fake, server)
    return fake
