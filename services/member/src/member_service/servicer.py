"""gRPC transport of the member service: proto in, use case in one unit of work, proto out."""

from __future__ import annotations

from collections.abc import Callable

from hongyun.member.v1 import member_pb2 as pb
from hongyun.member.v1 import member_pb2_grpc
from hongyun_platform.db import Database
from hongyun_platform.db.caller_uow import caller_unit_of_work
from hongyun_platform.grpc.context import CallerContext, current_caller

from member_service import mappers
from member_service.service import MemberDirectory


class MemberServicer(member_pb2_grpc.MemberServiceServicer):
    def __init__(
        self,
        db: Database,
        directory: MemberDirectory,
        after_commit: Callable[[], None] = lambda: None,
    ):
        self.db = db
        self.directory = directory
        self.after_commit = after_commit  # wakes the outbox relay

    def _uow(self, caller: CallerContext, *, writes: bool = True):
        return caller_unit_of_work(self.db, caller, self.after_commit, writes=writes)

    async def CreateTenant(
        self, request: pb.CreateTenantRequest, context
    ) -> pb.CreateTenantResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            t = await self.directory.create_tenant(
                uow, caller, name=request.name, code=request.code, parent_id=request.parent_id
            )
        return pb.CreateTenantResponse(tenant=mappers.tenant_to_pb(t))

    async def GetTenant(self, request: pb.GetTenantRequest, context) -> pb.GetTenantResponse:
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            t = await self.directory.get_tenant(uow, caller, request.id)
        return pb.GetTenantResponse(tenant=mappers.tenant_to_pb(t))

    async def ListTenants(self, request: pb.ListTenantsRequest, context) -> pb.ListTenantsResponse:
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            page = await self.directory.list_tenants(
                uow, caller, page_size=request.page_size, page_token=request.page_token
            )
        return pb.ListTenantsResponse(
            tenants=[mappers.tenant_to_pb(t) for t in page.items], next_page_token=page.next_token
        )

    async def CreateOrganization(
        self, request: pb.CreateOrganizationRequest, context
    ) -> pb.CreateOrganizationResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            o = await self.directory.create_organization(
                uow, caller, parent_id=request.parent_id, name=request.name, org_type=request.type
            )
        return pb.CreateOrganizationResponse(organization=mappers.organization_to_pb(o))

    async def GetOrganization(
        self, request: pb.GetOrganizationRequest, context
    ) -> pb.GetOrganizationResponse:
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            o = await self.directory.get_organization(uow, caller, request.id)
        return pb.GetOrganizationResponse(organization=mappers.organization_to_pb(o))

    async def ListOrganizations(
        self, request: pb.ListOrganizationsRequest, context
    ) -> pb.ListOrganizationsResponse:
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            page = await self.directory.list_organizations(
                uow,
                caller,
                root_id=request.root_id,
                page_size=request.page_size,
                page_token=request.page_token,
            )
        return pb.ListOrganizationsResponse(
            organizations=[mappers.organization_to_pb(o) for o in page.items],
            next_page_token=page.next_token,
        )

    async def CreateMember(
        self, request: pb.CreateMemberRequest, context
    ) -> pb.CreateMemberResponse:
        caller = current_caller()
        profile = mappers.profile_from_pb(request.profile)
        async with self._uow(caller) as uow:
            view = await self.directory.create_member(
                uow, caller, organization_id=request.organization_id, profile=profile
            )
        return pb.CreateMemberResponse(member=mappers.member_to_pb(view))

    async def GetMember(self, request: pb.GetMemberRequest, context) -> pb.GetMemberResponse:
        caller = current_caller()
        # A reveal writes an audit row, so it needs a writable transaction.
        async with self._uow(caller, writes=request.reveal) as uow:
            view = await self.directory.get_member(
                uow, caller, request.id, reveal=request.reveal, reason=request.reveal_reason
            )
        return pb.GetMemberResponse(member=mappers.member_to_pb(view))

    async def UpdateMember(
        self, request: pb.UpdateMemberRequest, context
    ) -> pb.UpdateMemberResponse:
        caller = current_caller()
        changes = mappers.profile_from_pb(request.profile)
        async with self._uow(caller) as uow:
            view = await self.directory.update_member(
                uow,
                caller,
                request.id,
                changes=changes,
                mask=list(request.update_mask),
                organization_id=request.organization_id,
                expected_version=request.expected_version,
            )
        return pb.UpdateMemberResponse(member=mappers.member_to_pb(view))

    async def ListMembers(self, request: pb.ListMembersRequest, context) -> pb.ListMembersResponse:
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            views, token = await self.directory.list_members(
                uow,
                caller,
                organization_id=request.organization_id,
                party_status=request.party_status,
                category=request.category,
                page_size=request.page_size,
                page_token=request.page_token,
            )
        return pb.ListMembersResponse(
            members=[mappers.member_to_pb(v) for v in views], next_page_token=token
        )
