"""组织关系转接 through the gateway's REST API, against the fake member service
(gateway_fake_letters.py): routes, JSON shapes, validation, refusals as problem+json, the
caller forwarded to the service, the PDF download, and the OpenAPI description."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from gateway_fake_member_service import RunningFake
from gateway_test_helpers import Login, MakeAccount, assert_problem, make_id_number
from hongyun.member.v1 import member_letters_pb2 as lpb
from hongyun.member.v1 import member_pb2 as pb

pytestmark = pytest.mark.asyncio(loop_scope="session")
BASE = "/api/v1/relationship-transfers"


def _tenant(fake: RunningFake, name: str, code: str, parent: str = "") -> str:
    t = pb.Tenant(id=str(uuid.uuid4()), name=name, code=code, parent_id=parent)
    fake.service.store.tenants[t.id] = t
    return t.id


@pytest.fixture
async def world(
    fake_member: RunningFake, api: httpx.AsyncClient, make_account: MakeAccount, login: Login
) -> dict[str, Any]:
    """Province → cities A and B (siblings); U elsewhere. A: root → 一支部, 二支部; B: root."""
    prov = _tenant(fake_member, "示范省", "prov")
    a = _tenant(fake_member, "甲市", "city-a", prov)
    b = _tenant(fake_member, "乙市", "city-b", prov)
    u = _tenant(fake_member, "无关", "other")
    headers = {}
    for name, tenant in (("a.admin", a), ("b.admin", b), ("u.admin", u)):
        await make_account(name, roles=["tenant_admin"], tenant_id=uuid.UUID(tenant))
        headers[name] = await login(name)

    async def org(who: str, name: str, type_: str, parent: str | None = None) -> str:
        body = {"name": name, "type": type_, **({"parent_id": parent} if parent else {})}
        resp = await api.post("/api/v1/organizations", json=body, headers=headers[who])
        assert resp.status_code == 201, resp.text
        return str(resp.json()["id"])

    root_a = await org("a.admin", "甲市委", "committee")
    a1 = await org("a.admin", "一支部", "branch", root_a)
    a2 = await org("a.admin", "二支部", "branch", root_a)
    root_b = await org("b.admin", "乙市委", "committee")
    await make_account("a1.sec", roles=["secretary"], tenant_id=uuid.UUID(a),
                       scope_org_id=uuid.UUID(a1))  # fmt: skip
    await make_account("a.member", roles=["member"], tenant_id=uuid.UUID(a))
    headers["a1.sec"] = await login("a1.sec")
    headers["a.member"] = await login("a.member")
    member = await api.post("/api/v1/members", headers=headers["a.admin"], json={
        "organization_id": a1, "name": "陈转接", "gender": "male",
        "id_number": make_id_number(seq="321"), "birth_date": "1980-01-01",
        "category": "full", "ethnicity": "汉族", "joined_on": "2005-07-01",
    })  # fmt: skip
    assert member.status_code == 201, member.text
    return {"a": a, "b": b, "u": u, "a1": a1, "a2": a2, "root_b": root_b, "h": headers,
            "member": member.json()["id"]}  # fmt: skip


async def _create(api: httpx.AsyncClient, w: dict, **body: Any) -> dict[str, Any]:
    body = {"member_id": w["member"], "dues_paid_until": "2026-11", "reason": "工作调动", **body}
    resp = await api.post(BASE, json=body, headers=w["h"]["a.admin"])
    assert resp.status_code == 201, resp.text
    return resp.json()  # type: ignore[no-any-return]


async def _step(api: httpx.AsyncClient, w: dict, letter_id: str, verb: str, who: str = "a.admin",
                **body: Any) -> httpx.Response:  # fmt: skip
    return await api.post(f"{BASE}/{letter_id}:{verb}", json=body, headers=w["h"][who])


async def test_within_tenant_workflow(
    api: httpx.AsyncClient, world: dict, fake_member: RunningFake
) -> None:
    w = world
    resp = await api.post(BASE, headers=w["h"]["a.admin"], json={
        "member_id": w["member"], "scope": "within_tenant", "to_organization_id": w["a2"],
        "dues_paid_until": "2026-11", "reason": "工作调动"})  # fmt: skip
    assert resp.status_code == 201, resp.text
    letter = resp.json()
    assert resp.headers["location"] == f"{BASE}/{letter['id']}"
    assert letter["state"] == "draft" and letter["scope"] == "within_tenant"
    assert letter["direction"] == "outgoing" and letter["destination"] == "二支部"
    assert letter["member_name"] == "陈转接" and letter["member_gender"] == "male"
    assert letter["member_category"] == "full" and letter["dues_paid_until"] == "2026-11"
    assert letter["letter_number"] is None and letter["valid_until"] is None
    (call,) = fake_member.service.calls_to("CreateLetter")
    assert call.request.scope == lpb.LETTER_SCOPE_WITHIN_TENANT
    assert str(call.caller.tenant_id) == w["a"] and "tenant_admin" in call.caller.roles
    assert call.time_remaining is not None  # a deadline travels with the call

    approved = await _step(api, w, letter["id"], "approve", expected_version=letter["version"])
    assert approved.status_code == 200 and approved.json()["state"] == "approved"
    issued = (await _step(api, w, letter["id"], "issue")).json()
    assert issued["state"] == "issued" and issued["valid_days"] == 30
    assert issued["validity_source"] == "national" and issued["letter_number"].startswith("〔")
    assert issued["valid_until"] > issued["issued_on"]
    received = await _step(api, w, letter["id"], "receive", organization_id=w["a2"])
    assert received.status_code == 200, received.text
    body = received.json()
    assert body["state"] == "received" and body["placed_organization_id"] == w["a2"]
    assert body["received_member_id"] == w["member"]
    moved = await api.get(f"/api/v1/members/{w['member']}", headers=w["h"]["a.admin"])
    assert moved.json()["organization_id"] == w["a2"]
    done = (await _step(api, w, letter["id"], "confirm-receipt")).json()
    assert done["state"] == "receipt_returned" and done["receipt_at"]


async def test_receiving_a_revoked_letter_is_refused_as_problem_json(
    api: httpx.AsyncClient, world: dict
) -> None:
    w = world
    letter = await _create(api, w, scope="within_tenant", to_organization_id=w["a2"])
    await _step(api, w, letter["id"], "approve")
    await _step(api, w, letter["id"], "issue")
    revoked = await _step(api, w, letter["id"], "revoke", reason="本人放弃")
    assert revoked.status_code == 200 and revoked.json()["revoke_reason"] == "本人放弃"
    resp = await _step(api, w, letter["id"], "receive", organization_id=w["a2"])
    body = assert_problem(resp, 409, "letter_state")
    assert resp.headers["content-type"] == "application/problem+json"
    assert "revoked" in body["detail"] and body["instance"].endswith(":receive")
    assert_problem(await _step(api, w, letter["id"], "revoke", reason="再撤"), 409, "letter_state")
    # A new letter may then be filled in; a second open one may not.
    await _create(api, w, scope="out_of_platform", destination="北京某单位")
    resp = await api.post(BASE, headers=w["h"]["a.admin"], json={
        "member_id": w["member"], "scope": "out_of_platform", "destination": "上海",
        "dues_paid_until": "2026-11", "reason": "再开"})  # fmt: skip
    assert_problem(resp, 409, "open_letter_exists")


async def test_stale_version_is_a_conflict(api: httpx.AsyncClient, world: dict) -> None:
    w = world
    letter = await _create(api, w, scope="within_tenant", to_organization_id=w["a2"])
    assert_problem(await _step(api, w, letter["id"], "approve", expected_version=9), 409,
                   "version_conflict")  # fmt: skip
    assert_problem(await _step(api, w, letter["id"], "approve", expected_version=0), 422)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scope": "within_tenant"}, "to_organization_id"),
        ({"scope": "cross_tenant"}, "receiving_tenant_id"),
        ({"scope": "out_of_platform", "destination": "  "}, "destination"),
        ({"scope": "out_of_platform", "destination": "x", "dues_paid_until": "2026-13"},
         "dues_paid_until"),
        ({"scope": "out_of_platform", "destination": "x", "reason": ""}, "reason"),
        ({"scope": "sideways", "destination": "x"}, "scope"),
        ({"scope": "out_of_platform", "destination": "x", "extra": 1}, "extra"),
    ],
)  # fmt: skip
async def test_validation(api: httpx.AsyncClient, world: dict, body: dict, field: str) -> None:
    full = {"member_id": world["member"], "dues_paid_until": "2026-11", "reason": "调动", **body}
    problem = assert_problem(
        await api.post(BASE, json=full, headers=world["h"]["a.admin"]), 422, "validation_failed"
    )
    assert field in [e["field"] for e in problem["errors"]]


async def test_receive_and_receipt_bodies(api: httpx.AsyncClient, world: dict) -> None:
    w = world
    x = str(uuid.uuid4())
    assert_problem(await _step(api, w, x, "receive"), 422)  # organization_id is required
    future = "2999-01-01"
    assert_problem(await _step(api, w, x, "receive", organization_id=w["a2"], reported_on=future),
                   422)  # fmt: skip
    assert_problem(await _step(api, w, x, "revoke"), 422)  # reason is required
    assert_problem(await _step(api, w, x, "receive", organization_id=w["a2"]), 404,
                   "letter_not_found")  # fmt: skip
    assert_problem(await api.get(f"{BASE}/not-a-uuid", headers=w["h"]["a.admin"]), 422)


async def test_other_tenants_scopes_and_roles(api: httpx.AsyncClient, world: dict) -> None:
    w = world
    letter = await _create(api, w, scope="within_tenant", to_organization_id=w["a2"])
    for who in ("u.admin", "b.admin"):
        assert_problem(await api.get(f"{BASE}/{letter['id']}", headers=w["h"][who]), 404,
                       "letter_not_found")  # fmt: skip
        listed = await api.get(BASE, headers=w["h"][who])
        assert listed.status_code == 200 and listed.json()["items"] == []
    # The member's own branch sees it as outgoing.
    mine = await api.get(f"{BASE}/{letter['id']}", headers=w["h"]["a1.sec"])
    assert mine.status_code == 200 and mine.json()["direction"] == "outgoing"
    assert_problem(await api.get(BASE, headers=w["h"]["a.member"]), 403, "permission_denied")
    assert_problem(await api.get(BASE), 401)


async def test_sibling_tenant(api: httpx.AsyncClient, world: dict) -> None:
    w = world
    dests = await api.get(f"{BASE}/destinations", headers=w["h"]["a.admin"])
    assert dests.status_code == 200
    assert dests.json()["items"] == [{"tenant_id": w["b"], "name": "乙市", "code": "city-b"}]
    resp = await api.post(BASE, headers=w["h"]["a.admin"], json={
        "member_id": w["member"], "scope": "cross_tenant", "receiving_tenant_id": w["u"],
        "dues_paid_until": "2026-11", "reason": "调动"})  # fmt: skip
    assert_problem(resp, 404, "receiving_tenant_not_found")
    letter = await _create(api, w, scope="cross_tenant", receiving_tenant_id=w["b"])
    assert letter["destination"] == "乙市"
    # Not visible to the receiver before it is issued.
    assert_problem(await api.get(f"{BASE}/{letter['id']}", headers=w["h"]["b.admin"]), 404)
    await _step(api, w, letter["id"], "approve")
    await _step(api, w, letter["id"], "issue")
    incoming = await api.get(BASE, params={"direction": "incoming"}, headers=w["h"]["b.admin"])
    [item] = incoming.json()["items"]
    assert item["id"] == letter["id"] and item["direction"] == "incoming"
    received = await _step(api, w, letter["id"], "receive", "b.admin",
                           organization_id=w["root_b"], reported_on="2026-01-05")  # fmt: skip
    assert received.status_code == 200, received.text
    body = received.json()
    assert body["received_member_id"] != w["member"] and body["reported_on"] == "2026-01-05"
    there = await api.get(f"/api/v1/members/{body['received_member_id']}",
                          headers=w["h"]["b.admin"])  # fmt: skip
    assert there.status_code == 200 and there.json()["name"] == "陈转接"
    gone = await api.get(f"/api/v1/members/{w['member']}", headers=w["h"]["a.admin"])
    assert_problem(gone, 404)


async def test_print_and_lists(
    api: httpx.AsyncClient, world: dict, fake_member: RunningFake
) -> None:
    w = world
    letter = await _create(api, w, scope="out_of_platform", destination="中共北京市委组织部")
    early = await api.get(f"{BASE}/{letter['id']}/letter.pdf", headers=w["h"]["a.admin"])
    assert_problem(early, 409, "letter_state")
    await _step(api, w, letter["id"], "approve")
    issued = (await _step(api, w, letter["id"], "issue")).json()
    pdf = await api.get(f"{BASE}/{letter['id']}/letter.pdf", headers=w["h"]["a.admin"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["cache-control"] == "no-store, private"
    assert "filename*=UTF-8''" in pdf.headers["content-disposition"]
    assert "attachment" in pdf.headers["content-disposition"]

    # Out of the platform: the receipt completes it, with the day on the receipt.
    assert_problem(await _step(api, w, letter["id"], "receive", organization_id=w["a2"]), 409,
                   "letter_scope")  # fmt: skip
    done = await _step(api, w, letter["id"], "confirm-receipt", reported_on=issued["issued_on"])
    assert done.status_code == 200 and done.json()["reported_on"] == issued["issued_on"]

    # Filters and cursor pagination reach the service.
    for i in range(3):
        extra = await api.post("/api/v1/members", headers=w["h"]["a.admin"], json={
            "organization_id": w["a1"], "name": f"刘{i}", "gender": "male",
            "id_number": make_id_number(seq=f"40{i}"), "birth_date": "1980-01-01",
            "category": "full", "joined_on": "2005-07-01"})  # fmt: skip
        await _create(api, {**w, "member": extra.json()["id"]}, scope="within_tenant",
                      to_organization_id=w["a2"])  # fmt: skip
    page = await api.get(BASE, params={"limit": 2, "state": "draft", "scope": "within_tenant",
                                       "direction": "outgoing"}, headers=w["h"]["a.admin"])  # fmt: skip
    assert page.status_code == 200 and len(page.json()["items"]) == 2
    call = fake_member.service.calls_to("ListLetters")[-1]
    assert (call.request.state, call.request.scope, call.request.direction, call.request.page_size) \
        == (lpb.LETTER_STATE_DRAFT, lpb.LETTER_SCOPE_WITHIN_TENANT, lpb.LETTER_DIRECTION_OUTGOING, 2)  # fmt: skip
    rest = await api.get(BASE, params={"cursor": page.json()["next_cursor"], "state": "draft"},
                         headers=w["h"]["a.admin"])  # fmt: skip
    assert len(rest.json()["items"]) == 1 and rest.json()["next_cursor"] is None
    assert_problem(await api.get(BASE, params={"state": "lost"}, headers=w["h"]["a.admin"]), 422)


async def test_openapi(api: httpx.AsyncClient) -> None:
    spec = (await api.get("/openapi.json")).json()
    paths = spec["paths"]
    for path, method in [
        (BASE, "post"), (BASE, "get"), (f"{BASE}/destinations", "get"),
        (f"{BASE}/{{letter_id}}", "get"), (f"{BASE}/{{letter_id}}:approve", "post"),
        (f"{BASE}/{{letter_id}}:issue", "post"), (f"{BASE}/{{letter_id}}:receive", "post"),
        (f"{BASE}/{{letter_id}}:confirm-receipt", "post"), (f"{BASE}/{{letter_id}}:revoke", "post"),
        (f"{BASE}/{{letter_id}}/letter.pdf", "get"),
    ]:  # fmt: skip
        op = paths[path][method]
        summary = op["summary"]
        assert any("\u4e00" <= c <= "\u9fff" for c in summary) and any(c.isascii() and c.isalpha()
                                                                         for c in summary)  # fmt: skip
        assert "application/problem+json" in op["responses"]["404" if method == "get" and "{" in path
                                                              else "401"]["content"]  # fmt: skip
    assert "application/pdf" in paths[f"{BASE}/{{letter_id}}/letter.pdf"]["get"]["responses"][
        "200"]["content"]  # fmt: skip
    for name in ("LetterCreate", "LetterRead", "LetterPage", "LetterReceive"):
        assert name in spec["components"]["schemas"]
