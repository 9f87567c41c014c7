"""Multipart (large, resumable) uploads on both backends, driven as a browser would: every part
PUT with httpx to its presigned URL. The filesystem backend's URLs are served by its ASGI app;
the S3 backend's by moto's S3 server (which checks no signatures: authorisation of part URLs is
tested on the filesystem backend only)."""

from __future__ import annotations

import hashlib
import os
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from hongyun_platform.storage import (
    FilesystemObjectStore,
    InvalidMultipartUpload,
    ObjectStore,
    ObjectTooLarge,
    UploadedPart,
    UploadNotFound,
    make_fs_download_app,
)
from hongyun_platform.storage.base import MIN_PART_SIZE
from hongyun_platform.testing.s3 import TEST_SIGNING_KEY

PART = MIN_PART_SIZE  # S3's minimum for every part but the last; also the fs app's body limit
KEY = "materials/课程/第一讲.mp4"


def blob(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Backend:
    name: str
    store: ObjectStore
    http: httpx.AsyncClient

    async def put_part(self, key: str, upload_id: str, number: int, data: bytes):
        url = await self.store.presigned_upload_part_url(key, upload_id, number, 300)
        return await self.http.put(url, content=data)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_fs_store(tmp_path, clock: Clock, **kwargs) -> FilesystemObjectStore:
    return FilesystemObjectStore(
        tmp_path / "s",
        base_url="http://testserver/files",
        signing_key=TEST_SIGNING_KEY,
        clock=clock,
        **kwargs,
    )


def asgi_client(store: FilesystemObjectStore, limit: int = PART) -> httpx.AsyncClient:
    # Mounted under /files, as the gateway mounts it.
    transport = httpx.ASGITransport(
        app=make_fs_download_app(store, max_upload_bytes=limit), root_path="/files"
    )
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture(params=["filesystem", pytest.param("s3", marks=pytest.mark.integration)])
async def backend(request, tmp_path, clock) -> AsyncIterator[Backend]:
    if request.param == "s3":
        store = request.getfixturevalue("s3_storage")
        async with httpx.AsyncClient() as http:
            yield Backend("s3", store, http)
    else:
        store = make_fs_store(tmp_path, clock)
        async with asgi_client(store) as http:
            yield Backend("filesystem", store, http)


@pytest.fixture
async def fs(tmp_path, clock) -> AsyncIterator[Backend]:
    store = make_fs_store(tmp_path, clock)
    async with asgi_client(store) as http:
        yield Backend("filesystem", store, http)


def staged_files(store: FilesystemObjectStore) -> list[str]:
    root = store.root / ".multipart"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


# ---- both backends ---------------------------------------------------------------------------


async def test_three_parts_through_presigned_urls(backend: Backend) -> None:
    store = backend.store
    parts = [blob(1, PART), blob(2, PART), blob(3, 1234)]
    whole = b"".join(parts)
    upload_id = await store.create_multipart_upload(KEY, "video/mp4")

    etags = []
    for number, data in enumerate(parts, 1):
        response = await backend.put_part(KEY, upload_id, number, data)
        assert response.status_code == 200, response.text
        etags.append(response.headers["etag"].strip('"'))
    assert await store.list_parts(KEY, upload_id) == [
        UploadedPart(n, etag, len(data))
        for n, (etag, data) in enumerate(zip(etags, parts, strict=True), 1)
    ]
    assert not await store.exists(KEY)  # nothing visible before completion

    info = await store.complete_multipart_upload(KEY, upload_id)
    assert (info.key, info.size, info.sha256) == (KEY, len(whole), sha(whole))
    stat = await store.stat(KEY)
    assert (stat.size, stat.sha256, stat.content_type) == (len(whole), sha(whole), "video/mp4")
    assert [o.key for o in await store.list()] == [KEY]

    url = await store.presigned_get_url(KEY, 60)
    first, last = PART - 10, 2 * PART + 9  # spans the three parts
    ranged = await backend.http.get(url, headers={"Range": f"bytes={first}-{last}"})
    assert ranged.status_code == 206
    assert ranged.headers["content-range"] == f"bytes {first}-{last}/{len(whole)}"
    assert ranged.content == whole[first : last + 1]
    assert await store.get_object(KEY) == whole

    # The upload is gone once completed.
    with pytest.raises(UploadNotFound):
        await store.list_parts(KEY, upload_id)
    with pytest.raises(UploadNotFound):
        await store.complete_multipart_upload(KEY, upload_id)


async def test_resume_after_an_interruption(backend: Backend) -> None:
    store = backend.store
    parts = [blob(11, PART), blob(12, PART), blob(13, 99)]
    upload_id = await store.create_multipart_upload(KEY, "video/mp4")
    for number in (1, 3):  # part 2 "lost with the connection"
        assert (await backend.put_part(KEY, upload_id, number, parts[number - 1])).is_success

    have = await store.list_parts(KEY, upload_id)
    assert [(p.number, p.size) for p in have] == [(1, PART), (3, 99)]
    missing = sorted({1, 2, 3} - {p.number for p in have})
    for number in missing:
        assert (await backend.put_part(KEY, upload_id, number, parts[number - 1])).is_success

    info = await store.complete_multipart_upload(KEY, upload_id)
    assert info.sha256 == sha(b"".join(parts))
    assert await store.get_object(KEY) == b"".join(parts)


async def test_uploading_a_part_again_replaces_it(backend: Backend) -> None:
    store = backend.store
    first_try, second_try, tail = blob(21, PART), blob(22, PART), blob(23, 10)
    upload_id = await store.create_multipart_upload(KEY)
    assert (await backend.put_part(KEY, upload_id, 1, first_try)).is_success
    assert (await backend.put_part(KEY, upload_id, 2, tail)).is_success
    again = await backend.put_part(KEY, upload_id, 1, second_try)
    assert again.is_success

    parts = await store.list_parts(KEY, upload_id)
    assert [p.number for p in parts] == [1, 2]
    assert parts[0].etag == again.headers["etag"].strip('"')

    info = await store.complete_multipart_upload(KEY, upload_id)
    assert info.sha256 == sha(second_try + tail)
    assert await store.get_object(KEY) == second_try + tail


async def test_abort_drops_the_upload(backend: Backend) -> None:
    store = backend.store
    upload_id = await store.create_multipart_upload(KEY)
    assert (await backend.put_part(KEY, upload_id, 1, blob(31, 1000))).is_success
    await store.abort_multipart_upload(KEY, upload_id)

    with pytest.raises(UploadNotFound) as err:
        await store.list_parts(KEY, upload_id)
    assert err.value.upload_id == upload_id
    with pytest.raises(UploadNotFound):
        await store.complete_multipart_upload(KEY, upload_id)
    await store.abort_multipart_upload(KEY, upload_id)  # again: not an error
    assert not await store.exists(KEY)
    if isinstance(store, FilesystemObjectStore):
        assert staged_files(store) == []
        with pytest.raises(UploadNotFound):  # no URL for a part of a dropped upload
            await store.presigned_upload_part_url(KEY, upload_id, 1)
    else:  # S3 signs offline; the PUT itself is refused (S3: 404 NoSuchUpload; moto: 500)
        late = await backend.put_part(KEY, upload_id, 2, b"late")
        assert late.status_code in (404, 500)


async def test_complete_without_parts_is_refused_and_keeps_the_upload(backend: Backend) -> None:
    store = backend.store
    upload_id = await store.create_multipart_upload(KEY)
    with pytest.raises(InvalidMultipartUpload, match="no parts"):
        await store.complete_multipart_upload(KEY, upload_id)
    assert await store.list_parts(KEY, upload_id) == []
    assert (await backend.put_part(KEY, upload_id, 1, b"only part")).is_success
    info = await store.complete_multipart_upload(KEY, upload_id)
    assert (info.size, info.sha256) == (9, sha(b"only part"))


async def test_complete_over_max_size_is_refused_and_keeps_the_upload(backend: Backend) -> None:
    store = backend.store
    upload_id = await store.create_multipart_upload(KEY)
    assert (await backend.put_part(KEY, upload_id, 1, b"x" * 100)).is_success
    with pytest.raises(ObjectTooLarge):
        await store.complete_multipart_upload(KEY, upload_id, max_size=99)
    assert not await store.exists(KEY)
    assert [p.size for p in await store.list_parts(KEY, upload_id)] == [100]
    assert (await store.complete_multipart_upload(KEY, upload_id, max_size=100)).size == 100


@pytest.mark.parametrize("number", [0, -1, 10_001])
async def test_part_numbers_outside_1_to_10000_are_refused(backend: Backend, number) -> None:
    upload_id = await backend.store.create_multipart_upload(KEY)
    with pytest.raises(InvalidMultipartUpload):
        await backend.store.presigned_upload_part_url(KEY, upload_id, number)
    assert await backend.store.presigned_upload_part_url(KEY, upload_id, 10_000)
    await backend.store.abort_multipart_upload(KEY, upload_id)


async def test_s3_refuses_small_middle_parts_with_a_clear_error(s3_storage) -> None:
    upload_id = await s3_storage.create_multipart_upload(KEY)
    async with httpx.AsyncClient() as http:
        for number in (1, 2):
            url = await s3_storage.presigned_upload_part_url(KEY, upload_id, number, 60)
            assert (await http.put(url, content=b"tiny")).is_success
    with pytest.raises(InvalidMultipartUpload, match="EntityTooSmall"):
        await s3_storage.complete_multipart_upload(KEY, upload_id)
    await s3_storage.abort_multipart_upload(KEY, upload_id)


# ---- filesystem backend: authorisation, staging, limits ------------------------------------


async def test_expired_part_url_gets_403_and_stages_nothing(fs: Backend, clock: Clock) -> None:
    store = fs.store
    assert isinstance(store, FilesystemObjectStore)
    upload_id = await store.create_multipart_upload(KEY)
    url = await store.presigned_upload_part_url(KEY, upload_id, 1, 60)
    clock.now += 61
    response = await fs.http.put(url, content=b"late bytes")
    assert response.status_code == 403
    assert "expired" in response.json()["detail"]
    assert await store.list_parts(KEY, upload_id) == []
    assert staged_files(store) == [upload_id, f"{upload_id}/upload.json"]


async def test_tampered_part_urls_get_403_and_stage_nothing(fs: Backend) -> None:
    store = fs.store
    assert isinstance(store, FilesystemObjectStore)
    upload_id = await store.create_multipart_upload(KEY)
    other_id = await store.create_multipart_upload(KEY)
    url = await store.presigned_upload_part_url(KEY, upload_id, 2, 60)
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert set(query) == {"uploadId", "partNumber", "expires", "sig"}
    path = parts.path
    flipped = query["sig"][:-1] + ("0" if query["sig"][-1] != "0" else "1")
    plain_put = urlsplit(await store.presigned_put_url(KEY, 60))
    plain_query = {k: v[0] for k, v in parse_qs(plain_put.query).items()}
    attempts = [
        (path, {**query, "sig": flipped}),
        (path, {**query, "partNumber": "3"}),
        (path, {**query, "partNumber": "02"}),
        (path, {**query, "partNumber": "２"}),  # non-ASCII digit
        (path, {**query, "uploadId": other_id}),  # another upload of the same key
        (path, {**query, "expires": str(int(query["expires"]) + 3600)}),
        ("/files/materials/other.mp4", query),  # another key
        (path, {k: v for k, v in query.items() if k != "partNumber"}),
        (path, {k: v for k, v in query.items() if k != "uploadId"}),
        # Without both, it is checked as a whole-object PUT, which it does not sign.
        (path, {k: v for k, v in query.items() if k not in ("uploadId", "partNumber")}),
        # A whole-object PUT signature does not sign a part.
        (plain_put.path, {**plain_query, "uploadId": upload_id, "partNumber": "2"}),
    ]
    for attempt_path, params in attempts:
        response = await fs.http.put(f"{attempt_path}?{urlencode(params)}", content=b"evil")
        assert response.status_code == 403, (attempt_path, params)
        assert response.json()["title"] == "Forbidden"
    assert (await fs.http.get(url)).status_code == 403  # a part URL is not a download URL

    assert await store.list_parts(KEY, upload_id) == []
    assert await store.list_parts(KEY, other_id) == []
    assert not await store.exists(KEY)
    assert await store.list() == []
    # The untouched URL still works.
    assert (await fs.http.put(url, content=b"good")).status_code == 200
    assert [p.size for p in await store.list_parts(KEY, upload_id)] == [4]


async def test_staging_is_never_listed_or_reachable(fs: Backend) -> None:
    store = fs.store
    assert isinstance(store, FilesystemObjectStore)
    await store.put_object("materials/a.txt", b"a")
    upload_id = await store.create_multipart_upload(KEY)
    assert (await fs.put_part(KEY, upload_id, 1, b"staged")).is_success
    assert f"{upload_id}/00001.part" in staged_files(store)
    assert [o.key for o in await store.list()] == ["materials/a.txt"]
    assert [o.key for o in await store.list("materials/")] == ["materials/a.txt"]
    assert not await store.exists(KEY)
    # Keys live under objects/: even a key spelled like the staging directory is another file.
    for key in (f".multipart/{upload_id}/00001.part", f".multipart/{upload_id}/upload.json"):
        response = await fs.http.get(await store.presigned_get_url(key, 60))
        assert response.status_code == 404


async def test_an_upload_id_belongs_to_its_key(fs: Backend) -> None:
    store = fs.store
    upload_id = await store.create_multipart_upload(KEY)
    assert (await fs.put_part(KEY, upload_id, 1, b"mine")).is_success
    other = "materials/other.mp4"
    for call in (
        store.list_parts(other, upload_id),
        store.presigned_upload_part_url(other, upload_id, 1),
        store.complete_multipart_upload(other, upload_id),
    ):
        with pytest.raises(UploadNotFound):
            await call
    await store.abort_multipart_upload(other, upload_id)  # does not drop KEY's upload
    assert len(await store.list_parts(KEY, upload_id)) == 1
    for bogus in ("", "../../objects", "0" * 31, "g" * 32):
        with pytest.raises(UploadNotFound):
            await store.list_parts(KEY, bogus)


async def test_part_of_an_aborted_upload_gets_404(fs: Backend) -> None:
    store = fs.store
    assert isinstance(store, FilesystemObjectStore)
    upload_id = await store.create_multipart_upload(KEY)
    url = await store.presigned_upload_part_url(KEY, upload_id, 1, 60)
    await store.abort_multipart_upload(KEY, upload_id)
    response = await fs.http.put(url, content=b"too late")
    assert response.status_code == 404
    assert response.json()["detail"] == "multipart upload not found"
    assert staged_files(store) == []


async def test_size_limits(tmp_path, clock: Clock) -> None:
    store = make_fs_store(tmp_path, clock, max_upload_bytes=250)
    async with asgi_client(store, limit=100) as http:
        fs = Backend("filesystem", store, http)
        upload_id = await store.create_multipart_upload(KEY)
        # One body over the app's per-request limit: refused on Content-Length.
        assert (await fs.put_part(KEY, upload_id, 1, b"x" * 101)).status_code == 413
        for number in (1, 2):
            assert (await fs.put_part(KEY, upload_id, number, b"x" * 100)).is_success
        # Parts are free in size, but the staged total may not pass the store's limit...
        too_much = await fs.put_part(KEY, upload_id, 3, b"y" * 51)
        assert too_much.status_code == 413
        assert "250" in too_much.json()["detail"]
        # ...which counts a replaced part once.
        assert (await fs.put_part(KEY, upload_id, 2, b"z" * 100)).is_success
        assert (await fs.put_part(KEY, upload_id, 3, b"y" * 50)).is_success
        assert [p.size for p in await store.list_parts(KEY, upload_id)] == [100, 100, 50]
        assert not [f for f in staged_files(store) if "/.part-" in f or "/.meta-" in f]
        assert (await store.complete_multipart_upload(KEY, upload_id)).size == 250


async def test_complete_replaces_an_object_atomically(fs: Backend) -> None:
    store = fs.store
    assert isinstance(store, FilesystemObjectStore)
    await store.put_object(KEY, b"old version", "video/mp4")
    upload_id = await store.create_multipart_upload(KEY, "video/webm")
    assert (await fs.put_part(KEY, upload_id, 1, b"new ")).is_success
    assert (await fs.put_part(KEY, upload_id, 2, b"version")).is_success
    reader, before = store.open_object(KEY)  # a download in progress
    with reader:
        info = await store.complete_multipart_upload(KEY, upload_id)
        assert reader.read() == b"old version"  # it keeps the bytes it started with
    assert before.content_type == "video/mp4"
    assert (info.content_type, info.sha256) == ("video/webm", sha(b"new version"))
    assert await store.get_object(KEY) == b"new version"
    assert staged_files(store) == []
    assert os.listdir(store.root / "tmp") == []


async def test_purge_stale_uploads(fs: Backend, clock: Clock) -> None:
    store = fs.store
    assert isinstance(store, FilesystemObjectStore)
    stale = await store.create_multipart_upload(KEY)
    fresh = await store.create_multipart_upload(KEY)
    for upload_id in (stale, fresh):
        assert (await fs.put_part(KEY, upload_id, 1, b"part")).is_success
    for path in (store.root / ".multipart").rglob("*"):
        age = 7200 if stale in str(path) else 0
        os.utime(path, (clock.now - age, clock.now - age))
    for upload_id, age in ((stale, 7200), (fresh, 0)):
        os.utime(store.root / ".multipart" / upload_id, (clock.now - age, clock.now - age))

    assert await store.purge_stale_uploads(3600) == 1
    with pytest.raises(UploadNotFound):
        await store.list_parts(KEY, stale)
    assert len(await store.list_parts(KEY, fresh)) == 1


async def test_a_part_still_arriving_when_the_upload_completes_is_refused(fs: Backend) -> None:
    store = fs.store
    assert isinstance(store, FilesystemObjectStore)
    upload_id = await store.create_multipart_upload(KEY)
    assert (await fs.put_part(KEY, upload_id, 1, b"first")).is_success
    completed = []

    async def slow_part() -> AsyncIterator[bytes]:
        yield b"second, "
        completed.append(await store.complete_multipart_upload(KEY, upload_id))
        yield b"too late"

    with pytest.raises(UploadNotFound):
        await store.upload_part(KEY, upload_id, 2, slow_part())
    assert completed[0].sha256 == sha(b"first")
    assert await store.get_object(KEY) == b"first"
    assert staged_files(store) == []
