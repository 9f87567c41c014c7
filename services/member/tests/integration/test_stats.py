"""Member counts by status and category, inside the caller's data scope."""

from __future__ import annotations

import uuid

import grpc
import pytest
from hongyun.member.v1 import member_pb2 as pb
from hongyun.member.v1 import member_stats_pb2 as spb
from hongyun.member.v1 import member_stats_pb2_grpc

from ..conftest import PLATFORM_ADMIN, secretary, tenant_admin
from .test_member_api import call, profile

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def stats_stub(member_app):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{member_app.port}") as channel:
        yield member_stats_pb2_grpc.MemberStatsServiceStub(channel)


async def test_counts_follow_subtree_and_scope(member_stub, stats_stub):
    t = (await call(member_stub.CreateTenant, pb.CreateTenantRequest(
        name="统计", code=f"stats-{uuid.uuid4().hex[:6]}"), PLATFORM_ADMIN)).tenant  # fmt: skip
    adm = tenant_admin(t.id)
    root = (await call(member_stub.CreateOrganization, pb.CreateOrganizationRequest(
        name="党委", type=pb.ORGANIZATION_TYPE_COMMITTEE), adm)).organization  # fmt: skip
    a, b = [
        (await call(member_stub.CreateOrganization, pb.CreateOrganizationRequest(
            parent_id=root.id, name=n, type=pb.ORGANIZATION_TYPE_BRANCH), adm)).organization
        for n in ("甲支部", "乙支部")
    ]  # fmt: skip
    specs = [(a, 300, {}), (a, 301, {"category": pb.MEMBER_CATEGORY_PROBATIONARY, "converted_on": ""}),
             (a, 302, {"party_status": pb.PARTY_STATUS_RETAINED}), (b, 303, {"floating": True, "floating_destination": "上海"})]  # fmt: skip
    for org, seq, kw in specs:
        await call(
            member_stub.CreateMember,
            pb.CreateMemberRequest(organization_id=org.id, profile=profile(seq, **kw)),
            adm,
        )

    whole = await call(stats_stub.CountMembers, spb.CountMembersRequest(), adm)
    assert whole.total == 4 and whole.floating == 1
    assert {c.category: c.count for c in whole.by_category} == {
        pb.MEMBER_CATEGORY_FULL: 3,
        pb.MEMBER_CATEGORY_PROBATIONARY: 1,
    }
    branch = await call(stats_stub.CountMembers, spb.CountMembersRequest(organization_id=a.id), adm)
    assert branch.total == 3
    assert {s.party_status: s.count for s in branch.by_status} == {
        pb.PARTY_STATUS_NORMAL: 2,
        pb.PARTY_STATUS_RETAINED: 1,
    }
    # A secretary of 乙支部 counts only their branch, and cannot ask about 甲支部.
    sec = secretary(t.id, b.id)
    assert (await call(stats_stub.CountMembers, spb.CountMembersRequest(), sec)).total == 1
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await call(stats_stub.CountMembers, spb.CountMembersRequest(organization_id=a.id), sec)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
