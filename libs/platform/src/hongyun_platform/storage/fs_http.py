"""Pure ASGI app serving the filesystem backend's signed URLs (GET/HEAD with Range, PUT, and
PUT of multipart-upload parts: `?uploadId=..&partNumber=..`, as S3 has them).

Mount it where the store's `base_url` points, e.g. `app.mount("/files", make_fs_download_app(s))`.
It has no framework dependency so the platform library stays free of web frameworks.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from email.utils import format_datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

from .base import CHUNK_SIZE, ByteRange, validate_content_type
from .errors import (
    InvalidMultipartUpload,
    InvalidObjectKey,
    InvalidSignature,
    ObjectNotFound,
    ObjectTooLarge,
    RangeNotSatisfiable,
    UploadNotFound,
)
from .filesystem import FilesystemObjectStore

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DEFAULT_MAX_UPLOAD_BYTES = 100 * 1024 * 1024
# Uploaded files are served from our own origin: stop browsers from sniffing or running them.
_SAFETY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy", b"sandbox"),
    (b"cache-control", b"private"),
]


class _ClientGone(Exception):
    pass


def make_fs_download_app(
    store: FilesystemObjectStore, *, max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
) -> ASGIApp:
    """`max_upload_bytes` bounds each PUT body: a whole object, or one part of a multipart
    upload (whose assembled size the store's own `max_upload_bytes` bounds)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            await send({"type": "websocket.close"})
            return
        method = scope["method"]
        head = method == "HEAD"
        if method not in ("GET", "HEAD", "PUT"):
            await _problem(send, 405, "method not allowed", head, [(b"allow", b"GET, HEAD, PUT")])
            return
        key = _route_path(scope).removeprefix("/")
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        upload_id = query.get("uploadId", [None])[0]
        part_number = query.get("partNumber", [None])[0]
        try:
            # A part URL's signature covers its upload id and part number: stripping or
            # changing either fails here, before a byte of the body is read.
            await store.verify_signature(
                "GET" if head else method,
                key,
                query.get("expires", [None])[0],
                query.get("sig", [None])[0],
                upload_id=upload_id,
                part_number=part_number,
            )
            if method == "PUT" and upload_id is not None and part_number is not None:
                await _put_part(
                    store, key, upload_id, int(part_number), scope, receive, send, max_upload_bytes
                )
            elif method == "PUT":
                await _put(store, key, scope, receive, send, max_upload_bytes)
            else:
                await _get(store, key, scope, send, head)
        except (InvalidObjectKey, InvalidMultipartUpload) as exc:
            await _problem(send, 400, str(exc), head)
        except InvalidSignature as exc:
            await _problem(send, 403, str(exc), head)
        except ObjectNotFound:
            await _problem(send, 404, "object not found", head)
        except UploadNotFound:
            await _problem(send, 404, "multipart upload not found", head)
        except RangeNotSatisfiable as exc:
            extra = [(b"content-range", f"bytes */{exc.size}".encode())]
            await _problem(send, 416, "range not satisfiable", head, extra)
        except ObjectTooLarge as exc:
            await _problem(send, 413, f"upload exceeds {exc.limit} bytes", head)
        except _ClientGone:
            pass

    return app


async def _get(store: FilesystemObjectStore, key: str, scope: Scope, send: Send, head: bool):
    f, info = await asyncio.to_thread(store.open_object, key)
    try:
        etag = f'"{info.etag}"'
        headers = [
            (b"content-type", (info.content_type or "application/octet-stream").encode()),
            (b"accept-ranges", b"bytes"),
            (b"etag", etag.encode()),
            *_SAFETY_HEADERS,
        ]
        if info.last_modified:
            headers.append((b"last-modified", format_datetime(info.last_modified, True).encode()))
        status, first, last = 200, 0, info.size - 1
        range_header = _header(scope, b"range")
        if_range = _header(scope, b"if-range")
        # If-Range naming another version means "send it all"; we only compare ETags.
        if range_header and if_range in (None, etag):
            rng = ByteRange.parse_header(range_header)
            if rng is not None:
                first, last = rng.resolve(info.size)
                status = 206
                headers.append((b"content-range", f"bytes {first}-{last}/{info.size}".encode()))
        length = last - first + 1
        headers.append((b"content-length", str(length).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        if head:
            await send({"type": "http.response.body", "body": b""})
            return
        await asyncio.to_thread(f.seek, first)
        remaining = length
        while remaining > 0:
            chunk = await asyncio.to_thread(f.read, min(CHUNK_SIZE, remaining))
            if not chunk:  # cannot happen (a rename never truncates an open inode); be safe
                break
            remaining -= len(chunk)
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    finally:
        f.close()


async def _put(
    store: FilesystemObjectStore,
    key: str,
    scope: Scope,
    receive: Receive,
    send: Send,
    limit: int,
) -> None:
    try:
        content_type = validate_content_type(_header(scope, b"content-type"))
    except ValueError as exc:
        await _problem(send, 400, str(exc), False)
        return
    _check_declared_length(scope, limit)
    info = await store.put_object(key, _body(receive), content_type, max_size=limit)
    await _ok_with_etag(send, info.etag)


async def _put_part(
    store: FilesystemObjectStore,
    key: str,
    upload_id: str,
    part_number: int,
    scope: Scope,
    receive: Receive,
    send: Send,
    limit: int,
) -> None:
    # The part's Content-Type is ignored: the object gets the one given at creation.
    _check_declared_length(scope, limit)
    part = await store.upload_part(key, upload_id, part_number, _body(receive), max_size=limit)
    await _ok_with_etag(send, part.etag)


def _check_declared_length(scope: Scope, limit: int) -> None:
    declared = _header(scope, b"content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ObjectTooLarge(limit)  # refuse before reading a byte


async def _body(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return


async def _ok_with_etag(send: Send, etag: str) -> None:
    headers = [(b"etag", f'"{etag}"'.encode()), (b"content-length", b"0")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


async def _problem(
    send: Send,
    status: int,
    detail: str,
    head: bool,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """An RFC 9457 problem+json response."""
    title = HTTPStatus(status).phrase
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail})
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body.encode()})


def _header(scope: Scope, name: bytes) -> str | None:
    for k, v in scope.get("headers", []):
        if k.lower() == name:
            return v.decode("latin-1")
    return None


def _route_path(scope: Scope) -> str:
    # ASGI servers and Starlette's Mount keep the mount prefix in both path and root_path.
    path: str = scope["path"]
    root = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("", "/"):
        return path[len(root) :]
    return path


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
