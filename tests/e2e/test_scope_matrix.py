"""Data-scope matrix through HTTP only: every member endpoint × every kind of caller, with the
platform started as `make run` starts it (the same matrix against gRPC:
services/member/tests/integration/test_scope_matrix.py).

The data: tenant C (a child of tenant P, with a sibling tenant S) has root → branch 1, branch 2;
the target member is in branch 1; P and S hold a member of the same name. Outcomes:
- ALLOWED   — 2xx, and the target is returned / changed / listed;
- NOT_FOUND — 404, or, for a collection, 200 without the target (outside the caller's tenant
              or scope looks exactly like absent);
- FORBIDDEN — 403.

To cover a new endpoint (archive, import, export, ...): add an Endpoint to ENDPOINTS and its row
to MATRIX, one outcome per caller.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.e2e

PASSWORD = "Matrix@2026pass"
TARGET_NAME = "矩阵目标人"
_seq = itertools.count(100)


class Outcome(Enum):
    ALLOWED = "allowed"
    NOT_FOUND = "404"
    FORBIDDEN = "403"


A, NF, F = Outcome.ALLOWED, Outcome.NOT_FOUND, Outcome.FORBIDDEN


def check_char(first17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights, strict=True)) % 11]


def member_body(org_id: str, name: str) -> dict[str, Any]:
    first17 = f"44030519750505{next(_seq):03d}"
    return {
        "organization_id": org_id, "name": name, "id_number": first17 + check_char(first17),
        "category": "full", "joined_on": "2001-07-01", "mobile_phone": "13800001234",
    }  # fmt: skip


@dataclass(frozen=True)
class World:
    clients: dict[str, httpx.Client]
    target: dict[str, Any]
    branch1: dict[str, Any]


@dataclass(frozen=True)
class Endpoint:
    """`run` calls the endpoint about the target; a collection's response lists `items`."""

    run: Callable[[World, httpx.Client], httpx.Response]
    collection: bool = False


def _members(w: World, c: httpx.Client, **params: Any) -> httpx.Response:
    return c.get("/api/v1/members", params={"limit": 200, **params})


def _search(w: World, c: httpx.Client, **params: Any) -> httpx.Response:
    return c.get("/api/v1/members/search", params={"q": TARGET_NAME, "limit": 100, **params})


ENDPOINTS: dict[str, Endpoint] = {
    "GET /members": Endpoint(_members, collection=True),
    "GET /members?organization_id": Endpoint(
        lambda w, c: _members(w, c, organization_id=w.branch1["id"]), collection=True
    ),
    "GET /members/{id}": Endpoint(lambda w, c: c.get(f"/api/v1/members/{w.target['id']}")),
    "GET /members/{id}?reveal": Endpoint(
        lambda w, c: c.get(
            f"/api/v1/members/{w.target['id']}", params={"reveal": "true", "reason": "范围测试"}
        )
    ),
    "POST /members": Endpoint(
        lambda w, c: c.post("/api/v1/members", json=member_body(w.branch1["id"], "矩阵新人"))
    ),
    "PATCH /members/{id}": Endpoint(
        lambda w, c: c.patch(
            f"/api/v1/members/{w.target['id']}",
            json={"job_post": f"岗位{next(_seq)}"},
            headers={"If-Match": "*"},
        )
    ),
    "GET /members/search": Endpoint(_search, collection=True),
    "GET /members/search?organization_id": Endpoint(
        lambda w, c: _search(w, c, organization_id=w.branch1["id"]), collection=True
    ),
    "GET /members/counts?organization_id": Endpoint(
        lambda w, c: c.get("/api/v1/members/counts", params={"organization_id": w.branch1["id"]})
    ),
    "GET /members/{id}/family-members": Endpoint(
        lambda w, c: c.get(f"/api/v1/members/{w.target['id']}/family-members")
    ),
    # Member lifecycle (issue 4): the target's dues, and the subtree views of branch 1.
    "GET /dues/members/{id}": Endpoint(
        lambda w, c: c.get(f"/api/v1/dues/members/{w.target['id']}")
    ),
    "GET /due-items?organization_id": Endpoint(
        lambda w, c: c.get("/api/v1/due-items", params={"organization_id": w.branch1["id"]})
    ),
    "GET /development/cases?organization_id": Endpoint(
        lambda w, c: c.get("/api/v1/development/cases", params={"organization_id": w.branch1["id"]})
    ),
    "GET /relationship-transfers?organization_id": Endpoint(
        lambda w, c: c.get(
            "/api/v1/relationship-transfers", params={"organization_id": w.branch1["id"]}
        )
    ),
}

CALLERS = (
    "own-scope secretary",
    "other-scope secretary",
    "tenant admin",
    # Records of a child tenant need an explicit role (issue 3, "Multi-level tenants"): a parent
    # tenant's admin without it sees none of them, in its own tenant ...
    "parent-tenant admin",
    # ... nor by naming the child tenant in X-Hongyun-Tenant (refused by the gateway).
    "parent-tenant admin, X-Hongyun-Tenant: child",
    "sibling-tenant admin",
    "member role",
    "platform admin, X-Hongyun-Tenant: child",
)
MATRIX: dict[str, tuple[Outcome, ...]] = {
    #                                      own  other admin parent p+hdr sibling member platform
    "GET /members":                         (A,   NF,   A,    NF,    F,    NF,     F,     A),
    "GET /members?organization_id":         (A,   NF,   A,    NF,    F,    NF,     F,     A),
    "GET /members/{id}":                    (A,   NF,   A,    NF,    F,    NF,     F,     A),
    # Platform operators never see personal data in full (ADR 0001).
    "GET /members/{id}?reveal":             (A,   NF,   A,    NF,    F,    NF,     F,     F),
    "POST /members":                        (A,   NF,   A,    NF,    F,    NF,     F,     A),
    "PATCH /members/{id}":                  (A,   NF,   A,    NF,    F,    NF,     F,     A),
    "GET /members/search":                  (A,   NF,   A,    NF,    F,    NF,     F,     A),
    "GET /members/search?organization_id":  (A,   NF,   A,    NF,    F,    NF,     F,     A),
    "GET /members/counts?organization_id":  (A,   NF,   A,    NF,    F,    NF,     F,     A),
    "GET /members/{id}/family-members":     (A,   NF,   A,    NF,    F,    NF,     F,     A),
    "GET /dues/members/{id}":               (A,   NF,   A,    NF,    F,    NF,     F,     A),
    "GET /due-items?organization_id":       (A,   NF,   A,    NF,    F,    NF,     F,     A),
    "GET /development/cases?organization_id":      (A, NF, A, NF, F, NF, F, A),
    # Platform operators do not handle introduction letters (ADR 0016).
    "GET /relationship-transfers?organization_id": (A, NF, A, NF, F, NF, F, F),
}  # fmt: skip


def _ok(resp: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    return resp.json()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def world(platform):
    suffix = uuid.uuid4().hex[:6]
    opened: list[httpx.Client] = []

    def client(username: str, password: str = PASSWORD, **headers: str) -> httpx.Client:
        c = platform.client(username, password)
        c.headers.update(headers)
        opened.append(c)
        return c

    ops = client("platform-admin", platform.password)
    tenants = {}
    for key, parent in (("p", None), ("c", "p"), ("s", "p")):
        body = {"name": f"矩阵{key}", "code": f"mx{key}-{suffix}"}
        if parent:
            body["parent_id"] = tenants[parent]["id"]
        tenants[key] = _ok(ops.post("/api/v1/tenants", json=body), 201)
        _ok(ops.post("/api/v1/accounts", json={
            "username": f"mx-{key}-admin-{suffix}", "password": PASSWORD,
            "roles": ["tenant_admin"], "tenant_id": tenants[key]["id"]}), 201)  # fmt: skip
    admins = {k: client(f"mx-{k}-admin-{suffix}") for k in tenants}

    def org(c: httpx.Client, name: str, parent: str | None = None) -> dict[str, Any]:
        body = {"name": name, "type": "branch" if parent else "committee"}
        if parent:
            body["parent_id"] = parent
        return _ok(c.post("/api/v1/organizations", json=body), 201)

    for k in ("p", "s"):  # same name elsewhere: a leak would show as a wrong id
        _ok(admins[k].post("/api/v1/members", json=member_body(org(admins[k], "党委")["id"],
                                                               TARGET_NAME)), 201)  # fmt: skip
    root = org(admins["c"], "子租户党委")
    br1, br2 = org(admins["c"], "一支部", root["id"]), org(admins["c"], "二支部", root["id"])
    target = _ok(admins["c"].post("/api/v1/members", json=member_body(br1["id"], TARGET_NAME)), 201)
    for name, roles, scope in (
        ("sec1", ["secretary"], br1["id"]),
        ("sec2", ["secretary"], br2["id"]),
        ("member", ["member"], None),
    ):
        body = {"username": f"mx-{name}-{suffix}", "password": PASSWORD, "roles": roles}
        if scope:
            body["scope_org_id"] = scope
        _ok(admins["c"].post("/api/v1/accounts", json=body), 201)
    child = {"X-Hongyun-Tenant": tenants["c"]["id"]}
    clients = dict(
        zip(
            CALLERS,
            (
                client(f"mx-sec1-{suffix}"),
                client(f"mx-sec2-{suffix}"),
                admins["c"],
                admins["p"],
                client(f"mx-p-admin-{suffix}", **child),
                admins["s"],
                client(f"mx-member-{suffix}"),
                client("platform-admin", platform.password, **child),
            ),
            strict=True,
        )
    )
    yield World(clients=clients, target=target, branch1=br1)
    for c in opened:
        c.close()


def test_the_matrix_is_complete():
    assert set(MATRIX) == set(ENDPOINTS)
    assert all(len(row) == len(CALLERS) for row in MATRIX.values())


@pytest.mark.parametrize(
    ("endpoint", "caller"),
    [(e, c) for e in MATRIX for c in CALLERS],
    ids=[f"{e} | {c}" for e in MATRIX for c in CALLERS],
)
def test_scope_matrix(world: World, endpoint: str, caller: str):
    expected = MATRIX[endpoint][CALLERS.index(caller)]
    ep = ENDPOINTS[endpoint]
    resp = ep.run(world, world.clients[caller])
    if resp.status_code in (404, 403):
        assert resp.headers["content-type"].startswith("application/problem+json"), resp.text
        got = Outcome.NOT_FOUND if resp.status_code == 404 else Outcome.FORBIDDEN
    else:
        assert resp.status_code in (200, 201), f"{endpoint} as {caller}: {resp.text}"
        got = Outcome.ALLOWED
        if ep.collection:
            listed = {item["id"] for item in resp.json()["items"]}
            got = Outcome.ALLOWED if world.target["id"] in listed else Outcome.NOT_FOUND
        elif endpoint.startswith("POST"):
            assert resp.json()["organization_id"] == world.branch1["id"]
        elif "/counts" in endpoint:
            assert resp.json()["total"] >= 1  # the target's branch holds the target
        elif endpoint.endswith("/family-members"):
            assert resp.json()["items"] == []  # the target's (empty) family records
        elif endpoint.startswith("GET /dues/members/"):
            assert resp.json()["member_id"] == world.target["id"]
        elif endpoint.startswith("GET /due-items"):
            assert {s["kind"] for s in resp.json()["sections"]} == {
                "development_step", "letter_expiring", "committee_term", "dues_arrears"}  # fmt: skip
        elif "?organization_id" in endpoint:  # branch 1's cases or letters: none yet
            assert resp.json()["items"] == []
        else:
            assert resp.json()["id"] == world.target["id"]
    assert got == expected, f"{endpoint} as {caller}: {resp.status_code} {resp.text[:200]}"
