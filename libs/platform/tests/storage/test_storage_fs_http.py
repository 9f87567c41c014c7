"""The signed-URL ASGI app of the filesystem backend, as an HTTP client sees it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from hongyun_platform.storage import FilesystemObjectStore, make_fs_download_app
from hongyun_platform.testing.s3 import TEST_SIGNING_KEY

DATA = bytes(range(256)) * 40
KEY = "materials/课件 1.pdf"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path, clock: Clock) -> FilesystemObjectStore:
    return FilesystemObjectStore(
        tmp_path / "s",
        base_url="http://testserver/files",
        signing_key=TEST_SIGNING_KEY,
        clock=clock,
    )


@pytest.fixture
async def client(store: FilesystemObjectStore) -> AsyncIterator[httpx.AsyncClient]:
    # Mounted under /files, as the gateway will mount it.
    app = make_fs_download_app(store, max_upload_bytes=1000)
    transport = httpx.ASGITransport(app=app, root_path="/files")
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def test_signed_get_returns_the_object(store, client) -> None:
    info = await store.put_object(KEY, DATA, "application/pdf")
    response = await client.get(await store.presigned_get_url(KEY, 60))
    assert response.status_code == 200
    assert response.content == DATA
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-length"] == str(len(DATA))
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["etag"] == f'"{info.etag}"'
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "last-modified" in response.headers


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [("bytes=100-199", 100, 199), ("bytes=10000-", 10000, 10239), ("bytes=-40", 10200, 10239)],
)
async def test_range_requests_get_206(store, client, header, first, last) -> None:
    await store.put_object(KEY, DATA)
    url = await store.presigned_get_url(KEY, 60)
    response = await client.get(url, headers={"Range": header})
    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes {first}-{last}/{len(DATA)}"
    assert response.headers["content-length"] == str(last - first + 1)
    assert response.content == DATA[first : last + 1]


async def test_unsatisfiable_range_gets_416(store, client) -> None:
    await store.put_object(KEY, DATA)
    url = await store.presigned_get_url(KEY, 60)
    response = await client.get(url, headers={"Range": f"bytes={len(DATA)}-"})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(DATA)}"
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 416


async def test_ranges_we_do_not_support_or_for_another_version_get_everything(
    store, client
) -> None:
    await store.put_object(KEY, DATA)
    url = await store.presigned_get_url(KEY, 60)
    multi = await client.get(url, headers={"Range": "bytes=0-1,5-6"})
    assert (multi.status_code, multi.content) == (200, DATA)
    stale = await client.get(url, headers={"Range": "bytes=0-1", "If-Range": '"old"'})
    assert (stale.status_code, stale.content) == (200, DATA)
    etag = stale.headers["etag"]
    fresh = await client.get(url, headers={"Range": "bytes=0-1", "If-Range": etag})
    assert (fresh.status_code, fresh.content) == (206, DATA[:2])


async def test_empty_object(store, client) -> None:
    await store.put_object("empty.txt", b"", "text/plain")
    url = await store.presigned_get_url("empty.txt", 60)
    response = await client.get(url)
    assert (response.status_code, response.content) == (200, b"")
    assert response.headers["content-length"] == "0"
    assert (await client.get(url, headers={"Range": "bytes=0-"})).status_code == 416


async def test_head_uses_the_get_signature(store, client) -> None:
    await store.put_object(KEY, DATA)
    response = await client.head(await store.presigned_get_url(KEY, 60))
    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(DATA))
    assert response.content == b""


async def test_expired_url_gets_403(store, client, clock) -> None:
    await store.put_object(KEY, DATA)
    url = await store.presigned_get_url(KEY, 60)
    clock.now += 61
    response = await client.get(url)
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert "expired" in response.json()["detail"]


async def test_tampered_urls_get_403(store, client) -> None:
    await store.put_object(KEY, DATA)
    await store.put_object("other.pdf", b"secret")
    url = await store.presigned_get_url(KEY, 60)
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    path = parts.path
    flipped = query["sig"][:-1] + ("0" if query["sig"][-1] != "0" else "1")
    attempts = [
        (path, {**query, "sig": flipped}),
        (path, {**query, "expires": str(int(query["expires"]) + 3600)}),
        ("/files/other.pdf", query),  # a signature for one key does not open another
        (path, {**query, "sig": "é" * 64}),
        (path, {**query, "expires": "１８"}),  # non-ASCII digits
        (path, {"expires": query["expires"]}),
        (path, {}),
    ]
    for attempt_path, params in attempts:
        response = await client.get(attempt_path, params=params)
        assert response.status_code == 403, (attempt_path, params)
        assert response.json()["title"] == "Forbidden"
    # A GET signature does not allow a PUT.
    assert (await client.put(url, content=b"overwrite")).status_code == 403
    assert await store.get_object(KEY) == DATA


async def test_missing_object_gets_404_and_bad_keys_400(store, client) -> None:
    response = await client.get(await store.presigned_get_url("never/written", 60))
    assert response.status_code == 404
    assert response.json()["status"] == 404
    # httpx would normalise "..", so the traversal is percent-encoded.
    response = await client.get("/files/a/%2E%2E/%2E%2E/etc/passwd?expires=1&sig=00")
    assert response.status_code == 400
    assert (await client.delete(await store.presigned_get_url(KEY, 60))).status_code == 405


async def test_signed_put_uploads(store, client) -> None:
    url = await store.presigned_put_url("uploads/photo.png", 60)
    response = await client.put(url, content=b"png-bytes", headers={"content-type": "image/png"})
    assert response.status_code == 200
    info = await store.stat("uploads/photo.png")
    assert response.headers["etag"] == f'"{info.etag}"'
    assert (info.size, info.content_type) == (9, "image/png")
    assert await store.get_object("uploads/photo.png") == b"png-bytes"


async def test_oversize_put_gets_413_and_writes_nothing(store, client) -> None:
    url = await store.presigned_put_url("big.bin", 60)
    declared = await client.put(url, content=b"x" * 1001)  # refused on Content-Length
    assert declared.status_code == 413
    assert declared.headers["content-type"] == "application/problem+json"

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: refused while streaming
        for _ in range(11):
            yield b"y" * 100

    streamed = await client.put(url, content=chunked())
    assert streamed.status_code == 413
    assert not await store.exists("big.bin")
    assert list((store.root / "tmp").iterdir()) == []

    exact = await client.put(url, content=b"z" * 1000)
    assert exact.status_code == 200


async def test_through_a_real_http_server(store) -> None:
    uvicorn = pytest.importorskip("uvicorn")
    config = uvicorn.Config(
        make_fs_download_app(store, max_upload_bytes=len(DATA)),
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(1000):  # uvicorn offers no "started" event to await
            if server.started:
                break
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        store.base_url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient() as http:
            put = await http.put(await store.presigned_put_url(KEY, 60), content=DATA)
            assert put.status_code == 200
            url = await store.presigned_get_url(KEY, 60)
            part = await http.get(url, headers={"Range": "bytes=5000-5009"})
            assert (part.status_code, part.content) == (206, DATA[5000:5010])
            big = await http.put(await store.presigned_put_url("x", 60), content=DATA + b"!")
            assert big.status_code == 413
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)
