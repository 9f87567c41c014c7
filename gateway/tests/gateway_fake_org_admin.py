"""In-memory OrganizationAdminService and RuleService for gateway tests (unit-level fakes, on the
same server and store as FakeMemberService).

They mimic the contract as far as the gateway can tell: roles, tenant and scope (outside looks
like NOT_FOUND), the secretary's scope root is protected, cycles are refused with
org_move_cycle, and errors carry the reason code in trailing metadata. Dates and history are
kept simple: the real rules live in the member service and its tests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import grpc
from hongyun.member.v1 import member_pb2 as pb
from hongyun.member.v1 import organization_admin_pb2 as opb
from hongyun.member.v1 import organization_admin_pb2_grpc, rules_pb2, rules_pb2_grpc
from hongyun_platform.grpc.context import (
    ROLE_PLATFORM_ADMIN,
    ROLE_SECRETARY,
    ROLE_TENANT_ADMIN,
    CallerContext,
)

MANAGERS = (ROLE_PLATFORM_ADMIN, ROLE_TENANT_ADMIN, ROLE_SECRETARY)
NATIONAL = {
    "org.branch.min_full_members": (3, "《中国共产党支部工作条例（试行）》第四条"),
    "org.branch.max_members": (50, "《中国共产党支部工作条例（试行）》第四条"),
}


@dataclass
class OrgAdminState:
    history: dict[str, list[opb.OrganizationVersion]] = field(default_factory=dict)
    status: dict[str, int] = field(default_factory=dict)
    terms: dict[str, list[opb.CommitteeTerm]] = field(default_factory=dict)
    overrides: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)


class _Shared:
    def __init__(self, members: Any) -> None:
        self.members = members  # FakeMemberService: its store, call log and helpers

    @property
    def state(self) -> OrgAdminState:
        if not hasattr(self.members, "org_admin_state") or self.members.org_admin_state is None:
            self.members.org_admin_state = OrgAdminState()
        return self.members.org_admin_state  # type: ignore[no-any-return]

    async def _caller(self, method: str, request: Any, context: Any) -> tuple[CallerContext, str]:
        caller = await self.members._begin(method, request, context)
        if not caller.has_role(*MANAGERS):
            await self.members._fail(
                context, grpc.StatusCode.PERMISSION_DENIED, "permission_denied", "managers only"
            )
        return caller, await self.members._tenant(caller, context)

    async def _org(
        self, caller: CallerContext, tenant: str, org_id: str, context: Any, fld: str = "id"
    ) -> pb.Organization:
        o = self.members.store.organizations.get(org_id)
        if (
            o is None
            or o.tenant_id != tenant
            or not self.members._in_scope(caller, org_id)
            or self.state.status.get(org_id, opb.ORGANIZATION_STATUS_ACTIVE)
            != opb.ORGANIZATION_STATUS_ACTIVE
        ):
            await self.members._fail(
                context, grpc.StatusCode.NOT_FOUND, "organization_not_found", "not found", fld
            )
        return o  # type: ignore[return-value]


class FakeOrganizationAdmin(_Shared, organization_admin_pb2_grpc.OrganizationAdminServiceServicer):
    def _version(
        self, o: pb.Organization, change: int, reason: str = ""
    ) -> opb.OrganizationVersion:
        v = opb.OrganizationVersion(
            organization_id=o.id, parent_id=o.parent_id, name=o.name, type=o.type,
            status=self.state.status.get(o.id, opb.ORGANIZATION_STATUS_ACTIVE), depth=o.depth,
            valid_from=date.today().isoformat(), change=change, changed_by="fake", reason=reason,
        )  # fmt: skip
        for old in self.state.history.get(o.id, []):
            if not old.valid_to:
                old.valid_to = v.valid_from
        self.state.history.setdefault(o.id, []).append(v)
        return v

    async def _changing(self, method: str, request: Any, context: Any):
        caller, tenant = await self._caller(method, request, context)
        o = await self._org(caller, tenant, request.id, context)
        if caller.scope_org_id is not None and str(caller.scope_org_id) == o.id:
            await self.members._fail(
                context, grpc.StatusCode.PERMISSION_DENIED, "scope_root_protected", "scope root"
            )
        return caller, tenant, o

    async def RenameOrganization(self, request, context):
        _, _, o = await self._changing("RenameOrganization", request, context)
        o.name = request.name
        change = opb.ORGANIZATION_CHANGE_RENAMED
        return opb.RenameOrganizationResponse(organization=self._version(o, change, request.reason))

    async def MoveOrganization(self, request, context):
        caller, tenant, o = await self._changing("MoveOrganization", request, context)
        parent = await self._org(caller, tenant, request.new_parent_id, context, "new_parent_id")
        node: pb.Organization | None = parent
        while node is not None:
            if node.id == o.id:
                await self.members._fail(
                    context, grpc.StatusCode.FAILED_PRECONDITION, "org_move_cycle",
                    "不能把组织移动到它自己或它的下级组织之下",
                )  # fmt: skip
            node = self.members.store.organizations.get(node.parent_id)
        o.parent_id, o.depth = parent.id, parent.depth + 1
        v = self._version(o, opb.ORGANIZATION_CHANGE_MOVED, request.reason)
        return opb.MoveOrganizationResponse(organization=v, moved_organizations=1)

    async def MergeOrganization(self, request, context):
        caller, tenant, o = await self._changing("MergeOrganization", request, context)
        target = await self._org(caller, tenant, request.target_id, context, "target_id")
        moved = 0
        for m in self.members.store.members.values():
            if m.organization_id == o.id:
                m.organization_id, moved = target.id, moved + 1
        self.state.status[o.id] = opb.ORGANIZATION_STATUS_MERGED
        source = self._version(o, opb.ORGANIZATION_CHANGE_MERGED, request.reason)
        source.merged_into_id = target.id
        return opb.MergeOrganizationResponse(
            source=source, target=self._version(target, opb.ORGANIZATION_CHANGE_CREATED),
            moved_members=moved, moved_child_organizations=0,
        )  # fmt: skip

    async def DissolveOrganization(self, request, context):
        _, _, o = await self._changing("DissolveOrganization", request, context)
        if any(m.organization_id == o.id for m in self.members.store.members.values()):
            await self.members._fail(
                context, grpc.StatusCode.FAILED_PRECONDITION, "org_not_empty",
                "该组织还有党员 (the organisation still has members)",
            )  # fmt: skip
        self.state.status[o.id] = opb.ORGANIZATION_STATUS_DISSOLVED
        v = self._version(o, opb.ORGANIZATION_CHANGE_DISSOLVED, request.reason)
        return opb.DissolveOrganizationResponse(organization=v)

    async def ListOrganizationHistory(self, request, context):
        caller, tenant = await self._caller("ListOrganizationHistory", request, context)
        o = await self._org(caller, tenant, request.id, context)
        versions = self.state.history.get(o.id) or [
            opb.OrganizationVersion(
                organization_id=o.id, parent_id=o.parent_id, name=o.name, type=o.type,
                status=opb.ORGANIZATION_STATUS_ACTIVE, depth=o.depth, valid_from="2020-01-01",
                change=opb.ORGANIZATION_CHANGE_CREATED,
            )
        ]  # fmt: skip
        chunk, nxt = self.members._page(list(versions), request.page_size, request.page_token)
        return opb.ListOrganizationHistoryResponse(versions=chunk, next_page_token=nxt)

    async def GetOrganizationTree(self, request, context):
        caller, tenant = await self._caller("GetOrganizationTree", request, context)
        root_id = request.root_id or str(caller.scope_org_id or "")
        if root_id:
            await self._org(caller, tenant, root_id, context, "root_id")
        items = [
            opb.OrganizationVersion(
                organization_id=o.id, parent_id=o.parent_id, name=o.name, type=o.type,
                status=opb.ORGANIZATION_STATUS_ACTIVE, depth=o.depth, valid_from="2020-01-01",
                change=opb.ORGANIZATION_CHANGE_CREATED,
            )
            for o in self.members.store.organizations.values()
            if o.tenant_id == tenant and self.members._in_scope(caller, o.id)
        ]  # fmt: skip
        chunk, nxt = self.members._page(items, request.page_size, request.page_token)
        return opb.GetOrganizationTreeResponse(
            as_of=request.as_of or date.today().isoformat(), root_id=root_id,
            organizations=chunk, next_page_token=nxt,
        )  # fmt: skip

    async def GetOrganizationHealth(self, request, context):
        caller, tenant = await self._caller("GetOrganizationHealth", request, context)
        o = await self._org(caller, tenant, request.id, context)
        full = sum(
            1
            for m in self.members.store.members.values()
            if m.organization_id == o.id and m.profile.category == pb.MEMBER_CATEGORY_FULL
        )
        resp = opb.GetOrganizationHealthResponse(
            organization_id=o.id, type=o.type, full_members=full, members=full,
            as_of=date.today().isoformat(),
        )  # fmt: skip
        if full < 3:
            resp.warnings.add(
                code="branch_too_few_full_members",
                rule=_effective(self.state, tenant, "org.branch.min_full_members"),
                message_zh=f"正式党员 {full} 名，少于成立党支部所需的 3 名",
                message_en=f"{full} full members, fewer than the 3 a branch needs",
            )
        return resp

    async def RecordCommitteeTerm(self, request, context):
        caller, tenant = await self._caller("RecordCommitteeTerm", request, context)
        o = await self._org(caller, tenant, request.organization_id, context, "organization_id")
        start = date.fromisoformat(request.started_on)
        years = request.term_years or 3
        term = opb.CommitteeTerm(
            id=f"term-{len(self.state.terms.get(o.id, [])) + 1}", organization_id=o.id,
            unit_kind=request.unit_kind, started_on=request.started_on, term_years=years,
            ends_on=date(start.year + years, start.month, min(start.day, 28)).isoformat(),
            committee_members=request.committee_members, rule_citation="fake citation",
            note=request.note, created_by=caller.user_id,
        )  # fmt: skip
        self.state.terms.setdefault(o.id, []).append(term)
        return opb.RecordCommitteeTermResponse(term=term)

    async def ListCommitteeTerms(self, request, context):
        caller, tenant = await self._caller("ListCommitteeTerms", request, context)
        o = await self._org(caller, tenant, request.organization_id, context, "organization_id")
        chunk, nxt = self.members._page(
            self.state.terms.get(o.id, []), request.page_size, request.page_token
        )
        return opb.ListCommitteeTermsResponse(terms=chunk, next_page_token=nxt)


def _effective(state: OrgAdminState, tenant: str, key: str) -> rules_pb2.EffectiveRule:
    value, citation = NATIONAL[key]
    rule = rules_pb2.EffectiveRule(
        key=key, title_zh="规则", title_en="rule", value_json=json.dumps(value), citation=citation,
        effective_from="2018-11-25", source=rules_pb2.RULE_SOURCE_NATIONAL,
        national_value_json=json.dumps(value), national_citation=citation,
    )  # fmt: skip
    own = state.overrides.get((tenant, key))
    if own:
        rule.value_json, rule.citation = own
        rule.source, rule.source_tenant_id = rules_pb2.RULE_SOURCE_TENANT, tenant
        rule.effective_from = date.today().isoformat()
    return rule


class FakeRules(_Shared, rules_pb2_grpc.RuleServiceServicer):
    async def _reader(self, method: str, request: Any, context: Any) -> str:
        caller = await self.members._begin(method, request, context)
        return await self.members._tenant(caller, context)

    async def _known(self, key: str, context: Any) -> None:
        if key not in NATIONAL:
            await self.members._fail(
                context, grpc.StatusCode.NOT_FOUND, "rule_not_found", "unknown rule", "key"
            )

    async def ListRules(self, request, context):
        tenant = await self._reader("ListRules", request, context)
        keys = sorted(k for k in NATIONAL if k.startswith(request.key_prefix))
        return rules_pb2.ListRulesResponse(rules=[_effective(self.state, tenant, k) for k in keys])

    async def GetRule(self, request, context):
        tenant = await self._reader("GetRule", request, context)
        await self._known(request.key, context)
        return rules_pb2.GetRuleResponse(rule=_effective(self.state, tenant, request.key))

    async def SetRuleOverride(self, request, context):
        caller = await self.members._begin("SetRuleOverride", request, context)
        tenant = await self.members._tenant(caller, context)
        if not caller.has_role(ROLE_TENANT_ADMIN, ROLE_PLATFORM_ADMIN):
            await self.members._fail(
                context, grpc.StatusCode.PERMISSION_DENIED, "permission_denied", "tenant admins"
            )
        await self._known(request.key, context)
        if not isinstance(json.loads(request.value_json), int):
            await self.members._fail(
                context, grpc.StatusCode.INVALID_ARGUMENT, "invalid_rule_value",
                "规则取值应为整数 (value must be an integer)", "value",
            )  # fmt: skip
        self.state.overrides[(tenant, request.key)] = (request.value_json, request.citation)
        return rules_pb2.SetRuleOverrideResponse(rule=_effective(self.state, tenant, request.key))

    async def DeleteRuleOverride(self, request, context):
        tenant = await self._reader("DeleteRuleOverride", request, context)
        if self.state.overrides.pop((tenant, request.key), None) is None:
            await self.members._fail(
                context, grpc.StatusCode.NOT_FOUND, "rule_override_not_found", "no override"
            )
        return rules_pb2.DeleteRuleOverrideResponse(
            rule=_effective(self.state, tenant, request.key)
        )


def add_org_admin_fakes(server: grpc.aio.Server, members: Any) -> None:
    """Registers both fakes on the fake member service's server, sharing its store."""
    members.org_admin_state = None
    organization_admin_pb2_grpc.add_OrganizationAdminServiceServicer_to_server(
        FakeOrganizationAdmin(members), server
    )
    rules_pb2_grpc.add_RuleServiceServicer_to_server(FakeRules(members), server)
