"""An in-memory DueService for gateway tests (same server and store as FakeMemberService): roles,
tenant and scope (an organisation outside is NOT_FOUND), kinds, limit and counts over items a test
puts in `FakeDueService.items`. The real items are computed by the member service."""

from __future__ import annotations

from typing import Any

import grpc
from hongyun.member.v1 import member_due_pb2 as dpb
from hongyun.member.v1 import member_due_pb2_grpc
from hongyun_platform.grpc.context import ROLE_PLATFORM_ADMIN, ROLE_SECRETARY, ROLE_TENANT_ADMIN

AS_OF = "2026-12-03"


class FakeDueService(member_due_pb2_grpc.DueServiceServicer):
    def __init__(self, members: Any) -> None:
        self.members = members
        self.items: dict[str, list[dpb.DueItem]] = {}  # tenant id → items

    async def ListDue(self, request: dpb.ListDueRequest, context: Any) -> Any:
        svc = self.members
        caller = await svc._begin("ListDue", request, context)
        if not caller.has_role(ROLE_PLATFORM_ADMIN, ROLE_TENANT_ADMIN, ROLE_SECRETARY):
            await svc._fail(context, grpc.StatusCode.PERMISSION_DENIED, "permission_denied", "no")
        tenant = await svc._tenant(caller, context)
        root = request.organization_id
        if root:
            org = svc.store.organizations.get(root)
            if org is None or org.tenant_id != tenant or not svc._in_scope(caller, org.id):
                await svc._fail(context, grpc.StatusCode.NOT_FOUND, "organization_not_found",
                                "none", "organization_id")  # fmt: skip
        kinds = list(request.kinds) or [1, 2, 3, 4]
        sections = []
        for kind in dict.fromkeys(kinds):
            found = sorted(
                (
                    i
                    for i in self.items.get(tenant, [])
                    if i.kind == kind
                    and svc._in_scope(caller, i.organization_id)
                    and (not root or self.members._under(i.organization_id, root))
                ),
                key=lambda i: (i.due_on, i.subject_id),
            )
            sections.append(
                dpb.DueSection(kind=kind, total=len(found), overdue=sum(i.overdue for i in found),
                               items=found[: request.limit or 20])
            )  # fmt: skip
        return dpb.ListDueResponse(as_of=AS_OF, sections=sections)


def add_due_fake(server: grpc.aio.Server, members: Any) -> FakeDueService:
    fake = FakeDueService(members)
    member_due_pb2_grpc.add_DueServiceServicer_to_server(fake, server)
    members.due_fake = fake
    return fake
