"""Tenants, organisations and members through the gateway against the fake member service."""

from __future__ import annotations

import uuid
from typing import Any

import grpc
import httpx
import pytest
from gateway_fake_member_service import RunningFake
from gateway_test_helpers import Login, MakeAccount, assert_problem, make_id_number
from hongyun_gateway.member_client import MemberClient

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
async def tenant(fake_member: RunningFake, api: httpx.AsyncClient) -> uuid.UUID:
    from hongyun.member.v1 import member_pb2 as pb

    t = pb.Tenant(id=str(uuid.uuid4()), name="示范党委", code="demo")
    fake_member.service.store.tenants[t.id] = t
    return uuid.UUID(t.id)


@pytest.fixture
async def admin(tenant: uuid.UUID, make_account: MakeAccount, login: Login) -> dict[str, str]:
    await make_account("t.admin", roles=["tenant_admin"], tenant_id=tenant)
    return await login("t.admin")


@pytest.fixture
async def root(make_account: MakeAccount, login: Login) -> dict[str, str]:
    await make_account("root", roles=["platform_admin"])
    return await login("root")


async def _org(api: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    body = {"name": "第一党支部", "type": "branch", **body}
    resp = await api.post("/api/v1/organizations", json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    return resp.json()  # type: ignore[no-any-return]


def _member_body(org_id: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "organization_id": org_id,
        "name": "张三",
        "gender": "male",
        "id_number": make_id_number("19800101"),
        "birth_date": "1980-01-01",
        "category": "full",
        "joined_on": "2005-07-01",
        "converted_on": "2006-07-01",
        "mobile_phone": "+86 138 0013 8000",
        "home_address": "北京市东城区某街道1号",
    }
    body.update(overrides)
    return body


# ---- tenants ----


async def test_only_platform_admins_create_tenants(
    api: httpx.AsyncClient, root: dict[str, str], admin: dict[str, str], fake_member: RunningFake
) -> None:
    resp = await api.post("/api/v1/tenants", json={"name": "广东省", "code": "GD"}, headers=root)
    assert resp.status_code == 201, resp.text
    created = resp.json()
    assert created["code"] == "gd" and created["parent_id"] is None
    assert resp.headers["location"] == f"/api/v1/tenants/{created['id']}"

    calls_before = len(fake_member.service.calls)
    resp = await api.post("/api/v1/tenants", json={"name": "x", "code": "x1"}, headers=admin)
    assert_problem(resp, 403, "permission_denied")
    assert len(fake_member.service.calls) == calls_before  # refused before any gRPC call

    dup = await api.post("/api/v1/tenants", json={"name": "又一个", "code": "gd"}, headers=root)
    body = assert_problem(dup, 409, "tenant_code_taken")  # the service's reason code
    assert body["errors"] == [
        {"field": "code", "message": "code taken", "reason": "tenant_code_taken"}
    ]

    got = await api.get(f"/api/v1/tenants/{created['id']}", headers=root)
    assert got.json()["name"] == "广东省"
    assert_problem(await api.get(f"/api/v1/tenants/{uuid.uuid4()}", headers=root), 404)
    assert_problem(await api.get("/api/v1/tenants/not-a-uuid", headers=root), 422)


async def test_metadata_and_deadline_reach_the_service(
    api: httpx.AsyncClient, root: dict[str, str], tenant: uuid.UUID, fake_member: RunningFake
) -> None:
    headers = {**root, "X-Hongyun-Tenant": str(tenant)}
    await api.get("/api/v1/organizations", headers=headers)
    (call,) = fake_member.service.calls_to("ListOrganizations")
    assert call.caller.tenant_id == tenant
    assert call.caller.roles == frozenset({"platform_admin"})
    assert call.caller.user_id
    assert call.time_remaining is not None and 0 < call.time_remaining <= 5.5  # clock skew


# ---- organisations ----


async def test_organisations_create_get_list(
    api: httpx.AsyncClient, admin: dict[str, str], tenant: uuid.UUID
) -> None:
    root_org = await _org(api, admin, name="示范党委", type="committee")
    assert root_org["type"] == "committee"
    assert root_org["depth"] == 1 and root_org["tenant_id"] == str(tenant)
    child = await _org(api, admin, parent_id=root_org["id"])
    assert child["parent_id"] == root_org["id"] and child["type"] == "branch"

    got = await api.get(f"/api/v1/organizations/{child['id']}", headers=admin)
    assert got.json() == child
    page = (await api.get("/api/v1/organizations", headers=admin)).json()
    assert {o["id"] for o in page["items"]} == {root_org["id"], child["id"]}
    assert page["next_cursor"] is None


async def test_member_may_not_create_an_organisation(
    api: httpx.AsyncClient, tenant: uuid.UUID, make_account: MakeAccount, login: Login
) -> None:
    await make_account("just.member", roles=["member"], tenant_id=tenant)
    member = await login("just.member")
    resp = await api.post(
        "/api/v1/organizations", json={"name": "x", "type": "branch"}, headers=member
    )
    body = assert_problem(resp, 403, "role_forbidden")
    assert body["detail"] == "members may not create organisations"


async def test_organisation_validation(api: httpx.AsyncClient, admin: dict[str, str]) -> None:
    resp = await api.post(
        "/api/v1/organizations", json={"name": " ", "type": "club", "x": 1}, headers=admin
    )
    body = assert_problem(resp, 422, "validation_failed")
    fields = {e["field"]: e["reason"] for e in body["errors"]}
    assert fields == {"name": "string_too_short", "type": "enum", "x": "extra_forbidden"}
    missing_parent = await api.post(
        "/api/v1/organizations",
        json={"name": "x", "type": "group", "parent_id": str(uuid.uuid4())},
        headers=admin,
    )
    body = assert_problem(missing_parent, 404, "parent_not_found")
    assert body["errors"][0]["field"] == "parent_id"


# ---- members ----


async def test_member_create_read_reveal_update(
    api: httpx.AsyncClient, admin: dict[str, str], fake_member: RunningFake
) -> None:
    org = await _org(api, admin)
    resp = await api.post("/api/v1/members", json=_member_body(org["id"]), headers=admin)
    assert resp.status_code == 201, resp.text
    member = resp.json()
    assert resp.headers["etag"] == '"1"'
    assert "no-store" in resp.headers["cache-control"]
    # what reached the service: normalised phone, enums, ISO dates
    (call,) = fake_member.service.calls_to("CreateMember")
    assert call.request.profile.mobile_phone == "13800138000"
    assert call.request.profile.birth_date == "1980-01-01"
    # the response is masked by the service and passed through unchanged
    assert member["id_number"] != make_id_number("19800101") and "*" in member["id_number"]
    assert member["gender"] == "male" and member["category"] == "full"
    assert member["party_status"] == "normal" and member["revealed"] is False
    assert member["landline"] is None and member["version"] == 1

    url = f"/api/v1/members/{member['id']}"
    assert_problem(await api.get(url + "?reveal=true", headers=admin), 422, "validation_failed")
    revealed = await api.get(url, params={"reveal": "true", "reason": "换届审核"}, headers=admin)
    assert revealed.json()["id_number"] == make_id_number("19800101")
    assert revealed.json()["revealed"] is True
    (get_call,) = fake_member.service.calls_to("GetMember")
    assert get_call.request.reveal and get_call.request.reveal_reason == "换届审核"

    patch = await api.patch(
        url,
        json={"job_post": "工程师", "home_address": None, "party_status": "retained"},
        headers={**admin, "If-Match": '"1"', "Content-Type": "application/merge-patch+json"},
    )
    assert patch.status_code == 200, patch.text
    assert patch.headers["etag"] == '"2"'
    updated = patch.json()
    assert updated["job_post"] == "工程师" and updated["home_address"] is None
    assert updated["party_status"] == "retained" and updated["version"] == 2
    (upd,) = fake_member.service.calls_to("UpdateMember")
    assert list(upd.request.update_mask) == ["job_post", "home_address", "party_status"]
    assert upd.request.expected_version == 1


async def test_member_update_concurrency(api: httpx.AsyncClient, admin: dict[str, str]) -> None:
    org = await _org(api, admin)
    member = (await api.post("/api/v1/members", json=_member_body(org["id"]), headers=admin)).json()
    url = f"/api/v1/members/{member['id']}"
    change = {"education": "本科"}

    assert_problem(await api.patch(url, json=change, headers=admin), 428, "precondition_required")
    bad = await api.patch(url, json=change, headers={**admin, "If-Match": "abc"})
    assert assert_problem(bad, 422)["errors"][0]["field"] == "If-Match"
    ok = await api.patch(url, json=change, headers={**admin, "If-Match": 'W/"1"'})
    assert ok.status_code == 200
    stale = await api.patch(url, json={"education": "硕士"}, headers={**admin, "If-Match": '"1"'})
    assert_problem(stale, 412, "version_conflict")
    forced = await api.patch(url, json={"education": "硕士"}, headers={**admin, "If-Match": "*"})
    assert forced.status_code == 200 and forced.json()["version"] == 3

    empty = await api.patch(url, json={}, headers={**admin, "If-Match": "*"})
    assert assert_problem(empty, 422)["errors"][0]["reason"] == "empty"
    nulls = await api.patch(url, json={"name": None}, headers={**admin, "If-Match": "*"})
    assert assert_problem(nulls, 422)["errors"] == [
        {"field": "name", "message": "此字段不能清空 (this field cannot be null)", "reason": "null"}
    ]


async def test_bad_id_number_is_422_before_any_grpc_call(
    api: httpx.AsyncClient, admin: dict[str, str], fake_member: RunningFake
) -> None:
    org = await _org(api, admin)
    bad = make_id_number("19800101")[:-1] + ("0" if make_id_number()[-1] != "0" else "1")
    calls_before = len(fake_member.service.calls)
    resp = await api.post(
        "/api/v1/members", json=_member_body(org["id"], id_number=bad), headers=admin
    )
    body = assert_problem(resp, 422, "validation_failed")
    assert [(e["field"], e["reason"]) for e in body["errors"]] == [("id_number", "check_digit")]
    assert "校验位" in body["errors"][0]["message"]
    assert len(fake_member.service.calls) == calls_before


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"mobile_phone": "12345"}, "mobile_phone", "format"),
        ({"birth_date": "1980/01/01"}, "birth_date", "format"),
        ({"birth_date": "1981-01-01"}, "birth_date", "id_number_mismatch"),
        ({"joined_on": "2999-01-01"}, "joined_on", "future"),
        ({"joined_on": "2005-02-30"}, "joined_on", "invalid_date"),
        ({"gender": "M"}, "gender", "enum"),
        ({"category": "FULL"}, "category", "enum"),
        ({"name": "张" * 51}, "name", "string_too_long"),
        ({"home_address": "路" * 201}, "home_address", "string_too_long"),
        ({"id_number": "1234"}, "id_number", "length"),
        ({"organization_id": "branch-1"}, "organization_id", "uuid_parsing"),
    ],
)
async def test_member_request_validation(
    api: httpx.AsyncClient,
    admin: dict[str, str],
    overrides: dict[str, Any],
    field: str,
    reason: str,
) -> None:
    body = _member_body(str(uuid.uuid4()), **overrides)
    resp = await api.post("/api/v1/members", json=body, headers=admin)
    problem = assert_problem(resp, 422, "validation_failed")
    assert [(e["field"], e["reason"]) for e in problem["errors"]] == [(field, reason)]


async def test_member_list_pagination_and_filters(
    api: httpx.AsyncClient, admin: dict[str, str], fake_member: RunningFake
) -> None:
    org = await _org(api, admin)
    for i in range(5):
        body = _member_body(
            org["id"],
            name=f"党员{i}",
            id_number=make_id_number("19800101", f"{i:03d}"),
            category="probationary" if i % 2 else "full",
        )
        assert (await api.post("/api/v1/members", json=body, headers=admin)).status_code == 201

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2, "organization_id": org["id"]}
        if cursor:
            params["cursor"] = cursor
        resp = await api.get("/api/v1/members", params=params, headers=admin)
        assert resp.status_code == 200, resp.text
        page = resp.json()
        seen += [m["name"] for m in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and seen == [f"党员{i}" for i in range(5)]

    probationary = await api.get(
        "/api/v1/members", params={"category": "probationary"}, headers=admin
    )
    assert [m["name"] for m in probationary.json()["items"]] == ["党员1", "党员3"]
    last = fake_member.service.calls_to("ListMembers")[-1]
    assert last.request.category == 2 and last.request.page_size == 50

    for params, fld in [
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"cursor": "!!!"}, "cursor"),
        ({"party_status": "ok"}, "party_status"),
    ]:
        problem = assert_problem(
            await api.get("/api/v1/members", params=params, headers=admin), 422
        )
        assert problem["errors"][0]["field"] == fld


async def test_grpc_errors_become_problems(
    api: httpx.AsyncClient, admin: dict[str, str], fake_member: RunningFake
) -> None:
    fake_member.service.fail_next = (grpc.StatusCode.INTERNAL, "db password is hunter2", [])
    body = assert_problem(await api.get("/api/v1/organizations", headers=admin), 500)
    assert body["code"] == "internal_error" and "hunter2" not in str(body)

    fake_member.service.fail_next = (grpc.StatusCode.UNAVAILABLE, "connection refused", [])
    resp = await api.get("/api/v1/organizations", headers=admin)
    assert assert_problem(resp, 503, "service_unavailable")["detail"]
    assert resp.headers["retry-after"] == "1"

    fake_member.service.fail_next = (
        grpc.StatusCode.FAILED_PRECONDITION,
        "branch has members",
        [("x-hongyun-error-code", "organization_not_empty")],
    )
    body = assert_problem(await api.get("/api/v1/organizations", headers=admin), 409)
    assert body["code"] == "organization_not_empty" and body["detail"] == "branch has members"


async def test_member_service_down_is_503(settings: Any, admin: dict[str, str]) -> None:
    from hongyun_gateway.main import create_app

    down = create_app(settings.model_copy(update={"member_grpc_target": "127.0.0.1:9"}))
    async with down.router.lifespan_context(down):
        down.state.gateway.member_client = MemberClient("127.0.0.1:9", deadline_seconds=0.5)
        transport = httpx.ASGITransport(app=down)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            resp = await client.get("/api/v1/organizations", headers=admin)
            assert_problem(resp, 503, "service_unavailable")
            ready = await client.get("/readyz")
            assert_problem(ready, 503, "not_ready")
        await down.state.gateway.member_client.close()
