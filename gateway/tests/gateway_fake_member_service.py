"""An in-memory MemberService for gateway tests (a unit-level fake, not the real service).

It mimics the real service's contract as far as the gateway can tell: caller identity from
metadata, role checks, tenant scoping, masking, page tokens, optimistic versions, and errors
with the stable reason code in trailing metadata (x-hongyun-error-code / x-hongyun-error-field).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import grpc
from gateway_fake_development import add_development_fake
from gateway_fake_due import add_due_fake
from gateway_fake_dues import add_dues_fake
from gateway_fake_letters import add_letters_fake
from gateway_fake_member_search import add_search_fake
from gateway_fake_member_stats import add_stats_fake
from gateway_fake_member_transfer import add_transfer_fakes
from gateway_fake_org_admin import add_org_admin_fakes
from gateway_fake_tenant_export import add_tenant_export_fake
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from hongyun.member.v1 import member_pb2 as pb
from hongyun.member.v1 import member_pb2_grpc
from hongyun_platform.grpc.context import (
    ROLE_PLATFORM_ADMIN,
    ROLE_SECRETARY,
    ROLE_TENANT_ADMIN,
    CallerContext,
)

MASKED = ("id_number", "mobile_phone", "landline", "home_address")


def _now() -> Timestamp:
    ts = Timestamp()
    ts.GetCurrentTime()
    return ts


def _mask(value: str) -> str:
    if len(value) <= 4:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 5) + value[-2:]


@dataclass
class Call:
    method: str
    caller: CallerContext
    request: Any
    time_remaining: float | None


@dataclass
class FakeStore:
    tenants: dict[str, pb.Tenant] = field(default_factory=dict)
    organizations: dict[str, pb.Organization] = field(default_factory=dict)
    members: dict[str, pb.Member] = field(default_factory=dict)


class FakeMemberService(member_pb2_grpc.MemberServiceServicer):
    def __init__(self) -> None:
        self.store = FakeStore()
        self.calls: list[Call] = []
        self.fail_next: tuple[grpc.StatusCode, str, list[tuple[str, str]]] | None = None

    def reset(self) -> None:
        self.store = FakeStore()
        self.calls.clear()
        self.fail_next = None

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    # ---- helpers ----

    async def _begin(self, method: str, request: Any, context: Any) -> CallerContext:
        caller = CallerContext.from_metadata(context.invocation_metadata())
        self.calls.append(Call(method, caller, request, context.time_remaining()))
        if self.fail_next:
            code, details, trailing = self.fail_next
            self.fail_next = None
            await context.abort(code, details, trailing_metadata=tuple(trailing))
        return caller

    @staticmethod
    async def _fail(
        context: Any, code: grpc.StatusCode, reason: str, details: str, fld: str | None = None
    ) -> None:
        md = [("x-hongyun-error-code", reason)]
        if fld:
            md.append(("x-hongyun-error-field", fld))
        await context.abort(code, details, trailing_metadata=tuple(md))

    async def _tenant(self, caller: CallerContext, context: Any) -> str:
        if caller.tenant_id is None:
            await self._fail(
                context, grpc.StatusCode.INVALID_ARGUMENT, "tenant_required", "tenant required"
            )
        return str(caller.tenant_id)

    @staticmethod
    def _page(items: list[Any], size: int, token: str) -> tuple[list[Any], str]:
        start = int(token or 0)
        size = size or 50
        chunk = items[start : start + size]
        nxt = str(start + size) if start + size < len(items) else ""
        return chunk, nxt

    def _in_scope(self, caller: CallerContext, org_id: str) -> bool:
        return caller.scope_org_id is None or self._under(org_id, str(caller.scope_org_id))

    def _under(self, org_id: str, root_id: str) -> bool:
        """org_id is root_id or below it."""
        node = self.store.organizations.get(org_id)
        while node is not None:
            if node.id == root_id:
                return True
            node = self.store.organizations.get(node.parent_id)
        return False

    def _view(self, m: pb.Member, reveal: bool) -> pb.Member:
        out = pb.Member()
        out.CopyFrom(m)
        out.revealed = reveal
        if not reveal:
            for name in MASKED:
                value = getattr(out.profile, name)
                if value:
                    setattr(out.profile, name, _mask(value))
        return out

    # ---- tenants ----

    async def CreateTenant(self, request: pb.CreateTenantRequest, context: Any) -> Any:
        caller = await self._begin("CreateTenant", request, context)
        if not caller.has_role(ROLE_PLATFORM_ADMIN):
            await self._fail(
                context, grpc.StatusCode.PERMISSION_DENIED, "role_forbidden", "platform admins"
            )
        if any(t.code == request.code for t in self.store.tenants.values()):
            await self._fail(
                context, grpc.StatusCode.ALREADY_EXISTS, "tenant_code_taken", "code taken", "code"
            )
        t = pb.Tenant(
            id=str(uuid.uuid4()),
            name=request.name,
            code=request.code,
            parent_id=request.parent_id,
            created_at=_now(),
        )
        self.store.tenants[t.id] = t
        return pb.CreateTenantResponse(tenant=t)

    async def GetTenant(self, request: pb.GetTenantRequest, context: Any) -> Any:
        caller = await self._begin("GetTenant", request, context)
        t = self.store.tenants.get(request.id)
        visible = caller.has_role(ROLE_PLATFORM_ADMIN) or str(caller.tenant_id) == request.id
        if t is None or not visible:
            await self._fail(context, grpc.StatusCode.NOT_FOUND, "tenant_not_found", "no tenant")
        return pb.GetTenantResponse(tenant=t)

    async def ListTenants(self, request: pb.ListTenantsRequest, context: Any) -> Any:
        caller = await self._begin("ListTenants", request, context)
        items = [
            t
            for t in self.store.tenants.values()
            if caller.has_role(ROLE_PLATFORM_ADMIN) or t.id == str(caller.tenant_id)
        ]
        chunk, nxt = self._page(items, request.page_size, request.page_token)
        return pb.ListTenantsResponse(tenants=chunk, next_page_token=nxt)

    # ---- organisations ----

    async def CreateOrganization(self, request: pb.CreateOrganizationRequest, context: Any) -> Any:
        caller = await self._begin("CreateOrganization", request, context)
        tenant = await self._tenant(caller, context)
        if not caller.has_role(ROLE_PLATFORM_ADMIN, ROLE_TENANT_ADMIN, ROLE_SECRETARY):
            await self._fail(
                context,
                grpc.StatusCode.PERMISSION_DENIED,
                "role_forbidden",
                "members may not create organisations",
            )
        depth = 1
        if request.parent_id:
            parent = self.store.organizations.get(request.parent_id)
            if parent is None or parent.tenant_id != tenant:
                await self._fail(
                    context,
                    grpc.StatusCode.NOT_FOUND,
                    "parent_not_found",
                    "no such parent",
                    "parent_id",
                )
            depth = parent.depth + 1
        o = pb.Organization(
            id=str(uuid.uuid4()),
            tenant_id=tenant,
            parent_id=request.parent_id,
            name=request.name,
            type=request.type,
            depth=depth,
            created_at=_now(),
        )
        self.store.organizations[o.id] = o
        return pb.CreateOrganizationResponse(organization=o)

    async def GetOrganization(self, request: pb.GetOrganizationRequest, context: Any) -> Any:
        caller = await self._begin("GetOrganization", request, context)
        tenant = await self._tenant(caller, context)
        o = self.store.organizations.get(request.id)
        if o is None or o.tenant_id != tenant or not self._in_scope(caller, o.id):
            await self._fail(context, grpc.StatusCode.NOT_FOUND, "organization_not_found", "none")
        return pb.GetOrganizationResponse(organization=o)

    async def ListOrganizations(self, request: pb.ListOrganizationsRequest, context: Any) -> Any:
        caller = await self._begin("ListOrganizations", request, context)
        tenant = await self._tenant(caller, context)
        items = [
            o
            for o in self.store.organizations.values()
            if o.tenant_id == tenant and self._in_scope(caller, o.id)
        ]
        chunk, nxt = self._page(items, request.page_size, request.page_token)
        return pb.ListOrganizationsResponse(organizations=chunk, next_page_token=nxt)

    # ---- members ----

    async def CreateMember(self, request: pb.CreateMemberRequest, context: Any) -> Any:
        caller = await self._begin("CreateMember", request, context)
        tenant = await self._tenant(caller, context)
        if not caller.has_role(ROLE_PLATFORM_ADMIN, ROLE_TENANT_ADMIN, ROLE_SECRETARY):
            await self._fail(context, grpc.StatusCode.PERMISSION_DENIED, "role_forbidden", "no")
        o = self.store.organizations.get(request.organization_id)
        if o is None or o.tenant_id != tenant or not self._in_scope(caller, o.id):
            await self._fail(
                context,
                grpc.StatusCode.NOT_FOUND,
                "organization_not_found",
                "no such organisation",
                "organization_id",
            )
        if any(
            m.profile.id_number == request.profile.id_number and m.tenant_id == tenant
            for m in self.store.members.values()
        ):
            await self._fail(
                context,
                grpc.StatusCode.ALREADY_EXISTS,
                "id_number_taken",
                "a member with this ID number exists",
                "id_number",
            )
        m = pb.Member(
            id=str(uuid.uuid4()),
            tenant_id=tenant,
            organization_id=request.organization_id,
            profile=request.profile,
            version=1,
            created_at=_now(),
            updated_at=_now(),
        )
        self.store.members[m.id] = m
        return pb.CreateMemberResponse(member=self._view(m, False))

    async def _member(self, caller: CallerContext, member_id: str, context: Any) -> pb.Member:
        tenant = await self._tenant(caller, context)
        m = self.store.members.get(member_id)
        if m is None or m.tenant_id != tenant or not self._in_scope(caller, m.organization_id):
            await self._fail(context, grpc.StatusCode.NOT_FOUND, "member_not_found", "none")
        return m

    async def GetMember(self, request: pb.GetMemberRequest, context: Any) -> Any:
        caller = await self._begin("GetMember", request, context)
        m = await self._member(caller, request.id, context)
        if request.reveal and not caller.has_role(ROLE_TENANT_ADMIN, ROLE_SECRETARY):
            await self._fail(
                context, grpc.StatusCode.PERMISSION_DENIED, "reveal_forbidden", "may not reveal"
            )
        return pb.GetMemberResponse(member=self._view(m, request.reveal))

    async def UpdateMember(self, request: pb.UpdateMemberRequest, context: Any) -> Any:
        caller = await self._begin("UpdateMember", request, context)
        m = await self._member(caller, request.id, context)
        if request.expected_version and request.expected_version != m.version:
            await self._fail(
                context, grpc.StatusCode.ABORTED, "version_conflict", "member changed meanwhile"
            )
        for name in request.update_mask:
            if name == "organization_id":
                m.organization_id = request.organization_id
            else:
                setattr(m.profile, name, getattr(request.profile, name))
        m.version += 1
        m.updated_at.CopyFrom(_now())
        return pb.UpdateMemberResponse(member=self._view(m, False))

    async def ListMembers(self, request: pb.ListMembersRequest, context: Any) -> Any:
        caller = await self._begin("ListMembers", request, context)
        tenant = await self._tenant(caller, context)
        items = [
            self._view(m, False)
            for m in self.store.members.values()
            if m.tenant_id == tenant
            and self._in_scope(caller, m.organization_id)
            and (not request.organization_id or m.organization_id == request.organization_id)
            and (not request.party_status or m.profile.party_status == request.party_status)
            and (not request.category or m.profile.category == request.category)
        ]
        chunk, nxt = self._page(items, request.page_size, request.page_token)
        return pb.ListMembersResponse(members=chunk, next_page_token=nxt)


@dataclass
class RunningFake:
    server: grpc.aio.Server
    port: int
    service: FakeMemberService
    health: health.aio.HealthServicer

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def set_serving(self, serving: bool) -> None:
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        await self.health.set("", status)


async def start_fake_member_service() -> RunningFake:
    server = grpc.aio.server()
    service = FakeMemberService()
    member_pb2_grpc.add_MemberServiceServicer_to_server(service, server)
    add_org_admin_fakes(server, service)  # OrganizationAdminService, RuleService (same store)
    add_transfer_fakes(server, service)  # MemberImportExportService (same store)
    add_search_fake(server, service)  # MemberSearchService (same store)
    add_stats_fake(server, service)  # MemberStatsService (same store)
    add_due_fake(server, service)  # DueService (same store)
    add_dues_fake(server, service)  # DuesService (same store)
    add_development_fake(server, service)  # DevelopmentService (same store)
    add_letters_fake(server, service)  # RelationshipTransferService (same store)
    add_tenant_export_fake(server, service)  # TenantAdminService exports (same store)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    running = RunningFake(server, port, service, health_servicer)
    await running.set_serving(True)
    return running
