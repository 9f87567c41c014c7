"""The tenant export's zip writer: JSON Lines, copied files and a manifest that tells the truth."""

from __future__ import annotations

import hashlib
import io
import json
import uuid
import zipfile
from datetime import UTC, date, datetime

from member_service.domain.profile import PartyStatus
from member_service.tenant_export_files import ExportArchive, plain, readme


def test_plain_values_for_json() -> None:
    mid = uuid.uuid4()
    value = {"id": mid, "on": date(2020, 1, 2), "at": datetime(2020, 1, 2, 3, 4, tzinfo=UTC),
             "status": PartyStatus.RETAINED, "list": [PartyStatus.NORMAL], "n": 3, "s": "党"}  # fmt: skip
    assert plain(value) == {"id": str(mid), "on": "2020-01-02", "at": "2020-01-02T03:04:00+00:00",
                            "status": "retained", "list": ["normal"], "n": 3, "s": "党"}  # fmt: skip


def test_archive_entries_counts_hashes_and_manifest() -> None:
    archive = ExportArchive("导出人：x 内部资料")
    archive.begin_lines("tenants/a/members.jsonl")
    archive.write_lines([{"name": "张三"}, {"name": "李四"}])
    archive.write_lines([{"name": "王五", "status": PartyStatus.NORMAL}])
    lines = archive.end_lines()
    sheet = archive.add_file("tenants/a/members.xlsx", io.BytesIO(b"PK fake"), rows=3)
    archive.add_text("README.txt", readme("导出人：x", revealed=False))
    body = archive.finish({"format": "hongyun.tenant-export", "export_id": uuid.UUID(int=1)})
    data = body.read()
    archive.close()

    z = zipfile.ZipFile(io.BytesIO(data))
    assert z.comment.decode() == "导出人：x 内部资料"
    assert [json.loads(x) for x in z.read("tenants/a/members.jsonl").decode().splitlines()] == [
        {"name": "张三"}, {"name": "李四"}, {"name": "王五", "status": "normal"}]  # fmt: skip
    manifest = json.loads(z.read("manifest.json"))
    assert manifest["export_id"] == str(uuid.UUID(int=1))
    files = {f["path"]: f for f in manifest["files"]}
    assert set(files) == {"tenants/a/members.jsonl", "tenants/a/members.xlsx", "README.txt"}
    assert (files["tenants/a/members.jsonl"]["rows"], lines.rows) == (3, 3)
    assert files["tenants/a/members.xlsx"] == {
        "path": "tenants/a/members.xlsx", "rows": 3, "size": 7,
        "sha256": hashlib.sha256(b"PK fake").hexdigest()}  # fmt: skip
    assert sheet.sha256 == files["tenants/a/members.xlsx"]["sha256"]
    for path, f in files.items():
        assert hashlib.sha256(z.read(path)).hexdigest() == f["sha256"]
    text = z.read("README.txt")
    assert text.startswith(b"\xef\xbb\xbf") and "已脱敏" in text.decode("utf-8-sig")
    assert "完整值" in readme("x", revealed=True)


def test_close_after_a_failure_drops_the_half_written_entry() -> None:
    archive = ExportArchive("x")
    archive.begin_lines("a.jsonl")
    archive.write_lines([{"a": 1}])
    archive.close()  # no exception, nothing left open
    assert archive.file.closed
