"""The electronic member archive through the gateway's HTTP API only, with the platform started
as `make run` starts it: attachments go to the filesystem store through the gateway's /files."""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, timedelta

import httpx
import pytest

pytestmark = pytest.mark.e2e

PDF = b"%PDF-1.4\n% hongyun e2e\n" + b"1 0 obj << >> endobj\n" * 20


def check_char(first17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights, strict=True)) % 11]


def id_number(seq: int) -> str:
    first17 = f"32010219900101{seq:03d}"
    return first17 + check_char(first17)


def assert_problem(resp: httpx.Response, status: int, code: str | None = None) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    problem = resp.json()
    if code:
        assert problem["code"] == code, problem
    return problem


@pytest.fixture(scope="module")
def admin(platform):
    with platform.client("demo-admin") as c:
        yield c


@pytest.fixture(scope="module")
def org(platform, admin):
    r = admin.post("/api/v1/organizations", json={
        "parent_id": platform.info["root_org_id"], "name": f"档案支部-{uuid.uuid4().hex[:4]}",
        "type": "branch"})  # fmt: skip
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture(scope="module")
def member(admin, org):
    r = admin.post("/api/v1/members", json={
        "organization_id": org["id"], "name": "档案测试", "id_number": id_number(1),
        "category": "full", "joined_on": "2012-07-01", "converted_on": "2013-07-01",
        "mobile_phone": "13912345678"})  # fmt: skip
    assert r.status_code == 201, r.text
    return r.json()


def test_extended_fields_family_and_punishments(admin, member):
    base = f"/api/v1/members/{member['id']}"
    r = admin.put(f"{base}/ext", json={"native_place": "江苏南京", "degree": "学士",
                                       "work_unit": "南京市某街道办", "party_post": "组织委员"})  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 1 and r.headers["etag"] == '"1"'
    assert admin.get(f"{base}/ext").json()["party_post"] == "组织委员"

    fam = admin.post(f"{base}/family-members", json={
        "name": "档案家属", "relation": "配偶", "phone": "13800001111"})  # fmt: skip
    assert fam.status_code == 201, fam.text
    assert fam.json()["phone"] == "138****1111"
    assert admin.get(f"{base}/family-members").json()["items"][0]["phone"] == "138****1111"
    assert_problem(admin.get(f"{base}/family-members", params={"reveal": "true"}), 422)
    full = admin.get(f"{base}/family-members", params={"reveal": "true", "reason": "走访联系"})
    assert full.json()["items"][0]["phone"] == "13800001111"

    p = admin.post(f"{base}/awards", json={"kind": "punishment", "title": "党内警告",
                                           "decided_on": "2020-05-01", "issuing_body": "区纪委"})  # fmt: skip
    assert p.status_code == 201, p.text
    assert p.json()["redacted"] is True and p.json()["title"] is None
    shown = admin.get(f"{base}/awards", params={"reveal": "true", "reason": "评议"}).json()["items"]
    assert shown[0]["title"] == "党内警告" and shown[0]["issuing_body"] == "区纪委"


def test_status_history_and_flags(admin, member):
    base = f"/api/v1/members/{member['id']}"
    r = admin.post(f"{base}/status-history", json={
        "status": "retained", "effective_on": "2021-03-01", "reason": "出国留学，保留党籍"})  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["current_status"] == "retained"
    assert admin.get(f"/api/v1/members/{member['id']}").json()["party_status"] == "retained"
    assert admin.get(f"{base}/status", params={"as_of": "2020-01-01"}).json()["status"] == "normal"
    history = admin.get(f"{base}/status-history").json()
    assert [c["status"] for c in history["items"]] == ["retained", "normal"]
    assert_problem(admin.post(f"{base}/status-history", json={
        "status": "normal", "effective_on": "2022-01-01", "reason": "x"}), 422, "invalid_status")  # fmt: skip

    today = date.today()
    recent = (today - timedelta(days=90)).isoformat()  # the national rule is 6 months
    assert_problem(admin.post(f"{base}/flags", json={
        "flag": "lost_contact", "active": True, "effective_on": recent}), 409,
        "lost_contact_too_recent")  # fmt: skip
    r = admin.post(f"{base}/flags", json={"flag": "floating", "active": True,
                                          "effective_on": today.isoformat(), "destination": "上海"})  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["flags"]["floating"] is True
    assert admin.get(f"/api/v1/members/{member['id']}").json()["floating_destination"] == "上海"


def test_attachment_upload_through_files_and_download(platform, admin, member):
    base = f"/api/v1/members/{member['id']}"
    r = admin.post(f"{base}/attachments", json={
        "kind": "scan", "file_name": "入党志愿书.pdf", "content_type": "application/pdf",
        "size": len(PDF), "sha256": hashlib.sha256(PDF).hexdigest()})  # fmt: skip
    assert r.status_code == 201, r.text
    ticket = r.json()
    assert ticket["upload_url"].startswith(f"{platform.url}/files/")
    up = httpx.put(ticket["upload_url"], content=PDF, headers=ticket["upload_headers"], timeout=15)
    assert up.status_code == 200, up.text
    done = admin.post(f"{base}/attachments/{ticket['attachment_id']}:complete")
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "available"

    dl = admin.get(f"{base}/attachments/{ticket['attachment_id']}/download",
                   params={"reason": "材料审核"})  # fmt: skip
    assert dl.status_code == 200, dl.text
    got = httpx.get(dl.json()["url"], timeout=15)
    assert got.status_code == 200 and got.content == PDF
    tampered = dl.json()["url"].replace("sig=", "sig=00")
    assert httpx.get(tampered, timeout=15).status_code == 403

    # A file that is not what it claims is refused at completion and cannot be downloaded.
    bad = admin.post(f"{base}/attachments", json={
        "kind": "photo", "file_name": "照片.png", "content_type": "image/png", "size": len(PDF)}).json()  # fmt: skip
    httpx.put(bad["upload_url"], content=PDF, headers=bad["upload_headers"], timeout=15)
    assert_problem(admin.post(f"{base}/attachments/{bad['attachment_id']}:complete"), 422,
                   "content_type_mismatch")  # fmt: skip
    assert_problem(admin.get(f"{base}/attachments/{bad['attachment_id']}/download"), 409)
    statuses = {a["id"]: a["status"] for a in admin.get(f"{base}/attachments").json()["items"]}
    assert statuses == {ticket["attachment_id"]: "available", bad["attachment_id"]: "rejected"}


def test_field_history_masks_personal_values(admin, member):
    r = admin.get(f"/api/v1/members/{member['id']}")
    upd = admin.patch(f"/api/v1/members/{member['id']}", json={"mobile_phone": "13700002222"},
                      headers={"If-Match": r.headers["etag"]})  # fmt: skip
    assert upd.status_code == 200, upd.text
    items = admin.get(f"/api/v1/members/{member['id']}/history").json()["items"]
    phone = next(c for c in items if c["field"] == "mobile_phone")
    assert (phone["old_value"], phone["new_value"]) == ("139****5678", "137****2222")
    assert phone["personal"] and not phone["revealed"]
    assert any(c["source"] == "extension" and c["field"] == "native_place" for c in items)
    full = admin.get(f"/api/v1/members/{member['id']}/history",
                     params={"reveal": "true", "reason": "核对", "limit": 200}).json()["items"]  # fmt: skip
    phone = next(c for c in full if c["field"] == "mobile_phone")
    assert phone["new_value"] == "13700002222" and phone["revealed"]


def test_other_scope_sees_nothing(platform, admin, member):
    admin.post(f"/api/v1/members/{member['id']}/tags", json={"tag": "档案测试"})
    with platform.client("demo-secretary") as sec:  # secretary of another branch
        for path in ("ext", "family-members", "awards", "travels", "hardships", "tags",
                     "status-history", "flags", "attachments", "history"):  # fmt: skip
            assert_problem(sec.get(f"/api/v1/members/{member['id']}/{path}"), 404)
        assert_problem(sec.post(f"/api/v1/members/{member['id']}/family-members",
                                json={"name": "x", "relation": "y"}), 404)  # fmt: skip
        tags = sec.get("/api/v1/member-tags").json()["items"]
        assert "档案测试" not in {t["tag"] for t in tags}
    assert "档案测试" in {t["tag"] for t in admin.get("/api/v1/member-tags").json()["items"]}
