"""GET /api/v1/members/search through the gateway against the fake member service."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from gateway_fake_member_service import RunningFake
from gateway_test_helpers import Login, MakeAccount, assert_problem, make_id_number
from hongyun.member.v1 import member_pb2 as pb

pytestmark = pytest.mark.asyncio(loop_scope="session")
URL = "/api/v1/members/search"


@pytest.fixture
async def world(
    fake_member: RunningFake, api: httpx.AsyncClient, make_account: MakeAccount, login: Login
) -> dict[str, Any]:
    t = pb.Tenant(id=str(uuid.uuid4()), name="示范党委", code="demo")
    fake_member.service.store.tenants[t.id] = t
    tenant = uuid.UUID(t.id)
    await make_account("s.admin", roles=["tenant_admin"], tenant_id=tenant)
    admin = await login("s.admin")

    async def org(**body: Any) -> dict[str, Any]:
        resp = await api.post(
            "/api/v1/organizations", json={"type": "branch", **body}, headers=admin
        )
        assert resp.status_code == 201, resp.text
        return resp.json()  # type: ignore[no-any-return]

    root = await org(name="党委", type="committee")
    br1, br2 = (
        await org(name="一支部", parent_id=root["id"]),
        await org(name="二支部", parent_id=root["id"]),
    )
    members = {}
    for key, org_id, name, seq, phone in [
        ("zs", br1["id"], "张三", "101", "13800138000"),
        ("zsf", br2["id"], "张三丰", "103", "13900001111"),
        ("ls", br1["id"], "李四", "105", "13700008000"),
    ]:
        body = {
            "organization_id": org_id, "name": name, "id_number": make_id_number("19800101", seq),
            "category": "full", "joined_on": "2005-07-01", "mobile_phone": phone,
        }  # fmt: skip
        resp = await api.post("/api/v1/members", json=body, headers=admin)
        assert resp.status_code == 201, resp.text
        members[key] = resp.json()
    await make_account(
        "s.sec", roles=["secretary"], tenant_id=tenant, scope_org_id=uuid.UUID(br1["id"])
    )
    await make_account("s.member", roles=["member"], tenant_id=tenant)
    await make_account("s.root", roles=["platform_admin"])
    return dict(
        tenant=tenant, admin=admin, sec=await login("s.sec"), member=await login("s.member"),
        root=await login("s.root"), br1=br1, br2=br2, m=members,
    )  # fmt: skip


async def test_search_returns_masked_hits_with_mode_and_matches(
    api: httpx.AsyncClient, world: dict[str, Any], fake_member: RunningFake
) -> None:
    resp = await api.get(URL, params={"q": " 张三 "}, headers=world["admin"])
    assert resp.status_code == 200, resp.text
    assert resp.headers["cache-control"] == "no-store, private"
    page = resp.json()
    assert page["mode"] == "name" and page["next_cursor"] is None
    assert [(i["name"], i["matched"]) for i in page["items"]] == [
        ("张三", ["name"]),
        ("张三丰", ["name"]),
    ]
    item = page["items"][0]
    assert item["revealed"] is False and "*" in item["id_number"] and "*" in item["mobile_phone"]
    assert item["category"] == "full" and item["organization_id"] == world["br1"]["id"]
    call = fake_member.service.calls_to("SearchMembers")[-1]
    assert call.request.query == "张三"  # trimmed before the call
    assert call.request.page_size == 20  # the search default
    assert call.time_remaining is not None  # a deadline is always set


async def test_a_suffix_reports_which_number_matched(
    api: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    page = (await api.get(URL, params={"q": "8000"}, headers=world["admin"])).json()
    assert page["mode"] == "number_suffix"
    assert {i["name"]: i["matched"] for i in page["items"]} == {
        "张三": ["mobile_phone_suffix"],
        "李四": ["mobile_phone_suffix"],
    }


async def test_filters_limit_and_cursor_are_forwarded(
    api: httpx.AsyncClient, world: dict[str, Any], fake_member: RunningFake
) -> None:
    params = {
        "q": "张三", "organization_id": world["br1"]["id"], "category": "full",
        "party_status": "normal", "limit": 1,
    }  # fmt: skip
    first = await api.get(URL, params=params, headers=world["admin"])
    assert first.status_code == 200, first.text
    call = fake_member.service.calls_to("SearchMembers")[-1].request
    assert call.organization_id == world["br1"]["id"] and call.page_size == 1
    assert call.category == pb.MEMBER_CATEGORY_FULL and call.party_status == pb.PARTY_STATUS_NORMAL
    assert [i["name"] for i in first.json()["items"]] == ["张三"]

    seen, cursor = [], None
    while True:
        resp = await api.get(
            URL, params={"q": "张三", "limit": 1, **({"cursor": cursor} if cursor else {})},
            headers=world["admin"],
        )  # fmt: skip
        assert resp.status_code == 200, resp.text
        seen += [i["id"] for i in resp.json()["items"]]
        cursor = resp.json()["next_cursor"]
        if not cursor:
            break
    assert seen == [world["m"]["zs"]["id"], world["m"]["zsf"]["id"]]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "   "}, "q"),
        ({"q": "张" * 51}, "q"),
        ({"q": "张\x01三"}, "q"),
        ({"q": "张三", "limit": 0}, "limit"),
        ({"q": "张三", "limit": 101}, "limit"),
        ({"q": "张三", "cursor": "garbage!"}, "cursor"),
        ({"q": "张三", "organization_id": "not-a-uuid"}, "organization_id"),
        ({"q": "张三", "category": "bogus"}, "category"),
        ({"q": "张三", "party_status": "bogus"}, "party_status"),
    ],
)
async def test_bad_input_is_422_before_any_call(
    api: httpx.AsyncClient, world: dict[str, Any], fake_member: RunningFake, params, field
) -> None:
    before = len(fake_member.service.calls_to("SearchMembers"))
    body = assert_problem(await api.get(URL, params=params, headers=world["admin"]), 422)
    assert field in {e["field"] for e in body["errors"]}, body
    assert len(fake_member.service.calls_to("SearchMembers")) == before


async def test_the_services_verdict_on_the_query_names_the_q_parameter(
    api: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    body = assert_problem(
        await api.get(URL, params={"q": "张"}, headers=world["admin"]), 422, "query_too_short"
    )
    assert body["errors"] == [{"field": "q", "message": "too short", "reason": "query_too_short"}]


async def test_scope_roles_and_tenant(api: httpx.AsyncClient, world: dict[str, Any]) -> None:
    sec = await api.get(URL, params={"q": "张三"}, headers=world["sec"])
    assert [i["name"] for i in sec.json()["items"]] == ["张三"]  # 张三丰 is in another branch
    outside = {"q": "张三", "organization_id": world["br2"]["id"]}
    assert_problem(await api.get(URL, params=outside, headers=world["sec"]), 404)
    assert_problem(await api.get(URL, params={"q": "张三"}, headers=world["member"]), 403)
    assert_problem(
        await api.get(URL, params={"q": "张三"}, headers=world["root"]), 400, "tenant_required"
    )
    acting = {**world["root"], "X-Hongyun-Tenant": str(world["tenant"])}
    page = (await api.get(URL, params={"q": "张三"}, headers=acting)).json()
    assert all(not i["revealed"] for i in page["items"]) and len(page["items"]) == 2
    other = {**world["admin"], "X-Hongyun-Tenant": str(uuid.uuid4())}
    assert_problem(await api.get(URL, params={"q": "张三"}, headers=other), 403, "tenant_mismatch")
    assert_problem(await api.get(URL, params={"q": "张三"}), 401)


async def test_search_is_not_mistaken_for_a_member_id_and_is_documented(
    api: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    assert (await api.get(URL, params={"q": "李四"}, headers=world["admin"])).status_code == 200
    spec = (await api.get("/openapi.json")).json()
    op = spec["paths"][URL]["get"]
    assert op["summary"].startswith("检索党员 Search members")
    assert {p["name"] for p in op["parameters"]} >= {
        "q", "organization_id", "category", "party_status", "limit", "cursor",
    }  # fmt: skip


# ---- GET /api/v1/members/counts ----

COUNTS = "/api/v1/members/counts"


async def test_counts_of_the_scope_and_of_a_subtree(
    api: httpx.AsyncClient, world: dict[str, Any], fake_member: RunningFake
) -> None:
    resp = await api.get(COUNTS, headers=world["admin"])
    assert resp.status_code == 200, resp.text
    assert resp.headers["cache-control"] == "no-store, private"
    body = resp.json()
    assert body["total"] == 3 and body["lost_contact"] == 0 and body["floating"] == 0
    assert body["by_category"] == [{"category": "full", "count": 3}]
    assert body["by_status"] == [{"party_status": "normal", "count": 3}]
    assert "id_number" not in resp.text and "name" not in resp.text  # numbers only
    sub = await api.get(
        COUNTS, params={"organization_id": world["br2"]["id"]}, headers=world["admin"]
    )
    assert sub.json()["total"] == 1
    call = fake_member.service.calls[-1]
    assert call.method == "CountMembers" and call.request.organization_id == world["br2"]["id"]
    # A secretary counts their branch only; another branch is absent to them.
    assert (await api.get(COUNTS, headers=world["sec"])).json()["total"] == 2


async def test_counts_refusals(api: httpx.AsyncClient, world: dict[str, Any]) -> None:
    outside = {"organization_id": world["br2"]["id"]}
    assert_problem(await api.get(COUNTS, params=outside, headers=world["sec"]), 404)
    assert_problem(
        await api.get(COUNTS, params={"organization_id": "x"}, headers=world["admin"]), 422
    )
    assert_problem(await api.get(COUNTS, params={"organization_id": str(uuid.uuid4())},
                                 headers=world["admin"]), 404)  # fmt: skip
    assert_problem(await api.get(COUNTS, headers=world["member"]), 403)
    assert_problem(await api.get(COUNTS), 401)
