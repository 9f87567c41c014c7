"""Organisation changes, history, the tree on a day, warnings, committee terms and rules through
the gateway, against the fake member service (gateway_fake_org_admin.py)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from gateway_fake_member_service import RunningFake
from gateway_test_helpers import Login, MakeAccount, assert_problem
from hongyun.member.v1 import member_pb2 as pb
from hongyun_gateway.schemas.common import china_today

pytestmark = pytest.mark.asyncio(loop_scope="session")
ORGS = "/api/v1/organizations"


@pytest.fixture
async def tenant(fake_member: RunningFake, api: httpx.AsyncClient) -> uuid.UUID:
    fake_member.service.org_admin_state = None
    t = pb.Tenant(id=str(uuid.uuid4()), name="示范党委", code="demo")
    fake_member.service.store.tenants[t.id] = t
    return uuid.UUID(t.id)


@pytest.fixture
async def admin(tenant: uuid.UUID, make_account: MakeAccount, login: Login) -> dict[str, str]:
    await make_account("t.admin", roles=["tenant_admin"], tenant_id=tenant)
    return await login("t.admin")


async def _org(api: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    body = {"name": "第一党支部", "type": "branch", **body}
    resp = await api.post(ORGS, json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    return resp.json()  # type: ignore[no-any-return]


@pytest.fixture
async def tree3(api: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, dict[str, Any]]:
    root = await _org(api, admin, name="党委", type="committee")
    a = await _org(api, admin, name="总支", type="general_branch", parent_id=root["id"])
    b = await _org(api, admin, name="支部", parent_id=a["id"])
    return {"root": root, "a": a, "b": b}


def _yesterday() -> str:
    return (china_today() - timedelta(days=1)).isoformat()


async def test_tree_route_is_not_taken_for_an_organisation_id(
    api: httpx.AsyncClient, admin: dict[str, str], tree3: dict, fake_member: RunningFake
) -> None:
    resp = await api.get(f"{ORGS}/tree", params={"as_of": "2024-01-31", "limit": 2}, headers=admin)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["as_of"] == "2024-01-31" and len(body["items"]) == 2 and body["next_cursor"]
    rest = await api.get(f"{ORGS}/tree", params={"cursor": body["next_cursor"]}, headers=admin)
    ids = {o["organization_id"] for o in body["items"] + rest.json()["items"]}
    assert ids == {tree3[k]["id"] for k in ("root", "a", "b")}
    (call, _) = fake_member.service.calls_to("GetOrganizationTree")
    assert call.request.as_of == "2024-01-31" and call.request.page_size == 2
    item = body["items"][0]
    assert set(item) >= {"organization_id", "parent_id", "name", "type", "status", "depth",
                         "valid_from", "valid_to", "change"}  # fmt: skip
    assert item["status"] == "active" and item["change"] == "created"
    # the plain organisation routes still work
    got = await api.get(f"{ORGS}/{tree3['b']['id']}", headers=admin)
    assert got.status_code == 200 and got.json()["name"] == "支部"


async def test_tree_query_validation(api: httpx.AsyncClient, admin: dict[str, str]) -> None:
    body = assert_problem(
        await api.get(f"{ORGS}/tree", params={"as_of": "2024-02-30"}, headers=admin), 422
    )
    assert body["errors"][0]["field"] == "as_of"
    assert_problem(await api.get(f"{ORGS}/tree", params={"max_depth": -1}, headers=admin), 422)
    assert_problem(await api.get(f"{ORGS}/tree", params={"root_id": "x"}, headers=admin), 422)


async def test_rename_maps_the_body_and_returns_the_new_version(
    api: httpx.AsyncClient, admin: dict[str, str], tree3: dict, fake_member: RunningFake
) -> None:
    b = tree3["b"]
    resp = await api.post(
        f"{ORGS}/{b['id']}:rename",
        json={"name": " 第一支部 ", "effective_on": _yesterday(), "reason": "补录更名"},
        headers=admin,
    )
    assert resp.status_code == 200, resp.text
    v = resp.json()
    assert v["name"] == "第一支部" and v["change"] == "renamed" and v["type"] == "branch"
    assert v["valid_to"] is None and v["reason"] == "补录更名"
    (call,) = fake_member.service.calls_to("RenameOrganization")
    assert call.request.effective_on == _yesterday() and call.request.name == "第一支部"

    history = (await api.get(f"{ORGS}/{b['id']}/history", headers=admin)).json()
    assert [h["change"] for h in history["items"]] == ["renamed"]
    assert history["next_cursor"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "effective_on": "2020-01-01"}, "reason"),  # back-dated without reason
        ({"name": "x", "effective_on": "2999-01-01", "reason": "r"}, "effective_on"),
        ({"name": "x", "effective_on": "01/02/2024", "reason": "r"}, "effective_on"),
        ({"name": ""}, "name"),
        ({"name": "x", "reason": "r" * 501}, "reason"),
        ({"name": "x", "unknown": 1}, "unknown"),
    ],
)
async def test_bad_changes_are_422_before_any_grpc_call(
    api: httpx.AsyncClient, admin: dict[str, str], tree3: dict, fake_member: RunningFake,
    body: dict, field: str,
) -> None:  # fmt: skip
    before = len(fake_member.service.calls)
    resp = await api.post(f"{ORGS}/{tree3['b']['id']}:rename", json=body, headers=admin)
    problem = assert_problem(resp, 422, "validation_failed")
    assert field in {e["field"] for e in problem["errors"]}
    assert len(fake_member.service.calls) == before


async def test_move_into_own_subtree_is_a_409_problem(
    api: httpx.AsyncClient, admin: dict[str, str], tree3: dict
) -> None:
    resp = await api.post(
        f"{ORGS}/{tree3['a']['id']}:move", json={"new_parent_id": tree3["b"]["id"]}, headers=admin
    )
    body = assert_problem(resp, 409, "org_move_cycle")
    assert "下级组织" in body["detail"]
    ok = await api.post(
        f"{ORGS}/{tree3['b']['id']}:move",
        json={"new_parent_id": tree3["root"]["id"]},
        headers=admin,
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["organization"]["parent_id"] == tree3["root"]["id"]
    assert ok.json()["moved_organizations"] == 1
    bad = await api.post(f"{ORGS}/{tree3['b']['id']}:move", json={"new_parent_id": "x"},
                         headers=admin)  # fmt: skip
    assert_problem(bad, 422, "validation_failed")


async def test_merge_and_dissolve(
    api: httpx.AsyncClient, admin: dict[str, str], tree3: dict, fake_member: RunningFake,
    tenant: uuid.UUID,
) -> None:  # fmt: skip
    b = tree3["b"]
    fake_member.service.store.members["m1"] = pb.Member(
        id="m1", tenant_id=str(tenant), organization_id=b["id"],
        profile=pb.MemberProfile(name="张三", category=pb.MEMBER_CATEGORY_FULL),
    )  # fmt: skip
    body = assert_problem(await api.post(f"{ORGS}/{b['id']}:dissolve", json={}, headers=admin),
                          409, "org_not_empty")  # fmt: skip
    assert "党员" in body["detail"]
    merged = await api.post(
        f"{ORGS}/{b['id']}:merge", json={"target_id": tree3["a"]["id"], "reason": "合并"},
        headers=admin,
    )  # fmt: skip
    assert merged.status_code == 200, merged.text
    m = merged.json()
    assert m["moved_members"] == 1 and m["source"]["status"] == "merged"
    assert m["source"]["merged_into_id"] == tree3["a"]["id"]
    empty = await _org(api, admin, name="临时", parent_id=tree3["root"]["id"])
    gone = await api.post(f"{ORGS}/{empty['id']}:dissolve", json={"reason": "撤销"}, headers=admin)
    assert gone.status_code == 200 and gone.json()["status"] == "dissolved"


async def test_other_tenant_sees_404_and_secretary_cannot_touch_scope_root(
    api: httpx.AsyncClient, admin: dict[str, str], tree3: dict, fake_member: RunningFake,
    make_account: MakeAccount, login: Login, tenant: uuid.UUID,
) -> None:  # fmt: skip
    other = pb.Tenant(id=str(uuid.uuid4()), name="乙", code="other")
    fake_member.service.store.tenants[other.id] = other
    await make_account("o.admin", roles=["tenant_admin"], tenant_id=uuid.UUID(other.id))
    outsider = await login("o.admin")
    b = tree3["b"]
    for path, body in [
        (f"{ORGS}/{b['id']}:rename", {"name": "x"}),
        (f"{ORGS}/{b['id']}:dissolve", {}),
        (f"{ORGS}/{b['id']}/committee-terms", {"unit_kind": "other", "started_on": "2024-01-01"}),
    ]:
        assert_problem(await api.post(path, json=body, headers=outsider), 404)
    for path in (f"{ORGS}/{b['id']}/history", f"{ORGS}/{b['id']}/health"):
        assert_problem(await api.get(path, headers=outsider), 404)

    await make_account("sec", roles=["secretary"], tenant_id=tenant,
                       scope_org_id=uuid.UUID(tree3["a"]["id"]))  # fmt: skip
    sec = await login("sec")
    own_root = await api.post(f"{ORGS}/{tree3['a']['id']}:rename", json={"name": "x"}, headers=sec)
    assert_problem(own_root, 403, "scope_root_protected")
    inside = await api.post(f"{ORGS}/{b['id']}:rename", json={"name": "改名"}, headers=sec)
    assert inside.status_code == 200
    outside = await api.post(f"{ORGS}/{tree3['root']['id']}:rename", json={"name": "x"},
                             headers=sec)  # fmt: skip
    assert_problem(outside, 404)


async def test_health_and_committee_terms(
    api: httpx.AsyncClient, admin: dict[str, str], tree3: dict, fake_member: RunningFake
) -> None:
    b = tree3["b"]
    health = await api.get(f"{ORGS}/{b['id']}/health", headers=admin)
    assert health.status_code == 200, health.text
    h = health.json()
    assert h["full_members"] == 0 and h["latest_term"] is None and h["type"] == "branch"
    (w,) = h["warnings"]
    assert w["code"] == "branch_too_few_full_members" and w["rule"]["value"] == 3
    assert w["rule"]["source"] == "national" and "支部工作条例" in w["rule"]["citation"]
    assert w["message_zh"] and w["message_en"]

    created = await api.post(
        f"{ORGS}/{b['id']}/committee-terms",
        json={"unit_kind": "village_community", "started_on": "2024-02-29", "committee_members": 5},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    t = created.json()
    assert t["unit_kind"] == "village_community" and t["committee_members"] == 5
    assert t["started_on"] == "2024-02-29" and date.fromisoformat(t["ends_on"]) > date(2024, 2, 29)
    (call,) = fake_member.service.calls_to("RecordCommitteeTerm")
    assert call.request.term_years == 0  # from the rule unless given
    listed = (await api.get(f"{ORGS}/{b['id']}/committee-terms", headers=admin)).json()
    assert [x["id"] for x in listed["items"]] == [t["id"]]

    for body, field in [
        ({"unit_kind": "city", "started_on": "2024-01-01"}, "unit_kind"),
        ({"unit_kind": "other", "started_on": "2999-01-01"}, "started_on"),
        ({"unit_kind": "other", "started_on": "2024-01-01", "committee_members": 0},
         "committee_members"),
        ({"unit_kind": "other", "started_on": "2024-01-01", "term_years": 11}, "term_years"),
    ]:  # fmt: skip
        resp = await api.post(f"{ORGS}/{b['id']}/committee-terms", json=body, headers=admin)
        assert field in {e["field"] for e in assert_problem(resp, 422)["errors"]}


# ---- rules ----


async def test_rules_list_override_and_remove(
    api: httpx.AsyncClient, admin: dict[str, str], tenant: uuid.UUID, fake_member: RunningFake,
    make_account: MakeAccount, login: Login,
) -> None:  # fmt: skip
    listed = (await api.get("/api/v1/rules", headers=admin)).json()
    assert {r["key"] for r in listed["items"]} >= {"org.branch.min_full_members"}
    assert listed["next_cursor"] is None
    first = listed["items"][0]
    assert first["source"] == "national" and first["value"] == first["national_value"]

    put = await api.put(
        "/api/v1/rules/org.branch.max_members",
        json={"value": 40, "citation": "某省委组织部〔2026〕1号", "effective_from": "2026-01-01"},
        headers=admin,
    )
    assert put.status_code == 200, put.text
    rule = put.json()
    assert rule["value"] == 40 and rule["source"] == "tenant"
    assert rule["source_tenant_id"] == str(tenant) and rule["national_value"] == 50
    (call,) = fake_member.service.calls_to("SetRuleOverride")
    assert call.request.value_json == "40" and call.request.effective_from == "2026-01-01"

    bad = await api.put("/api/v1/rules/org.branch.max_members",
                        json={"value": "forty", "citation": "x"}, headers=admin)  # fmt: skip
    assert_problem(bad, 422, "invalid_rule_value")
    no_citation = await api.put("/api/v1/rules/org.branch.max_members",
                                json={"value": 40, "citation": " "}, headers=admin)  # fmt: skip
    assert_problem(no_citation, 422, "validation_failed")
    assert_problem(await api.put("/api/v1/rules/Bad Key!", json={"value": 1, "citation": "x"},
                                 headers=admin), 422)  # fmt: skip
    assert_problem(await api.get("/api/v1/rules/org.nope", headers=admin), 404, "rule_not_found")

    await make_account("sec2", roles=["secretary"], tenant_id=tenant, scope_org_id=uuid.uuid4())
    sec = await login("sec2")
    calls = len(fake_member.service.calls)
    denied = await api.put("/api/v1/rules/org.branch.max_members",
                           json={"value": 40, "citation": "x"}, headers=sec)  # fmt: skip
    assert_problem(denied, 403, "permission_denied")
    assert len(fake_member.service.calls) == calls  # refused before any gRPC call
    seen = (await api.get("/api/v1/rules/org.branch.max_members", headers=sec)).json()
    assert seen["value"] == 40  # everyone in the tenant sees which rule applies and why

    removed = await api.delete("/api/v1/rules/org.branch.max_members",
                               params={"reason": "撤回"}, headers=admin)  # fmt: skip
    assert removed.status_code == 200 and removed.json()["source"] == "national"
    assert_problem(await api.delete("/api/v1/rules/org.branch.max_members", headers=admin), 404)


async def test_openapi_documents_the_new_routes(api: httpx.AsyncClient) -> None:
    paths = (await api.get("/openapi.json")).json()["paths"]
    for path in (
        "/api/v1/organizations/tree",
        "/api/v1/organizations/{organization_id}:rename",
        "/api/v1/organizations/{organization_id}:move",
        "/api/v1/organizations/{organization_id}:merge",
        "/api/v1/organizations/{organization_id}:dissolve",
        "/api/v1/organizations/{organization_id}/history",
        "/api/v1/organizations/{organization_id}/health",
        "/api/v1/organizations/{organization_id}/committee-terms",
        "/api/v1/rules",
        "/api/v1/rules/{key}",
    ):
        assert path in paths, path
    assert "422" in paths["/api/v1/organizations/{organization_id}:move"]["post"]["responses"]
