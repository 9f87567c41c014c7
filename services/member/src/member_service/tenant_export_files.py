"""The .zip of a tenant data export (docs/adr/0012): JSON Lines files written straight into the
archive, finished spreadsheets copied in, and a manifest with every file's row count and sha256.

Blocking file work only (the caller runs it in a thread). Everything goes to a temporary file on
disk, never into memory as a whole: a province's archive has millions of lines.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import uuid
import zipfile
from dataclasses import asdict, dataclass
from datetime import date, datetime
from enum import IntEnum
from typing import IO, Any

ZIP_TYPE = "application/zip"
FORMAT = "hongyun.tenant-export"
FORMAT_VERSION = 1
XLSX_MAX_ROWS = 1_048_576 - 2  # Excel's sheet limit, minus the watermark and header lines
_COPY_CHUNK = 1024 * 1024


def plain(value: Any) -> Any:
    """A value as JSON shows it: ids and dates as strings, enums by lower-case name."""
    if isinstance(value, IntEnum):
        return value.name.lower()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class FileEntry:
    path: str
    rows: int
    size: int
    sha256: str


class _Hashing:
    """Counts and hashes the bytes written through it into one zip entry."""

    def __init__(self, target: IO[bytes]):
        self.target = target
        self.digest = hashlib.sha256()
        self.size = 0
        self.rows = 0

    def write(self, data: bytes) -> None:
        self.digest.update(data)
        self.size += len(data)
        self.target.write(data)


class ExportArchive:
    """One zip on a temporary file. Entries are written one after another: open a JSON Lines
    entry, write its records, close it; then add finished files; the manifest comes last."""

    def __init__(self, comment: str):
        self.file = tempfile.TemporaryFile()  # noqa: SIM115  (closed by close())
        self.zip = zipfile.ZipFile(self.file, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        self.zip.comment = comment.encode()[:65535]
        self.entries: list[FileEntry] = []
        self._open: tuple[str, IO[bytes], _Hashing] | None = None

    # ---- JSON Lines ----

    def begin_lines(self, path: str) -> None:
        assert self._open is None, "one entry at a time"
        raw = self.zip.open(path, "w", force_zip64=True)
        self._open = (path, raw, _Hashing(raw))

    def write_lines(self, records: list[dict[str, Any]]) -> None:
        assert self._open is not None
        out = self._open[2]
        body = "".join(
            json.dumps(plain(r), ensure_ascii=False, separators=(",", ":")) + "\n" for r in records
        )
        out.write(body.encode())
        out.rows += len(records)

    def end_lines(self) -> FileEntry:
        assert self._open is not None
        path, raw, out = self._open
        raw.close()
        self._open = None
        return self._record(path, out)

    # ---- finished files ----

    def add_file(self, path: str, source: IO[bytes], rows: int) -> FileEntry:
        """Copies an open file (from its current position) into the archive."""
        with self.zip.open(path, "w", force_zip64=True) as raw:
            out = _Hashing(raw)
            while chunk := source.read(_COPY_CHUNK):
                out.write(chunk)
        out.rows = rows
        return self._record(path, out)

    def add_text(self, path: str, text: str, *, record: bool = True) -> FileEntry | None:
        data = text.encode("utf-8-sig") if path.endswith(".txt") else text.encode()
        with self.zip.open(path, "w") as raw:
            out = _Hashing(raw)
            out.write(data)
        return self._record(path, out) if record else None

    def _record(self, path: str, out: _Hashing) -> FileEntry:
        entry = FileEntry(path, out.rows, out.size, out.digest.hexdigest())
        self.entries.append(entry)
        return entry

    # ---- the end ----

    def finish(self, manifest: dict[str, Any]) -> IO[bytes]:
        """Writes manifest.json (with every entry so far) and closes the zip; returns the file
        positioned at its start (the caller closes it)."""
        manifest = {**manifest, "files": [asdict(e) for e in self.entries]}
        text = json.dumps(plain(manifest), ensure_ascii=False, indent=2) + "\n"
        self.add_text("manifest.json", text, record=False)
        self.zip.close()
        self.file.seek(0)
        return self.file

    def close(self) -> None:
        """Drops everything (after a failure, or once the file has been uploaded)."""
        if self._open is not None:
            self._open[1].close()
            self._open = None
        self.zip.close()
        self.file.close()


def readme(watermark: str, revealed: bool) -> str:
    """README.txt of the archive (Chinese first, as the users read it)."""
    personal = (
        "个人信息为完整值（已审计）。"
        if revealed
        else "公民身份号码、手机、固定电话、家庭住址等个人信息已脱敏；"
        "惩处内容与困难情况说明已隐去（redacted = true）。"
    )
    return f"""{watermark}

红云 租户数据导出（格式 {FORMAT} 版本 {FORMAT_VERSION}）

manifest.json：租户、导出人、时间、水印，以及每个文件的行数与 SHA-256。
tenants/<租户代码>/organizations.jsonl：组织（每行一个 JSON 对象）。
tenants/<租户代码>/organization_history.jsonl：组织的历史版本（更名、调整、合并、撤销）。
tenants/<租户代码>/committee_terms.jsonl：委员会届期。
tenants/<租户代码>/members.jsonl：党员，每行一名党员及其全部档案子记录（扩展信息、家庭成员、
    奖惩、出国出境、困难情况、标签、党籍状态历史、失联/流动历史、附件元数据；不含附件文件本身）。
tenants/<租户代码>/members[-N].xlsx：党员名册（全国 16 项模板，可直接再导入）。

{personal}
日期为 ISO 8601（YYYY-MM-DD），时间为 UTC；枚举值为小写英文名（如 party_status = normal）。
内部资料 注意保密。

Hongyun tenant data export. See manifest.json for row counts and SHA-256 of every file.
JSON Lines (UTF-8), one record per line; enums by lower-case name; dates ISO 8601; times UTC.
"""
