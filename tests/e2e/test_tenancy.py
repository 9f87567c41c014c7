"""Nested tenants through HTTP: provisioning with a first admin, aggregates for the parent,
suspension that locks the subtree out, resumption."""

from __future__ import annotations

import uuid

import pytest

from .test_walking_skeleton import assert_problem, member_body

pytestmark = pytest.mark.e2e
PASSWORD = "Tenant@2026pass"


def provision(client, *, name, code, parent_id=None, admin):
    body = {"name": name, "code": code, "root_organization_name": f"{name}委",
            "admin": {"username": admin, "password": PASSWORD}}  # fmt: skip
    if parent_id:
        body["parent_id"] = parent_id
    return client.post("/api/v1/tenants/provision", json=body)


def test_province_city_lifecycle(platform):
    suffix = uuid.uuid4().hex[:6]
    with platform.client("platform-admin") as ops:
        r = provision(ops, name="示范省", code=f"prov-{suffix}", admin=f"prov-admin-{suffix}")
        assert r.status_code == 201, r.text
        prov = r.json()
        assert prov["created"] and prov["root_organization"]["depth"] == 1
    with platform.client(f"prov-admin-{suffix}", PASSWORD) as padm:
        r = provision(padm, name="示范市", code=f"city-{suffix}", parent_id=prov["tenant"]["id"],
                      admin=f"city-admin-{suffix}")  # fmt: skip
        assert r.status_code == 201, r.text
        city = r.json()
        again = provision(padm, name="示范市", code=f"city-{suffix}", parent_id=prov["tenant"]["id"],
                          admin=f"city-admin-{suffix}")  # fmt: skip
        assert again.status_code == 200 and again.json()["created"] is False
        assert again.json()["tenant"]["id"] == city["tenant"]["id"]

    with platform.client(f"city-admin-{suffix}", PASSWORD) as cadm:
        for seq in (40, 41):
            body = member_body(city["root_organization"]["id"], seq)
            assert cadm.post("/api/v1/members", json=body).status_code == 201
        # A city admin cannot read its province's aggregates, nor suspend itself.
        assert_problem(cadm.get(f"/api/v1/tenants/{prov['tenant']['id']}/aggregates"), 404)
        assert_problem(
            cadm.post(f"/api/v1/tenants/{city['tenant']['id']}/suspend", json={"reason": "自停"}),
            403,
        )

    with platform.client(f"prov-admin-{suffix}", PASSWORD) as padm:
        agg = padm.get(f"/api/v1/tenants/{prov['tenant']['id']}/aggregates").json()
        rows = {a["tenant_id"]: a for a in agg["tenants"]}
        assert rows[city["tenant"]["id"]]["members"] == 2 and agg["total"]["members"] == 2
        # Aggregates, not records: the province admin cannot act inside the city.
        r = padm.get("/api/v1/members", headers={"X-Hongyun-Tenant": city["tenant"]["id"]})
        assert_problem(r, 403)
        assert padm.get("/api/v1/members").json()["items"] == []
        assert_problem(
            padm.post(f"/api/v1/tenants/{city['tenant']['id']}/suspend", json={"reason": ""}), 422
        )
        r = padm.post(
            f"/api/v1/tenants/{city['tenant']['id']}/suspend", json={"reason": "机构调整"}
        )
        assert r.status_code == 200 and r.json()["affected_tenant_ids"] == [city["tenant"]["id"]]

    with pytest.raises(AssertionError, match="tenant_suspended"):
        platform.client(f"city-admin-{suffix}", PASSWORD)  # login refused
    with platform.client(f"prov-admin-{suffix}", PASSWORD) as padm:
        got = padm.get(f"/api/v1/tenants/{city['tenant']['id']}").json()
        assert got["status"] == "suspended"
        assert (
            padm.post(f"/api/v1/tenants/{city['tenant']['id']}/resume", json={}).status_code == 200
        )
    with platform.client(f"city-admin-{suffix}", PASSWORD) as cadm:
        assert len(cadm.get("/api/v1/members").json()["items"]) == 2


def test_descendant_reader_is_read_only_and_limited_to_descendants(platform):
    suffix = uuid.uuid4().hex[:6]
    with platform.client("platform-admin") as ops:
        prov = provision(
            ops, name="读省", code=f"rprov-{suffix}", admin=f"rprov-admin-{suffix}"
        ).json()
        r = ops.post("/api/v1/accounts", json={
            "username": f"reader-{suffix}", "password": PASSWORD, "tenant_id": prov["tenant"]["id"],
            "roles": ["tenant_admin", "descendant_reader"]})  # fmt: skip
        assert r.status_code == 201, r.text
    with platform.client(f"rprov-admin-{suffix}", PASSWORD) as padm:
        city = provision(padm, name="读市", code=f"rcity-{suffix}", parent_id=prov["tenant"]["id"],
                         admin=f"rcity-admin-{suffix}").json()  # fmt: skip
    with platform.client(f"rcity-admin-{suffix}", PASSWORD) as cadm:
        assert (
            cadm.post(
                "/api/v1/members", json=member_body(city["root_organization"]["id"], 60)
            ).status_code
            == 201
        )
    city_header = {"X-Hongyun-Tenant": city["tenant"]["id"]}
    with platform.client(f"reader-{suffix}", PASSWORD) as reader:
        items = reader.get("/api/v1/members", headers=city_header).json()["items"]
        assert len(items) == 1 and "*" in items[0]["id_number"]
        r = reader.get(f"/api/v1/members/{items[0]['id']}", headers=city_header,
                       params={"reveal": "true", "reason": "核查"})  # fmt: skip
        assert_problem(r, 403)
        r = reader.post("/api/v1/members", headers=city_header,
                        json=member_body(city["root_organization"]["id"], 61))  # fmt: skip
        assert_problem(r, 403)
        # Not a descendant: the demo tenant stays closed.
        assert_problem(
            reader.get("/api/v1/members", headers={"X-Hongyun-Tenant": platform.info["tenant_id"]}),
            403,
        )
