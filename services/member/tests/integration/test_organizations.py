"""Organisation changes with effective dates and history, branch-rule warnings, rules with
per-tenant overrides, committee terms and the 换届 reminder job — against real PostgreSQL and NATS,
through the gRPC API."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta

import grpc
import pytest
from hongyun.member.v1 import member_pb2 as pb
from hongyun.member.v1 import organization_admin_pb2 as opb
from hongyun.member.v1 import organization_admin_pb2_grpc, rules_pb2, rules_pb2_grpc
from hongyun.member.v1 import organization_events_pb2 as epb
from hongyun_platform.db import Database
from hongyun_platform.grpc.context import ROLE_MEMBER, CallerContext
from member_service.domain.dates import add_months, china_today
from member_service.models import messaging
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from ..conftest import PLATFORM_ADMIN, secretary, tenant_admin
from .test_member_api import call, profile

pytestmark = pytest.mark.integration

TODAY = china_today()
ESTABLISHED = date(2020, 1, 1)


def days_ago(n: int) -> str:
    return (TODAY - timedelta(days=n)).isoformat()


async def fails(method, request, caller) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await call(method, request, caller)
    return e.value


def code_of(err: grpc.aio.AioRpcError) -> str:
    return dict(err.trailing_metadata() or ()).get("x-hongyun-error-code", "")


@pytest.fixture(scope="module")
async def org_stub(member_app):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{member_app.port}") as channel:
        yield organization_admin_pb2_grpc.OrganizationAdminServiceStub(channel)


@pytest.fixture(scope="module")
async def rule_stub(member_app):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{member_app.port}") as channel:
        yield rules_pb2_grpc.RuleServiceStub(channel)


@pytest.fixture(scope="module")
async def world(member_stub, member_settings_fx, owner_sql):
    """Tenant A: 党委 → {总支 X → {支部 br1 → 党小组 g}, 支部 br2, 支部 br3}; tenant B: 党委.
    Everything established on 2020-01-01; members in br1 (3), g (1), br2 (1)."""
    code = uuid.uuid4().hex[:8]
    a = (await call(member_stub.CreateTenant, pb.CreateTenantRequest(
        name="甲", code=f"oa-{code}"), PLATFORM_ADMIN)).tenant  # fmt: skip
    b = (await call(member_stub.CreateTenant, pb.CreateTenantRequest(
        name="乙", code=f"ob-{code}"), PLATFORM_ADMIN)).tenant  # fmt: skip
    adm, adm_b = tenant_admin(a.id), tenant_admin(b.id)

    async def org(name, type_, parent="", caller=adm):
        return (await call(member_stub.CreateOrganization, pb.CreateOrganizationRequest(
            parent_id=parent, name=name, type=type_), caller)).organization  # fmt: skip

    root = await org("甲党委", pb.ORGANIZATION_TYPE_COMMITTEE)
    x = await org("机关总支", pb.ORGANIZATION_TYPE_GENERAL_BRANCH, root.id)
    br1 = await org("第一支部", pb.ORGANIZATION_TYPE_BRANCH, x.id)
    g = await org("第一党小组", pb.ORGANIZATION_TYPE_GROUP, br1.id)
    br2 = await org("第二支部", pb.ORGANIZATION_TYPE_BRANCH, root.id)
    br3 = await org("第三支部", pb.ORGANIZATION_TYPE_BRANCH, root.id)
    root_b = await org("乙党委", pb.ORGANIZATION_TYPE_COMMITTEE, caller=adm_b)
    members = {}
    for seq, where in ((401, br1), (402, br1), (403, br1), (404, g), (405, br2)):
        m = (await call(member_stub.CreateMember, pb.CreateMemberRequest(
            organization_id=where.id, profile=profile(seq)), adm)).member  # fmt: skip
        members[seq] = m
    owner_sql(
        f"UPDATE member.organizations SET established_on = '{ESTABLISHED}' "
        f"WHERE tenant_id IN ('{a.id}', '{b.id}')"
    )
    return dict(a=a, b=b, adm=adm, adm_b=adm_b, root=root, x=x, br1=br1, g=g, br2=br2,
                br3=br3, root_b=root_b, members=members)  # fmt: skip


async def tree(org_stub, caller, as_of: str = "", root_id: str = "") -> dict[str, tuple]:
    """{id: (parent_id, name, depth)} of the whole tree on a day, read page by page."""
    out, token = {}, ""
    while True:
        resp = await call(org_stub.GetOrganizationTree, opb.GetOrganizationTreeRequest(
            as_of=as_of, root_id=root_id, page_size=2, page_token=token), caller)  # fmt: skip
        for o in resp.organizations:
            out[o.organization_id] = (o.parent_id, o.name, o.depth)
        token = resp.next_page_token
        if not token:
            return out


async def member_ids_under(member_stub, caller, org_id: str) -> set[str]:
    resp = await call(member_stub.ListMembers, pb.ListMembersRequest(
        organization_id=org_id, page_size=200), caller)  # fmt: skip
    return {m.id for m in resp.members}


async def history_rows(app, tenant_id) -> int:
    async with app.db.unit_of_work(uuid.UUID(tenant_id)) as uow:
        return (
            await uow.session.execute(text("SELECT count(*) FROM member.organization_history"))
        ).scalar_one()


async def events(app, tenant_id, type_name: str) -> list[bytes]:
    o = messaging.outbox
    async with app.db.unit_of_work(None) as uow:
        rows = await uow.session.execute(
            select(o.c.payload, o.c.subject)
            .where(o.c.tenant_id == uuid.UUID(tenant_id), o.c.event_type == type_name)
            .order_by(o.c.id)
        )
        return [r.payload for r in rows]


# ---- moves ----


async def test_move_carries_the_subtree_and_its_members_and_keeps_the_past(
    org_stub, member_stub, world, member_app
):
    adm, x, br1, g, br3 = world["adm"], world["x"], world["br1"], world["g"], world["br3"]
    moved_members = {world["members"][s].id for s in (401, 402, 403, 404)}
    before = await tree(org_stub, adm)
    assert before[x.id][0] == world["root"].id and before[g.id][2] == 4
    assert not moved_members & await member_ids_under(member_stub, adm, br3.id)

    resp = await call(org_stub.MoveOrganization, opb.MoveOrganizationRequest(
        id=x.id, new_parent_id=br3.id, effective_on=days_ago(10), reason="机构调整"), adm)  # fmt: skip
    assert resp.moved_organizations == 3
    assert resp.organization.parent_id == br3.id and resp.organization.depth == 3
    assert resp.organization.change == opb.ORGANIZATION_CHANGE_MOVED
    assert resp.organization.valid_from == days_ago(10)

    # Members of the moved subtree are now listed under the new parent's subtree.
    assert moved_members <= await member_ids_under(member_stub, adm, br3.id)
    orgs = await call(member_stub.ListOrganizations, pb.ListOrganizationsRequest(
        root_id=br3.id, page_size=50), adm)  # fmt: skip
    depth = {o.id: o.depth for o in orgs.organizations}
    assert depth == {br3.id: 2, x.id: 3, br1.id: 4, g.id: 5}

    # The tree on any day before the move is the tree before the move.
    assert await tree(org_stub, adm, as_of=days_ago(11)) == before
    assert await tree(org_stub, adm, as_of="2020-01-01") == before
    now = await tree(org_stub, adm)
    assert now[x.id] == (br3.id, "机关总支", 3) and now[g.id] == (br1.id, "第一党小组", 5)

    history = (await call(org_stub.ListOrganizationHistory, opb.ListOrganizationHistoryRequest(
        id=g.id), adm)).versions  # fmt: skip
    assert [v.change for v in history] == [
        opb.ORGANIZATION_CHANGE_CREATED, opb.ORGANIZATION_CHANGE_ANCESTOR_MOVED,
    ]  # fmt: skip
    assert history[0].valid_to == days_ago(10) and history[1].valid_to == ""

    (payload,) = await events(member_app, world["a"].id, "hongyun.member.v1.OrganizationMoved")
    ev = epb.OrganizationMoved.FromString(payload)
    assert (ev.organization_id, ev.new_parent_id, ev.moved_organizations) == (x.id, br3.id, 3)
    assert ev.effective_on == days_ago(10) and "机构调整".encode() not in payload


async def test_tree_before_anything_existed_is_not_found(org_stub, world):
    err = await fails(org_stub.GetOrganizationTree, opb.GetOrganizationTreeRequest(
        as_of="2019-12-31"), world["adm"])  # fmt: skip
    assert err.code() == grpc.StatusCode.NOT_FOUND and code_of(err) == "org_not_in_effect"
    err = await fails(org_stub.GetOrganizationTree, opb.GetOrganizationTreeRequest(
        as_of=(TODAY + timedelta(days=1)).isoformat()), world["adm"])  # fmt: skip
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and code_of(err) == "as_of_in_future"


async def test_move_under_own_descendant_is_refused_and_changes_nothing(
    org_stub, member_stub, world, member_app
):
    adm = world["adm"]
    before_tree = await tree(org_stub, adm)
    before_history = await history_rows(member_app, world["a"].id)
    err = await fails(org_stub.MoveOrganization, opb.MoveOrganizationRequest(
        id=world["x"].id, new_parent_id=world["g"].id), adm)  # fmt: skip
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION and code_of(err) == "org_move_cycle"
    err = await fails(org_stub.MoveOrganization, opb.MoveOrganizationRequest(
        id=world["x"].id, new_parent_id=world["x"].id), adm)  # fmt: skip
    assert code_of(err) == "org_move_cycle"
    assert await tree(org_stub, adm) == before_tree
    assert await history_rows(member_app, world["a"].id) == before_history


async def test_back_dating_before_a_recorded_change_or_without_reason_is_refused(org_stub, world):
    adm = world["adm"]
    err = await fails(org_stub.RenameOrganization, opb.RenameOrganizationRequest(
        id=world["g"].id, name="改名", effective_on=days_ago(20), reason="补录"), adm)  # fmt: skip
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert code_of(err) == "org_change_out_of_order" and days_ago(10) in err.details()
    err = await fails(org_stub.RenameOrganization, opb.RenameOrganizationRequest(
        id=world["g"].id, name="改名", effective_on=days_ago(5)), adm)  # fmt: skip
    assert code_of(err) == "reason_required"
    err = await fails(org_stub.RenameOrganization, opb.RenameOrganizationRequest(
        id=world["g"].id, name="改名", effective_on=(TODAY + timedelta(days=1)).isoformat()), adm)  # fmt: skip
    assert code_of(err) == "effective_on_in_future"


async def test_rename_today_and_sibling_names_stay_unique(org_stub, world, member_app):
    adm = world["adm"]
    err = await fails(org_stub.RenameOrganization, opb.RenameOrganizationRequest(
        id=world["br2"].id, name="第三支部"), adm)  # fmt: skip
    assert err.code() == grpc.StatusCode.ALREADY_EXISTS and code_of(err) == "org_name_taken"
    v = (await call(org_stub.RenameOrganization, opb.RenameOrganizationRequest(
        id=world["br2"].id, name="第二支部（新）"), adm)).organization  # fmt: skip
    assert v.name == "第二支部（新）" and v.valid_from == TODAY.isoformat() and v.changed_by
    assert (await tree(org_stub, adm, as_of=days_ago(1)))[world["br2"].id][1] == "第二支部"
    (payload,) = await events(member_app, world["a"].id, "hongyun.member.v1.OrganizationRenamed")
    ev = epb.OrganizationRenamed.FromString(payload)
    assert (ev.old_name, ev.new_name) == ("第二支部", "第二支部（新）")


# ---- scope and tenancy ----


async def test_other_tenant_and_out_of_scope_secretary_see_not_found(org_stub, world):
    adm_b = world["adm_b"]
    for method, req in [
        (org_stub.RenameOrganization, opb.RenameOrganizationRequest(id=world["br2"].id, name="x")),
        (org_stub.MoveOrganization, opb.MoveOrganizationRequest(
            id=world["br2"].id, new_parent_id=world["br3"].id)),
        (org_stub.DissolveOrganization, opb.DissolveOrganizationRequest(id=world["br3"].id)),
        (org_stub.ListOrganizationHistory, opb.ListOrganizationHistoryRequest(id=world["br2"].id)),
        (org_stub.GetOrganizationHealth, opb.GetOrganizationHealthRequest(id=world["br2"].id)),
        (org_stub.GetOrganizationTree, opb.GetOrganizationTreeRequest(root_id=world["root"].id)),
        (org_stub.ListCommitteeTerms, opb.ListCommitteeTermsRequest(
            organization_id=world["br2"].id)),
    ]:  # fmt: skip
        err = await fails(method, req, adm_b)
        assert err.code() == grpc.StatusCode.NOT_FOUND, method

    # B's admin cannot move its own organisation under one of A's either.
    err = await fails(org_stub.MoveOrganization, opb.MoveOrganizationRequest(
        id=world["root_b"].id, new_parent_id=world["br2"].id), adm_b)  # fmt: skip
    assert err.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.FAILED_PRECONDITION)

    sec = secretary(world["a"].id, world["x"].id)  # 总支 X: X, br1, g
    err = await fails(org_stub.RenameOrganization, opb.RenameOrganizationRequest(
        id=world["br2"].id, name="越权"), sec)  # fmt: skip
    assert err.code() == grpc.StatusCode.NOT_FOUND
    err = await fails(org_stub.MoveOrganization, opb.MoveOrganizationRequest(
        id=world["g"].id, new_parent_id=world["br2"].id), sec)  # fmt: skip
    assert err.code() == grpc.StatusCode.NOT_FOUND  # target outside the scope
    err = await fails(org_stub.GetOrganizationHealth, opb.GetOrganizationHealthRequest(
        id=world["br2"].id), sec)  # fmt: skip
    assert err.code() == grpc.StatusCode.NOT_FOUND
    # Their own scope root: visible, but theirs to change only by the level above.
    err = await fails(org_stub.DissolveOrganization, opb.DissolveOrganizationRequest(
        id=world["x"].id), sec)  # fmt: skip
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    assert code_of(err) == "scope_root_protected"
    err = await fails(org_stub.MoveOrganization, opb.MoveOrganizationRequest(
        id=world["x"].id, new_parent_id=world["root"].id), sec)  # fmt: skip
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    # The secretary's tree defaults to their subtree.
    assert set(await tree(org_stub, sec)) == {world["x"].id, world["br1"].id, world["g"].id}


async def test_members_have_no_organisation_rights(org_stub, world):
    member = CallerContext(user_id="m1", tenant_id=uuid.UUID(world["a"].id),
                           roles=frozenset({ROLE_MEMBER}))  # fmt: skip
    err = await fails(org_stub.RenameOrganization, opb.RenameOrganizationRequest(
        id=world["br2"].id, name="x"), member)  # fmt: skip
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    err = await fails(org_stub.GetOrganizationTree, opb.GetOrganizationTreeRequest(), member)
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_root_cannot_be_moved_merged_or_dissolved(org_stub, world):
    adm = world["adm"]
    for method, req in [
        (org_stub.MoveOrganization, opb.MoveOrganizationRequest(
            id=world["root"].id, new_parent_id=world["br2"].id)),
        (org_stub.DissolveOrganization, opb.DissolveOrganizationRequest(id=world["root"].id)),
        (org_stub.MergeOrganization, opb.MergeOrganizationRequest(
            id=world["root"].id, target_id=world["br2"].id)),
    ]:  # fmt: skip
        err = await fails(method, req, adm)
        assert err.code() == grpc.StatusCode.FAILED_PRECONDITION, method


# ---- merge and dissolve ----


async def test_merge_moves_members_and_children_and_ends_the_source(
    org_stub, member_stub, world, member_app
):
    adm, br1, br2, g = world["adm"], world["br1"], world["br2"], world["g"]
    br1_members = {world["members"][s].id for s in (401, 402, 403)}
    err = await fails(org_stub.MergeOrganization, opb.MergeOrganizationRequest(
        id=world["x"].id, target_id=g.id), adm)  # fmt: skip
    assert code_of(err) == "org_merge_cycle"

    resp = await call(org_stub.MergeOrganization, opb.MergeOrganizationRequest(
        id=br1.id, target_id=br2.id, reason="两支部合并"), adm)  # fmt: skip
    assert resp.moved_members == 3 and resp.moved_child_organizations == 1
    assert resp.source.status == opb.ORGANIZATION_STATUS_MERGED
    assert resp.source.merged_into_id == br2.id and resp.target.organization_id == br2.id

    for mid in br1_members:
        m = (await call(member_stub.GetMember, pb.GetMemberRequest(id=mid), adm)).member
        assert m.organization_id == br2.id and m.version == 2
    got = await call(member_stub.GetOrganization, pb.GetOrganizationRequest(id=g.id), adm)
    assert got.organization.parent_id == br2.id and got.organization.depth == 3
    err = await fails(member_stub.GetOrganization, pb.GetOrganizationRequest(id=br1.id), adm)
    assert err.code() == grpc.StatusCode.NOT_FOUND  # merged away: history only
    history = (await call(org_stub.ListOrganizationHistory, opb.ListOrganizationHistoryRequest(
        id=br1.id), adm)).versions  # fmt: skip
    assert history[-1].change == opb.ORGANIZATION_CHANGE_MERGED
    assert history[-1].reason == "两支部合并"
    yesterday = await tree(org_stub, adm, as_of=days_ago(1))
    assert yesterday[g.id][0] == br1.id and br1.id in yesterday
    assert br1.id not in await tree(org_stub, adm)

    (payload,) = await events(member_app, world["a"].id, "hongyun.member.v1.OrganizationsMerged")
    ev = epb.OrganizationsMerged.FromString(payload)
    assert (ev.source_organization_id, ev.target_organization_id) == (br1.id, br2.id)
    assert ev.moved_members == 3 and list(ev.moved_child_organization_ids) == [g.id]


async def test_dissolve_only_when_empty(org_stub, member_stub, world, member_app):
    adm = world["adm"]
    err = await fails(org_stub.DissolveOrganization, opb.DissolveOrganizationRequest(
        id=world["br2"].id), adm)  # fmt: skip
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION and code_of(err) == "org_not_empty"
    assert "党员" in err.details() and "members" in err.details()

    empty = (await call(member_stub.CreateOrganization, pb.CreateOrganizationRequest(
        parent_id=world["root"].id, name="临时支部", type=pb.ORGANIZATION_TYPE_BRANCH), adm)
    ).organization  # fmt: skip
    v = (await call(org_stub.DissolveOrganization, opb.DissolveOrganizationRequest(
        id=empty.id, reason="撤销"), adm)).organization  # fmt: skip
    assert v.status == opb.ORGANIZATION_STATUS_DISSOLVED
    err = await fails(member_stub.CreateMember, pb.CreateMemberRequest(
        organization_id=empty.id, profile=profile(499)), adm)  # fmt: skip
    assert err.code() == grpc.StatusCode.NOT_FOUND
    again = await call(member_stub.CreateOrganization, pb.CreateOrganizationRequest(
        parent_id=world["root"].id, name="临时支部", type=pb.ORGANIZATION_TYPE_BRANCH), adm)  # fmt: skip
    assert again.organization.id != empty.id  # the name is free again
    (payload,) = await events(member_app, world["a"].id, "hongyun.member.v1.OrganizationDissolved")
    assert epb.OrganizationDissolved.FromString(payload).organization_id == empty.id


# ---- rules ----


async def test_rules_national_override_and_inheritance(rule_stub, member_stub, world):
    adm = world["adm"]
    listed = (await call(rule_stub.ListRules, rules_pb2.ListRulesRequest(), adm)).rules
    by_key = {r.key: r for r in listed}
    assert by_key["org.branch.min_full_members"].value_json == "3"
    assert by_key["org.branch.max_members"].source == rules_pb2.RULE_SOURCE_NATIONAL
    assert "支部工作条例" in by_key["org.branch.min_full_members"].citation
    assert by_key["org.committee.term_reminder_months"].value_json == "[6,1]"

    child = (await call(member_stub.CreateTenant, pb.CreateTenantRequest(
        name="甲下属", code=f"oc-{uuid.uuid4().hex[:8]}", parent_id=world["a"].id),
        PLATFORM_ADMIN)).tenant  # fmt: skip
    set_ = await call(rule_stub.SetRuleOverride, rules_pb2.SetRuleOverrideRequest(
        key="org.branch.max_members", value_json="40", citation="某省委组织部〔2026〕1号"), adm)  # fmt: skip
    assert set_.rule.value_json == "40" and set_.rule.source == rules_pb2.RULE_SOURCE_TENANT
    assert set_.rule.national_value_json == "50"

    inherited = (await call(rule_stub.GetRule, rules_pb2.GetRuleRequest(
        key="org.branch.max_members"), tenant_admin(child.id))).rule  # fmt: skip
    assert inherited.value_json == "40" and inherited.source == rules_pb2.RULE_SOURCE_INHERITED
    assert inherited.source_tenant_id == world["a"].id
    assert inherited.citation == "某省委组织部〔2026〕1号"
    own = (await call(rule_stub.SetRuleOverride, rules_pb2.SetRuleOverrideRequest(
        key="org.branch.max_members", value_json="45", citation="本单位规定"),
        tenant_admin(child.id))).rule  # fmt: skip
    assert own.value_json == "45" and own.source == rules_pb2.RULE_SOURCE_TENANT
    # Sibling tenant B and the past are untouched.
    b_rule = (await call(rule_stub.GetRule, rules_pb2.GetRuleRequest(
        key="org.branch.max_members"), world["adm_b"])).rule  # fmt: skip
    assert b_rule.value_json == "50" and b_rule.source == rules_pb2.RULE_SOURCE_NATIONAL
    past = (await call(rule_stub.GetRule, rules_pb2.GetRuleRequest(
        key="org.branch.max_members", as_of=days_ago(1)), adm)).rule  # fmt: skip
    assert past.value_json == "50"

    # Deleting the parent's override: the child keeps its own, the parent is national again.
    back = (await call(rule_stub.DeleteRuleOverride, rules_pb2.DeleteRuleOverrideRequest(
        key="org.branch.max_members", reason="撤回"), adm)).rule  # fmt: skip
    assert back.source == rules_pb2.RULE_SOURCE_NATIONAL
    still = (await call(rule_stub.GetRule, rules_pb2.GetRuleRequest(
        key="org.branch.max_members"), tenant_admin(child.id))).rule  # fmt: skip
    assert still.value_json == "45"


async def test_rule_overrides_are_validated_and_for_tenant_admins_only(rule_stub, world):
    adm = world["adm"]
    err = await fails(rule_stub.SetRuleOverride, rules_pb2.SetRuleOverrideRequest(
        key="org.branch.committee_size", value_json='{"min":5,"max":3,"hard_max":7}',
        citation="x"), adm)  # fmt: skip
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and code_of(err) == "invalid_rule_value"
    err = await fails(rule_stub.SetRuleOverride, rules_pb2.SetRuleOverrideRequest(
        key="org.branch.max_members", value_json="40", citation=""), adm)  # fmt: skip
    assert code_of(err) == "citation_required"
    err = await fails(rule_stub.SetRuleOverride, rules_pb2.SetRuleOverrideRequest(
        key="org.unknown", value_json="1", citation="x"), adm)  # fmt: skip
    assert err.code() == grpc.StatusCode.NOT_FOUND
    sec = secretary(world["a"].id, world["x"].id)
    err = await fails(rule_stub.SetRuleOverride, rules_pb2.SetRuleOverrideRequest(
        key="org.branch.max_members", value_json="40", citation="x"), sec)  # fmt: skip
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    seen = (await call(rule_stub.ListRules, rules_pb2.ListRulesRequest(key_prefix="org.branch."), sec)).rules  # fmt: skip
    assert seen and all(r.key.startswith("org.branch.") for r in seen)


async def test_rule_rows_are_isolated_by_row_level_security(rule_stub, world, module_database):
    await call(rule_stub.SetRuleOverride, rules_pb2.SetRuleOverrideRequest(
        key="org.branch.min_full_members", value_json="4", citation="甲的规定",
        effective_from="2030-01-01"), world["adm"])  # fmt: skip
    db = Database(module_database.app_url)
    try:
        async with db.unit_of_work(uuid.UUID(world["b"].id)) as uow:
            seen = set(
                (await uow.session.execute(text("SELECT tenant_id FROM member.rules"))).scalars()
            )
        assert uuid.UUID(world["a"].id) not in seen and None in seen
        with pytest.raises(DBAPIError, match="row-level security"):
            async with db.unit_of_work(uuid.UUID(world["b"].id)) as uow:
                await uow.session.execute(text(
                    "INSERT INTO member.rules (id, key, tenant_id, value, citation, effective_from) "
                    "VALUES (gen_random_uuid(), 'org.branch.max_members', NULL, '1', 'forged', "
                    "'2020-01-01')"))  # fmt: skip
        async with db.unit_of_work(uuid.UUID(world["b"].id)) as uow:
            changed = (await uow.session.execute(
                text("UPDATE member.rules SET citation = 'forged'"))).rowcount  # fmt: skip
        assert changed == 0  # national rows are read-only for tenants
    finally:
        await db.dispose()


# ---- health ----


async def test_health_warns_with_rule_value_and_citation(org_stub, rule_stub, member_stub, world):
    adm = world["adm"]
    branch = (await call(member_stub.CreateOrganization, pb.CreateOrganizationRequest(
        parent_id=world["root"].id, name="小支部", type=pb.ORGANIZATION_TYPE_BRANCH), adm)
    ).organization  # fmt: skip
    for seq in (451, 452):
        await call(member_stub.CreateMember, pb.CreateMemberRequest(
            organization_id=branch.id, profile=profile(seq)), adm)  # fmt: skip
    await call(member_stub.CreateMember, pb.CreateMemberRequest(
        organization_id=branch.id, profile=profile(
            453, category=pb.MEMBER_CATEGORY_PROBATIONARY, converted_on="")), adm)  # fmt: skip
    h = await call(org_stub.GetOrganizationHealth, opb.GetOrganizationHealthRequest(
        id=branch.id), adm)  # fmt: skip
    assert (h.full_members, h.members) == (2, 3)
    (w,) = h.warnings
    assert w.code == "branch_too_few_full_members"
    assert w.rule.key == "org.branch.min_full_members" and w.rule.value_json == "3"
    assert "支部工作条例" in w.rule.citation and "正式党员 2 名" in w.message_zh
    assert "2 full members" in w.message_en

    await call(rule_stub.SetRuleOverride, rules_pb2.SetRuleOverrideRequest(
        key="org.branch.min_full_members", value_json="2", citation="试点"), adm)  # fmt: skip
    h = await call(org_stub.GetOrganizationHealth, opb.GetOrganizationHealthRequest(
        id=branch.id), adm)  # fmt: skip
    assert list(h.warnings) == []
    await call(rule_stub.DeleteRuleOverride, rules_pb2.DeleteRuleOverrideRequest(
        key="org.branch.min_full_members"), adm)  # fmt: skip


# ---- committee terms and reminders ----


async def test_committee_terms_from_rules(org_stub, world):
    adm = world["adm"]
    term = (await call(org_stub.RecordCommitteeTerm, opb.RecordCommitteeTermRequest(
        organization_id=world["br3"].id, unit_kind=opb.COMMITTEE_UNIT_KIND_OTHER,
        started_on="2024-02-29", committee_members=5), adm)).term  # fmt: skip
    assert (term.term_years, term.ends_on) == (3, "2027-02-28")
    assert "支部工作条例" in term.rule_citation
    village = (await call(org_stub.RecordCommitteeTerm, opb.RecordCommitteeTermRequest(
        organization_id=world["root"].id,
        unit_kind=opb.COMMITTEE_UNIT_KIND_VILLAGE_COMMUNITY, started_on="2023-03-31"), adm)).term  # fmt: skip
    assert (village.term_years, village.ends_on) == (5, "2028-03-31")
    err = await fails(org_stub.RecordCommitteeTerm, opb.RecordCommitteeTermRequest(
        organization_id=world["br3"].id, unit_kind=opb.COMMITTEE_UNIT_KIND_OTHER,
        started_on="2024-02-29"), adm)  # fmt: skip
    assert err.code() == grpc.StatusCode.ALREADY_EXISTS
    err = await fails(org_stub.RecordCommitteeTerm, opb.RecordCommitteeTermRequest(
        organization_id=world["g"].id, unit_kind=opb.COMMITTEE_UNIT_KIND_OTHER,
        started_on="2024-01-01"), adm)  # fmt: skip
    assert code_of(err) == "org_type_has_no_committee"
    err = await fails(org_stub.RecordCommitteeTerm, opb.RecordCommitteeTermRequest(
        organization_id=world["br3"].id, unit_kind=opb.COMMITTEE_UNIT_KIND_OTHER,
        started_on="2015-01-01"), adm)  # fmt: skip
    assert code_of(err) == "rule_missing"  # before the regulation: give term_years
    old = (await call(org_stub.RecordCommitteeTerm, opb.RecordCommitteeTermRequest(
        organization_id=world["br3"].id, unit_kind=opb.COMMITTEE_UNIT_KIND_OTHER,
        started_on="2015-01-01", term_years=2), adm)).term  # fmt: skip
    assert old.ends_on == "2017-01-01" and old.rule_citation
    listed = (await call(org_stub.ListCommitteeTerms, opb.ListCommitteeTermsRequest(
        organization_id=world["br3"].id), adm)).terms  # fmt: skip
    assert [t.started_on for t in listed] == ["2024-02-29", "2015-01-01"]
    # The secretary records their own branch's term (their scope root).
    sec = secretary(world["a"].id, world["br3"].id)
    mine = await call(org_stub.RecordCommitteeTerm, opb.RecordCommitteeTermRequest(
        organization_id=world["br3"].id, unit_kind=opb.COMMITTEE_UNIT_KIND_OTHER,
        started_on=TODAY.isoformat()), sec)  # fmt: skip
    assert mine.term.organization_id == world["br3"].id


async def test_reminders_are_sent_once_each(org_stub, member_stub, world, member_app):
    adm = world["adm"]
    branch = (await call(member_stub.CreateOrganization, pb.CreateOrganizationRequest(
        parent_id=world["root"].id, name="换届支部", type=pb.ORGANIZATION_TYPE_BRANCH), adm)
    ).organization  # fmt: skip
    # A ten-year term entered by hand ends far from the real today, so only injected days count.
    started = TODAY - timedelta(days=30)
    term = (await call(org_stub.RecordCommitteeTerm, opb.RecordCommitteeTermRequest(
        organization_id=branch.id, unit_kind=opb.COMMITTEE_UNIT_KIND_OTHER,
        started_on=started.isoformat(), term_years=10), adm)).term  # fmt: skip
    ends = date.fromisoformat(term.ends_on)
    job = member_app.term_reminders

    async def reminders_for_term() -> list[epb.CommitteeTermEnding]:
        found = [epb.CommitteeTermEnding.FromString(p) for p in await events(
            member_app, world["a"].id, "hongyun.member.v1.CommitteeTermEnding")]  # fmt: skip
        return [e for e in found if e.term_id == term.id]

    await job.run_once(today=add_months(ends, -6) - timedelta(days=1))
    assert await reminders_for_term() == []
    six = add_months(ends, -6)
    await asyncio.gather(job.run_once(today=six), job.run_once(today=six))  # concurrent runs
    await job.run_once(today=six + timedelta(days=3))  # a rerun
    (first,) = await reminders_for_term()
    assert (first.months_before, first.ends_on, first.remind_on) == (
        6,
        term.ends_on,
        six.isoformat(),
    )
    assert first.days_remaining == (ends - six).days and first.organization_id == branch.id

    one = add_months(ends, -1)
    await job.run_once(today=one)
    await job.run_once(today=one)
    got = await reminders_for_term()
    assert [e.months_before for e in got] == [6, 1]
    await job.run_once(today=ends)  # the term has ended: nothing more
    assert len(await reminders_for_term()) == 2


async def test_a_late_term_skips_the_overtaken_reminder(org_stub, member_stub, world, member_app):
    adm = world["adm"]
    branch = (await call(member_stub.CreateOrganization, pb.CreateOrganizationRequest(
        parent_id=world["root"].id, name="迟录支部", type=pb.ORGANIZATION_TYPE_BRANCH), adm)
    ).organization  # fmt: skip
    term = (await call(org_stub.RecordCommitteeTerm, opb.RecordCommitteeTermRequest(
        organization_id=branch.id, unit_kind=opb.COMMITTEE_UNIT_KIND_OTHER,
        started_on=(TODAY - timedelta(days=1)).isoformat(), term_years=9), adm)).term  # fmt: skip
    ends = date.fromisoformat(term.ends_on)
    await member_app.term_reminders.run_once(today=ends - timedelta(days=10))
    await member_app.term_reminders.run_once(today=ends - timedelta(days=5))
    found = [epb.CommitteeTermEnding.FromString(p) for p in await events(
        member_app, world["a"].id, "hongyun.member.v1.CommitteeTermEnding")]  # fmt: skip
    assert [e.months_before for e in found if e.term_id == term.id] == [1]
