"""/api/v1/training-classes through the gateway against the real learning service: defaults per
kind, a class from planning to completion (attendance with a correction, the preview, closing,
the certificate PDF), class hours as decimals, duplicate enrolment 409, validation as 422
problem+json before the service is called, another tenant's class and a sibling branch's
secretary 404 with nothing written, roles."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from gateway_fake_member_service import RunningFake
from gateway_test_helpers import Login, MakeAccount, assert_problem
from hongyun.member.v1 import member_pb2 as pb
from hongyun_gateway.schemas.common import china_today

pytestmark = pytest.mark.asyncio(loop_scope="session")
BASE = "/api/v1/training-classes"
START = china_today() - timedelta(days=30)


def day(offset: int) -> str:
    return (START + timedelta(days=offset)).isoformat()


@pytest.fixture
async def world(
    fake_member: RunningFake, api: httpx.AsyncClient, make_account: MakeAccount, login: Login
) -> dict[str, Any]:
    tenants = {}
    for key in ("a", "b"):
        t = pb.Tenant(id=str(uuid.uuid4()), name=f"党委{key}", code=f"train-{key}")
        fake_member.service.store.tenants[t.id] = t
        tenants[key] = uuid.UUID(t.id)
    root, br1, br2 = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await make_account("t.admin", roles=["tenant_admin"], tenant_id=tenants["a"])
    await make_account("t.admin.b", roles=["tenant_admin"], tenant_id=tenants["b"])
    await make_account("t.sec1", roles=["secretary"], tenant_id=tenants["a"], scope_org_id=br1)
    await make_account("t.sec2", roles=["secretary"], tenant_id=tenants["a"], scope_org_id=br2)
    trainee = await make_account("t.trainee", roles=["member"], tenant_id=tenants["a"])
    await make_account("t.other", roles=["member"], tenant_id=tenants["a"])
    return dict(
        admin=await login("t.admin"), admin_b=await login("t.admin.b"),
        sec1=await login("t.sec1"), sec2=await login("t.sec2"),
        trainee=await login("t.trainee"), other=await login("t.other"),
        trainee_id=trainee, root=root, br1=br1, br2=br2,
    )  # fmt: skip


async def create(api, headers, org, **body) -> dict[str, Any]:
    payload = {"title": "2026年第一期发展对象培训班", "kind": "development_candidate",
               "organizer_org_id": str(org), "organizer_name": "中共示范第一支部委员会",
               "starts_on": day(0), "ends_on": day(6), **body}  # fmt: skip
    resp = await api.post(BASE, json=payload, headers=headers)
    assert resp.status_code == 201, resp.text
    return resp.json()  # type: ignore[no-any-return]


async def test_kinds_and_defaults_with_their_citation(api, world) -> None:
    resp = await api.get(f"{BASE}/kinds", headers=world["sec1"])
    assert resp.status_code == 200, resp.text
    items = resp.json()["items"]
    assert [k["kind"] for k in items] == [
        "development_candidate", "activist", "member_winter", "secretary", "other"]  # fmt: skip
    rule = items[0]["rule"]
    assert rule["min_days"] == 3 and rule["min_class_hours"] == "24"
    assert rule["duration_mode"] == "any" and rule["min_attendance_percent"] is None
    assert "发展党员工作细则" in rule["citation"]

    cls = await create(api, world["admin"], world["root"])
    assert cls["status"] == "planned" and cls["rule"] == rule
    own = await create(api, world["admin"], world["root"], kind="member_winter", rule={
        "min_attendance_percent": 80, "min_class_hours": "6.5", "duration_mode": "all",
        "require_online_courses": False})  # fmt: skip
    assert own["rule"]["min_class_hours"] == "6.5" and own["rule"]["duration_mode"] == "all"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "winter"}, "kind"),
        ({"title": ""}, "title"),
        ({"organizer_org_id": "x"}, "organizer_org_id"),
        ({"starts_on": "2026/05/01"}, "starts_on"),
        ({"rule": {"min_class_hours": "1.234"}}, "rule.min_class_hours"),
        ({"rule": {"min_attendance_percent": 0}}, "rule.min_attendance_percent"),
        ({"surprise": 1}, "surprise"),
    ],
)
async def test_bad_classes_are_422_before_the_service(api, world, body, field) -> None:
    payload = {"title": "班", "kind": "activist", "organizer_org_id": str(world["root"]),
               "organizer_name": "党委", "starts_on": day(0), "ends_on": day(1), **body}  # fmt: skip
    resp = await api.post(BASE, json=payload, headers=world["admin"])
    problem = assert_problem(resp, 422, "validation_failed")
    assert problem["errors"][0]["field"] == field


async def test_the_service_refuses_with_its_reason(api, world) -> None:
    payload = {"title": "班", "kind": "activist", "organizer_org_id": str(world["root"]),
               "organizer_name": "党委", "starts_on": day(3), "ends_on": day(1)}  # fmt: skip
    problem = assert_problem(await api.post(BASE, json=payload, headers=world["admin"]), 422)
    assert "结束日期不能早于开始日期" in problem["detail"]
    # A secretary organises for their own subtree only; a member not at all.
    payload["ends_on"] = day(4)
    assert_problem(await api.post(BASE, json={**payload, "organizer_org_id": str(world["br2"])},
                                  headers=world["sec1"]), 404, "organization_not_found")  # fmt: skip
    assert_problem(await api.post(BASE, json=payload, headers=world["trainee"]), 403)


async def test_a_class_from_planning_to_certificate(api, world) -> None:
    sec1 = world["sec1"]
    cls = await create(api, sec1, world["br1"])
    cid = cls["id"]

    async def enrol(name: str, **body: Any) -> dict[str, Any]:
        resp = await api.post(f"{BASE}/{cid}/enrolments", headers=sec1,
                              json={"member_id": str(uuid.uuid4()), "display_name": name, **body})  # fmt: skip
        assert resp.status_code == 201, resp.text
        assert resp.headers["cache-control"] == "no-store, private"
        return resp.json()  # type: ignore[no-any-return]

    full = await enrol("张三", learner_account_id=str(world["trainee_id"]),
                       development_case_id=str(uuid.uuid4()))  # fmt: skip
    part = await enrol("李四")
    sessions = []
    for i, hours in enumerate(("8", "7.5", "8.5")):
        resp = await api.post(f"{BASE}/{cid}/sessions", headers=sec1, json={
            "mode": "offline", "title": f"第{i + 1}讲", "held_on": day(i), "starts_at": "08:30",
            "ends_at": "17:00", "place": "党员活动室", "class_hours": hours})  # fmt: skip
        assert resp.status_code == 201, resp.text
        sessions.append(resp.json())
    assert [s["class_hours"] for s in sessions] == ["8", "7.5", "8.5"]
    listed = (await api.get(f"{BASE}/{cid}/sessions", headers=sec1)).json()["items"]
    assert [s["held_on"] for s in listed] == [day(0), day(1), day(2)]

    first = sessions[0]["id"]
    body = {"entries": [{"enrolment_id": full["id"], "status": "present"}]}
    assert_problem(await api.post(f"{BASE}/{cid}/sessions/{first}/attendance", json=body,
                                  headers=sec1), 409, "training_class_not_open")  # fmt: skip
    opened = await api.post(f"{BASE}/{cid}/open", headers=sec1)
    assert opened.json()["status"] == "open"
    for i, s in enumerate(sessions):
        resp = await api.post(f"{BASE}/{cid}/sessions/{s['id']}/attendance", headers=sec1, json={
            "entries": [{"enrolment_id": full["id"], "status": "absent" if i == 0 else "present"},
                        {"enrolment_id": part["id"], "status": "leave", "note": "出差"}]})  # fmt: skip
        assert resp.status_code == 200, resp.text
    fixed = await api.post(f"{BASE}/{cid}/sessions/{first}/attendance", headers=world["admin"],
                           json={"entries": [{"enrolment_id": full["id"], "status": "present",
                                              "note": "补正"}]})  # fmt: skip
    (record,) = fixed.json()["items"]
    assert record["supersedes_id"] and record["status"] == "present"
    history = (await api.get(f"{BASE}/{cid}/attendance", headers=sec1,
                             params={"session_id": first, "history": "true"})).json()["items"]  # fmt: skip
    assert [r["status"] for r in history if r["enrolment_id"] == full["id"]] == [
        "absent", "present"]  # fmt: skip

    preview = (await api.get(f"{BASE}/{cid}/evaluation", headers=sec1)).json()
    by_name = {x["enrolment"]["display_name"]: x for x in preview["trainees"]}
    assert by_name["张三"]["completed"] and by_name["张三"]["class_hours"] == "24"
    li = by_name["李四"]
    assert not li["completed"] and li["class_hours"] == "0"
    assert {m["code"] for m in li["missing"]} == {"nothing_attended", "days", "class_hours"}
    hours_short = next(m for m in li["missing"] if m["code"] == "class_hours")
    assert (hours_short["required"], hours_short["actual"]) == ("24", "0")

    closed = await api.post(f"{BASE}/{cid}/close", headers=sec1)
    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert body["newly_completed"] == 1 and body["training_class"]["status"] == "closed"
    completion = next(x for x in body["trainees"] if x["completed"])["enrolment"]["completion"]
    assert completion["days"] == 3 and completion["class_hours"] == "24"
    assert completion["completed_on"] == day(2)
    assert_problem(await api.post(f"{BASE}/{cid}/close", headers=sec1), 409,
                   "training_class_closed")  # fmt: skip

    url = f"{BASE}/{cid}/enrolments/{full['id']}/certificate"
    pdf = await api.get(url, headers=sec1)
    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].startswith("attachment;")
    assert completion["certificate_number"] in pdf.headers["content-disposition"]
    assert pdf.headers["cache-control"] == "no-store, private"
    assert pdf.content.startswith(b"%PDF") and pdf.content.rstrip().endswith(b"%%EOF")
    own = await api.get(url, headers=world["trainee"])
    assert own.status_code == 200 and own.content.startswith(b"%PDF")
    assert_problem(await api.get(url, headers=world["other"]), 404)
    assert_problem(await api.get(f"{BASE}/{cid}/enrolments/{part['id']}/certificate",
                                 headers=sec1), 409, "training_not_completed")  # fmt: skip
    enrolments = (await api.get(f"{BASE}/{cid}/enrolments", headers=sec1)).json()["items"]
    assert sum(1 for e in enrolments if e["completion"]) == 1


async def test_duplicate_enrolment_and_bad_ids(api, world) -> None:
    cls = await create(api, world["admin"], world["root"])
    url = f"{BASE}/{cls['id']}/enrolments"
    person = {"member_id": str(uuid.uuid4()), "display_name": "张三"}
    assert (await api.post(url, json=person, headers=world["admin"])).status_code == 201
    assert_problem(await api.post(url, json=person, headers=world["admin"]), 409,
                   "training_already_enrolled")  # fmt: skip
    problem = assert_problem(await api.post(url, json={**person, "member_id": "123"},
                                            headers=world["admin"]), 422, "validation_failed")  # fmt: skip
    assert problem["errors"][0]["field"] == "member_id"
    assert_problem(await api.post(url, json={"display_name": "无名"}, headers=world["admin"]),
                   422, "training_person_required")  # fmt: skip
    assert_problem(await api.get(f"{BASE}/not-a-uuid", headers=world["admin"]), 422)
    listed = (await api.get(url, headers=world["admin"])).json()["items"]
    assert [e["display_name"] for e in listed] == ["张三"]


async def test_other_tenants_and_sibling_secretaries_see_nothing(api, world) -> None:
    cls = await create(api, world["sec1"], world["br1"])
    cid = cls["id"]
    for headers in (world["admin_b"], world["sec2"]):
        assert_problem(await api.get(f"{BASE}/{cid}", headers=headers), 404,
                       "training_class_not_found")  # fmt: skip
        assert_problem(await api.post(f"{BASE}/{cid}/enrolments", headers=headers, json={
            "member_id": str(uuid.uuid4()), "display_name": "外人"}), 404)  # fmt: skip
        assert_problem(await api.post(f"{BASE}/{cid}/sessions", headers=headers, json={
            "mode": "offline", "held_on": day(1), "class_hours": "2"}), 404)  # fmt: skip
        assert_problem(await api.post(f"{BASE}/{cid}/close", headers=headers), 404)
        listed = (await api.get(BASE, headers=headers, params={"limit": 200})).json()["items"]
        assert cid not in [c["id"] for c in listed]
    got = (await api.get(f"{BASE}/{cid}", headers=world["admin"])).json()
    assert (got["status"], got["enrolments"], got["sessions"]) == ("planned", 0, 0)
    mine = await api.get(BASE, headers=world["sec1"], params={"status": "planned"})
    assert cid in [c["id"] for c in mine.json()["items"]]
