"""Nested tenants: provisioning with a root organisation, suspension of a subtree, aggregates."""

from __future__ import annotations

import uuid

import grpc
import pytest
from hongyun.member.v1 import member_pb2 as pb
from hongyun.member.v1 import tenant_admin_pb2 as tpb
from hongyun.member.v1 import tenant_admin_pb2_grpc

from ..conftest import PLATFORM_ADMIN, tenant_admin
from .test_member_api import call, profile

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def admin_stub(member_app):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{member_app.port}") as channel:
        yield tenant_admin_pb2_grpc.TenantAdminServiceStub(channel)


@pytest.fixture(scope="module")
async def province(admin_stub, member_stub):
    code = uuid.uuid4().hex[:6]
    p = await call(admin_stub.ProvisionTenant, tpb.ProvisionTenantRequest(
        name="某省", code=f"prov-{code}", root_organization_name="省委",
        root_organization_type=pb.ORGANIZATION_TYPE_COMMITTEE), PLATFORM_ADMIN)  # fmt: skip
    padm = tenant_admin(p.tenant.id)
    cities = []
    for i in range(2):
        c = await call(admin_stub.ProvisionTenant, tpb.ProvisionTenantRequest(
            name=f"市{i}", code=f"city{i}-{code}", parent_id=p.tenant.id,
            root_organization_name=f"市{i}委", root_organization_type=pb.ORGANIZATION_TYPE_COMMITTEE), padm)  # fmt: skip
        cities.append(c)
    cadm = tenant_admin(cities[0].tenant.id)
    for seq in (201, 202):
        await call(member_stub.CreateMember, pb.CreateMemberRequest(
            organization_id=cities[0].root_organization.id, profile=profile(seq)), cadm)  # fmt: skip
    await call(member_stub.CreateMember, pb.CreateMemberRequest(
        organization_id=cities[1].root_organization.id,
        profile=profile(203, category=pb.MEMBER_CATEGORY_PROBATIONARY, converted_on="")),
        tenant_admin(cities[1].tenant.id))  # fmt: skip
    return dict(p=p, padm=padm, cities=cities, code=code)


async def test_provisioning_creates_child_with_root_and_is_idempotent(
    admin_stub, member_stub, province
):
    p, c0 = province["p"], province["cities"][0]
    assert p.created and c0.created and c0.tenant.parent_id == p.tenant.id
    assert c0.root_organization.tenant_id == c0.tenant.id and c0.root_organization.depth == 1
    again = await call(admin_stub.ProvisionTenant, tpb.ProvisionTenantRequest(
        name="市0", code=f"city0-{province['code']}", parent_id=p.tenant.id), province["padm"])  # fmt: skip
    assert not again.created and again.tenant.id == c0.tenant.id
    assert again.root_organization.id == c0.root_organization.id
    # The same code under another parent is a conflict, not a silent re-use.
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await call(admin_stub.ProvisionTenant, tpb.ProvisionTenantRequest(
            name="x", code=f"city0-{province['code']}", parent_id=c0.tenant.id), tenant_admin(c0.tenant.id))  # fmt: skip
    assert e.value.code() == grpc.StatusCode.ALREADY_EXISTS
    # A tenant the caller cannot see is "not found"; top level needs a platform admin.
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await call(admin_stub.ProvisionTenant, tpb.ProvisionTenantRequest(
            name="x", code=f"x-{province['code']}", parent_id=province["cities"][1].tenant.id),
            tenant_admin(c0.tenant.id))  # fmt: skip
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await call(admin_stub.ProvisionTenant, tpb.ProvisionTenantRequest(name="x", code=f"y-{province['code']}"),
                   province["padm"])  # fmt: skip
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_parent_sees_aggregates_but_not_records(admin_stub, member_stub, province):
    p, (c0, c1) = province["p"], province["cities"]
    agg = await call(
        admin_stub.GetTenantAggregates,
        tpb.GetTenantAggregatesRequest(id=p.tenant.id),
        province["padm"],
    )
    by_id = {a.tenant_id: a for a in agg.tenants}
    assert by_id[c0.tenant.id].members == 2 and by_id[c0.tenant.id].full_members == 2
    assert by_id[c1.tenant.id].probationary_members == 1 and by_id[c1.tenant.id].depth == 1
    assert agg.total.members == 3 and agg.total.organizations == 3
    # The parent's admin acting in its own tenant sees none of the children's member records.
    listed = await call(member_stub.ListMembers, pb.ListMembersRequest(), province["padm"])
    assert list(listed.members) == []
    # A city cannot look up at its province's aggregates.
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await call(
            admin_stub.GetTenantAggregates,
            tpb.GetTenantAggregatesRequest(id=p.tenant.id),
            tenant_admin(c0.tenant.id),
        )
    assert e.value.code() == grpc.StatusCode.NOT_FOUND


async def test_suspend_and_resume_a_subtree(admin_stub, member_stub, province):
    c0, c1 = province["cities"]
    grand = await call(admin_stub.ProvisionTenant, tpb.ProvisionTenantRequest(
        name="县", code=f"county-{province['code']}", parent_id=c0.tenant.id), tenant_admin(c0.tenant.id))  # fmt: skip
    for who, target, code in [
        (tenant_admin(c0.tenant.id), c0.tenant.id, grpc.StatusCode.PERMISSION_DENIED),  # itself
        (tenant_admin(c1.tenant.id), c0.tenant.id, grpc.StatusCode.NOT_FOUND),  # a sibling
        (province["padm"], c0.tenant.id, grpc.StatusCode.INVALID_ARGUMENT),  # no reason
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await call(admin_stub.SuspendTenant, tpb.SuspendTenantRequest(id=target), who)
        assert e.value.code() == code
    done = await call(
        admin_stub.SuspendTenant,
        tpb.SuspendTenantRequest(id=c0.tenant.id, reason="合并整顿"),
        province["padm"],
    )
    assert set(done.affected_tenant_ids) == {c0.tenant.id, grand.tenant.id}
    got = await call(member_stub.GetTenant, pb.GetTenantRequest(id=grand.tenant.id), PLATFORM_ADMIN)
    assert got.tenant.status == pb.TENANT_STATUS_SUSPENDED
    sibling = await call(
        member_stub.GetTenant, pb.GetTenantRequest(id=c1.tenant.id), PLATFORM_ADMIN
    )
    assert sibling.tenant.status == pb.TENANT_STATUS_ACTIVE
    back = await call(
        admin_stub.ResumeTenant, tpb.ResumeTenantRequest(id=c0.tenant.id), province["padm"]
    )
    assert set(back.affected_tenant_ids) == {c0.tenant.id, grand.tenant.id}


async def test_descendant_reader_reads_masked_audited_and_cannot_write(
    member_stub, province, member_app
):
    from hongyun_platform.grpc.context import ROLE_DESCENDANT_READER, CallerContext
    from member_service.repository import Repositories

    p, c0 = province["p"], province["cities"][0]
    reader = CallerContext(
        user_id="prov-reader", tenant_id=uuid.UUID(c0.tenant.id), home_tenant_id=uuid.UUID(p.tenant.id),
        roles=frozenset({"tenant_admin", ROLE_DESCENDANT_READER}),
    )  # fmt: skip
    listed = (await call(member_stub.ListMembers, pb.ListMembersRequest(), reader)).members
    assert len(listed) == 2 and all("*" in m.profile.id_number for m in listed)
    from hongyun.member.v1 import member_stats_pb2, member_stats_pb2_grpc

    async with grpc.aio.insecure_channel(f"127.0.0.1:{member_app.port}") as ch:
        stats = member_stats_pb2_grpc.MemberStatsServiceStub(ch)  # a read-only unit of work
        assert (
            await call(stats.CountMembers, member_stats_pb2.CountMembersRequest(), reader)
        ).total == 2
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await call(
            member_stub.GetMember,
            pb.GetMemberRequest(id=listed[0].id, reveal=True, reveal_reason="核查"),
            reader,
        )
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError):
        await call(member_stub.CreateMember, pb.CreateMemberRequest(
            organization_id=c0.root_organization.id, profile=profile(250)), reader)  # fmt: skip
    after = (
        await call(member_stub.ListMembers, pb.ListMembersRequest(), tenant_admin(c0.tenant.id))
    ).members
    assert len(after) == 2  # the write was refused by the read-only transaction
    async with member_app.db.unit_of_work(uuid.UUID(c0.tenant.id)) as uow:
        entries = await Repositories(uow.session).audit.for_target(
            uuid.UUID(c0.tenant.id), uuid.UUID(c0.tenant.id)
        )
    reads = [e for e in entries if e.action == "cross_tenant_read"]
    assert {e.fields[0] for e in reads} >= {"/hongyun.member.v1.MemberService/ListMembers"}
    assert all(e.actor == "prov-reader" for e in reads)
