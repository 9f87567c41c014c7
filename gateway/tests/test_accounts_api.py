"""POST /api/v1/accounts: who may create whom, referential checks, duplicates."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from gateway_fake_member_service import RunningFake
from gateway_test_helpers import Login, MakeAccount, assert_problem
from hongyun.member.v1 import member_pb2 as pb


@pytest.fixture
def tenants(fake_member: RunningFake, api: httpx.AsyncClient) -> tuple[uuid.UUID, uuid.UUID]:
    ids = []
    for code in ("a", "b"):
        t = pb.Tenant(id=str(uuid.uuid4()), name=f"tenant {code}", code=code)
        fake_member.service.store.tenants[t.id] = t
        ids.append(uuid.UUID(t.id))
    return ids[0], ids[1]


def add_org(fake_member: RunningFake, tenant: uuid.UUID) -> uuid.UUID:
    o = pb.Organization(
        id=str(uuid.uuid4()), tenant_id=str(tenant), name="支部", type=pb.ORGANIZATION_TYPE_BRANCH
    )
    fake_member.service.store.organizations[o.id] = o
    return uuid.UUID(o.id)


def account(username: str, roles: list[str], **extra: Any) -> dict[str, Any]:
    return {"username": username, "password": "a long passphrase", "roles": roles, **extra}


async def test_platform_admin_creates_a_tenant_admin_who_can_log_in(
    api: httpx.AsyncClient,
    tenants: tuple[uuid.UUID, uuid.UUID],
    make_account: MakeAccount,
    login: Login,
) -> None:
    await make_account("root", roles=["platform_admin"])
    root = await login("root")
    body = account("Admin.A", ["tenant_admin"], tenant_id=str(tenants[0]), display_name="管理员")
    resp = await api.post("/api/v1/accounts", json=body, headers=root)
    assert resp.status_code == 201, resp.text
    created = resp.json()
    assert created["tenant_id"] == str(tenants[0]) and created["roles"] == ["tenant_admin"]
    assert created["display_name"] == "管理员" and created["disabled"] is False
    assert "password" not in created and "password_hash" not in created
    assert resp.headers["location"] == f"/api/v1/accounts/{created['id']}"

    new_admin = await login("admin.a", "a long passphrase")
    me = (await api.get("/api/v1/auth/me", headers=new_admin)).json()
    assert me["tenant_id"] == str(tenants[0]) and me["roles"] == ["tenant_admin"]

    # the acting tenant header is the default tenant
    headers = {**root, "X-Hongyun-Tenant": str(tenants[1])}
    resp = await api.post(
        "/api/v1/accounts", json=account("admin.b", ["tenant_admin"]), headers=headers
    )
    assert resp.json()["tenant_id"] == str(tenants[1])

    unknown = account("admin.c", ["tenant_admin"], tenant_id=str(uuid.uuid4()))
    body = assert_problem(await api.post("/api/v1/accounts", json=unknown, headers=root), 422)
    assert body["errors"][0]["field"] == "tenant_id"
    no_tenant = await api.post(
        "/api/v1/accounts", json=account("admin.d", ["tenant_admin"]), headers=root
    )
    assert assert_problem(no_tenant, 422)["errors"][0]["reason"] == "required"
    platform = await api.post(
        "/api/v1/accounts", json=account("root2", ["platform_admin"]), headers=root
    )
    assert_problem(platform, 403, "role_not_allowed")  # only the CLI makes platform admins


async def test_tenant_admin_creates_secretaries_in_own_tenant_only(
    api: httpx.AsyncClient,
    tenants: tuple[uuid.UUID, uuid.UUID],
    fake_member: RunningFake,
    make_account: MakeAccount,
    login: Login,
) -> None:
    own, other = tenants
    own_org, other_org = add_org(fake_member, own), add_org(fake_member, other)
    await make_account("admin.a", roles=["tenant_admin"], tenant_id=own)
    admin = await login("admin.a")

    ok = account("secretary.1", ["secretary"], scope_org_id=str(own_org))
    resp = await api.post("/api/v1/accounts", json=ok, headers=admin)
    assert resp.status_code == 201, resp.text
    assert resp.json()["scope_org_id"] == str(own_org)
    assert resp.json()["tenant_id"] == str(own)
    # the organisation was checked in the member service, acting in the admin's tenant
    (check,) = fake_member.service.calls_to("GetOrganization")
    assert check.caller.tenant_id == own and check.request.id == str(own_org)

    member = await api.post("/api/v1/accounts", json=account("member.1", ["member"]), headers=admin)
    assert member.status_code == 201

    cases = [
        (account("sec.2", ["secretary"]), 422, "validation_failed"),  # scope required
        (account("sec.3", ["secretary"], scope_org_id=str(other_org)), 422, "validation_failed"),
        (account("adm.2", ["tenant_admin"]), 403, "role_not_allowed"),
        (account("mem.2", ["member"], tenant_id=str(other)), 403, "tenant_mismatch"),
        (account("SECRETARY.1", ["member"]), 409, "username_taken"),
        ({**account("mem.3", ["member"]), "password": "short"}, 422, "validation_failed"),
        (account("bad name!", ["member"]), 422, "validation_failed"),
        (account("mem.4", ["chairman"]), 422, "validation_failed"),
    ]
    for body, status, code in cases:
        resp = await api.post("/api/v1/accounts", json=body, headers=admin)
        assert_problem(resp, status, code)

    await make_account("secretary.x", roles=["secretary"], tenant_id=own, scope_org_id=own_org)
    secretary = await login("secretary.x")
    resp = await api.post("/api/v1/accounts", json=account("mem.5", ["member"]), headers=secretary)
    assert_problem(resp, 403, "permission_denied")
