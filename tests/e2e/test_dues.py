"""Party dues (党费) through HTTP, with the platform started as `make run` starts it: a standard
computed from the rules (employed 3000.00 → 15.00), payments, a refused duplicate as
problem+json, arrears and the month's roll of a branch, a hardship waiver approved by the next
level, and other tenants and other branches seeing nothing."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

pytestmark = pytest.mark.e2e
DUES = "/api/v1/dues"


def month(k: int = 0) -> str:
    today = datetime.now(timezone(timedelta(hours=8))).date()
    index = today.year * 12 + today.month - 1 + k
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def id_number(seq: int) -> str:
    first17 = f"32010219900909{seq:03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return first17 + "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights, strict=True))
                                   % 11]  # fmt: skip


def problem(resp, status: int, code: str | None = None) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["status"] == status and body["title"] and body["type"].endswith(body["code"])
    if code:
        assert body["code"] == code, body
    return body


@pytest.fixture(scope="module")
def admin(platform):
    with platform.client("demo-admin") as c:
        yield c


@pytest.fixture(scope="module")
def branch(platform, admin):
    """A branch of its own under the demo root, with three members."""
    r = admin.post("/api/v1/organizations", json={
        "name": f"党费支部-{uuid.uuid4().hex[:4]}", "type": "branch",
        "parent_id": platform.info["root_org_id"]})  # fmt: skip
    assert r.status_code == 201, r.text
    org = r.json()
    members = []
    for seq in (901, 902, 903):
        m = admin.post("/api/v1/members", json={
            "organization_id": org["id"], "name": f"党费{seq}", "id_number": id_number(seq),
            "category": "full", "joined_on": "2010-07-01", "converted_on": "2011-07-01"})  # fmt: skip
        assert m.status_code == 201, m.text
        members.append(m.json())
    return {"org": org, "members": members}


def standard(client, member_id, **body):
    return client.put(f"{DUES}/members/{member_id}/standard",
                      json={"group": "employed", "declared_base": "3000.00", **body})  # fmt: skip


def test_standard_payments_and_a_refused_duplicate(admin, branch):
    m = branch["members"][0]["id"]
    r = standard(admin, m, effective_month=month(-1))
    assert r.status_code == 200, r.text
    s = r.json()["standard"]
    assert s["monthly_amount"] == "15.00" and s["rate_per_mille"] == 5
    assert s["rate_rule"]["key"] == "dues.rate.employed" and "党费" in s["rate_rule"]["citation"]
    assert "3000 元以下（含）" in s["explanation"]
    assert r.json()["account"]["amount_owed"] == "30.00"
    assert admin.get(f"{DUES}/members/{m}/standard").json()["declared_base"] is None

    paid = admin.post(f"{DUES}/members/{m}/payments", json={
        "first_month": month(-1), "last_month": month(0), "amount": "30.00",
        "method": "现金", "receipt_number": f"E2E-{m[:8]}"})  # fmt: skip
    assert paid.status_code == 201, paid.text
    assert paid.json()["account"]["paid_through"] == month(0)
    assert paid.json()["account"]["months_owed"] == 0

    dup = admin.post(f"{DUES}/members/{m}/payments",
                     json={"first_month": month(0), "amount": "15.00"})  # fmt: skip
    body = problem(dup, 409, "dues_month_already_paid")
    assert month(0) in body["detail"] and body["errors"][0]["field"] == "first_month"
    skip = admin.post(f"{DUES}/members/{m}/payments",
                      json={"first_month": month(2), "amount": "15.00"})  # fmt: skip
    problem(skip, 409, "dues_month_order")
    short = admin.post(f"{DUES}/members/{m}/payments",
                       json={"first_month": month(1), "amount": "10.00"})  # fmt: skip
    assert "15.00" in problem(short, 422, "dues_amount_short")["detail"]
    problem(admin.post(f"{DUES}/members/{m}/payments",
                       json={"first_month": month(1), "amount": "-15"}), 422)  # fmt: skip
    problem(standard(admin, m, declared_base="0"), 422, "dues_invalid_base")
    problem(standard(admin, m, group="worker"), 422)
    too_far = standard(admin, m, effective_month=month(13))
    assert "dues.payment.max_months_ahead" in problem(too_far, 422, "dues_month_too_far")["detail"]

    listed = admin.get(f"{DUES}/payments", params={"member_id": m}).json()["items"]
    assert [(p["amount"], p["months"], p["receipt_number"]) for p in listed] == [
        ("30.00", 2, f"E2E-{m[:8]}")]  # fmt: skip


def test_arrears_and_the_months_roll_of_a_branch(admin, branch):
    behind, current = branch["members"][1]["id"], branch["members"][2]["id"]
    assert standard(admin, behind, effective_month=month(-3)).status_code == 200  # owes 4
    assert standard(admin, current, group="student", declared_base=None).status_code == 200
    r = admin.get(f"{DUES}/arrears", params={"organization_id": branch["org"]["id"]})
    assert r.status_code == 200, r.text
    page = r.json()
    assert [(a["member_id"], a["months_owed"], a["amount_owed"], a["flag_months"])
            for a in page["items"]] == [(behind, 4, "60.00", 3)]  # fmt: skip
    assert page["total"] == 1 and page["flag_rule"]["key"] == "dues.arrears.flag_months"
    assert "第九条" in page["flag_rule"]["citation"]

    roll = admin.get(f"{DUES}/roll", params={"organization_id": branch["org"]["id"]}).json()
    statuses = {e["member_id"]: (e["status"], e["due"]) for e in roll["items"]}
    assert statuses == {
        branch["members"][0]["id"]: ("paid", "15.00"),
        behind: ("unpaid", "15.00"),
        current: ("unpaid", "0.20"),
    }
    assert (roll["members"], roll["paid_members"], roll["due_total"], roll["paid_total"]) == (
        3, 1, "30.20", "15.00")  # fmt: skip


def test_a_hardship_waiver_is_approved_by_the_next_level(platform, admin):
    # A member of 第一党支部, where demo-secretary works; the demo admin is the next level.
    m = admin.post("/api/v1/members", json={
        "organization_id": platform.info["branch_id"], "name": "困难党员", "id_number": id_number(904),
        "category": "full", "joined_on": "2010-07-01", "converted_on": "2011-07-01"}).json()  # fmt: skip
    with platform.client("demo-secretary") as sec:
        assert standard(sec, m["id"], effective_month=month(-2)).status_code == 200
        h = sec.post(f"{DUES}/members/{m['id']}/hardships", json={
            "first_month": month(-2), "last_month": month(0), "waived": True,
            "reason": "家庭遭遇重大变故"})  # fmt: skip
        assert h.status_code == 201, h.text
        own = sec.post(f"{DUES}/hardships/{h.json()['id']}:approve")
        problem(own, 403, "dues_approver_is_requester")
    ok = admin.post(f"{DUES}/hardships/{h.json()['id']}:approve")
    assert ok.status_code == 200, ok.text
    assert ok.json()["hardship"]["status"] == "approved"
    assert ok.json()["account"]["months_owed"] == 0
    assert ok.json()["account"]["paid_through"] == month(0)


def test_other_tenants_and_other_branches_see_nothing(platform, admin, branch):
    m = branch["members"][1]["id"]
    with platform.client("demo-secretary") as sec:  # secretary of 第一党支部, not this branch
        problem(sec.get(f"{DUES}/members/{m}"), 404)
        problem(sec.post(f"{DUES}/members/{m}/payments",
                         json={"first_month": month(-3), "amount": "15.00"}), 404)  # fmt: skip
        problem(sec.get(f"{DUES}/arrears", params={"organization_id": branch["org"]["id"]}), 404)
    with platform.client("platform-admin") as ops:
        t = ops.post("/api/v1/tenants", json={"name": "党费他租户",
                                              "code": f"dues-{uuid.uuid4().hex[:6]}"})  # fmt: skip
        assert t.status_code == 201, t.text
        tid = t.json()["id"]
        acc = ops.post("/api/v1/accounts", json={
            "username": f"dues-{tid[:8]}", "password": "Other@2026pass",
            "roles": ["tenant_admin"], "tenant_id": tid})  # fmt: skip
        assert acc.status_code == 201, acc.text
    with platform.client(f"dues-{tid[:8]}", "Other@2026pass") as other:
        problem(other.get(f"{DUES}/members/{m}"), 404)
        problem(standard(other, m), 404)
        arrears = other.get(f"{DUES}/arrears")
        assert arrears.status_code == 200 and arrears.json()["items"] == []
        assert arrears.json()["total"] == 0
