"""Tenant data export through HTTP only, on the platform as `make run` starts it: a
city's admin exports it (revealed, with a reason), polls the job, downloads the .zip through the
gateway's signed /files URL and finds the data; the province and a platform admin get masked data."""

from __future__ import annotations

import hashlib
import io
import json
import time
import uuid
import zipfile

import httpx
import pytest

from .test_tenancy import PASSWORD, provision
from .test_walking_skeleton import assert_problem, id_number, member_body

pytestmark = pytest.mark.e2e


def finished(client, url: str) -> dict:
    for _ in range(300):
        job = client.get(url).json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"export did not finish: {job}")


def fetch_zip(platform, job: dict) -> zipfile.ZipFile:
    assert job["status"] == "succeeded", job
    assert job["download_url"].startswith(f"{platform.url}/files/tenant-exports/")
    got = httpx.get(job["download_url"], timeout=30)
    assert got.status_code == 200
    assert hashlib.sha256(got.content).hexdigest() == job["sha256"]
    return zipfile.ZipFile(io.BytesIO(got.content))


def test_province_admin_exports_a_city_and_downloads_it(platform):
    suffix = uuid.uuid4().hex[:6]
    with platform.client("platform-admin") as ops:
        prov = provision(ops, name="导出省", code=f"eprov-{suffix}", admin=f"eprov-admin-{suffix}")
        prov = prov.json()
    with platform.client(f"eprov-admin-{suffix}", PASSWORD) as padm:
        city = provision(padm, name="导出市", code=f"ecity-{suffix}", parent_id=prov["tenant"]["id"],
                         admin=f"ecity-admin-{suffix}").json()  # fmt: skip
    city_id = city["tenant"]["id"]
    with platform.client(f"ecity-admin-{suffix}", PASSWORD) as cadm:
        for seq in (70, 71):
            r = cadm.post("/api/v1/members", json=member_body(city["root_organization"]["id"], seq))
            assert r.status_code == 201, r.text
        # A city admin cannot export its province (not visible), nor reveal without a reason.
        assert_problem(cadm.post(f"/api/v1/tenants/{prov['tenant']['id']}/exports", json={}), 404)
        assert_problem(
            cadm.post(f"/api/v1/tenants/{city_id}/exports", json={"reveal": True}), 422, "reason"
        )

    # The city's own admin exports it in full, with a reason.
    with platform.client(f"ecity-admin-{suffix}", PASSWORD) as cadm:
        r = cadm.post(f"/api/v1/tenants/{city_id}/exports",
                      json={"reveal": True, "reason": "机构撤并，移交档案"})  # fmt: skip
        assert r.status_code == 202, r.text
        assert r.headers["location"] == f"/api/v1/tenants/{city_id}/exports/{r.json()['id']}"
        job = finished(cadm, r.headers["location"])
        assert job["percent"] == 100 and job["rows_done"] == job["total_rows"] > 0
        z = fetch_zip(platform, job)
    manifest = json.loads(z.read("manifest.json"))
    assert f"ecity-admin-{suffix}" in manifest["watermark"] and manifest["revealed"] is True
    members = [
        json.loads(line)
        for line in z.read(f"tenants/ecity-{suffix}/members.jsonl").decode().splitlines()
    ]
    assert sorted(m["id_number"] for m in members) == [id_number(70), id_number(71)]
    assert f"tenants/ecity-{suffix}/members.xlsx" in z.namelist()

    # The province exports its city (provisioning), but a descendant's personal data stays
    # masked: records of descendants are never revealed across tenants (ADR 0011).
    with platform.client(f"eprov-admin-{suffix}", PASSWORD) as padm:
        refused = assert_problem(padm.post(f"/api/v1/tenants/{city_id}/exports",
                                           json={"reveal": True, "reason": "移交"}), 403)  # fmt: skip
        assert refused["type"].endswith("/reveal_not_allowed")
        r = padm.post(f"/api/v1/tenants/{city_id}/exports", json={})
        assert r.status_code == 202, r.text
        parent = fetch_zip(platform, finished(padm, r.headers["location"]))
    assert f"eprov-admin-{suffix}" in json.loads(parent.read("manifest.json"))["watermark"]
    lines = parent.read(f"tenants/ecity-{suffix}/members.jsonl").decode().splitlines()
    assert len(lines) == 2 and all("*" in json.loads(line)["id_number"] for line in lines)

    # Platform operators export too, but personal data stays masked.
    with platform.client("platform-admin") as ops:
        assert_problem(ops.post(f"/api/v1/tenants/{city_id}/exports",
                                json={"reveal": True, "reason": "核查"}), 403)  # fmt: skip
        r = ops.post(f"/api/v1/tenants/{city_id}/exports", json={})
        assert r.status_code == 202, r.text
        masked = fetch_zip(platform, finished(ops, r.headers["location"]))
    lines = masked.read(f"tenants/ecity-{suffix}/members.jsonl").decode().splitlines()
    assert all("*" in json.loads(line)["id_number"] for line in lines) and len(lines) == 2

    # A secretary exports no tenant.
    with platform.client("demo-secretary") as sec:
        assert_problem(
            sec.post(f"/api/v1/tenants/{platform.info['tenant_id']}/exports", json={}), 403
        )
