"""The member service's gRPC API against a real PostgreSQL and nats-server."""

from __future__ import annotations

import uuid

import grpc
import pytest
from hongyun.member.v1 import member_pb2 as pb
from hongyun_platform.validation import check_character

from ..conftest import PLATFORM_ADMIN, secretary, tenant_admin

pytestmark = pytest.mark.integration


def id_number(seq: int, birth: str = "19800101", region: str = "110105") -> str:
    first17 = f"{region}{birth}{seq:03d}"
    return first17 + check_character(first17)


def profile(seq: int, **kw) -> pb.MemberProfile:
    values = dict(
        name=f"张{seq}", id_number=id_number(seq), category=pb.MEMBER_CATEGORY_FULL,
        joined_on="2005-07-01", converted_on="2006-07-01", mobile_phone="13812345678",
        home_address="广东省深圳市南山区科技园路1号", ethnicity="汉族", education="本科",
    )  # fmt: skip
    values.update(kw)
    return pb.MemberProfile(**values)


async def call(stub_method, request, caller):
    return await stub_method(request, metadata=caller.to_metadata(), timeout=10)


@pytest.fixture(scope="module")
async def world(member_stub):
    """Two tenants; tenant A has root → two branches."""
    code = uuid.uuid4().hex[:8]
    a = (
        await call(
            member_stub.CreateTenant,
            pb.CreateTenantRequest(name="甲", code=f"a-{code}"),
            PLATFORM_ADMIN,
        )
    ).tenant
    b = (
        await call(
            member_stub.CreateTenant,
            pb.CreateTenantRequest(name="乙", code=f"b-{code}"),
            PLATFORM_ADMIN,
        )
    ).tenant
    adm_a, adm_b = tenant_admin(a.id), tenant_admin(b.id)
    root = (
        await call(
            member_stub.CreateOrganization,
            pb.CreateOrganizationRequest(name="甲党委", type=pb.ORGANIZATION_TYPE_COMMITTEE),
            adm_a,
        )
    ).organization
    br1 = (
        await call(
            member_stub.CreateOrganization,
            pb.CreateOrganizationRequest(
                parent_id=root.id, name="第一支部", type=pb.ORGANIZATION_TYPE_BRANCH
            ),
            adm_a,
        )
    ).organization
    br2 = (
        await call(
            member_stub.CreateOrganization,
            pb.CreateOrganizationRequest(
                parent_id=root.id, name="第二支部", type=pb.ORGANIZATION_TYPE_BRANCH
            ),
            adm_a,
        )
    ).organization
    root_b = (
        await call(
            member_stub.CreateOrganization,
            pb.CreateOrganizationRequest(name="乙党委", type=pb.ORGANIZATION_TYPE_COMMITTEE),
            adm_b,
        )
    ).organization
    return dict(a=a, b=b, adm_a=adm_a, adm_b=adm_b, root=root, br1=br1, br2=br2, root_b=root_b)  # fmt: skip


async def test_register_and_read_masked_then_revealed_with_audit(member_stub, world, member_app):
    adm = world["adm_a"]
    created = (await call(member_stub.CreateMember, pb.CreateMemberRequest(
        organization_id=world["br1"].id, profile=profile(1)), adm)).member  # fmt: skip
    assert created.profile.id_number == id_number(1)[:4] + "*" * 10 + id_number(1)[-4:]
    assert created.profile.mobile_phone == "138****5678"
    assert created.profile.gender == pb.GENDER_MALE  # derived from the ID number
    assert created.profile.birth_date == "1980-01-01"
    assert not created.revealed

    masked = (await call(member_stub.GetMember, pb.GetMemberRequest(id=created.id), adm)).member
    assert masked.profile.id_number != id_number(1)
    full = (await call(member_stub.GetMember, pb.GetMemberRequest(
        id=created.id, reveal=True, reveal_reason="换届审查"), adm)).member  # fmt: skip
    assert full.revealed and full.profile.id_number == id_number(1)
    assert full.profile.home_address == "广东省深圳市南山区科技园路1号"

    async with member_app.db.unit_of_work(uuid.UUID(world["a"].id)) as uow:
        from member_service.repository import Repositories

        entries = await Repositories(uow.session).audit.for_target(
            uuid.UUID(world["a"].id), uuid.UUID(created.id)
        )
    reveals = [e for e in entries if e.action == "reveal"]
    assert len(reveals) == 1 and reveals[0].reason == "换届审查"
    assert "id_number" in reveals[0].fields


async def test_personal_data_is_ciphertext_in_the_table(member_stub, world, module_database):
    adm = world["adm_a"]
    m = (await call(member_stub.CreateMember, pb.CreateMemberRequest(
        organization_id=world["br1"].id, profile=profile(2)), adm)).member  # fmt: skip
    raw = module_database.pg.psql(
        f"SELECT encode(id_number_enc, 'escape'), key_id FROM member.members WHERE id = '{m.id}'",
        module_database.name,
    )
    assert id_number(2) not in raw and "k1" in raw


async def test_invalid_id_number_unknown_org_and_duplicate_write_nothing(member_stub, world):
    adm = world["adm_a"]
    bad = id_number(3)[:-1] + ("0" if id_number(3)[-1] != "0" else "1")
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await call(member_stub.CreateMember, pb.CreateMemberRequest(
            organization_id=world["br1"].id, profile=profile(3, id_number=bad)), adm)  # fmt: skip
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert dict(e.value.trailing_metadata())["x-hongyun-error-field"] == "id_number"

    with pytest.raises(grpc.aio.AioRpcError) as e:
        await call(member_stub.CreateMember, pb.CreateMemberRequest(
            organization_id=str(uuid.uuid4()), profile=profile(3)), adm)  # fmt: skip
    assert e.value.code() == grpc.StatusCode.NOT_FOUND

    await call(member_stub.CreateMember, pb.CreateMemberRequest(
        organization_id=world["br2"].id, profile=profile(4)), adm)  # fmt: skip
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await call(member_stub.CreateMember, pb.CreateMemberRequest(
            organization_id=world["br1"].id, profile=profile(4, name="李四")), adm)  # fmt: skip
    assert e.value.code() == grpc.StatusCode.ALREADY_EXISTS

    listed = (
        await call(member_stub.ListMembers, pb.ListMembersRequest(page_size=200), adm)
    ).members
    names = [m.profile.name for m in listed]
    assert "张3" not in names and "李四" not in names and names.count("张4") == 1


async def test_secretary_sees_only_their_subtree(member_stub, world):
    adm = world["adm_a"]
    other = (await call(member_stub.CreateMember, pb.CreateMemberRequest(
        organization_id=world["br2"].id, profile=profile(5)), adm)).member  # fmt: skip
    sec1 = secretary(world["a"].id, world["br1"].id)
    listed = (await call(member_stub.ListMembers, pb.ListMembersRequest(), sec1)).members
    assert listed and all(m.organization_id == world["br1"].id for m in listed)
    for method, req in [
        (member_stub.GetMember, pb.GetMemberRequest(id=other.id)),
        (member_stub.GetOrganization, pb.GetOrganizationRequest(id=world["br2"].id)),
        (member_stub.CreateMember, pb.CreateMemberRequest(organization_id=world["br2"].id, profile=profile(6))),
        (member_stub.UpdateMember, pb.UpdateMemberRequest(id=other.id, profile=pb.MemberProfile(name="改"), update_mask=["name"])),
    ]:  # fmt: skip
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await call(method, req, sec1)
        assert e.value.code() == grpc.StatusCode.NOT_FOUND, method


async def test_other_tenant_cannot_see_or_touch(member_stub, world):
    adm_a, adm_b = world["adm_a"], world["adm_b"]
    m = (await call(member_stub.CreateMember, pb.CreateMemberRequest(
        organization_id=world["br1"].id, profile=profile(7)), adm_a)).member  # fmt: skip
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await call(member_stub.GetMember, pb.GetMemberRequest(id=m.id), adm_b)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await call(member_stub.CreateMember, pb.CreateMemberRequest(
            organization_id=world["br1"].id, profile=profile(8)), adm_b)  # fmt: skip
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    listed = (await call(member_stub.ListMembers, pb.ListMembersRequest(), adm_b)).members
    assert all(x.tenant_id == world["b"].id for x in listed)
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await call(member_stub.GetTenant, pb.GetTenantRequest(id=world["a"].id), adm_b)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND


async def test_update_with_version_check_and_pagination(member_stub, world):
    adm = world["adm_a"]
    m = (await call(member_stub.CreateMember, pb.CreateMemberRequest(
        organization_id=world["br1"].id, profile=profile(9)), adm)).member  # fmt: skip
    upd = (await call(member_stub.UpdateMember, pb.UpdateMemberRequest(
        id=m.id, profile=pb.MemberProfile(job_post="教师", mobile_phone="13900001111"),
        update_mask=["job_post", "mobile_phone"], expected_version=m.version), adm)).member  # fmt: skip
    assert upd.version == m.version + 1 and upd.profile.job_post == "教师"
    assert upd.profile.mobile_phone == "139****1111"
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await call(member_stub.UpdateMember, pb.UpdateMemberRequest(
            id=m.id, profile=pb.MemberProfile(job_post="x"), update_mask=["job_post"],
            expected_version=m.version), adm)  # fmt: skip
    assert e.value.code() == grpc.StatusCode.ABORTED

    seen, token = [], ""
    while True:
        page = await call(
            member_stub.ListMembers, pb.ListMembersRequest(page_size=2, page_token=token), adm
        )
        seen += [x.id for x in page.members]
        token = page.next_page_token
        if not token:
            break
    assert len(seen) == len(set(seen)) >= 4


async def test_roles_are_enforced(member_stub, world):
    from hongyun_platform.grpc.context import ROLE_MEMBER, CallerContext

    plain = CallerContext(
        user_id="m1", tenant_id=uuid.UUID(world["a"].id), roles=frozenset({ROLE_MEMBER})
    )
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await call(member_stub.CreateOrganization, pb.CreateOrganizationRequest(
            parent_id=world["root"].id, name="x", type=pb.ORGANIZATION_TYPE_BRANCH), plain)  # fmt: skip
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await call(
            member_stub.CreateTenant, pb.CreateTenantRequest(name="x", code="xx-1"), world["adm_a"]
        )
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # Platform operators manage tenants but never see personal data in full.
    ops = CallerContext(
        user_id="root", tenant_id=uuid.UUID(world["a"].id), roles=frozenset({"platform_admin"})
    )
    listed = (
        await call(member_stub.ListMembers, pb.ListMembersRequest(page_size=1), world["adm_a"])
    ).members
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await call(member_stub.GetMember, pb.GetMemberRequest(id=listed[0].id, reveal=True), ops)
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_concurrent_writes_conflict_cleanly(member_stub, world):
    import asyncio

    adm = world["adm_a"]
    # Same ID number registered twice at once: exactly one wins, the other is ALREADY_EXISTS.
    results = await asyncio.gather(
        *(call(member_stub.CreateMember, pb.CreateMemberRequest(
            organization_id=world["br1"].id, profile=profile(20, name=f"并发{i}")), adm)
          for i in range(2)),
        return_exceptions=True,
    )  # fmt: skip
    errors = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(errors) == 1 and errors[0].code() == grpc.StatusCode.ALREADY_EXISTS
    m = next(r for r in results if not isinstance(r, Exception)).member
    # Two editors holding the same version: one update lands, the other is told to reload.
    results = await asyncio.gather(
        *(call(member_stub.UpdateMember, pb.UpdateMemberRequest(
            id=m.id, profile=pb.MemberProfile(job_post=f"岗位{i}"), update_mask=["job_post"],
            expected_version=m.version), adm) for i in range(2)),
        return_exceptions=True,
    )  # fmt: skip
    errors = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(errors) == 1 and errors[0].code() == grpc.StatusCode.ABORTED
    final = (await call(member_stub.GetMember, pb.GetMemberRequest(id=m.id), adm)).member
    assert final.version == m.version + 1


async def test_writes_emit_events_without_personal_data(member_stub, world, member_app):
    from hongyun.member.v1 import events_pb2
    from member_service.models import messaging
    from sqlalchemy import select

    adm = world["adm_a"]
    m = (await call(member_stub.CreateMember, pb.CreateMemberRequest(
        organization_id=world["br2"].id, profile=profile(30)), adm)).member  # fmt: skip
    await call(member_stub.UpdateMember, pb.UpdateMemberRequest(
        id=m.id, organization_id=world["br1"].id, update_mask=["organization_id"]), adm)  # fmt: skip
    o = messaging.outbox
    async with member_app.db.unit_of_work(None) as uow:
        rows = (await uow.session.execute(
            select(o).where(o.c.tenant_id == uuid.UUID(world["a"].id)).order_by(o.c.id))).all()  # fmt: skip
    types = {r.event_type for r in rows}
    assert {"hongyun.member.v1.OrganizationCreated", "hongyun.member.v1.MemberRegistered",
            "hongyun.member.v1.MemberUpdated"} <= types  # fmt: skip
    updated = [events_pb2.MemberUpdated.FromString(r.payload) for r in rows
               if r.event_type.endswith("MemberUpdated") and events_pb2.MemberUpdated.FromString(r.payload).member_id == m.id]  # fmt: skip
    assert updated[-1].changed_fields == ["organization_id"]
    assert updated[-1].organization_id == world["br1"].id
    for r in rows:
        assert id_number(30).encode() not in r.payload and b"13812345678" not in r.payload
        assert r.subject.startswith(f"member.{world['a'].id}.")
