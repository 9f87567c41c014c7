"""/api/v1/rules — 规则: the thresholds and timings that apply to the tenant, with their citations;
tenant admins override them from a date (docs/adr/0007)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from hongyun.member.v1 import rules_pb2
from hongyun_platform.grpc.context import ROLE_PLATFORM_ADMIN, ROLE_TENANT_ADMIN

from hongyun_gateway.auth import TenantCaller, require_role
from hongyun_gateway.problems import problem_responses
from hongyun_gateway.schemas.common import IsoDate
from hongyun_gateway.schemas.rules import RULE_KEY_PATTERN, RuleOverride, RulePage, RuleRead
from hongyun_gateway.state import Members

router = APIRouter(prefix="/api/v1/rules", tags=["rules 规则"])

RuleKey = Annotated[
    str,
    Path(pattern=RULE_KEY_PATTERN, max_length=100, examples=["org.branch.min_full_members"]),
]
AsOf = Annotated[IsoDate | None, Query(description="YYYY-MM-DD; default today")]


@router.get(
    "",
    response_model=RulePage,
    summary="适用规则列表 The rules that apply to the tenant, and why",
    description="Each rule's value for the caller's tenant on `as_of`: its own override, an "
    "ancestor tenant's, or the national default — with the citation and the national value "
    "beside it. The list is complete (`next_cursor` is always null).",
    responses=problem_responses(400, 401, 403, 422, 503),
)
async def list_rules(
    caller: TenantCaller,
    members: Members,
    as_of: AsOf = None,
    key_prefix: Annotated[str, Query(max_length=100, pattern=r"^[a-z0-9_.]*$")] = "",
) -> RulePage:
    resp = await members.list_rules(
        caller,
        rules_pb2.ListRulesRequest(as_of=as_of.isoformat() if as_of else "", key_prefix=key_prefix),
    )
    return RulePage(items=[RuleRead.from_proto(r) for r in resp.rules], next_cursor=None)


@router.get(
    "/{key}",
    response_model=RuleRead,
    summary="规则详情 The rule that applies to the tenant",
    responses=problem_responses(400, 401, 403, 404, 422, 503),
)
async def get_rule(
    key: RuleKey, caller: TenantCaller, members: Members, as_of: AsOf = None
) -> RuleRead:
    resp = await members.get_rule(
        caller, rules_pb2.GetRuleRequest(key=key, as_of=as_of.isoformat() if as_of else "")
    )
    return RuleRead.from_proto(resp.rule)


@router.put(
    "/{key}",
    response_model=RuleRead,
    summary="覆盖规则 Set the tenant's own value of a rule (tenant admins)",
    description="From `effective_from` (default today) the tenant and its child tenants use this "
    "value unless a child has its own. The value must have the rule's shape (422 "
    "`invalid_rule_value`). Returns the rule as it applies on `effective_from`.",
    responses=problem_responses(400, 401, 403, 404, 409, 422, 503),
)
async def set_rule_override(
    key: RuleKey, body: RuleOverride, caller: TenantCaller, members: Members
) -> RuleRead:
    require_role(caller, ROLE_TENANT_ADMIN, ROLE_PLATFORM_ADMIN)
    resp = await members.set_rule_override(caller, body.to_proto(key))
    return RuleRead.from_proto(resp.rule)


@router.delete(
    "/{key}",
    response_model=RuleRead,
    summary="撤销覆盖 Remove the tenant's own values of a rule (tenant admins)",
    description="The inherited or national value applies again; returns it.",
    responses=problem_responses(400, 401, 403, 404, 422, 503),
)
async def delete_rule_override(
    key: RuleKey,
    caller: TenantCaller,
    members: Members,
    reason: Annotated[str, Query(max_length=500)] = "",
) -> RuleRead:
    require_role(caller, ROLE_TENANT_ADMIN, ROLE_PLATFORM_ADMIN)
    resp = await members.delete_rule_override(
        caller, rules_pb2.DeleteRuleOverrideRequest(key=key, reason=reason.strip())
    )
    return RuleRead.from_proto(resp.rule)
