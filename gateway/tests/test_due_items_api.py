"""GET /api/v1/due-items through the gateway against the fake member service: query → request,
the view as JSON, scope and role errors as problem+json."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from gateway_fake_member_service import RunningFake
from gateway_test_helpers import Login, MakeAccount, assert_problem
from hongyun.member.v1 import member_due_pb2 as dpb
from hongyun.member.v1 import member_pb2 as pb

pytestmark = pytest.mark.asyncio(loop_scope="session")
URL = "/api/v1/due-items"


def item(kind: int, org: str, label: str, due_on: str, overdue: bool = False) -> dpb.DueItem:
    return dpb.DueItem(
        kind=kind, organization_id=org, subject_id=str(uuid.uuid4()), subject_label=label,
        title="到期 (due)", due_on=due_on, overdue=overdue, days_left=-3 if overdue else 10,
        rule_key="org.committee.term_years", rule_citation="《中国共产党支部工作条例（试行）》",
        rule_source="national", detail="说明",
    )  # fmt: skip


@pytest.fixture
async def world(
    fake_member: RunningFake, api: httpx.AsyncClient, make_account: MakeAccount, login: Login
) -> dict[str, Any]:
    t = pb.Tenant(id=str(uuid.uuid4()), name="示范党委", code="due")
    fake_member.service.store.tenants[t.id] = t
    tenant = uuid.UUID(t.id)
    await make_account("d.admin", roles=["tenant_admin"], tenant_id=tenant)
    admin = await login("d.admin")

    async def org(**body: Any) -> dict[str, Any]:
        resp = await api.post("/api/v1/organizations", json={"type": "branch", **body},
                              headers=admin)  # fmt: skip
        assert resp.status_code == 201, resp.text
        return resp.json()  # type: ignore[no-any-return]

    root = await org(name="党委", type="committee")
    br1, br2 = (
        await org(name="一支部", parent_id=root["id"]),
        await org(name="二支部", parent_id=root["id"]),
    )
    fake_member.service.due_fake.items[t.id] = [
        item(dpb.DUE_KIND_COMMITTEE_TERM, br2["id"], "二支部", "2026-12-20"),
        item(dpb.DUE_KIND_COMMITTEE_TERM, br1["id"], "一支部", "2026-11-30", overdue=True),
        item(dpb.DUE_KIND_DUES_ARREARS, br1["id"], "张三", "2026-10-01", overdue=True),
    ]
    await make_account("d.sec", roles=["secretary"], tenant_id=tenant,
                       scope_org_id=uuid.UUID(br2["id"]))  # fmt: skip
    await make_account("d.member", roles=["member"], tenant_id=tenant)
    return dict(admin=admin, sec=await login("d.sec"), member=await login("d.member"),
                br1=br1, br2=br2)  # fmt: skip


async def test_the_view_by_kind_earliest_first(api, world, fake_member):
    resp = await api.get(URL, headers=world["admin"])
    assert resp.status_code == 200, resp.text
    assert resp.headers["cache-control"] == "no-store, private"
    body = resp.json()
    assert body["as_of"] == "2026-12-03"
    terms = {s["kind"]: s for s in body["sections"]}["committee_term"]
    assert (terms["total"], terms["overdue"], terms["title"]) == (
        2,
        1,
        "委员会换届 (committee terms)",
    )
    first = terms["items"][0]
    assert (first["subject_label"], first["due_on"], first["overdue"]) == (
        "一支部",
        "2026-11-30",
        True,
    )
    assert first["rule_key"] == "org.committee.term_years" and first["rule_citation"]
    assert [s["kind"] for s in body["sections"]] == [
        "development_step", "letter_expiring", "committee_term", "dues_arrears"]  # fmt: skip


async def test_kinds_limit_and_subtree_reach_the_service(api, world, fake_member):
    resp = await api.get(URL, params={"kind": ["dues_arrears", "committee_term"], "limit": 1,
                                      "organization_id": world["br1"]["id"]},
                         headers=world["admin"])  # fmt: skip
    assert resp.status_code == 200, resp.text
    sections = resp.json()["sections"]
    assert [(s["kind"], s["total"], len(s["items"])) for s in sections] == [
        ("dues_arrears", 1, 1), ("committee_term", 1, 1)]  # fmt: skip
    sent = fake_member.service.calls[-1].request
    assert (list(sent.kinds), sent.limit, sent.organization_id) == (
        [dpb.DUE_KIND_DUES_ARREARS, dpb.DUE_KIND_COMMITTEE_TERM], 1, world["br1"]["id"])  # fmt: skip


async def test_secretary_scope_and_roles(api, world):
    resp = await api.get(URL, params={"kind": "committee_term"}, headers=world["sec"])
    assert [i["subject_label"] for i in resp.json()["sections"][0]["items"]] == ["二支部"]
    resp = await api.get(URL, params={"organization_id": world["br1"]["id"]}, headers=world["sec"])
    assert_problem(resp, 404, "organization_not_found")
    assert_problem(await api.get(URL, headers=world["member"]), 403)
    assert_problem(await api.get(URL), 401)


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 201}, {"kind": "meetings"}, {"organization_id": "x"}]
)
async def test_bad_queries_are_refused_at_the_gateway(api, world, fake_member, params):
    before = len(fake_member.service.calls)
    assert_problem(await api.get(URL, params=params, headers=world["admin"]), 422)
    assert len(fake_member.service.calls) == before
