"""Organisation management through HTTP, with the platform started as `make run` starts it:
moves with their members, refused cycles, history, warnings with citations, rule overrides,
committee terms, merge and dissolve, and who may do what."""

from __future__ import annotations

import uuid

import pytest

from .test_tenancy import PASSWORD, provision
from .test_walking_skeleton import assert_problem, member_body

pytestmark = pytest.mark.e2e
ORGS = "/api/v1/organizations"


@pytest.fixture(scope="module")
def admin(platform):
    with platform.client("demo-admin") as c:
        yield c


@pytest.fixture(scope="module")
def orgs(platform, admin):
    """Under the demo root: 总支 X → 支部 Y → 党小组 Z, and 支部 W; one member in Y."""
    s = uuid.uuid4().hex[:4]

    def create(name, type_, parent):
        r = admin.post(ORGS, json={"name": f"{name}-{s}", "type": type_, "parent_id": parent})
        assert r.status_code == 201, r.text
        return r.json()

    root = platform.info["root_org_id"]
    x = create("机关总支", "general_branch", root)
    y = create("第一支部", "branch", x["id"])
    z = create("第一党小组", "group", y["id"])
    w = create("第二支部", "branch", root)
    m = admin.post("/api/v1/members", json=member_body(y["id"], 871))
    assert m.status_code == 201, m.text
    return {"root": root, "x": x, "y": y, "z": z, "w": w, "member": m.json()}


def tree(client, **params) -> dict[str, str]:
    """{id: parent_id} of the tree, all pages."""
    out, cursor = {}, None
    while True:
        r = client.get(f"{ORGS}/tree", params={**params, "limit": 100, **({"cursor": cursor} if cursor else {})})  # fmt: skip
        assert r.status_code == 200, r.text
        body = r.json()
        out.update({o["organization_id"]: o["parent_id"] for o in body["items"]})
        cursor = body["next_cursor"]
        if not cursor:
            return out


def member_ids_under(client, org_id: str) -> set[str]:
    r = client.get("/api/v1/members", params={"organization_id": org_id, "limit": 200})
    return {m["id"] for m in r.json()["items"]}


def test_move_takes_the_subtree_and_its_members(admin, orgs):
    x, w, member = orgs["x"], orgs["w"], orgs["member"]
    assert member["id"] not in member_ids_under(admin, w["id"])
    r = admin.post(f"{ORGS}/{x['id']}:move", json={"new_parent_id": w["id"]})
    assert r.status_code == 200, r.text
    assert r.json()["moved_organizations"] == 3
    assert r.json()["organization"]["parent_id"] == w["id"]
    assert member["id"] in member_ids_under(admin, w["id"])
    now = tree(admin, root_id=w["id"])
    assert now[x["id"]] == w["id"] and now[orgs["z"]["id"]] == orgs["y"]["id"]
    history = admin.get(f"{ORGS}/{x['id']}/history").json()["items"]
    assert [h["change"] for h in history] == ["created", "moved"]
    assert history[0]["parent_id"] == orgs["root"] and history[1]["parent_id"] == w["id"]
    # Nothing of this existed yesterday (the demo tenant was created today).
    yesterday = admin.get(f"{ORGS}/tree", params={"as_of": "2020-01-01"})
    assert_problem(yesterday, 404)


def test_move_under_own_descendant_is_refused(admin, orgs):
    before = tree(admin)
    r = admin.post(f"{ORGS}/{orgs['x']['id']}:move", json={"new_parent_id": orgs["z"]["id"]})
    problem = assert_problem(r, 409)
    assert problem["code"] == "org_move_cycle"
    assert tree(admin) == before
    future = admin.post(f"{ORGS}/{orgs['y']['id']}:rename",
                        json={"name": "未来", "effective_on": "2999-01-01", "reason": "x"})  # fmt: skip
    assert_problem(future, 422, "effective_on")
    backdated = admin.post(f"{ORGS}/{orgs['y']['id']}:rename",
                           json={"name": "补录", "effective_on": "2020-01-01"})  # fmt: skip
    assert_problem(backdated, 422, "reason")


def test_health_warnings_follow_the_rules(admin, orgs):
    y = orgs["y"]["id"]
    h = admin.get(f"{ORGS}/{y}/health").json()
    assert h["full_members"] == 1
    (w,) = h["warnings"]
    assert w["code"] == "branch_too_few_full_members" and w["rule"]["value"] == 3
    assert "支部工作条例" in w["rule"]["citation"] and w["rule"]["source"] == "national"

    rules = {r["key"]: r for r in admin.get("/api/v1/rules").json()["items"]}
    assert rules["org.committee.term_reminder_months"]["value"] == [6, 1]
    r = admin.put("/api/v1/rules/org.branch.min_full_members",
                  json={"value": 1, "citation": "试点单位规定"})  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["source"] == "tenant" and r.json()["national_value"] == 3
    try:
        assert admin.get(f"{ORGS}/{y}/health").json()["warnings"] == []
        bad = admin.put("/api/v1/rules/org.branch.committee_size",
                        json={"value": {"min": 5, "max": 3, "hard_max": 7}, "citation": "x"})  # fmt: skip
        assert_problem(bad, 422)
    finally:
        assert admin.delete("/api/v1/rules/org.branch.min_full_members").status_code == 200
    assert len(admin.get(f"{ORGS}/{y}/health").json()["warnings"]) == 1


def test_committee_terms(admin, orgs):
    w = orgs["w"]["id"]
    r = admin.post(f"{ORGS}/{w}/committee-terms",
                   json={"unit_kind": "other", "started_on": "2024-02-29", "committee_members": 5})  # fmt: skip
    assert r.status_code == 201, r.text
    assert (r.json()["term_years"], r.json()["ends_on"]) == (3, "2027-02-28")
    dup = admin.post(f"{ORGS}/{w}/committee-terms",
                     json={"unit_kind": "other", "started_on": "2024-02-29"})  # fmt: skip
    assert_problem(dup, 409)
    assert [t["started_on"] for t in admin.get(f"{ORGS}/{w}/committee-terms").json()["items"]] == [
        "2024-02-29"
    ]
    h = admin.get(f"{ORGS}/{w}/health").json()
    assert h["latest_term"]["ends_on"] == "2027-02-28"


def test_merge_then_dissolve(admin, orgs):
    y, z, w, x, member = orgs["y"], orgs["z"], orgs["w"], orgs["x"], orgs["member"]
    refused = admin.post(f"{ORGS}/{w['id']}:dissolve", json={})
    assert assert_problem(refused, 409)["code"] == "org_not_empty"
    r = admin.post(f"{ORGS}/{y['id']}:merge", json={"target_id": w["id"], "reason": "合并"})
    assert r.status_code == 200, r.text
    assert r.json()["moved_members"] == 1 and r.json()["moved_child_organizations"] == 1
    assert admin.get(f"/api/v1/members/{member['id']}").json()["organization_id"] == w["id"]
    assert admin.get(f"{ORGS}/{z['id']}").json()["parent_id"] == w["id"]
    assert_problem(admin.get(f"{ORGS}/{y['id']}"), 404)
    r = admin.post(f"{ORGS}/{x['id']}:dissolve", json={"reason": "撤销"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "dissolved"
    assert x["id"] not in tree(admin)


def test_secretaries_and_other_tenants(platform, admin, orgs):
    branch = platform.info["branch_id"]
    with platform.client("demo-secretary") as sec:
        assert_problem(sec.post(f"{ORGS}/{branch}:rename", json={"name": "改名"}), 403)
        assert_problem(sec.post(f"{ORGS}/{orgs['w']['id']}:rename", json={"name": "越权"}), 404)
        assert set(tree(sec)) >= {branch} and orgs["w"]["id"] not in tree(sec)
        assert_problem(sec.put("/api/v1/rules/org.branch.max_members",
                               json={"value": 40, "citation": "x"}), 403)  # fmt: skip
        assert sec.get("/api/v1/rules/org.branch.max_members").json()["value"] == 50
    suffix = uuid.uuid4().hex[:6]
    with platform.client("platform-admin") as ops:
        r = provision(ops, name="他省", code=f"org-other-{suffix}", admin=f"org-other-{suffix}")
        assert r.status_code == 201, r.text
    with platform.client(f"org-other-{suffix}", PASSWORD) as other:
        w = orgs["w"]["id"]
        assert_problem(other.post(f"{ORGS}/{w}:rename", json={"name": "越界"}), 404)
        assert_problem(other.get(f"{ORGS}/{w}/history"), 404)
        assert_problem(other.get(f"{ORGS}/{w}/health"), 404)
        assert_problem(other.get(f"{ORGS}/tree", params={"root_id": w}), 404)
