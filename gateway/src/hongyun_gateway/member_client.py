"""gRPC client for the member service: one grpc.aio channel for the process.

Every call carries the caller's identity as metadata (CallerContext.to_metadata()) and a deadline.
Errors propagate as grpc.aio.AioRpcError and become problem+json in problems.py.
"""

from __future__ import annotations

from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hongyun.member.v1 import (
    member_archive_pb2_grpc,
    member_pb2_grpc,
    member_search_pb2,
    member_search_pb2_grpc,
    member_stats_pb2,
    member_stats_pb2_grpc,
    member_transfer_files_pb2_grpc,
    organization_admin_pb2_grpc,
    rules_pb2,
    rules_pb2_grpc,
    tenant_admin_pb2,
    tenant_admin_pb2_grpc,
)
from hongyun.member.v1 import member_pb2 as pb
from hongyun.member.v1 import organization_admin_pb2 as org_pb
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
        self._archive = member_archive_pb2_grpc.MemberArchiveServiceStub(self._channel)
        self._tenant_admin = tenant_admin_pb2_grpc.TenantAdminServiceStub(self._channel)
        self._org_admin = organization_admin_pb2_grpc.OrganizationAdminServiceStub(self._channel)
        self._rules = rules_pb2_grpc.RuleServiceStub(self._channel)
        # Imports and exports stream files; routers/member_transfer.py calls it (own deadlines).
        self.transfer = member_transfer_files_pb2_grpc.MemberImportExportServiceStub(self._channel)
        self._search = member_search_pb2_grpc.MemberSearchServiceStub(self._channel)
        self._stats = member_stats_pb2_grpc.MemberStatsServiceStub(self._channel)

    @property
    def channel(self) -> grpc.aio.Channel:
        """The shared channel: routers of other member services build their own stubs on it."""
        return self._channel

    async def close(self, grace: float | None = None) -> None:
        await self._channel.close(grace)

    async def call(self, method: Any, request: Any, caller: CallerContext) -> Any:
        """A unary call of any member service stub built on `channel`, as the caller, with the
        deadline."""
        return await method(request, metadata=caller.to_metadata(), timeout=self.deadline_seconds)

    _call = call

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

    async def count_members(
        self, caller: CallerContext, req: member_stats_pb2.CountMembersRequest
    ) -> member_stats_pb2.CountMembersResponse:
        return await self._call(self._stats.CountMembers, req, caller)

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

    async def start_tenant_export(
        self, caller: CallerContext, req: tenant_admin_pb2.StartTenantExportRequest
    ) -> tenant_admin_pb2.StartTenantExportResponse:
        return await self._call(self._tenant_admin.StartTenantExport, req, caller)

    async def get_tenant_export(
        self, caller: CallerContext, req: tenant_admin_pb2.GetTenantExportRequest
    ) -> tenant_admin_pb2.GetTenantExportResponse:
        return await self._call(self._tenant_admin.GetTenantExport, req, caller)

    # ---- organisation changes, history, health, committee terms (docs/adr/0007) ----

    async def rename_organization(
        self, caller: CallerContext, req: org_pb.RenameOrganizationRequest
    ) -> org_pb.RenameOrganizationResponse:
        return await self._call(self._org_admin.RenameOrganization, req, caller)

    async def move_organization(
        self, caller: CallerContext, req: org_pb.MoveOrganizationRequest
    ) -> org_pb.MoveOrganizationResponse:
        return await self._call(self._org_admin.MoveOrganization, req, caller)

    async def merge_organization(
        self, caller: CallerContext, req: org_pb.MergeOrganizationRequest
    ) -> org_pb.MergeOrganizationResponse:
        return await self._call(self._org_admin.MergeOrganization, req, caller)

    async def dissolve_organization(
        self, caller: CallerContext, req: org_pb.DissolveOrganizationRequest
    ) -> org_pb.DissolveOrganizationResponse:
        return await self._call(self._org_admin.DissolveOrganization, req, caller)

    async def organization_history(
        self, caller: CallerContext, req: org_pb.ListOrganizationHistoryRequest
    ) -> org_pb.ListOrganizationHistoryResponse:
        return await self._call(self._org_admin.ListOrganizationHistory, req, caller)

    async def organization_tree(
        self, caller: CallerContext, req: org_pb.GetOrganizationTreeRequest
    ) -> org_pb.GetOrganizationTreeResponse:
        return await self._call(self._org_admin.GetOrganizationTree, req, caller)

    async def organization_health(
        self, caller: CallerContext, req: org_pb.GetOrganizationHealthRequest
    ) -> org_pb.GetOrganizationHealthResponse:
        return await self._call(self._org_admin.GetOrganizationHealth, req, caller)

    async def record_committee_term(
        self, caller: CallerContext, req: org_pb.RecordCommitteeTermRequest
    ) -> org_pb.RecordCommitteeTermResponse:
        return await self._call(self._org_admin.RecordCommitteeTerm, req, caller)

    async def list_committee_terms(
        self, caller: CallerContext, req: org_pb.ListCommitteeTermsRequest
    ) -> org_pb.ListCommitteeTermsResponse:
        return await self._call(self._org_admin.ListCommitteeTerms, req, caller)

    # ---- rules (docs/adr/0007) ----

    async def list_rules(
        self, caller: CallerContext, req: rules_pb2.ListRulesRequest
    ) -> rules_pb2.ListRulesResponse:
        return await self._call(self._rules.ListRules, req, caller)

    async def get_rule(
        self, caller: CallerContext, req: rules_pb2.GetRuleRequest
    ) -> rules_pb2.GetRuleResponse:
        return await self._call(self._rules.GetRule, req, caller)

    async def set_rule_override(
        self, caller: CallerContext, req: rules_pb2.SetRuleOverrideRequest
    ) -> rules_pb2.SetRuleOverrideResponse:
        return await self._call(self._rules.SetRuleOverride, req, caller)

    async def delete_rule_override(
        self, caller: CallerContext, req: rules_pb2.DeleteRuleOverrideRequest
    ) -> rules_pb2.DeleteRuleOverrideResponse:
        return await self._call(self._rules.DeleteRuleOverride, req, caller)

    # ---- member archive: MemberArchiveService (docs/adr/0009) ----

    async def archive(self, caller: CallerContext, rpc: str, req: Any) -> Any:
        """MemberArchiveService.<rpc> (e.g. "ListFamilyMembers") on behalf of the caller."""
        return await self._call(getattr(self._archive, rpc), req, caller)

    # ---- member search (docs/adr/0008) ----

    async def search_members(
        self, caller: CallerContext, req: member_search_pb2.SearchMembersRequest
    ) -> member_search_pb2.SearchMembersResponse:
        return await self._call(self._search.SearchMembers, req, caller)
