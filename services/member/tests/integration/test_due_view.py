"""The "what is due" view through gRPC against real PostgreSQL: items inside the caller's scope,
earliest first with counts, the rule behind each date, and a tenant override taking effect at
once. (Each lifecycle part tests its own items; this tests the view and committee terms.)"""

from __future__ import annotations

import uuid
from datetime import date

import grpc
import pytest
from hongyun.member.v1 import member_due_pb2 as dpb
from hongyun.member.v1 import (
    member_due_pb2_grpc,
    organization_admin_pb2_grpc,
    rules_pb2,
    rules_pb2_grpc,
)
from hongyun.member.v1 import member_pb2 as pb
from hongyun.member.v1 import organization_admin_pb2 as opb
from hongyun_platform.grpc.context import ROLE_MEMBER, CallerContext
from member_service.domain.dates import add_months, add_years, china_today

from ..conftest import PLATFORM_ADMIN, secretary, tenant_admin

pytestmark = pytest.mark.integration

TODAY = china_today()
TERMS = dpb.DUE_KIND_COMMITTEE_TERM


async def call(method, request, caller):
    return await method(request, metadata=caller.to_metadata(), timeout=10)


async def fails(method, request, caller) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await call(method, request, caller)
    return e.value


@pytest.fixture(scope="module")
async def stubs(member_app):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{member_app.port}") as channel:
        yield (
            member_due_pb2_grpc.DueServiceStub(channel),
            organization_admin_pb2_grpc.OrganizationAdminServiceStub(channel),
            rules_pb2_grpc.RuleServiceStub(channel),
        )


@pytest.fixture(scope="module")
async def world(member_stub, stubs, owner_sql):
    """Tenant A: root → {总支 x → 支部 br1 (term ended 2023: overdue), 支部 br2 (ends in two
    months)}, 支部 br3 (new term: not due), 支部 br4 (old term replaced by a new one); tenant B."""
    _, orgs, _ = stubs
    code = uuid.uuid4().hex[:8]
    a = (await call(member_stub.CreateTenant, pb.CreateTenantRequest(
        name="甲", code=f"due-a-{code}"), PLATFORM_ADMIN)).tenant  # fmt: skip
    b = (await call(member_stub.CreateTenant, pb.CreateTenantRequest(
        name="乙", code=f"due-b-{code}"), PLATFORM_ADMIN)).tenant  # fmt: skip
    adm = tenant_admin(a.id)

    async def org(name, type_, parent=""):
        return (await call(member_stub.CreateOrganization, pb.CreateOrganizationRequest(
            parent_id=parent, name=name, type=type_), adm)).organization  # fmt: skip

    root = await org("甲党委", pb.ORGANIZATION_TYPE_COMMITTEE)
    x = await org("机关总支", pb.ORGANIZATION_TYPE_GENERAL_BRANCH, root.id)
    br1 = await org("第一支部", pb.ORGANIZATION_TYPE_BRANCH, x.id)
    br2 = await org("第二支部", pb.ORGANIZATION_TYPE_BRANCH, x.id)
    br3 = await org("第三支部", pb.ORGANIZATION_TYPE_BRANCH, root.id)
    br4 = await org("第四支部", pb.ORGANIZATION_TYPE_BRANCH, root.id)
    owner_sql(
        f"UPDATE member.organizations SET established_on = '2019-01-01' WHERE tenant_id = '{a.id}'"
    )

    async def term(o, started: date):
        return (await call(orgs.RecordCommitteeTerm, opb.RecordCommitteeTermRequest(
            organization_id=o.id, unit_kind=opb.COMMITTEE_UNIT_KIND_OTHER,
            started_on=started.isoformat()), adm)).term  # fmt: skip

    t1 = await term(br1, date(2020, 1, 1))  # 3 years: ended 2023-01-01
    t2 = await term(br2, add_months(TODAY, -34))  # ends in two months
    await term(br3, add_months(TODAY, -1))
    await term(br4, date(2019, 6, 1))
    await term(br4, add_months(TODAY, -2))  # the 2019 term is replaced: nothing due
    return dict(a=a, b=b, adm=adm, root=root, x=x, br1=br1, br2=br2, br3=br3, t1=t1, t2=t2)


def section(resp, kind=TERMS) -> dpb.DueSection:
    (found,) = [s for s in resp.sections if s.kind == kind]
    return found


async def test_admin_sees_the_tenant_earliest_first_with_the_rule(stubs, world):
    due, _, _ = stubs
    resp = await call(due.ListDue, dpb.ListDueRequest(kinds=[TERMS]), world["adm"])
    assert resp.as_of == TODAY.isoformat()
    s = section(resp)
    assert (s.total, s.overdue) == (2, 1)
    assert [i.subject_id for i in s.items] == [world["t1"].id, world["t2"].id]
    first, second = s.items
    assert (first.due_on, first.overdue, first.subject_label) == ("2023-01-01", True, "第一支部")
    assert first.days_left == (date(2023, 1, 1) - TODAY).days < 0
    assert first.organization_id == world["br1"].id
    assert first.rule_key == "org.committee.term_years" and "支部工作条例" in first.rule_citation
    assert first.rule_source == "national" and "2020-01-01" in first.detail
    assert not second.overdue and second.due_on == add_years(add_months(TODAY, -34), 3).isoformat()
    # The limit cuts the list, not the counts.
    s = section(await call(due.ListDue, dpb.ListDueRequest(kinds=[TERMS], limit=1), world["adm"]))
    assert (len(s.items), s.total, s.overdue) == (1, 2, 1)


async def test_secretary_sees_only_their_subtree(stubs, world):
    due, _, _ = stubs
    a = world["a"].id
    s = section(await call(due.ListDue, dpb.ListDueRequest(), secretary(a, world["x"].id)))
    assert s.total == 2  # br1 and br2 are under the general branch
    s = section(await call(due.ListDue, dpb.ListDueRequest(), secretary(a, world["br3"].id)))
    assert (s.total, list(s.items)) == (0, [])
    err = await fails(due.ListDue, dpb.ListDueRequest(organization_id=world["br1"].id),
                      secretary(a, world["br3"].id))  # fmt: skip
    assert err.code() == grpc.StatusCode.NOT_FOUND  # outside the scope looks like absent
    s = section(await call(due.ListDue, dpb.ListDueRequest(organization_id=world["br2"].id),
                           world["adm"]))  # fmt: skip
    assert [i.subject_id for i in s.items] == [world["t2"].id]


async def test_other_tenants_and_members_see_nothing(stubs, world):
    due, _, _ = stubs
    s = section(await call(due.ListDue, dpb.ListDueRequest(), tenant_admin(world["b"].id)))
    assert s.total == 0
    err = await fails(due.ListDue, dpb.ListDueRequest(organization_id=world["br1"].id),
                      tenant_admin(world["b"].id))  # fmt: skip
    assert err.code() == grpc.StatusCode.NOT_FOUND
    member = CallerContext(user_id="m1", tenant_id=uuid.UUID(world["a"].id),
                           roles=frozenset({ROLE_MEMBER}))  # fmt: skip
    err = await fails(due.ListDue, dpb.ListDueRequest(), member)
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_bad_requests_are_refused(stubs, world):
    due, _, _ = stubs
    for request in (dpb.ListDueRequest(limit=201), dpb.ListDueRequest(kinds=[99]),
                    dpb.ListDueRequest(organization_id="not-a-uuid")):  # fmt: skip
        err = await fails(due.ListDue, request, world["adm"])
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, request


async def test_a_tenant_override_of_the_reminder_lead_applies_at_once(stubs, world):
    due, _, rules = stubs
    await call(rules.SetRuleOverride, rules_pb2.SetRuleOverrideRequest(
        key="org.committee.term_reminder_months", value_json="[1]",
        citation="本单位规定：提前1个月提醒"), world["adm"])  # fmt: skip
    try:
        s = section(await call(due.ListDue, dpb.ListDueRequest(), world["adm"]))
        assert [i.subject_id for i in s.items] == [world["t1"].id]  # br2 ends in two months
    finally:
        await call(rules.DeleteRuleOverride, rules_pb2.DeleteRuleOverrideRequest(
            key="org.committee.term_reminder_months"), world["adm"])  # fmt: skip


async def test_a_dissolved_organisations_term_is_no_longer_due(stubs, world, member_stub):
    due, orgs, _ = stubs
    adm = world["adm"]
    gone = (await call(member_stub.CreateOrganization, pb.CreateOrganizationRequest(
        parent_id=world["root"].id, name="撤销支部", type=pb.ORGANIZATION_TYPE_BRANCH), adm)
    ).organization  # fmt: skip
    term = (await call(orgs.RecordCommitteeTerm, opb.RecordCommitteeTermRequest(
        organization_id=gone.id, unit_kind=opb.COMMITTEE_UNIT_KIND_OTHER,
        started_on=add_months(TODAY, -40).isoformat()), adm)).term  # fmt: skip
    listed = section(await call(due.ListDue, dpb.ListDueRequest(kinds=[TERMS], limit=200), adm))
    assert term.id in {i.subject_id for i in listed.items}
    await call(orgs.DissolveOrganization, opb.DissolveOrganizationRequest(
        id=gone.id, effective_on=TODAY.isoformat(), reason="撤销"), adm)  # fmt: skip
    after = section(await call(due.ListDue, dpb.ListDueRequest(kinds=[TERMS], limit=200), adm))
    assert term.id not in {i.subject_id for i in after.items}
    assert after.total == listed.total - 1
