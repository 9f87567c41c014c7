"""Tenant data exports through the gateway (docs/adr/0012), against the fake TenantAdminService
(gateway_fake_tenant_export.py): 202 + job, progress polling, download URL, who is refused."""

from __future__ import annotations

import uuid

import httpx
import pytest
from gateway_fake_member_service import RunningFake
from gateway_test_helpers import Login, MakeAccount, assert_problem
from hongyun.member.v1 import member_pb2 as mpb

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _tenant(fake: RunningFake, name: str, parent: str = "") -> uuid.UUID:
    t = mpb.Tenant(id=str(uuid.uuid4()), name=name, code=name, parent_id=parent)
    fake.service.store.tenants[t.id] = t
    return uuid.UUID(t.id)


@pytest.fixture
async def tenants(fake_member: RunningFake, api: httpx.AsyncClient) -> dict[str, uuid.UUID]:
    fake_member.service.tenant_exports.reset()
    prov = _tenant(fake_member, "prov")
    city = _tenant(fake_member, "city", str(prov))
    other = _tenant(fake_member, "other", str(prov))
    return {"prov": prov, "city": city, "other": other}


@pytest.fixture
async def city_admin(
    tenants: dict[str, uuid.UUID], make_account: MakeAccount, login: Login
) -> dict[str, str]:
    await make_account("city.admin", roles=["tenant_admin"], tenant_id=tenants["city"])
    return await login("city.admin")


def url(tenant_id: uuid.UUID, export_id: str = "") -> str:
    base = f"/api/v1/tenants/{tenant_id}/exports"
    return f"{base}/{export_id}" if export_id else base


async def test_start_poll_and_download_url(
    api: httpx.AsyncClient, tenants: dict[str, uuid.UUID], city_admin: dict[str, str],
    fake_member: RunningFake,
) -> None:  # fmt: skip
    city = tenants["city"]
    resp = await api.post(url(city), json={"reveal": True, "reason": " 移交档案馆 "},
                          headers=city_admin)  # fmt: skip
    assert resp.status_code == 202, resp.text
    job = resp.json()
    assert resp.headers["location"] == url(city, job["id"])
    assert resp.headers["cache-control"] == "no-store, private"
    assert job["status"] == "queued" and job["percent"] == 0 and job["revealed"] is True
    assert job["download_url"] is None and job["tenant_ids"] == [str(city)]
    caller, request = fake_member.service.tenant_exports.state.requests[-1]
    assert request.reveal_reason == "移交档案馆" and request.tenant_id == str(city)
    assert request.exporter_label == "city.admin"  # the account's name goes into the watermark
    assert caller.tenant_id == city and "city.admin" in job["watermark"]

    running = (await api.get(url(city, job["id"]), headers=city_admin)).json()
    assert (running["status"], running["percent"], running["rows_done"]) == ("running", 40, 4)
    assert running["download_url"] is None
    done_resp = await api.get(url(city, job["id"]), headers=city_admin)
    assert done_resp.headers["cache-control"] == "no-store, private"
    done = done_resp.json()
    assert done["status"] == "succeeded" and done["percent"] == 100
    assert done["download_url"].startswith("http://files.test/files/tenant-exports/")
    assert done["download_url_expires_at"] and done["expires_at"] and done["finished_at"]
    assert done["files"] == [{"path": "tenants/demo/members.jsonl", "rows": 4, "size": 99,
                              "sha256": "cd" * 32}]  # fmt: skip
    assert done["file_name"] == "tenant-demo.zip" and done["sha256"] == "ab" * 32


async def test_parent_admin_exports_a_child_with_descendants(
    api: httpx.AsyncClient, tenants: dict[str, uuid.UUID], make_account: MakeAccount, login: Login
) -> None:
    await make_account("prov.admin", roles=["tenant_admin"], tenant_id=tenants["prov"])
    prov = await login("prov.admin")
    resp = await api.post(url(tenants["city"]), json={"include_descendants": True}, headers=prov)
    assert resp.status_code == 202 and resp.json()["include_descendants"] is True
    assert resp.json()["revealed"] is False


async def test_reveal_rules(
    api: httpx.AsyncClient, tenants: dict[str, uuid.UUID], city_admin: dict[str, str],
    make_account: MakeAccount, login: Login, fake_member: RunningFake,
) -> None:  # fmt: skip
    requests = fake_member.service.tenant_exports.state.requests
    body = assert_problem(
        await api.post(url(tenants["city"]), json={"reveal": True}, headers=city_admin), 422,
        "validation_failed",
    )  # fmt: skip
    assert body["errors"][0]["field"] == "reason" and requests == []  # refused before the service
    await make_account("ops", roles=["platform_admin"])
    ops = await login("ops")
    assert_problem(
        await api.post(url(tenants["city"]), json={"reveal": True, "reason": "核查"}, headers=ops),
        403, "reveal_not_allowed",
    )  # fmt: skip
    # Platform admins export masked data, without choosing a tenant header.
    resp = await api.post(url(tenants["city"]), json={}, headers=ops)
    assert resp.status_code == 202 and resp.json()["revealed"] is False


async def test_who_is_refused(
    api: httpx.AsyncClient, tenants: dict[str, uuid.UUID], city_admin: dict[str, str],
    make_account: MakeAccount, login: Login, fake_member: RunningFake,
) -> None:  # fmt: skip
    city, other = tenants["city"], tenants["other"]
    await make_account("sec", roles=["secretary"], tenant_id=city, scope_org_id=uuid.uuid4())
    await make_account("other.admin", roles=["tenant_admin"], tenant_id=other)
    sec, sibling = await login("sec"), await login("other.admin")
    assert_problem(await api.post(url(city), json={}), 401)
    assert_problem(await api.post(url(city), json={}, headers=sec), 403, "permission_denied")
    assert fake_member.service.tenant_exports.state.requests == []
    assert_problem(await api.post(url(city), json={}, headers=sibling), 404, "tenant_not_found")
    assert_problem(
        await api.post(url(tenants["prov"]), json={}, headers=city_admin), 404, "tenant_not_found"
    )
    assert_problem(await api.post(url(city), json={"bogus": 1}, headers=city_admin), 422)
    assert_problem(await api.post("/api/v1/tenants/x/exports", json={}, headers=city_admin), 422)
    job = (await api.post(url(city), json={}, headers=city_admin)).json()
    # Only the creator sees an export, even an admin who may export the same tenant.
    await make_account("city.admin2", roles=["tenant_admin"], tenant_id=city)
    assert_problem(
        await api.get(url(city, job["id"]), headers=await login("city.admin2")), 404,
        "tenant_export_not_found",
    )  # fmt: skip
    assert_problem(await api.get(url(city, job["id"]), headers=sibling), 404)
    assert_problem(await api.get(url(city, "not-a-uuid"), headers=city_admin), 422)
    assert_problem(await api.get(url(city, job["id"]), headers=sec), 403)


async def test_openapi_documents_exports(api: httpx.AsyncClient) -> None:
    spec = (await api.get("/openapi.json")).json()
    start = spec["paths"]["/api/v1/tenants/{tenant_id}/exports"]["post"]
    assert "202" in start["responses"] and "404" in start["responses"]
    assert start["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "TenantExportStart"
    )
    got = spec["paths"]["/api/v1/tenants/{tenant_id}/exports/{export_id}"]["get"]
    assert got["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "TenantExportRead"
    )
    assert "download_url" in spec["components"]["schemas"]["TenantExportRead"]["properties"]
