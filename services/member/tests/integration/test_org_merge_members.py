"""An organisation merge gives every member it moves the trail of an ordinary organisation
change: a field-history row (who, when, old → new organisation, source org_merge) and a
MemberUpdated through the outbox with the bumped version — and a refused merge gives nobody
anything. Real PostgreSQL and NATS, through the gRPC API."""

from __future__ import annotations

import uuid

import grpc
import pytest
from hongyun.member.v1 import events_pb2, member_archive_pb2_grpc, organization_admin_pb2_grpc
from hongyun.member.v1 import member_archive_pb2 as apb
from hongyun.member.v1 import member_pb2 as pb
from hongyun.member.v1 import organization_admin_pb2 as opb
from member_service.archive_models import FieldChangeRecord
from member_service.models import messaging
from sqlalchemy import select

from ..conftest import PLATFORM_ADMIN, secretary, tenant_admin
from .test_member_api import call, profile

pytestmark = pytest.mark.integration

MOVED = 30  # direct members of the merged branch
UPDATED = "hongyun.member.v1.MemberUpdated"


@pytest.fixture(scope="module")
async def stubs(member_app):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{member_app.port}") as channel:
        yield (
            organization_admin_pb2_grpc.OrganizationAdminServiceStub(channel),
            member_archive_pb2_grpc.MemberArchiveServiceStub(channel),
        )


@pytest.fixture(scope="module")
async def world(member_stub):
    """Tenant A: 党委 → {支部 br1 (30 members) → 党小组 g (1), 支部 br2 (2), 支部 br3 (1)};
    tenant B: 党委 → 支部 (1)."""
    code = uuid.uuid4().hex[:8]
    a = (await call(member_stub.CreateTenant, pb.CreateTenantRequest(
        name="甲", code=f"mm-a-{code}"), PLATFORM_ADMIN)).tenant  # fmt: skip
    b = (await call(member_stub.CreateTenant, pb.CreateTenantRequest(
        name="乙", code=f"mm-b-{code}"), PLATFORM_ADMIN)).tenant  # fmt: skip
    adm, adm_b = tenant_admin(a.id), tenant_admin(b.id)

    async def org(name, type_, parent="", caller=adm):
        return (await call(member_stub.CreateOrganization, pb.CreateOrganizationRequest(
            parent_id=parent, name=name, type=type_), caller)).organization  # fmt: skip

    async def members(where, seqs, caller=adm) -> list[str]:
        return [(await call(member_stub.CreateMember, pb.CreateMemberRequest(
            organization_id=where.id, profile=profile(s)), caller)).member.id for s in seqs]  # fmt: skip

    root = await org("甲党委", pb.ORGANIZATION_TYPE_COMMITTEE)
    br1 = await org("第一支部", pb.ORGANIZATION_TYPE_BRANCH, root.id)
    g = await org("第一党小组", pb.ORGANIZATION_TYPE_GROUP, br1.id)
    br2 = await org("第二支部", pb.ORGANIZATION_TYPE_BRANCH, root.id)
    br3 = await org("第三支部", pb.ORGANIZATION_TYPE_BRANCH, root.id)
    root_b = await org("乙党委", pb.ORGANIZATION_TYPE_COMMITTEE, caller=adm_b)
    br_b = await org("乙支部", pb.ORGANIZATION_TYPE_BRANCH, root_b.id, caller=adm_b)
    return dict(
        a=a, b=b, adm=adm, adm_b=adm_b, root=root, br1=br1, g=g, br2=br2, br3=br3, br_b=br_b,
        in_br1=await members(br1, range(1, MOVED + 1)), in_g=await members(g, [101]),
        in_br2=await members(br2, [201, 202]), in_br3=await members(br3, [301]),
        in_b=await members(br_b, [401], adm_b),
    )  # fmt: skip


async def merge_history(app, tenant_id: str) -> list[FieldChangeRecord]:
    async with app.db.unit_of_work(uuid.UUID(tenant_id)) as uow:
        return list((await uow.session.execute(select(FieldChangeRecord).where(
            FieldChangeRecord.source == "org_merge").order_by(FieldChangeRecord.id))).scalars())  # fmt: skip


async def member_updates(app, tenant_id: str) -> list[tuple[str, events_pb2.MemberUpdated]]:
    o = messaging.outbox
    async with app.db.unit_of_work(None) as uow:
        rows = (await uow.session.execute(select(o.c.subject, o.c.payload).where(
            o.c.tenant_id == uuid.UUID(tenant_id), o.c.event_type == UPDATED,
        ).order_by(o.c.id))).all()  # fmt: skip
    return [(r.subject, events_pb2.MemberUpdated.FromString(r.payload)) for r in rows]


async def versions(member_stub, caller, ids) -> dict[str, int]:
    return {i: (await call(member_stub.GetMember, pb.GetMemberRequest(id=i), caller)).member.version
            for i in ids}  # fmt: skip


def code_of(err: grpc.aio.AioRpcError) -> str:
    return dict(err.trailing_metadata() or ()).get("x-hongyun-error-code", "")


async def test_refused_merges_leave_no_history_events_or_versions(
    stubs, member_stub, world, member_app
):
    org_stub, _ = stubs
    adm, br1 = world["adm"], world["br1"]
    everyone = [*world["in_br1"], *world["in_g"], *world["in_br2"], *world["in_br3"]]
    before = await versions(member_stub, adm, everyone)
    refused = [
        # into its own descendant
        (opb.MergeOrganizationRequest(id=br1.id, target_id=world["g"].id), adm,
         grpc.StatusCode.FAILED_PRECONDITION, "org_merge_cycle"),
        # into another tenant's organisation
        (opb.MergeOrganizationRequest(id=br1.id, target_id=world["br_b"].id), adm,
         grpc.StatusCode.NOT_FOUND, "organization_not_found"),
        # by another tenant's admin
        (opb.MergeOrganizationRequest(id=br1.id, target_id=world["br2"].id), world["adm_b"],
         grpc.StatusCode.NOT_FOUND, "organization_not_found"),
        # by a secretary whose scope does not hold the source
        (opb.MergeOrganizationRequest(id=br1.id, target_id=world["br2"].id),
         secretary(world["a"].id, world["br2"].id), grpc.StatusCode.NOT_FOUND,
         "organization_not_found"),
        # into itself; and the future
        (opb.MergeOrganizationRequest(id=br1.id, target_id=br1.id), adm,
         grpc.StatusCode.INVALID_ARGUMENT, "org_merge_into_self"),
        (opb.MergeOrganizationRequest(id=br1.id, target_id=world["br2"].id,
         effective_on="2999-01-01"), adm, grpc.StatusCode.INVALID_ARGUMENT,
         "effective_on_in_future"),
    ]  # fmt: skip
    for request, caller, status, code in refused:
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await call(org_stub.MergeOrganization, request, caller)
        assert (e.value.code(), code_of(e.value)) == (status, code), request
    assert await merge_history(member_app, world["a"].id) == []
    assert await member_updates(member_app, world["a"].id) == []
    assert await member_updates(member_app, world["b"].id) == []
    assert await versions(member_stub, adm, everyone) == before


async def test_merge_gives_each_moved_member_history_and_a_member_updated_event(
    stubs, member_stub, world, member_app
):
    org_stub, archive_stub = stubs
    adm, a, br1, br2 = world["adm"], world["a"], world["br1"], world["br2"]
    moved = set(world["in_br1"])
    resp = await call(org_stub.MergeOrganization, opb.MergeOrganizationRequest(
        id=br1.id, target_id=br2.id, reason="两支部合并"), adm)  # fmt: skip
    assert resp.moved_members == MOVED

    # One history row per moved member: organisation old → new, who, source org_merge.
    rows = await merge_history(member_app, a.id)
    assert len(rows) == MOVED and {str(r.member_id) for r in rows} == moved
    assert {(r.field, r.old_value, r.new_value, r.changed_by, str(r.record_id), r.personal)
            for r in rows} == {("organization_id", br1.id, br2.id, adm.user_id, br1.id, False)}  # fmt: skip

    # One MemberUpdated per moved member, as an ordinary organisation change emits it.
    events = await member_updates(member_app, a.id)
    assert len(events) == MOVED and {e.member_id for _, e in events} == moved
    for subject, e in events:
        assert subject == f"member.{a.id}.member.updated"
        assert (e.tenant_id, e.organization_id, list(e.changed_fields), e.version) == (
            a.id, br2.id, ["organization_id"], 2)  # fmt: skip

    # Members see it: new organisation, bumped version, the change in their history.
    assert set((await versions(member_stub, adm, moved)).values()) == {2}
    one = world["in_br1"][0]
    got = (await call(member_stub.GetMember, pb.GetMemberRequest(id=one), adm)).member
    assert got.organization_id == br2.id
    changes = (await call(archive_stub.ListMemberHistory, apb.ListMemberHistoryRequest(
        member_id=one), secretary(a.id, br2.id))).changes  # fmt: skip
    assert [(c.source, c.field, c.old_value, c.new_value, c.changed_by) for c in changes] == [
        ("org_merge", "organization_id", br1.id, br2.id, adm.user_id)]  # fmt: skip

    # Nothing for members who did not move: the sub-group's member (its group moved, it did
    # not), the target's own members, another branch, another tenant.
    untouched = [*world["in_g"], *world["in_br2"], *world["in_br3"]]
    assert set((await versions(member_stub, adm, untouched)).values()) == {1}
    assert not {str(r.member_id) for r in rows} & set(untouched)
    assert await member_updates(member_app, world["b"].id) == []
    assert await merge_history(member_app, world["b"].id) == []

    # Same event shape as editing one member's organisation.
    await call(member_stub.UpdateMember, pb.UpdateMemberRequest(
        id=world["in_br3"][0], organization_id=br2.id, update_mask=["organization_id"]), adm)  # fmt: skip
    (edited,) = [e for _, e in await member_updates(member_app, a.id)
                 if e.member_id == world["in_br3"][0]]  # fmt: skip
    merged = next(e for _, e in events if e.member_id == one)
    assert [f.name for f, _ in edited.ListFields()] == [f.name for f, _ in merged.ListFields()]
    assert (edited.organization_id, list(edited.changed_fields)) == (
        merged.organization_id, list(merged.changed_fields))  # fmt: skip


async def test_merging_an_empty_organisation_writes_no_member_trail(
    stubs, member_stub, world, member_app
):
    org_stub, _ = stubs
    adm = world["adm"]
    empty = (await call(member_stub.CreateOrganization, pb.CreateOrganizationRequest(
        parent_id=world["root"].id, name="空支部", type=pb.ORGANIZATION_TYPE_BRANCH), adm)
    ).organization  # fmt: skip
    history_before = len(await merge_history(member_app, world["a"].id))
    events_before = len(await member_updates(member_app, world["a"].id))
    resp = await call(org_stub.MergeOrganization, opb.MergeOrganizationRequest(
        id=empty.id, target_id=world["br3"].id), adm)  # fmt: skip
    assert resp.moved_members == 0
    assert len(await merge_history(member_app, world["a"].id)) == history_before
    assert len(await member_updates(member_app, world["a"].id)) == events_before
