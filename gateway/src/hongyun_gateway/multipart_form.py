"""A small multipart/form-data reader for file uploads (RFC 7578), with a size limit.

FastAPI's `UploadFile`/`Form` need the python-multipart package, which the gateway does not
depend on; uploads here are bounded (the member import allows 20 MiB) and read into memory, so a
plain parser over the bytes is enough. The body is read as a stream and refused with 413 as soon
as it passes the limit.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field

from fastapi import Request

from hongyun_gateway.problems import ProblemError

_PARAM = re.compile(r';\s*([A-Za-z0-9_*.-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')
_OVERHEAD = 64 * 1024  # room for the other fields and the part headers


@dataclass(frozen=True)
class FormFile:
    filename: str
    content_type: str
    data: bytes


@dataclass
class FormData:
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, FormFile] = field(default_factory=dict)


def _params(header: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, raw in _PARAM.findall(header):
        value = raw.strip()
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        out[name.lower()] = value
    if "filename*" in out:  # RFC 5987: UTF-8''%E5%85%9A.xlsx
        charset, _, encoded = out["filename*"].partition("''")
        out["filename"] = urllib.parse.unquote(encoded, encoding=charset or "utf-8")
    return out


def _bad(detail: str) -> ProblemError:
    return ProblemError(400, "malformed_multipart", detail)


def parse_multipart(body: bytes, boundary: bytes) -> FormData:
    form = FormData()
    parts = (b"\r\n" + body).split(b"\r\n--" + boundary)
    if len(parts) < 2:
        raise _bad("multipart 请求体中没有分段 (no parts in the multipart body)")
    for part in parts[1:]:
        if part.startswith(b"--"):
            return form
        if not part.startswith(b"\r\n"):
            raise _bad("multipart 分隔符格式错误 (malformed boundary line)")
        head, sep, content = part[2:].partition(b"\r\n\r\n")
        if not sep:
            raise _bad("multipart 分段缺少头部 (a part has no header)")
        headers: dict[str, str] = {}
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            try:
                text = value.decode("utf-8")
            except UnicodeDecodeError:
                text = value.decode("latin-1")
            headers[name.decode("latin-1").strip().lower()] = text.strip()
        disposition = headers.get("content-disposition", "")
        params = _params(disposition)
        name = params.get("name")
        if not disposition.lower().startswith("form-data") or not name:
            raise _bad("multipart 分段缺少字段名 (a part has no form-data name)")
        if "filename" in params:
            form.files[name] = FormFile(
                params["filename"], headers.get("content-type", "application/octet-stream"), content
            )
        else:
            form.fields[name] = content.decode("utf-8", errors="replace")
    raise _bad("multipart 请求体不完整 (the multipart body has no closing boundary)")


async def read_multipart(request: Request, *, max_bytes: int) -> FormData:
    """The request's form, or a problem: 415 (not multipart), 413 (too large), 400 (malformed)."""
    ctype = request.headers.get("content-type", "")
    if not ctype.lower().startswith("multipart/form-data"):
        raise ProblemError(
            415,
            "unsupported_media_type",
            "请以 multipart/form-data 上传文件 (upload the file as multipart/form-data)",
        )
    boundary = _params(ctype).get("boundary", "")
    if not 1 <= len(boundary) <= 200:
        raise _bad("multipart 缺少 boundary (no boundary in Content-Type)")
    limit = max_bytes + _OVERHEAD
    too_large = ProblemError(
        413,
        "file_too_large",
        f"文件不能超过 {max_bytes // (1024 * 1024)} MB (the file is larger than {max_bytes} bytes)",
        title="Content Too Large",
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    form = parse_multipart(bytes(body), boundary.encode("latin-1"))
    if any(len(f.data) > max_bytes for f in form.files.values()):
        raise too_large
    return form
