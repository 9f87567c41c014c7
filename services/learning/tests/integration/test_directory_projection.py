"""The learning service keeps the member service's tenant and organisation trees from MEMBER
events: nested tenants get their ancestors, organisations their paths, and moves, merges and
dissolutions re-shape them — on a private NATS so no other module's events interfere."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest
from hongyun.member.v1 import member_pb2 as pb
from hongyun.member.v1 import member_pb2_grpc, organization_admin_pb2_grpc, tenant_admin_pb2_grpc
from hongyun.member.v1 import organization_admin_pb2 as opb
from hongyun.member.v1 import tenant_admin_pb2 as tpb
from hongyun_platform.embedded import start_nats
from hongyun_platform.grpc.context import ROLE_PLATFORM_ADMIN, CallerContext
from learning_service.main import migrate, provision_streams
from learning_service.models import OrgPath, TenantAncestry
from sqlalchemy import select

pytestmark = pytest.mark.integration

PLATFORM_ADMIN = CallerContext(
    user_id="root", tenant_id=None, roles=frozenset({ROLE_PLATFORM_ADMIN})
)


@pytest.fixture(scope="module")
def private_nats_module(tmp_path_factory):
    server = start_nats(tmp_path_factory.mktemp("nats-directory"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
async def learning_settings_fx(module_database, private_nats_module, make_learning_settings):
    settings = make_learning_settings(
        module_database.app_url, module_database.owner_url, private_nats_module.url,
        directory_projection_enabled=True,
    )  # fmt: skip
    await asyncio.to_thread(migrate, settings)
    await provision_streams(settings)
    return settings


async def call(method, request, caller):
    return await method(request, metadata=caller.to_metadata())


@pytest.fixture(scope="module")
async def member_stubs(member_app):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{member_app.port}") as channel:
        yield (
            member_pb2_grpc.MemberServiceStub(channel),
            tenant_admin_pb2_grpc.TenantAdminServiceStub(channel),
            organization_admin_pb2_grpc.OrganizationAdminServiceStub(channel),
        )


def admin_of(tenant_id: str) -> CallerContext:
    return CallerContext(user_id=f"admin-{tenant_id}", tenant_id=uuid.UUID(tenant_id),
                         roles=frozenset({"tenant_admin"}))  # fmt: skip


async def projected(app, model, key):
    async with app.db.unit_of_work(None) as uow:
        return (await uow.session.execute(select(model).where(key))).scalar_one_or_none()


async def test_nested_tenants_get_their_ancestors(learning_app, member_stubs, eventually_fx):
    _, admin, _ = member_stubs
    code = uuid.uuid4().hex[:6]
    province = await call(admin.ProvisionTenant, tpb.ProvisionTenantRequest(
        name="某省", code=f"p-{code}", root_organization_name="省委",
        root_organization_type=pb.ORGANIZATION_TYPE_COMMITTEE), PLATFORM_ADMIN)  # fmt: skip
    city = await call(admin.ProvisionTenant, tpb.ProvisionTenantRequest(
        name="某市", code=f"c-{code}", parent_id=province.tenant.id, root_organization_name="市委",
        root_organization_type=pb.ORGANIZATION_TYPE_COMMITTEE), admin_of(province.tenant.id))  # fmt: skip
    county = await call(admin.ProvisionTenant, tpb.ProvisionTenantRequest(
        name="某县", code=f"x-{code}", parent_id=city.tenant.id, root_organization_name="县委",
        root_organization_type=pb.ORGANIZATION_TYPE_COMMITTEE), admin_of(city.tenant.id))  # fmt: skip

    async def county_row():
        return await projected(learning_app, TenantAncestry,
                               TenantAncestry.tenant_id == uuid.UUID(county.tenant.id))  # fmt: skip

    row = await eventually_fx(county_row)
    assert row is not None
    assert row.ancestors == [uuid.UUID(province.tenant.id), uuid.UUID(city.tenant.id)]
    top = await projected(learning_app, TenantAncestry,
                          TenantAncestry.tenant_id == uuid.UUID(province.tenant.id))  # fmt: skip
    assert top is not None and top.ancestors == []


async def test_org_paths_follow_creates_moves_merges_and_dissolutions(
    learning_app, member_stubs, eventually_fx
):
    members, admin, orgs = member_stubs
    code = uuid.uuid4().hex[:6]
    t = await call(admin.ProvisionTenant, tpb.ProvisionTenantRequest(
        name="集团", code=f"g-{code}", root_organization_name="集团党委",
        root_organization_type=pb.ORGANIZATION_TYPE_COMMITTEE), PLATFORM_ADMIN)  # fmt: skip
    adm = admin_of(t.tenant.id)
    root = uuid.UUID(t.root_organization.id)

    async def create(parent, name, kind=pb.ORGANIZATION_TYPE_GENERAL_BRANCH):
        r = await call(members.CreateOrganization, pb.CreateOrganizationRequest(
            parent_id=str(parent), name=name, type=kind), adm)  # fmt: skip
        return uuid.UUID(r.organization.id)

    a = await create(root, "一总支")
    b = await create(root, "二总支")
    branch = await create(a, "一支部", pb.ORGANIZATION_TYPE_BRANCH)
    other = await create(b, "二支部", pb.ORGANIZATION_TYPE_BRANCH)

    async def path_of(org):
        row = await projected(learning_app, OrgPath, OrgPath.org_id == org)
        return (row.path, row.status) if row else None

    assert await eventually_fx(lambda: path_of(branch)) == ([root, a, branch], "active")

    await call(orgs.MoveOrganization, opb.MoveOrganizationRequest(id=str(a), new_parent_id=str(b),
               reason="调整隶属关系"), adm)  # fmt: skip

    async def moved():
        p = await path_of(branch)
        return p if p and p[0] == [root, b, a, branch] else None

    assert await eventually_fx(moved) == ([root, b, a, branch], "active")

    await call(orgs.MergeOrganization, opb.MergeOrganizationRequest(id=str(a), target_id=str(b),
               reason="合并"), adm)  # fmt: skip

    async def merged():
        p = await path_of(branch)
        return p if p and p[0] == [root, b, branch] else None

    assert await eventually_fx(merged) == ([root, b, branch], "active")
    assert await path_of(a) == ([root, b], "merged")

    await call(orgs.DissolveOrganization, opb.DissolveOrganizationRequest(id=str(other),
               reason="撤销"), adm)  # fmt: skip

    async def dissolved():
        p = await path_of(other)
        return p if p and p[1] == "dissolved" else None

    assert await eventually_fx(dissolved) == ([root, b, other], "dissolved")
