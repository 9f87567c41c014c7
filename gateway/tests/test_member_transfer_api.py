"""Member import and export through the gateway, against the fake member service
(gateway_fake_member_transfer.py): multipart uploads, progress, file downloads, problems."""

from __future__ import annotations

import urllib.parse
import uuid
from typing import Any

import httpx
import pytest
from gateway_fake_member_service import RunningFake
from gateway_test_helpers import Login, MakeAccount, assert_problem, make_id_number
from hongyun.member.v1 import member_pb2 as mpb
from hongyun.member.v1 import member_transfer_files_pb2 as pb
from hongyun_gateway.state import GatewayState

pytestmark = pytest.mark.asyncio(loop_scope="session")
IMPORTS = "/api/v1/member-imports"
XLSX = b"PK\x03\x04" + bytes(range(256)) * 40  # binary, with CR/LF and "--" inside


@pytest.fixture
async def tenant(fake_member: RunningFake, api: httpx.AsyncClient) -> uuid.UUID:
    fake_member.service.transfer.reset()
    t = mpb.Tenant(id=str(uuid.uuid4()), name="示范党委", code="demo")
    fake_member.service.store.tenants[t.id] = t
    return uuid.UUID(t.id)


@pytest.fixture
async def admin(tenant: uuid.UUID, make_account: MakeAccount, login: Login) -> dict[str, str]:
    await make_account("t.admin", roles=["tenant_admin"], tenant_id=tenant)
    return await login("t.admin")


async def _org(api: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    resp = await api.post("/api/v1/organizations", json={"name": "支部", "type": "branch", **body},
                          headers=headers)  # fmt: skip
    assert resp.status_code == 201, resp.text
    return resp.json()  # type: ignore[no-any-return]


def _filename(resp: httpx.Response) -> str:
    disposition = resp.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    return urllib.parse.unquote(disposition.split("filename*=UTF-8''", 1)[1])


async def _upload(api: httpx.AsyncClient, headers: dict[str, str], data: bytes = XLSX,
                  name: str = "党员名单.xlsx", **fields: str) -> httpx.Response:  # fmt: skip
    return await api.post(IMPORTS, files={"file": (name, data, "application/octet-stream")},
                          data=fields, headers=headers)  # fmt: skip


async def test_template_download(api: httpx.AsyncClient, admin: dict[str, str]) -> None:
    resp = await api.get(f"{IMPORTS}/template", headers=admin)
    assert resp.status_code == 200 and resp.content.startswith(b"PK")
    assert _filename(resp) == "党员信息采集模板.xlsx"
    resp = await api.get(f"{IMPORTS}/template", params={"format": "csv"}, headers=admin)
    assert _filename(resp).endswith(".csv") and resp.content.startswith(b"\xef\xbb\xbf")
    assert_problem(
        await api.get(f"{IMPORTS}/template", params={"format": "pdf"}, headers=admin), 422
    )
    assert_problem(await api.get(f"{IMPORTS}/template"), 401)


async def test_upload_starts_a_job_and_progress_is_visible(
    api: httpx.AsyncClient, admin: dict[str, str], fake_member: RunningFake
) -> None:
    resp = await _upload(
        api, admin, mode="valid_rows_only", organization_path=" 示范党委/第一党支部 "
    )
    assert resp.status_code == 202, resp.text
    job = resp.json()
    assert resp.headers["location"] == f"{IMPORTS}/{job['id']}"
    assert job["status"] == "queued" and job["mode"] == "valid_rows_only" and job["percent"] == 0
    assert job["file_name"] == "党员名单.xlsx" and job["errors_url"] is None
    upload = fake_member.service.transfer.state.uploads[-1]
    assert upload.data == XLSX  # every byte, reassembled from the chunks
    assert upload.header.mode == pb.IMPORT_MODE_VALID_ROWS_ONLY
    assert upload.header.default_organization_path == "示范党委/第一党支部"

    seen = []
    for _ in range(5):
        got = (await api.get(f"{IMPORTS}/{job['id']}", headers=admin)).json()
        seen.append((got["status"], got["percent"], got["rows_done"]))
        if got["status"] == "succeeded":
            break
    assert seen == [("running", 50, 2), ("succeeded", 100, 4)]
    assert got["accepted"] == 3 and got["rejected"] == 1 and got["finished_at"]
    assert got["reasons"] == [
        {"code": "id_number.check_digit", "message": "公民身份号码：校验位错误", "rows": 1}
    ]
    assert got["errors_url"] == f"{IMPORTS}/{job['id']}/errors"

    resp = await api.get(got["errors_url"], headers=admin)
    assert (
        resp.status_code == 200
        and resp.content == b"PK\x03\x04 errors of " + "党员名单.xlsx".encode()
    )
    assert _filename(resp) == "成员-错误明细.xlsx"
    assert resp.headers["cache-control"] == "no-store, private"


async def test_default_mode_and_utf8_file_names(
    api: httpx.AsyncClient, admin: dict[str, str], fake_member: RunningFake
) -> None:
    boundary = "----hongyun"
    # RFC 7578 §4.2: the file name as UTF-8 in filename="…" (what browsers send; the RFC 5987
    # filename* form must not be used in multipart/form-data).
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"名单.csv\"\r\n\r\n").encode() + "姓名\r\n张三".encode() + (
            f"\r\n--{boundary}--\r\n").encode()  # fmt: skip
    resp = await api.post(IMPORTS, content=body, headers={
        **admin, "Content-Type": f"multipart/form-data; boundary={boundary}"})  # fmt: skip
    assert resp.status_code == 202, resp.text
    assert resp.json()["mode"] == "all_or_nothing" and resp.json()["file_name"] == "名单.csv"
    assert fake_member.service.transfer.state.uploads[-1].data == "姓名\r\n张三".encode()
    # A Windows path in the file name keeps only the name.
    resp = await _upload(api, admin, name="C:\\Users\\x\\名单.xlsx")
    assert resp.json()["file_name"] == "名单.xlsx"


async def test_bad_uploads_are_refused_before_the_service(
    api: httpx.AsyncClient, admin: dict[str, str], fake_member: RunningFake, state: GatewayState,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    uploads = fake_member.service.transfer.state.uploads
    body = assert_problem(await _upload(api, admin, mode="sometimes"), 422, "validation_failed")
    assert body["errors"][0]["field"] == "mode"
    resp = await api.post(IMPORTS, data={"mode": "all_or_nothing"}, files={"other": ("x", b"1")},
                          headers=admin)  # fmt: skip
    assert assert_problem(resp, 422)["errors"][0]["field"] == "file"
    assert_problem(
        await api.post(IMPORTS, json={"file": "x"}, headers=admin), 415, "unsupported_media_type"
    )
    resp = await api.post(IMPORTS, content=b"--x\r\nno headers", headers={
        **admin, "Content-Type": "multipart/form-data; boundary=x"})  # fmt: skip
    assert_problem(resp, 400, "malformed_multipart")
    monkeypatch.setattr(state.settings, "member_import_max_bytes", 1000)
    assert_problem(await _upload(api, admin, data=b"PK" + b"x" * 1001), 413, "file_too_large")
    assert_problem(await _upload(api, admin, data=b"PK" + b"x" * 100_000), 413, "file_too_large")
    assert uploads == []
    monkeypatch.undo()
    # The service's own refusal (not an .xlsx/.csv) comes back as a problem with its code.
    assert_problem(await _upload(api, admin, data=b"\x00\x01binary"), 422, "bad_file")


async def test_who_may_import_and_see_jobs(
    api: httpx.AsyncClient, admin: dict[str, str], tenant: uuid.UUID, make_account: MakeAccount,
    login: Login,
) -> None:  # fmt: skip
    branch = await _org(api, admin)
    await make_account(
        "sec", roles=["secretary"], tenant_id=tenant, scope_org_id=uuid.UUID(branch["id"])
    )
    await make_account("mem", roles=["member"], tenant_id=tenant)
    other_tenant = uuid.uuid4()
    await make_account("other", roles=["tenant_admin"], tenant_id=other_tenant)
    sec, mem, other = await login("sec"), await login("mem"), await login("other")
    assert_problem(await _upload(api, mem), 403, "permission_denied")
    job = (await _upload(api, admin)).json()
    assert_problem(
        await api.get(f"{IMPORTS}/{job['id']}", headers=sec), 404, "import_job_not_found"
    )
    assert_problem(await api.get(f"{IMPORTS}/{job['id']}", headers=other), 404)
    assert_problem(await api.get(f"{IMPORTS}/{job['id']}/errors", headers=sec), 404)
    # Errors of a job still running: 409 with the service's code.
    assert_problem(
        await api.get(f"{IMPORTS}/{job['id']}/errors", headers=admin), 409, "job_not_finished"
    )
    assert_problem(await api.get(f"{IMPORTS}/not-a-uuid", headers=admin), 422)
    mine = (await _upload(api, sec)).json()
    assert (await api.get(f"{IMPORTS}/{mine['id']}", headers=sec)).status_code == 200


async def test_export_members_masked_or_revealed_with_reason(
    api: httpx.AsyncClient, admin: dict[str, str], fake_member: RunningFake
) -> None:
    exports = fake_member.service.transfer.state.exports
    resp = await api.get("/api/v1/members/export", headers=admin)
    assert resp.status_code == 200, resp.text
    assert resp.content == b"watermark t.admin reveal=False"  # the account's name for the watermark
    assert _filename(resp) == "党员名册.xlsx" and resp.headers["x-row-count"] == "2"
    assert resp.headers["cache-control"] == "no-store, private"
    assert exports[-1][1].format == pb.TRANSFER_FILE_FORMAT_XLSX and not exports[-1][1].reveal

    n = len(exports)
    body = assert_problem(
        await api.get("/api/v1/members/export", params={"reveal": "true"}, headers=admin), 422
    )
    assert (
        body["errors"][0]["field"] == "reason" and len(exports) == n
    )  # refused before the service
    assert_problem(
        await api.get("/api/v1/members/export", params={"category": "lots"}, headers=admin), 422
    )
    assert_problem(
        await api.get("/api/v1/members/export", params={"format": "pdf"}, headers=admin), 422
    )

    org = await _org(api, admin)
    resp = await api.get("/api/v1/members/export", params={
        "format": "csv", "reveal": "true", "reason": "换届", "organization_id": org["id"],
        "category": "probationary", "party_status": "retained"}, headers=admin)  # fmt: skip
    assert resp.status_code == 200 and _filename(resp) == "党员名册.csv"
    req = exports[-1][1]
    assert req.reveal and req.reveal_reason == "换届" and req.organization_id == org["id"]
    assert (
        req.category == mpb.MEMBER_CATEGORY_PROBATIONARY
        and req.party_status == mpb.PARTY_STATUS_RETAINED
    )


async def test_export_errors_and_scope(
    api: httpx.AsyncClient, admin: dict[str, str], tenant: uuid.UUID, make_account: MakeAccount,
    login: Login,
) -> None:  # fmt: skip
    b1, b2 = await _org(api, admin, name="一支部"), await _org(api, admin, name="二支部")
    await make_account(
        "sec", roles=["secretary"], tenant_id=tenant, scope_org_id=uuid.UUID(b1["id"])
    )
    await make_account("mem", roles=["member"], tenant_id=tenant)
    sec, mem = await login("sec"), await login("mem")
    resp = await api.get(
        "/api/v1/members/export", params={"organization_id": b2["id"]}, headers=sec
    )
    assert_problem(resp, 404, "organization_not_found")
    resp = await api.get(
        "/api/v1/members/export", params={"reveal": "true", "reason": "看看"}, headers=mem
    )
    assert_problem(resp, 403, "reveal_not_allowed")


async def test_archive_export(
    api: httpx.AsyncClient, admin: dict[str, str], tenant: uuid.UUID, make_account: MakeAccount,
    login: Login,
) -> None:  # fmt: skip
    b1, b2 = await _org(api, admin, name="一支部"), await _org(api, admin, name="二支部")
    resp = await api.post("/api/v1/members", headers=admin, json={
        "organization_id": b1["id"], "name": "张三", "id_number": make_id_number("19800101"),
        "category": "full", "joined_on": "2005-07-01"})  # fmt: skip
    member = resp.json()
    resp = await api.get(f"/api/v1/members/{member['id']}/archive", headers=admin)
    assert resp.status_code == 200 and resp.content.startswith(b"%PDF")
    assert (
        resp.headers["content-type"] == "application/pdf" and _filename(resp) == "党员档案-张三.pdf"
    )
    resp = await api.get(
        f"/api/v1/members/{member['id']}/archive", params={"format": "xlsx"}, headers=admin
    )
    assert resp.content.startswith(b"PK") and _filename(resp).endswith(".xlsx")
    assert_problem(await api.get(f"/api/v1/members/{member['id']}/archive",
                                 params={"reveal": "true"}, headers=admin), 422)  # fmt: skip
    assert_problem(await api.get(f"/api/v1/members/{uuid.uuid4()}/archive", headers=admin), 404)
    await make_account(
        "sec2", roles=["secretary"], tenant_id=tenant, scope_org_id=uuid.UUID(b2["id"])
    )
    assert_problem(
        await api.get(f"/api/v1/members/{member['id']}/archive", headers=await login("sec2")), 404
    )


async def test_openapi_documents_the_routes(api: httpx.AsyncClient) -> None:
    spec = (await api.get("/openapi.json")).json()
    post = spec["paths"][IMPORTS]["post"]
    assert "multipart/form-data" in post["requestBody"]["content"]
    assert "上传" in post["summary"] and "Upload" in post["summary"]
    assert {f"{IMPORTS}/template", f"{IMPORTS}/{{job_id}}", f"{IMPORTS}/{{job_id}}/errors",
            "/api/v1/members/export", "/api/v1/members/{member_id}/archive"} <= set(spec["paths"])  # fmt: skip
