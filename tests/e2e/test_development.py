"""The development pipeline (发展党员) through HTTP, with the platform started as `make run` starts
it: a full pipeline of 25 steps dated in the past (late entries), the admitted person appearing as
a probationary member and then a full member; refused transitions (under 18, votes short, an
introducer who is not a full member) as problem+json naming the rule and its citation; and other
tenants and other branches seeing nothing."""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.e2e
DEV = "/api/v1/development"
PASSWORD = "Develop@2026pass"
LATE = "历史档案补录"
PLAN = {
    1: "2023-03-01", 2: "2023-03-20", 3: "2023-04-10", 4: "2023-04-15", 5: "2023-04-20",
    6: "2023-10-10", 7: "2024-04-10", 8: "2024-04-15", 9: "2024-04-20", 10: "2024-05-06",
    11: "2024-05-10", 12: "2024-06-03", 13: "2024-06-10", 14: "2024-06-15", 15: "2024-07-01",
    16: "2024-07-15", 17: "2024-08-20", 18: "2024-08-25", 19: "2024-09-01", 20: "2024-09-05",
    21: "2025-01-10", 22: "2025-06-01", 23: "2025-07-01", 24: "2025-07-10", 25: "2025-08-01",
}  # fmt: skip
_seq = iter(range(300, 999))


def id_number(birth: str = "19910618") -> str:
    first17 = f"440305{birth}{next(_seq):03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return first17 + "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights, strict=True))
                                   % 11]  # fmt: skip


def ok(resp, status: int = 200) -> dict:
    assert resp.status_code == status, resp.text
    return resp.json()  # type: ignore[no-any-return]


def problem(resp, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["status"] == status and body["code"] == code and body["type"].endswith(code)
    return body  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def admin(platform):
    with platform.client("demo-admin") as c:
        yield c


@pytest.fixture(scope="module")
def world(platform, admin):
    """Two branches under the demo root; two full members and a probationary one in the first;
    a secretary for each branch."""
    suffix = uuid.uuid4().hex[:6]

    def branch(name):
        return ok(admin.post("/api/v1/organizations", json={
            "name": f"{name}-{suffix}", "type": "branch",
            "parent_id": platform.info["root_org_id"]}), 201)  # fmt: skip

    br1, br2 = branch("发展一支部"), branch("发展二支部")

    def member(category, joined="2010-07-01", converted="2011-07-01"):
        body = {"organization_id": br1["id"], "name": f"党员{next(_seq)}",
                "id_number": id_number("19700101"), "category": category, "joined_on": joined}  # fmt: skip
        if category == "full":
            body["converted_on"] = converted
        return ok(admin.post("/api/v1/members", json=body), 201)

    full1, full2 = member("full"), member("full")
    prob = member("probationary", joined="2026-01-10")
    for name, scope in (("sec1", br1["id"]), ("sec2", br2["id"])):
        ok(admin.post("/api/v1/accounts", json={
            "username": f"dev-{name}-{suffix}", "password": PASSWORD, "roles": ["secretary"],
            "scope_org_id": scope}), 201)  # fmt: skip
    with (
        platform.client(f"dev-sec1-{suffix}", PASSWORD) as sec1,
        platform.client(f"dev-sec2-{suffix}", PASSWORD) as sec2,
    ):
        yield {"br1": br1, "br2": br2, "full1": full1, "full2": full2, "prob": prob,
               "sec1": sec1, "sec2": sec2, "suffix": suffix}  # fmt: skip


def step_body(n: int, world: dict, **kw) -> dict:
    body: dict = {"number": n, "date": PLAN[n], "late_reason": LATE}
    if n == 5:
        body["member_ids"] = [world["full1"]["id"]]
    if n == 9:
        body["member_ids"] = [world["full1"]["id"], world["full2"]["id"]]
    if n in (10, 17, 24):
        body["decision"] = "approved"
    if n == 11:
        body["training_days"] = 3
    if n == 12:
        body["publicity_from"], body["publicity_to"] = "2024-05-20", "2024-05-24"
    if n in (15, 23):
        body["votes"] = {"entitled": 12, "present": 10, "yes": 9, "no": 1}
    body.update(kw)
    return body


def open_case(client, world, **kw) -> dict:
    body = {"organization_id": world["br1"]["id"], "name": "陈晓明", "id_number": id_number(),
            "application_date": PLAN[1], "late_reason": LATE}  # fmt: skip
    body.update(kw)
    return ok(client.post(f"{DEV}/cases", json=body), 201)["case"]


def record(client, case_id, n, world, **kw):
    return client.post(f"{DEV}/cases/{case_id}/steps", json=step_body(n, world, **kw))


def walk(client, world, case_id, upto, first=2) -> dict:
    body: dict = {}
    for n in range(first, upto + 1):
        body = ok(record(client, case_id, n, world), 201)
    return body


def test_a_full_pipeline_makes_a_probationary_then_a_full_member(admin, world):
    sec1 = world["sec1"]
    case = open_case(sec1, world)
    assert case["status"] == "open" and "*" in case["id_number"]
    detail = ok(sec1.get(f"{DEV}/cases/{case['id']}"))
    ev = detail["evaluation"]
    assert ev["next_step"] == 2 and ev["deadline"]["due_on"] == "2023-04-01"
    assert ev["deadline"]["overdue"] and ev["deadline"]["rule_key"] == (
        "dev.application.talk_within_months")  # fmt: skip
    assert "一个月内" in ev["deadline"]["rule_citation"]

    at6 = walk(sec1, world, case["id"], 6)
    assert at6["evaluation"]["next_step"] == 7 and at6["evaluation"]["stage"] == 2
    admitted = walk(sec1, world, case["id"], 17, first=7)
    assert admitted["case"]["status"] == "admitted"
    member_id = admitted["case"]["member_id"]
    m = ok(admin.get(f"/api/v1/members/{member_id}"))
    assert m["category"] == "probationary" and m["joined_on"] == PLAN[15]
    assert m["organization_id"] == world["br1"]["id"] and m["name"] == "陈晓明"
    listed = ok(sec1.get("/api/v1/members", params={"organization_id": world["br1"]["id"],
                                                    "category": "probationary", "limit": 200}))  # fmt: skip
    assert member_id in {x["id"] for x in listed["items"]}

    converted = walk(sec1, world, case["id"], 24, first=18)
    assert converted["case"]["status"] == "converted"
    m = ok(admin.get(f"/api/v1/members/{member_id}"))
    assert m["category"] == "full" and m["converted_on"] == "2025-07-01"
    done = walk(sec1, world, case["id"], 25, first=25)
    assert done["evaluation"]["next_step"] is None

    detail = ok(admin.get(f"{DEV}/cases/{case['id']}"))
    assert [s["number"] for s in detail["steps"]] == list(range(1, 26))
    assert all(s["late"] and s["late_reason"] == LATE for s in detail["steps"])
    assert [t["step"] for t in detail["timeline"]] == list(range(1, 26))
    assert detail["steps"][14]["votes"] == {"entitled": 12, "present": 10, "yes": 9, "no": 1,
                                            "abstain": 0}  # fmt: skip


def test_refused_transitions_are_problems_naming_the_rule(admin, world):
    young = {"organization_id": world["br1"]["id"], "name": "少年", "late_reason": LATE,
             "id_number": id_number("20080229"), "application_date": "2026-02-27"}  # fmt: skip
    body = problem(admin.post(f"{DEV}/cases", json=young), 409, "rule_violated")
    assert body["rule_key"] == "dev.application.min_age_years"
    assert "十八岁" in body["rule_citation"] and "2026-02-28" in body["detail"]
    assert body["errors"][0]["field"] == "date"

    case = open_case(admin, world)
    walk(admin, world, case["id"], 8)
    for ids in ([world["full1"]["id"], world["prob"]["id"]], [world["full1"]["id"]]):
        body = problem(record(admin, case["id"], 9, world, member_ids=ids), 409, "rule_violated")
        assert body["rule_key"] == "dev.candidate.introducers"
        assert "正式党员" in body["rule_citation"] + body["detail"]
    walk(admin, world, case["id"], 14, first=9)
    short = {"entitled": 12, "present": 10, "yes": 6}
    body = problem(record(admin, case["id"], 15, world, votes=short), 409, "rule_violated")
    assert body["rule_key"] == "dev.branch_meeting.vote"
    assert body["errors"][0]["field"] == "votes.yes" and "第二十四条" in body["rule_citation"]
    early = problem(record(admin, case["id"], 16, world), 409, "rule_violated")
    assert early["rule_key"] == "dev.steps.order"
    still = ok(admin.get(f"{DEV}/cases/{case['id']}"))
    assert still["case"]["current_step"] == 14 and len(still["steps"]) == 14


def test_other_tenants_and_other_branches_see_nothing(platform, admin, world):
    case = open_case(world["sec1"], world)
    problem(world["sec2"].get(f"{DEV}/cases/{case['id']}"), 404, "case_not_found")
    problem(record(world["sec2"], case["id"], 2, world), 404, "case_not_found")
    assert case["id"] not in {c["case"]["id"] for c in ok(world["sec2"].get(f"{DEV}/cases"))[
        "items"]}  # fmt: skip
    code = f"dev-x-{world['suffix']}"
    with platform.client("platform-admin") as ops:
        ok(ops.post("/api/v1/tenants/provision", json={
            "name": "另一租户", "code": code, "root_organization_name": "另一党委",
            "admin": {"username": f"{code}-admin", "password": PASSWORD}}), 201)  # fmt: skip
    with platform.client(f"{code}-admin", PASSWORD) as other:
        problem(other.get(f"{DEV}/cases/{case['id']}"), 404, "case_not_found")
        problem(other.post(f"{DEV}/cases/{case['id']}/close", json={"reason": "x"}), 404,
                "case_not_found")  # fmt: skip
        assert ok(other.get(f"{DEV}/cases"))["items"] == []
    # The case is untouched.
    assert ok(admin.get(f"{DEV}/cases/{case['id']}"))["case"]["status"] == "open"
