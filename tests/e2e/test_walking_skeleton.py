"""Through the gateway's HTTP API only, with the platform started as `make run` starts it."""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.e2e


def check_char(first17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights, strict=True)) % 11]


def id_number(seq: int) -> str:
    first17 = f"32010219880808{seq:03d}"
    return first17 + check_char(first17)


def member_body(org_id: str, seq: int, **kw) -> dict:
    body = {
        "organization_id": org_id, "name": f"测试{seq}", "id_number": id_number(seq),
        "category": "full", "joined_on": "2010-07-01", "converted_on": "2011-07-01",
        "mobile_phone": "13912345678", "home_address": "江苏省南京市玄武区北京东路41号",
    }  # fmt: skip
    body.update(kw)
    return body


def assert_problem(resp, status: int, field: str | None = None) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    problem = resp.json()
    assert problem["status"] == status and problem["title"] and problem["type"]
    if field:
        assert field in {e.get("field") for e in problem.get("errors", [])} | {
            problem.get("field")
        }, problem
    return problem


@pytest.fixture(scope="module")
def admin(platform):
    with platform.client("demo-admin") as c:
        yield c


@pytest.fixture(scope="module")
def new_org(platform, admin):
    r = admin.post("/api/v1/organizations", json={
        "parent_id": platform.info["root_org_id"], "name": f"第三党支部-{uuid.uuid4().hex[:4]}",
        "type": "branch"})  # fmt: skip
    assert r.status_code == 201, r.text
    return r.json()


def test_health_and_docs(platform):
    with platform.client() as c:
        assert c.get("/healthz").status_code == 200
        assert c.get("/readyz").json()["status"] == "ok"
        assert c.get("/docs").status_code == 200
        paths = c.get("/openapi.json").json()["paths"]
        assert {"/api/v1/members", "/api/v1/organizations", "/api/v1/tenants"} <= set(paths)


def test_login_required_and_bad_password(platform):
    with platform.client() as c:
        assert_problem(c.get("/api/v1/members"), 401)
        r = c.post(
            "/api/v1/auth/login", json={"username": "demo-admin", "password": "wrong-password"}
        )
        assert_problem(r, 401)


def test_register_read_masked_and_reveal(admin, new_org):
    r = admin.post("/api/v1/members", json=member_body(new_org["id"], 1))
    assert r.status_code == 201, r.text
    m = r.json()
    idn = id_number(1)
    assert m["id_number"] == idn[:4] + "*" * 10 + idn[-4:]
    assert m["mobile_phone"] == "139****5678" and m["gender"] == "male"
    got = admin.get(f"/api/v1/members/{m['id']}").json()
    assert got["id_number"] != idn and got["revealed"] is False
    full = admin.get(f"/api/v1/members/{m['id']}", params={"reveal": "true", "reason": "资料核对"})
    assert full.status_code == 200, full.text
    assert full.json()["id_number"] == idn and full.json()["revealed"] is True


def test_secretary_of_another_subtree_cannot_see(platform, admin, new_org):
    m = admin.post("/api/v1/members", json=member_body(new_org["id"], 2)).json()
    with platform.client("demo-secretary") as sec:  # secretary of 第一党支部
        assert_problem(sec.get(f"/api/v1/members/{m['id']}"), 404)
        assert_problem(sec.get(f"/api/v1/organizations/{new_org['id']}"), 404)
        listed = sec.get("/api/v1/members", params={"limit": 200}).json()["items"]
        assert listed and m["id"] not in {x["id"] for x in listed}
        assert all(x["organization_id"] == platform.info["branch_id"] for x in listed)
        r = sec.post("/api/v1/members", json=member_body(new_org["id"], 3))
        assert_problem(r, 404)


def test_bad_input_returns_problem_and_writes_nothing(admin, new_org):
    def count() -> int:
        return len(
            admin.get(
                "/api/v1/members", params={"organization_id": new_org["id"], "limit": 200}
            ).json()["items"]
        )

    before = count()
    bad = id_number(4)[:-1] + ("1" if id_number(4)[-1] != "1" else "2")
    assert_problem(
        admin.post("/api/v1/members", json=member_body(new_org["id"], 4, id_number=bad)),
        422,
        "id_number",
    )
    assert_problem(admin.post("/api/v1/members", json=member_body(str(uuid.uuid4()), 5)), 404)
    assert_problem(
        admin.post("/api/v1/members", json=member_body(new_org["id"], 6, joined_on="2999-01-01")),
        422,
    )
    ok = admin.post("/api/v1/members", json=member_body(new_org["id"], 7))
    assert ok.status_code == 201
    dup = admin.post("/api/v1/members", json=member_body(new_org["id"], 7, name="重复"))
    assert_problem(dup, 409)
    assert count() == before + 1


def test_other_tenant_cannot_reach_demo_data(platform, admin, new_org):
    m = admin.post("/api/v1/members", json=member_body(new_org["id"], 8)).json()
    with platform.client("platform-admin") as ops:
        t = ops.post(
            "/api/v1/tenants", json={"name": "另一租户", "code": f"other-{uuid.uuid4().hex[:6]}"}
        )
        assert t.status_code == 201, t.text
        tid = t.json()["id"]
        acc = ops.post("/api/v1/accounts", json={"username": f"other-{tid[:8]}", "password": "Other@2026pass",
                                                 "roles": ["tenant_admin"], "tenant_id": tid})  # fmt: skip
        assert acc.status_code == 201, acc.text
        # Platform operators never read personal data in full.
        r = ops.get(f"/api/v1/members/{m['id']}", params={"reveal": "true", "reason": "例行核查"},
                    headers={"X-Hongyun-Tenant": platform.info["tenant_id"]})  # fmt: skip
        assert_problem(r, 403)
    with platform.client(f"other-{tid[:8]}", "Other@2026pass") as other:
        assert_problem(other.get(f"/api/v1/members/{m['id']}"), 404)
        assert_problem(other.get(f"/api/v1/organizations/{new_org['id']}"), 404)
        assert_problem(other.get(f"/api/v1/tenants/{platform.info['tenant_id']}"), 404)
        assert other.get("/api/v1/members").json()["items"] == []
        r = other.get("/api/v1/members", headers={"X-Hongyun-Tenant": platform.info["tenant_id"]})
        assert_problem(r, 403)


def test_update_with_if_match(admin, new_org):
    m = admin.post("/api/v1/members", json=member_body(new_org["id"], 9)).json()
    r = admin.patch(f"/api/v1/members/{m['id']}", json={"job_post": "支部委员"},
                    headers={"If-Match": f'"{m["version"]}"'})  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["job_post"] == "支部委员" and r.json()["version"] == m["version"] + 1
    stale = admin.patch(f"/api/v1/members/{m['id']}", json={"job_post": "x"},
                        headers={"If-Match": f'"{m["version"]}"'})  # fmt: skip
    assert_problem(stale, 412)
