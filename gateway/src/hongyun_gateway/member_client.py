"""gRPC client for the member service: one grpc.aio channel for the process.

Every call carries the caller's identity as metadata (CallerContext.to_metadata()) and a deadline.
Errors propagate as grpc.aio.AioRpcError and become problem+json in problems.py.
"""

from __future__ import annotations

from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hongyun.member.v1 import member_pb2 as pb
from hongyun.member.v1 import member_pb2_grpc, tenant_admin_pb2, tenant_admin_pb2_grpc
from hongyun_platform.grpc.context import CallerContext

# The standard "whole server" health entry; the member service reports SERVING there once its
# database (and NATS) are connected.
HEALTH_SERVICE = ""

_CHANNEL_OPTIONS = [
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 0),
]


class MemberClient:
    def __init__(self, target: str, *, deadline_seconds: float = 5.0) -> None:
        self.target = target
        self.deadline_seconds = deadline_seconds
        self._channel = grpc.aio.insecure_channel(target, options=_CHANNEL_OPTIONS)
        self._stub = member_pb2_grpc.MemberServiceStub(self._channel)
        self._health = health_pb2_grpc.HealthStub(self._channel)
        self._tenant_admin = tenant_admin_pb2_grpc.TenantAdminServiceStub(self._channel)

    async def close(self, grace: float | None = None) -> None:
        await self._channel.close(grace)

    async def _call(self, method: Any, request: Any, caller: CallerContext) -> Any:
        return await method(request, metadata=caller.to_metadata(), timeout=self.deadline_seconds)

    async def is_serving(self, limit_seconds: float) -> bool:
        try:
            resp = await self._health.Check(
                health_pb2.HealthCheckRequest(service=HEALTH_SERVICE), timeout=limit_seconds
            )
        except grpc.aio.AioRpcError:
            return False
        return bool(resp.status == health_pb2.HealthCheckResponse.SERVING)

    # ---- tenants ----

    async def create_tenant(
        self, caller: CallerContext, req: pb.CreateTenantRequest
    ) -> pb.CreateTenantResponse:
        return await self._call(self._stub.CreateTenant, req, caller)

    async def get_tenant(
        self, caller: CallerContext, req: pb.GetTenantRequest
    ) -> pb.GetTenantResponse:
        return await self._call(self._stub.GetTenant, req, caller)

    async def list_tenants(
        self, caller: CallerContext, req: pb.ListTenantsRequest
    ) -> pb.ListTenantsResponse:
        return await self._call(self._stub.ListTenants, req, caller)

    # ---- organisations ----

    async def create_organization(
        self, caller: CallerContext, req: pb.CreateOrganizationRequest
    ) -> pb.CreateOrganizationResponse:
        return await self._call(self._stub.CreateOrganization, req, caller)

    async def get_organization(
        self, caller: CallerContext, req: pb.GetOrganizationRequest
    ) -> pb.GetOrganizationResponse:
        return await self._call(self._stub.GetOrganization, req, caller)

    async def list_organizations(
        self, caller: CallerContext, req: pb.ListOrganizationsRequest
    ) -> pb.ListOrganizationsResponse:
        return await self._call(self._stub.ListOrganizations, req, caller)

    # ---- members ----

    async def create_member(
        self, caller: CallerContext, req: pb.CreateMemberRequest
    ) -> pb.CreateMemberResponse:
        return await self._call(self._stub.CreateMember, req, caller)

    async def get_member(
        self, caller: CallerContext, req: pb.GetMemberRequest
    ) -> pb.GetMemberResponse:
        return await self._call(self._stub.GetMember, req, caller)

    async def update_member(
        self, caller: CallerContext, req: pb.UpdateMemberRequest
    ) -> pb.UpdateMemberResponse:
        return await self._call(self._stub.UpdateMember, req, caller)

    async def list_members(
        self, caller: CallerContext, req: pb.ListMembersRequest
    ) -> pb.ListMembersResponse:
        return await self._call(self._stub.ListMembers, req, caller)

    # ---- tenant administration ----

    async def provision_tenant(
        self, caller: CallerContext, req: tenant_admin_pb2.ProvisionTenantRequest
    ) -> tenant_admin_pb2.ProvisionTenantResponse:
        return await self._call(self._tenant_admin.ProvisionTenant, req, caller)

    async def suspend_tenant(
        self, caller: CallerContext, req: tenant_admin_pb2.SuspendTenantRequest
    ) -> tenant_admin_pb2.SuspendTenantResponse:
        return await self._call(self._tenant_admin.SuspendTenant, req, caller)

    async def resume_tenant(
        self, caller: CallerContext, req: tenant_admin_pb2.ResumeTenantRequest
    ) -> tenant_admin_pb2.ResumeTenantResponse:
        return await self._call(self._tenant_admin.ResumeTenant, req, caller)

    async def tenant_aggregates(
        self, caller: CallerContext, req: tenant_admin_pb2.GetTenantAggregatesRequest
    ) -> tenant_admin_pb2.GetTenantAggregatesResponse:
        return await self._call(self._tenant_admin.GetTenantAggregates, req, caller)
