"""The rolled-up member counts (docs/adr/0013) agree with a direct count of the members table
after every kind of write: registration, status and flag changes, moving a member, moving a
subtree, merging an organisation, deleting a member — and stay inside their tenant."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest
from hongyun.member.v1 import member_pb2 as pb
from hongyun.member.v1 import member_stats_pb2 as spb
from hongyun.member.v1 import member_stats_pb2_grpc, organization_admin_pb2_grpc
from hongyun.member.v1 import organization_admin_pb2 as opb
from sqlalchemy import text

from ..conftest import PLATFORM_ADMIN, tenant_admin
from .test_member_api import call, profile

pytestmark = pytest.mark.integration

# Ground truth as the superuser (no row-level security): members of every organisation's
# subtree, per counted key.
DIRECT = """
SELECT o.id, m.party_status, m.category, m.lost_contact, m.floating, count(*)
FROM member.organizations o
JOIN member.organizations d ON d.path <@ o.path
JOIN member.members m ON m.organization_id = d.id
WHERE o.tenant_id = '{t}' GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
"""
ROLLED_UP = """
SELECT organization_id, party_status, category, lost_contact, floating, n
FROM member.org_member_counts WHERE tenant_id = '{t}' AND n <> 0 ORDER BY 1, 2, 3, 4, 5
"""


@pytest.fixture(scope="module")
async def stubs(member_app):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{member_app.port}") as channel:
        yield (
            member_stats_pb2_grpc.MemberStatsServiceStub(channel),
            organization_admin_pb2_grpc.OrganizationAdminServiceStub(channel),
        )


def assert_rollup_matches(owner_sql, tenant_id: str) -> None:
    direct = owner_sql(DIRECT.format(t=tenant_id))
    assert direct.strip(), "the scenario has members"
    assert owner_sql(ROLLED_UP.format(t=tenant_id)) == direct


async def test_rollup_follows_every_write(member_stub, stubs, owner_sql, member_app):
    stats, orgs = stubs
    code = uuid.uuid4().hex[:6]
    t = (await call(member_stub.CreateTenant, pb.CreateTenantRequest(
        name="计数", code=f"cnt-{code}"), PLATFORM_ADMIN)).tenant  # fmt: skip
    other = (await call(member_stub.CreateTenant, pb.CreateTenantRequest(
        name="别家", code=f"cnt-o-{code}"), PLATFORM_ADMIN)).tenant  # fmt: skip
    adm = tenant_admin(t.id)

    async def org(name, type_, parent="", caller=adm):
        return (await call(member_stub.CreateOrganization, pb.CreateOrganizationRequest(
            parent_id=parent, name=name, type=type_), caller)).organization  # fmt: skip

    async def member(seq, where, caller=adm, **kw):
        return (await call(member_stub.CreateMember, pb.CreateMemberRequest(
            organization_id=where.id, profile=profile(seq, **kw)), caller)).member  # fmt: skip

    async def total(org_id=""):
        return (await call(stats.CountMembers, spb.CountMembersRequest(
            organization_id=org_id), adm)).total  # fmt: skip

    root = await org("党委", pb.ORGANIZATION_TYPE_COMMITTEE)
    x = await org("总支", pb.ORGANIZATION_TYPE_GENERAL_BRANCH, root.id)
    a = await org("甲支部", pb.ORGANIZATION_TYPE_BRANCH, x.id)
    b = await org("乙支部", pb.ORGANIZATION_TYPE_BRANCH, root.id)
    c = await org("丙支部", pb.ORGANIZATION_TYPE_BRANCH, root.id)
    m1 = await member(501, a)
    await member(502, a, category=pb.MEMBER_CATEGORY_PROBATIONARY, converted_on="")
    await member(503, b, floating=True, floating_destination="上海")
    m4 = await member(504, c)
    root_o = await org("别家党委", pb.ORGANIZATION_TYPE_COMMITTEE, caller=tenant_admin(other.id))
    await member(505, root_o, caller=tenant_admin(other.id))
    assert_rollup_matches(owner_sql, t.id)
    assert (await total(), await total(x.id), await total(a.id)) == (4, 2, 2)

    # A status change and a member moved to another branch.
    await call(member_stub.UpdateMember, pb.UpdateMemberRequest(
        id=m1.id, profile=pb.MemberProfile(party_status=pb.PARTY_STATUS_RETAINED),
        update_mask=["party_status"]), adm)  # fmt: skip
    await call(member_stub.UpdateMember, pb.UpdateMemberRequest(
        id=m4.id, organization_id=b.id, update_mask=["organization_id"]), adm)  # fmt: skip
    assert_rollup_matches(owner_sql, t.id)
    retained = await call(stats.CountMembers, spb.CountMembersRequest(organization_id=x.id), adm)
    assert {s.party_status: s.count for s in retained.by_status} == {
        pb.PARTY_STATUS_RETAINED: 1,
        pb.PARTY_STATUS_NORMAL: 1,
    }
    assert (await total(b.id), await total(c.id)) == (2, 0)

    # A subtree moved: 总支 (with 甲支部's two members) goes under 乙支部's parent's sibling 丙.
    await call(orgs.MoveOrganization, opb.MoveOrganizationRequest(
        id=x.id, new_parent_id=c.id, reason="调整"), adm)  # fmt: skip
    assert_rollup_matches(owner_sql, t.id)
    assert (await total(c.id), await total(root.id)) == (2, 4)

    # A merge moves 乙支部's members into 甲支部 (now under 丙).
    await call(orgs.MergeOrganization, opb.MergeOrganizationRequest(
        id=b.id, target_id=a.id, reason="合并"), adm)  # fmt: skip
    assert_rollup_matches(owner_sql, t.id)
    assert (await total(a.id), await total(c.id), await total(root.id)) == (4, 4, 4)

    # A member deleted (no API deletes members yet; the trigger keeps counts right anyway).
    gone = await member(506, c, party_status=pb.PARTY_STATUS_RETAINED)
    assert await total(c.id) == 5
    async with member_app.db.unit_of_work(uuid.UUID(t.id)) as uow:
        await uow.session.execute(
            text("DELETE FROM member.members WHERE id = :id"), {"id": uuid.UUID(gone.id)}
        )
    assert_rollup_matches(owner_sql, t.id)
    assert (await total(), await total(c.id)) == (4, 4)

    # The other tenant's counts are its own, and its rows are invisible here.
    assert_rollup_matches(owner_sql, other.id)
    async with member_app.db.unit_of_work(uuid.UUID(t.id)) as uow:
        seen = await uow.session.execute(
            text("SELECT DISTINCT tenant_id FROM member.org_member_counts")
        )
        assert {str(r[0]) for r in seen} == {t.id}


async def test_a_count_row_for_another_tenant_is_refused(member_app, owner_sql):
    """Row-level security checks the counts' tenant like any other write: the runtime role
    cannot plant counts in another tenant."""
    with pytest.raises(Exception, match="row-level security"):
        async with member_app.db.unit_of_work(uuid.uuid4()) as uow:
            await uow.session.execute(
                text(
                    "INSERT INTO member.org_member_counts VALUES "
                    "(gen_random_uuid(), 1, 1, false, false, gen_random_uuid(), 1)"
                )
            )


async def test_concurrent_writes_keep_the_rollup_exact(member_stub, stubs, owner_sql):
    """Registrations in several branches, status changes and member moves at the same time
    all upsert the shared ancestors' rows (keys in one order): none fails, none is lost."""
    stats, _orgs = stubs
    t = (await call(member_stub.CreateTenant, pb.CreateTenantRequest(
        name="并发计数", code=f"cnt-c-{uuid.uuid4().hex[:6]}"), PLATFORM_ADMIN)).tenant  # fmt: skip
    adm = tenant_admin(t.id)
    root = (await call(member_stub.CreateOrganization, pb.CreateOrganizationRequest(
        name="党委", type=pb.ORGANIZATION_TYPE_COMMITTEE), adm)).organization  # fmt: skip
    branches = [
        (await call(member_stub.CreateOrganization, pb.CreateOrganizationRequest(
            parent_id=root.id, name=f"第{i}支部", type=pb.ORGANIZATION_TYPE_BRANCH), adm)).organization
        for i in range(4)
    ]  # fmt: skip

    async def register(seq: int):
        return (await call(member_stub.CreateMember, pb.CreateMemberRequest(
            organization_id=branches[seq % 4].id, profile=profile(600 + seq)), adm)).member  # fmt: skip

    first = await asyncio.gather(*(register(i) for i in range(12)))

    async def change(m, i: int):
        if i % 2:
            req = pb.UpdateMemberRequest(id=m.id, organization_id=branches[(i + 1) % 4].id,
                                         update_mask=["organization_id"])  # fmt: skip
        else:
            req = pb.UpdateMemberRequest(id=m.id, update_mask=["party_status"],
                profile=pb.MemberProfile(party_status=pb.PARTY_STATUS_RETAINED))  # fmt: skip
        await call(member_stub.UpdateMember, req, adm)

    await asyncio.gather(
        *(register(i) for i in range(12, 24)), *(change(m, i) for i, m in enumerate(first))
    )
    assert_rollup_matches(owner_sql, t.id)
    whole = await call(stats.CountMembers, spb.CountMembersRequest(), adm)
    assert whole.total == 24
    assert {s.party_status: s.count for s in whole.by_status} == {
        pb.PARTY_STATUS_NORMAL: 18,
        pb.PARTY_STATUS_RETAINED: 6,
    }
