"""The development pipeline's REST API (/api/v1/development) against the in-process fake
DevelopmentService (gateway_fake_development.py): request and response shapes, problem+json for
refused steps with the rule key and citation, validation, scope and tenant isolation as the
service reports them, and the caller forwarded to the service."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import grpc
import httpx
import pytest
from gateway_fake_member_service import RunningFake
from gateway_test_helpers import Login, MakeAccount, assert_problem, make_id_number
from hongyun.member.v1 import member_pb2 as pb
from hongyun_gateway.schemas.common import china_today

pytestmark = pytest.mark.asyncio(loop_scope="session")
BASE = "/api/v1/development"
LATE = "历史档案补录"


@pytest.fixture
async def world(
    fake_member: RunningFake, api: httpx.AsyncClient, make_account: MakeAccount, login: Login
) -> dict[str, Any]:
    store = fake_member.service.store
    tenants = {}
    for code in ("dev-a", "dev-b"):
        t = pb.Tenant(id=str(uuid.uuid4()), name=code, code=code)
        store.tenants[t.id] = t
        tenants[code] = t.id
    orgs = {}
    for name, tenant, parent in (("root", "dev-a", ""), ("br1", "dev-a", "root"),
                                 ("br2", "dev-a", "root"), ("root_b", "dev-b", "")):  # fmt: skip
        o = pb.Organization(id=str(uuid.uuid4()), tenant_id=tenants[tenant], name=name,
                            parent_id=orgs[parent].id if parent else "", depth=2 if parent else 1)  # fmt: skip
        store.organizations[o.id] = o
        orgs[name] = o

    def member(org: str, category: int) -> str:
        m = pb.Member(id=str(uuid.uuid4()), tenant_id=orgs[org].tenant_id,
                      organization_id=orgs[org].id, profile=pb.MemberProfile(
                          name="党员", category=category))  # fmt: skip
        store.members[m.id] = m
        return m.id

    await make_account("dev.admin", roles=["tenant_admin"], tenant_id=uuid.UUID(tenants["dev-a"]))
    await make_account("dev.admin.b", roles=["tenant_admin"],
                       tenant_id=uuid.UUID(tenants["dev-b"]))  # fmt: skip
    await make_account("dev.sec1", roles=["secretary"], tenant_id=uuid.UUID(tenants["dev-a"]),
                       scope_org_id=uuid.UUID(orgs["br1"].id))  # fmt: skip
    await make_account("dev.sec2", roles=["secretary"], tenant_id=uuid.UUID(tenants["dev-a"]),
                       scope_org_id=uuid.UUID(orgs["br2"].id))  # fmt: skip
    await make_account("dev.member", roles=["member"], tenant_id=uuid.UUID(tenants["dev-a"]))
    return {
        "tenants": tenants, "orgs": orgs, "admin": await login("dev.admin"),
        "admin_b": await login("dev.admin.b"), "sec1": await login("dev.sec1"),
        "sec2": await login("dev.sec2"), "member": await login("dev.member"),
        "full1": member("br1", pb.MEMBER_CATEGORY_FULL),
        "full2": member("br1", pb.MEMBER_CATEGORY_FULL),
        "prob": member("br1", pb.MEMBER_CATEGORY_PROBATIONARY),
    }  # fmt: skip


def _case_body(world: dict, **kw: Any) -> dict[str, Any]:
    body = {"organization_id": world["orgs"]["br1"].id, "name": "张小红",
            "id_number": make_id_number("19900315", "101"), "application_date": "2023-03-01",
            "late_reason": LATE}  # fmt: skip
    body.update(kw)
    return body


async def _open(api: httpx.AsyncClient, world: dict, headers: str = "admin", **kw: Any) -> dict:
    resp = await api.post(f"{BASE}/cases", json=_case_body(world, **kw), headers=world[headers])
    assert resp.status_code == 201, resp.text
    return resp.json()  # type: ignore[no-any-return]


def _step(n: int, world: dict, **kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"number": n, "date": "2024-06-01", "late_reason": LATE}
    if n == 9:
        body["member_ids"] = [world["full1"], world["full2"]]
    if n in (15, 23):
        body["votes"] = {"entitled": 10, "present": 8, "yes": 8}
    if n in (10, 17, 24):
        body["decision"] = "approved"
    body.update(kw)
    return body


async def _walk(api: httpx.AsyncClient, world: dict, case_id: str, upto: int, first: int = 2):
    resp = None
    for n in range(first, upto + 1):
        resp = await api.post(f"{BASE}/cases/{case_id}/steps", json=_step(n, world),
                              headers=world["admin"])  # fmt: skip
        assert resp.status_code == 201, resp.text
    return resp


async def test_the_catalogue_lists_5_stages_and_25_steps(api, world) -> None:
    resp = await api.get(f"{BASE}/steps", headers=world["sec1"])
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert [s["number"] for s in body["stages"]] == [1, 2, 3, 4, 5]
    assert [s["number"] for s in body["steps"]] == list(range(1, 26))
    assert body["steps"][14]["records"] == ["votes"] and body["steps"][5]["repeatable"]


async def test_opening_a_case_returns_it_masked_with_its_evaluation(
    api, world, fake_member: RunningFake
) -> None:
    resp = await api.post(f"{BASE}/cases", json=_case_body(world), headers=world["sec1"])
    assert resp.status_code == 201, resp.text
    body = resp.json()
    case, ev = body["case"], body["evaluation"]
    assert resp.headers["location"] == f"{BASE}/cases/{case['id']}"
    assert resp.headers["cache-control"] == "no-store, private"
    assert case["status"] == "open" and case["current_step"] == 1 and "*" in case["id_number"]
    assert case["birth_date"] == "1990-03-15" and case["member_id"] is None
    assert ev["next_step"] == 2 and ev["stage"] == 1 and ev["blockers"] == []
    assert ev["deadline"]["due_on"] == "2023-04-01" and ev["deadline"]["overdue"] is True
    assert ev["deadline"]["rule_key"] == "dev.application.talk_within_months"
    (call,) = fake_member.service.calls_to("OpenDevelopmentCase")
    assert call.caller.scope_org_id == uuid.UUID(world["orgs"]["br1"].id)
    assert call.request.late_reason == LATE and call.time_remaining is not None

    got = await api.get(f"{BASE}/cases/{case['id']}", headers=world["admin"])
    assert got.status_code == 200 and got.headers["cache-control"] == "no-store, private"
    detail = got.json()
    assert [s["number"] for s in detail["steps"]] == [1] and detail["steps"][0]["late"]
    assert detail["timeline"][0]["kind"] == "step" and detail["timeline"][0]["step"] == 1


async def test_an_applicant_under_18_is_a_problem_naming_the_rule(api, world) -> None:
    body = _case_body(world, id_number=make_id_number("20080229", "102"),
                      application_date="2026-02-27")  # fmt: skip
    resp = await api.post(f"{BASE}/cases", json=body, headers=world["admin"])
    problem = assert_problem(resp, 409, "rule_violated")
    assert problem["rule_key"] == "dev.application.min_age_years"
    assert "十八岁" in problem["rule_citation"] and problem["rule_citation"] in problem["detail"]
    assert problem["errors"] == [{"field": "date", "message": problem["detail"],
                                  "reason": "dev.application.min_age_years"}]  # fmt: skip


async def test_malformed_requests_are_422_before_reaching_the_service(
    api, world, fake_member: RunningFake
) -> None:
    tomorrow = (china_today() + timedelta(days=1)).isoformat()
    for body, fld in ((_case_body(world, id_number="110105199003151234"), "id_number"),
                      (_case_body(world, application_date=tomorrow), "application_date"),
                      (_case_body(world, colour="red"), "colour")):  # fmt: skip
        resp = await api.post(f"{BASE}/cases", json=body, headers=world["admin"])
        problem = assert_problem(resp, 422, "validation_failed")
        assert problem["errors"][0]["field"] == fld
    case = await _open(api, world)
    for body, fld in (({"number": 26, "date": "2024-01-01"}, "number"),
                      ({"number": 15, "date": "2024-01-01", "votes": {"entitled": 0, "present": 0,
                        "yes": 0}}, "votes.entitled"),
                      ({"number": 11, "date": "2024-01-01", "training_class_hours": "1.234"},
                       "training_class_hours")):  # fmt: skip
        resp = await api.post(f"{BASE}/cases/{case['case']['id']}/steps", json=body,
                              headers=world["admin"])  # fmt: skip
        problem = assert_problem(resp, 422, "validation_failed")
        assert problem["errors"][0]["field"] == fld
    assert not fake_member.service.calls_to("RecordDevelopmentStep")
    resp = await api.get(f"{BASE}/cases/{case['case']['id']}", params={"reveal": "true"},
                         headers=world["admin"])  # fmt: skip
    assert assert_problem(resp, 422, "validation_failed")["errors"][0]["field"] == "reason"


async def test_steps_are_recorded_and_refusals_name_their_rule(
    api, world, fake_member: RunningFake
) -> None:
    case_id = (await _open(api, world))["case"]["id"]
    steps = f"{BASE}/cases/{case_id}/steps"
    resp = await api.post(steps, json=_step(3, world), headers=world["admin"])
    problem = assert_problem(resp, 409, "rule_violated")
    assert problem["rule_key"] == "dev.steps.order" and problem["errors"][0]["field"] == "number"
    await _walk(api, world, case_id, 8)
    resp = await api.post(steps, json=_step(9, world, member_ids=[world["full1"], world["prob"]]),
                          headers=world["admin"])  # fmt: skip
    problem = assert_problem(resp, 409, "rule_violated")
    assert problem["rule_key"] == "dev.candidate.introducers" and problem["rule_citation"]
    await _walk(api, world, case_id, 14, first=9)
    short = _step(15, world, votes={"entitled": 10, "present": 8, "yes": 5})
    problem = assert_problem(await api.post(steps, json=short, headers=world["admin"]), 409,
                             "rule_violated")  # fmt: skip
    assert problem["rule_key"] == "dev.branch_meeting.vote"
    assert problem["errors"][0]["field"] == "votes.yes"
    sent = fake_member.service.calls_to("RecordDevelopmentStep")[-1].request
    assert (sent.votes.entitled, sent.votes.present, sent.votes.yes) == (10, 8, 5)
    ok = await api.post(steps, json=_step(15, world), headers=world["admin"])
    assert ok.status_code == 201 and ok.json()["step"]["votes"]["yes"] == 8
    resp = await api.post(steps, json=_step(16, world, late_reason=""), headers=world["admin"])
    problem = assert_problem(resp, 422, "late_reason_required")
    assert problem["errors"][0]["field"] == "late_reason"


async def test_approval_registers_a_probationary_member(api, world) -> None:
    case_id = (await _open(api, world))["case"]["id"]
    resp = await _walk(api, world, case_id, 17)
    body = resp.json()
    assert body["case"]["status"] == "admitted" and body["step"]["decision"] == "approved"
    member_id = body["case"]["member_id"]
    member = await api.get(f"/api/v1/members/{member_id}", headers=world["admin"])
    assert member.status_code == 200, member.text
    m = member.json()
    assert m["category"] == "probationary" and m["joined_on"] == "2024-06-01"
    assert m["organization_id"] == world["orgs"]["br1"].id


async def test_other_tenants_and_branches_get_404(api, world) -> None:
    case_id = (await _open(api, world, headers="sec1"))["case"]["id"]
    for who in ("admin_b", "sec2"):
        for resp in (await api.get(f"{BASE}/cases/{case_id}", headers=world[who]),
                     await api.post(f"{BASE}/cases/{case_id}/steps", json=_step(2, world),
                                    headers=world[who])):  # fmt: skip
            assert assert_problem(resp, 404, "case_not_found")
    listed = await api.get(f"{BASE}/cases", headers=world["sec2"])
    assert listed.status_code == 200 and listed.json()["items"] == []
    assert (await api.get(f"{BASE}/cases", headers=world["admin_b"])).json()["items"] == []
    resp = await api.post(f"{BASE}/cases", json=_case_body(world), headers=world["sec2"])
    assert_problem(resp, 404, "organization_not_found")
    resp = await api.get(f"{BASE}/cases/{case_id}", headers=world["member"])
    assert_problem(resp, 403)


async def test_lists_filter_by_status_and_stage_and_page(api, world) -> None:
    ids = [(await _open(api, world, id_number=make_id_number("19900315", f"1{n}1")))["case"]["id"]
           for n in range(3)]  # fmt: skip
    await _walk(api, world, ids[1], 3)
    closed = await api.post(f"{BASE}/cases/{ids[2]}/close", json={"reason": "本人撤回申请"},
                            headers=world["admin"])  # fmt: skip
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    page = await api.get(f"{BASE}/cases", params={"limit": 2}, headers=world["admin"])
    body = page.json()
    assert [c["case"]["id"] for c in body["items"]] == ids[:2] and body["next_cursor"]
    assert body["items"][0]["deadline"]["step"] == 2
    rest = await api.get(f"{BASE}/cases", params={"limit": 2, "cursor": body["next_cursor"]},
                         headers=world["admin"])  # fmt: skip
    assert [c["case"]["id"] for c in rest.json()["items"]] == [ids[2]]
    stage2 = await api.get(f"{BASE}/cases", params={"stage": 2}, headers=world["admin"])
    assert [c["case"]["id"] for c in stage2.json()["items"]] == [ids[1]]
    closed_only = await api.get(f"{BASE}/cases", params={"status": "closed"},
                                headers=world["admin"])  # fmt: skip
    assert [c["case"]["id"] for c in closed_only.json()["items"]] == [ids[2]]
    bad = await api.get(f"{BASE}/cases", params={"status": "pending"}, headers=world["admin"])
    assert_problem(bad, 422, "validation_failed")


async def test_extension_closing_training_and_materials(api, world) -> None:
    case_id = (await _open(api, world))["case"]["id"]
    training = await api.post(f"{BASE}/cases/{case_id}/training", json={
        "completed_on": "2024-05-20", "class_hours": "16.5", "title": "党课"},
        headers=world["admin"])  # fmt: skip
    assert training.status_code == 201, training.text
    assert training.json()["training"]["class_hours"] == "16.5"
    assert training.json()["evaluation"]["training_class_hours"] == "16.5"
    ext = await api.post(f"{BASE}/cases/{case_id}/probation-extension",
                         json={"date": "2024-06-01", "months": 6, "reason": "需继续考察"},
                         headers=world["admin"])  # fmt: skip
    assert assert_problem(ext, 409, "rule_violated")["rule_key"] == "dev.probation.extension"

    upload = await api.post(f"{BASE}/cases/{case_id}/materials", params={"file_name": "申请书.pdf"},
                            content=b"%PDF-1.7 ...", headers={**world["admin"],
                            "Content-Type": "application/pdf"})  # fmt: skip
    assert upload.status_code == 201, upload.text
    material = upload.json()
    assert material["size"] == len(b"%PDF-1.7 ...") and material["file_name"] == "申请书.pdf"
    listed = await api.get(f"{BASE}/cases/{case_id}/materials", headers=world["sec1"])
    assert [m["id"] for m in listed.json()["items"]] == [material["id"]]
    link = await api.get(f"{BASE}/cases/{case_id}/materials/{material['id']}/download",
                         headers=world["admin"])  # fmt: skip
    assert link.status_code == 200 and link.json()["url"].endswith(material["id"])
    wrong = await api.post(f"{BASE}/cases/{case_id}/materials", params={"file_name": "a.txt"},
                           content=b"hello", headers={**world["admin"],
                           "Content-Type": "text/plain"})  # fmt: skip
    assert_problem(wrong, 415, "unsupported_content_type")

    await _walk(api, world, case_id, 17)
    refused = await api.post(f"{BASE}/cases/{case_id}/close", json={"reason": "x"},
                             headers=world["admin"])  # fmt: skip
    assert_problem(refused, 409, "case_not_open")
    ext = await api.post(f"{BASE}/cases/{case_id}/probation-extension",
                         json={"date": "2024-06-01", "months": 6, "reason": "需继续考察"},
                         headers=world["admin"])  # fmt: skip
    assert ext.status_code == 201, ext.text
    assert ext.json()["extension"]["months"] == 6


async def test_an_unavailable_service_is_503(api, world, fake_member: RunningFake) -> None:
    fake_member.service.fail_next = (grpc.StatusCode.UNAVAILABLE, "down", [])
    resp = await api.get(f"{BASE}/cases", headers=world["admin"])
    assert_problem(resp, 503, "service_unavailable")


async def test_the_routes_are_documented_in_both_languages(api) -> None:
    spec = (await api.get("/openapi.json")).json()
    paths = {p: v for p, v in spec["paths"].items() if p.startswith(BASE)}
    assert f"{BASE}/cases/{{case_id}}/steps" in paths
    for ops in paths.values():
        for op in ops.values():
            summary = op["summary"]
            assert any("\u4e00" <= ch <= "\u9fff" for ch in summary), summary
            assert any(ch.isascii() and ch.isalpha() for ch in summary), summary
