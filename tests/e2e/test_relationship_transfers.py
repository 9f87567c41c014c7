"""组织关系转接 through the gateway, with the platform started as `make run` starts it: within a
tenant, between two sibling tenants provisioned under the demo tenant, out of the platform with
the printed letter; a refused transition (receiving a revoked letter) as problem+json; other
tenants cannot see a letter."""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.e2e
BASE = "/api/v1/relationship-transfers"
PASSWORD = "Letter@2026pass"


def check_char(first17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights, strict=True)) % 11]


def member_body(org_id: str, seq: int, **kw) -> dict:
    first17 = f"34010219900909{seq:03d}"
    body = {
        "organization_id": org_id, "name": f"转接{seq}", "id_number": first17 + check_char(first17),
        "category": "full", "joined_on": "2012-07-01", "converted_on": "2013-07-01",
        "mobile_phone": "13912345678",
    }  # fmt: skip
    body.update(kw)
    return body


def assert_problem(resp, status: int, code: str | None = None) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    problem = resp.json()
    assert problem["status"] == status and problem["title"] and problem["type"]
    if code:
        assert problem["code"] == code, problem
    return problem


def ok(resp, status: int = 200) -> dict:
    assert resp.status_code == status, resp.text
    return resp.json()


def step(client, letter_id: str, verb: str, **body) -> dict:
    return ok(client.post(f"{BASE}/{letter_id}:{verb}", json=body))


@pytest.fixture(scope="module")
def admin(platform):
    with platform.client("demo-admin") as c:
        yield c


@pytest.fixture(scope="module")
def branches(platform, admin):
    s = uuid.uuid4().hex[:4]

    def create(name, type_, parent):
        return ok(admin.post("/api/v1/organizations", json={
            "name": f"{name}-{s}", "type": type_, "parent_id": parent}), 201)  # fmt: skip

    x = create("转接总支", "general_branch", platform.info["root_org_id"])
    return {"x": x, "y1": create("甲支部", "branch", x["id"]),
            "y2": create("乙支部", "branch", x["id"])}  # fmt: skip


def test_within_tenant_and_a_refused_transition(platform, admin, branches):
    y1, y2 = branches["y1"]["id"], branches["y2"]["id"]
    m = ok(admin.post("/api/v1/members", json=member_body(y1, 101)), 201)
    letter = ok(admin.post(BASE, json={
        "member_id": m["id"], "scope": "within_tenant", "to_organization_id": y2,
        "dues_paid_until": "2026-11", "reason": "工作调动"}), 201)  # fmt: skip
    assert letter["state"] == "draft" and letter["destination"] == branches["y2"]["name"]
    step(admin, letter["id"], "approve", expected_version=letter["version"])
    issued = step(admin, letter["id"], "issue")
    assert issued["valid_days"] == 30 and issued["validity_source"] == "national"
    assert issued["letter_number"] and issued["valid_until"] > issued["issued_on"]
    received = step(admin, letter["id"], "receive", organization_id=y2)
    assert received["state"] == "received" and received["received_member_id"] == m["id"]
    assert ok(admin.get(f"/api/v1/members/{m['id']}"))["organization_id"] == y2
    counts = ok(admin.get("/api/v1/members/counts", params={"organization_id": y2}))
    assert counts["total"] == 1
    assert step(admin, letter["id"], "confirm-receipt")["state"] == "receipt_returned"

    # Refused: receiving a revoked letter; the member stays where they are.
    m2 = ok(admin.post("/api/v1/members", json=member_body(y1, 102)), 201)
    other = ok(admin.post(BASE, json={
        "member_id": m2["id"], "scope": "within_tenant", "to_organization_id": y2,
        "dues_paid_until": "2026-10", "reason": "调动"}), 201)  # fmt: skip
    step(admin, other["id"], "approve")
    step(admin, other["id"], "issue")
    assert step(admin, other["id"], "revoke", reason="本人放弃")["state"] == "revoked"
    problem = assert_problem(
        admin.post(f"{BASE}/{other['id']}:receive", json={"organization_id": y2}),
        409,
        "letter_state",
    )
    assert "revoked" in problem["detail"]
    assert ok(admin.get(f"/api/v1/members/{m2['id']}"))["organization_id"] == y1
    # Validation is problem+json too.
    assert_problem(admin.post(BASE, json={"member_id": m2["id"], "scope": "within_tenant",
                                          "dues_paid_until": "2026-10", "reason": "x"}), 422)  # fmt: skip


def provision(client, name: str, code: str, parent_id: str, admin_name: str) -> dict:
    return ok(client.post("/api/v1/tenants/provision", json={
        "name": name, "code": code, "parent_id": parent_id, "root_organization_name": f"{name}委",
        "admin": {"username": admin_name, "password": PASSWORD}}), 201)  # fmt: skip


def test_between_sibling_tenants(platform, admin):
    s = uuid.uuid4().hex[:6]
    demo = platform.info["tenant_id"]
    cities = {k: provision(admin, f"{k}市", f"lt-{k}-{s}", demo, f"lt-{k}-admin-{s}")
              for k in ("a", "b", "c")}  # fmt: skip
    with (
        platform.client(f"lt-a-admin-{s}", PASSWORD) as a,
        platform.client(f"lt-b-admin-{s}", PASSWORD) as b,
        platform.client(f"lt-c-admin-{s}", PASSWORD) as c,
    ):
        root_a = cities["a"]["root_organization"]["id"]
        root_b = cities["b"]["root_organization"]["id"]
        m = ok(a.post("/api/v1/members", json=member_body(root_a, 201, name="跨市转接")), 201)
        dests = {d["tenant_id"] for d in ok(a.get(f"{BASE}/destinations"))["items"]}
        assert {cities["b"]["tenant"]["id"], cities["c"]["tenant"]["id"]} <= dests
        assert cities["a"]["tenant"]["id"] not in dests
        letter = ok(a.post(BASE, json={
            "member_id": m["id"], "scope": "cross_tenant",
            "receiving_tenant_id": cities["b"]["tenant"]["id"], "dues_paid_until": "2026-11",
            "reason": "工作调动"}), 201)  # fmt: skip
        assert_problem(b.get(f"{BASE}/{letter['id']}"), 404)  # not issued yet
        step(a, letter["id"], "approve")
        issued = step(a, letter["id"], "issue")
        assert issued["valid_days"] == 90

        # The receiver sees it; a third sibling and the parent tenant do not.
        got = ok(b.get(f"{BASE}/{letter['id']}"))
        assert got["direction"] == "incoming" and got["member_name"] == "跨市转接"
        assert "*" in got["member_id_number"]
        assert_problem(c.get(f"{BASE}/{letter['id']}"), 404, "letter_not_found")
        assert_problem(admin.get(f"{BASE}/{letter['id']}"), 404, "letter_not_found")
        assert letter["id"] not in {x["id"] for x in ok(c.get(BASE))["items"]}
        assert_problem(b.get(f"{BASE}/{letter['id']}/letter.pdf"), 404)

        received = step(b, letter["id"], "receive", organization_id=root_b)
        new_id = received["received_member_id"]
        assert new_id and new_id != m["id"]
        there = ok(b.get(f"/api/v1/members/{new_id}"))
        assert there["name"] == "跨市转接" and there["organization_id"] == root_b
        assert_problem(a.get(f"/api/v1/members/{m['id']}"), 404)
        assert ok(a.get("/api/v1/members/counts"))["total"] == 0
        assert ok(b.get("/api/v1/members/counts"))["total"] == 1
        assert_problem(b.post(f"{BASE}/{letter['id']}:receive", json={"organization_id": root_b}),
                       409, "letter_state")  # fmt: skip
        assert step(a, letter["id"], "confirm-receipt")["state"] == "receipt_returned"


def test_out_of_platform_with_the_printed_letter(platform, admin, branches):
    y1 = branches["y1"]["id"]
    m = ok(admin.post("/api/v1/members", json=member_body(y1, 301, name="出省转接")), 201)
    letter = ok(admin.post(BASE, json={
        "member_id": m["id"], "scope": "out_of_platform", "destination": "中共北京市海淀区委组织部",
        "dues_paid_until": "2026-10", "reason": "随迁"}), 201)  # fmt: skip
    assert_problem(admin.get(f"{BASE}/{letter['id']}/letter.pdf"), 409, "letter_state")
    step(admin, letter["id"], "approve")
    issued = step(admin, letter["id"], "issue")
    pdf = admin.get(f"{BASE}/{letter['id']}/letter.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"
    assert "filename*=UTF-8''" in pdf.headers["content-disposition"]
    assert_problem(admin.post(f"{BASE}/{letter['id']}:receive", json={"organization_id": y1}),
                   409, "letter_scope")  # fmt: skip
    done = step(admin, letter["id"], "confirm-receipt", reported_on=issued["issued_on"])
    assert done["state"] == "receipt_returned"
    assert_problem(admin.get(f"/api/v1/members/{m['id']}"), 404)
    listed = ok(admin.get("/api/v1/members", params={"organization_id": y1, "limit": 200}))
    assert m["id"] not in {x["id"] for x in listed["items"]}
    outgoing = ok(admin.get(BASE, params={"direction": "outgoing", "state": "receipt_returned"}))
    assert letter["id"] in {x["id"] for x in outgoing["items"]}
