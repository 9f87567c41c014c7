"""Member import and export through the gateway's HTTP API only, on the platform as `make run`
starts it: template, upload, progress, error workbook, re-import, exports, archive PDF."""

from __future__ import annotations

import io
import time
from datetime import date

import pytest
import python_calamine
from openpyxl import Workbook

pytestmark = pytest.mark.e2e

HEADERS = ["姓名", "性别", "公民身份号码", "民族", "出生日期", "学历", "人员类别", "入党日期",
           "转正日期", "工作岗位", "手机号码", "固定电话", "家庭住址", "党籍状态", "是否失联",
           "失联日期", "是否流动", "外出流向", "所在党组织"]  # fmt: skip
BRANCH1 = "红云示范党委/第一党支部"
BRANCH2 = "红云示范党委/第二党支部"


def id_number(seq: int) -> str:
    first17 = f"53010219910505{seq:03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return (
        first17 + "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights, strict=True)) % 11]
    )


def row(seq: int, org: str = BRANCH1, **kw) -> list:
    values = dict(zip(HEADERS, [
        f"导入测试{seq}", "", id_number(seq), "汉族", None, "大学本科", "正式党员", date(2015, 7, 1),
        date(2016, 7, 1), "工程师", "13700000000", "0871-65551234", "云南省昆明市五华区某路1号", "正常",
        "否", None, "否", None, org,
    ], strict=True))  # fmt: skip
    values.update(kw)
    return [values[h] for h in HEADERS]


def xlsx(rows: list[list]) -> bytes:
    wb = Workbook()
    wb.active.append(HEADERS)
    for r in rows:
        wb.active.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def sheet(data: bytes, index: int = 0) -> list[list]:
    wb = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    return wb.get_sheet_by_index(index).to_python()


def upload(client, data: bytes, mode: str, name: str = "党员.xlsx", **fields) -> dict:
    r = client.post("/api/v1/member-imports", files={"file": (name, data)},
                    data={"mode": mode, **fields})  # fmt: skip
    assert r.status_code == 202, r.text
    return r.json()


def finished(client, job: dict) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        got = client.get(f"/api/v1/member-imports/{job['id']}").json()
        if got["status"] in ("succeeded", "rejected", "failed"):
            return got
        time.sleep(0.2)
    raise AssertionError(f"import job did not finish: {got}")


def names_in(client, org_id: str) -> list[str]:
    r = client.get("/api/v1/members", params={"organization_id": org_id, "limit": 200})
    assert r.status_code == 200, r.text
    return [m["name"] for m in r.json()["items"]]


@pytest.fixture(scope="module")
def admin(platform):
    with platform.client("demo-admin") as c:
        yield c


@pytest.fixture(scope="module")
def secretary(platform):
    with platform.client("demo-secretary") as c:
        yield c


def test_template_download(admin):
    r = admin.get("/api/v1/member-imports/template")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    assert sheet(r.content)[0] == HEADERS


def test_import_with_bad_rows_progress_error_workbook_and_rerun(admin, platform):
    bad_check = id_number(3)[:-1] + ("0" if id_number(3)[-1] != "0" else "1")
    rows = [row(1), row(2, 性别="女" if int(id_number(2)[16]) % 2 else "男"), row(3, 公民身份号码=bad_check),
            row(4, "红云示范党委/不存在"), row(5), row(5, 姓名="重复")]  # fmt: skip
    before = names_in(admin, platform.info["branch_id"])

    # all_or_nothing: any bad row and nothing is written.
    job = finished(admin, upload(admin, xlsx(rows), "all_or_nothing"))
    assert job["status"] == "rejected" and job["percent"] == 100 and job["accepted"] == 0
    assert names_in(admin, platform.info["branch_id"]) == before

    # valid_rows_only: exactly the good rows.
    started = upload(admin, xlsx(rows), "valid_rows_only", name="第一批.xlsx")
    assert started["status"] == "queued"
    job = finished(admin, started)
    assert job["status"] == "succeeded" and job["percent"] == 100, job
    assert (job["total_rows"], job["accepted"], job["rejected"], job["skipped"]) == (6, 2, 4, 0)
    codes = {r["code"] for r in job["reasons"]}
    assert codes == {"gender.gender_mismatch", "id_number.check_digit",
                     "organization_path.not_found", "id_number.duplicate_in_file"}  # fmt: skip
    now = names_in(admin, platform.info["branch_id"])
    assert {"导入测试1", "导入测试5"} <= set(now) and "重复" not in now

    r = admin.get(job["errors_url"])
    assert r.status_code == 200, r.text
    errors = sheet(r.content)
    assert errors[1][0] == "行号" and errors[1][-2:] == ["错误原因", "错误代码"]
    by_row = {int(e[0]): e for e in errors[2:]}
    assert set(by_row) == {3, 4, 5, 7}
    assert by_row[4][-1] == "id_number.check_digit" and "校验位" in by_row[4][-2]
    assert by_row[4][3] == bad_check  # the uploaded cells come back as they were

    # The same file again: idempotent, known ID numbers are skipped.
    again = finished(admin, upload(admin, xlsx(rows), "valid_rows_only", name="第一批.xlsx"))
    assert (again["accepted"], again["rejected"], again["skipped"]) == (0, 4, 2)
    assert sorted(names_in(admin, platform.info["branch_id"])) == sorted(now)


def test_secretary_imports_only_into_their_branch(secretary, admin, platform):
    job = finished(secretary, upload(secretary, xlsx([row(10, ""), row(11, BRANCH2)]), "valid_rows_only",
                                     organization_path=BRANCH1))  # fmt: skip
    assert (job["accepted"], job["rejected"]) == (1, 1)
    assert [r["code"] for r in job["reasons"]] == ["organization_path.not_found"]
    assert "导入测试10" in names_in(secretary, platform.info["branch_id"])
    # The admin sees the secretary's job; another tenant's admin would not.
    assert admin.get(f"/api/v1/member-imports/{job['id']}").status_code == 200


def test_bad_upload_is_a_problem_and_writes_nothing(admin):
    r = admin.post("/api/v1/member-imports", files={"file": ("x.xlsx", b"")}, data={"mode": "oops"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert {e["field"] for e in r.json()["errors"]} == {"file", "mode"}
    job = finished(admin, upload(admin, "名字,号码\r\n张三,1\r\n".encode("gb18030"), "all_or_nothing",
                                 name="wrong.csv"))  # fmt: skip
    assert job["status"] == "failed" and job["error_code"] == "bad_header"


def test_exports_masked_revealed_and_scoped(admin, secretary, platform):
    r = admin.get("/api/v1/members/export", params={"organization_id": platform.info["branch_id"]})
    assert r.status_code == 200, r.text
    rows = sheet(r.content)
    assert rows[0][0].startswith("导出人：demo-admin") and rows[1] == HEADERS
    mine = [x for x in rows[2:] if x[0] == "导入测试1"]
    assert mine and mine[0][2] != id_number(1) and "*" in mine[0][2]

    r = admin.get("/api/v1/members/export", params={"reveal": "true"})
    assert r.status_code == 422  # a reason is required
    r = admin.get(
        "/api/v1/members/export", params={"reveal": "true", "reason": "换届", "format": "csv"}
    )
    assert r.status_code == 200 and r.content.startswith(b"\xef\xbb\xbf")
    text = r.content.decode("utf-8-sig")
    assert id_number(1) in text and text.splitlines()[0].startswith("导出人：demo-admin")

    r = secretary.get("/api/v1/members/export")
    paths = {x[-1] for x in sheet(r.content)[2:]}
    assert paths == {BRANCH1}
    r = secretary.get(
        "/api/v1/members/export", params={"organization_id": platform.info["root_org_id"]}
    )
    assert r.status_code == 404


def test_archive_pdf_of_an_imported_member(admin, secretary, platform):
    items = admin.get("/api/v1/members", params={"organization_id": platform.info["branch_id"],
                                                 "limit": 200}).json()["items"]  # fmt: skip
    member = next(m for m in items if m["name"] == "导入测试1")
    r = admin.get(f"/api/v1/members/{member['id']}/archive")
    assert r.status_code == 200 and r.content.startswith(b"%PDF-")
    assert r.headers["content-type"] == "application/pdf"
    r = admin.get(f"/api/v1/members/{member['id']}/archive", params={"format": "xlsx"})
    assert r.status_code == 200 and ["姓名", "导入测试1"] in [x[:2] for x in sheet(r.content)]
    other = next((m for m in admin.get("/api/v1/members", params={"limit": 200}).json()["items"]
                  if m["organization_id"] != platform.info["branch_id"]), None)  # fmt: skip
    if other:
        assert secretary.get(f"/api/v1/members/{other['id']}/archive").status_code == 404
