"""File uploads as multipart/form-data (RFC 7578) with a size limit and problem+json errors.

Parsing is python-multipart's, through Starlette's parser (what FastAPI's `UploadFile` uses).
This module adds what the upload endpoints need around it: the body is read as a stream and
refused with 413 as soon as it passes the limit (before anything is parsed), and every refusal is
a problem: 415 (not multipart), 413 (too large), 400 (malformed).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from hongyun_gateway.problems import ProblemError

_OVERHEAD = 64 * 1024  # room for the other fields and the part headers
_MAX_FIELDS = 20


@dataclass(frozen=True)
class FormFile:
    filename: str
    content_type: str
    data: bytes


@dataclass
class FormData:
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, FormFile] = field(default_factory=dict)


def _bad(detail: str) -> ProblemError:
    return ProblemError(400, "malformed_multipart", detail)


async def _once(body: bytes) -> AsyncGenerator[bytes, None]:
    yield body


async def parse_multipart(headers, body: bytes, *, max_part_bytes: int) -> FormData:
    """The parts of a complete body; a malformed body is a 400 problem."""
    parser = MultiPartParser(
        headers, _once(body), max_files=1, max_fields=_MAX_FIELDS, max_part_size=max_part_bytes
    )
    try:
        parsed = await parser.parse()
    except MultiPartException as exc:
        raise _bad(f"multipart 请求体格式错误 (malformed multipart body: {exc})") from exc
    form = FormData()
    for name, value in parsed.multi_items():
        if isinstance(value, UploadFile):
            form.files[name] = FormFile(
                value.filename or "",
                value.content_type or "application/octet-stream",
                await value.read(),
            )
            await value.close()
        else:
            form.fields[name] = value
    return form


async def read_multipart(request: Request, *, max_bytes: int) -> FormData:
    """The request's form, or a problem: 415 (not multipart), 413 (too large), 400 (malformed)."""
    ctype = request.headers.get("content-type", "")
    if not ctype.lower().startswith("multipart/form-data"):
        raise ProblemError(
            415,
            "unsupported_media_type",
            "请以 multipart/form-data 上传文件 (upload the file as multipart/form-data)",
        )
    if "boundary=" not in ctype.lower():
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
    form = await parse_multipart(request.headers, bytes(body), max_part_bytes=limit)
    if any(len(f.data) > max_bytes for f in form.files.values()):
        raise too_large
    if not form.files and not form.fields:
        raise _bad("multipart 请求体中没有分段 (no parts in the multipart body)")
    return form
