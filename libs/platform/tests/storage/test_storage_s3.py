"""The S3 backend against a real S3 API (moto's server): no mocks of the minio SDK.

moto accepts any signature, so these tests cover data flow, not authorisation.
"""

from __future__ import annotations

import hashlib
import io

import httpx
import pytest
from hongyun_platform.storage import (
    ByteRange,
    InvalidObjectKey,
    ObjectNotFound,
    ObjectTooLarge,
    RangeNotSatisfiable,
    S3ObjectStore,
    StorageError,
)

pytestmark = pytest.mark.integration

DATA = bytes(range(256)) * 40  # 10 KiB with a recognisable pattern


async def test_put_stat_get_presign_delete(s3_storage: S3ObjectStore) -> None:
    key = "materials/2024/第一课.pdf"
    info = await s3_storage.put_object(key, DATA, "application/pdf")
    assert info.size == len(DATA)
    assert info.sha256 == hashlib.sha256(DATA).hexdigest()
    assert info.etag

    stat = await s3_storage.stat(key)
    assert (stat.size, stat.content_type, stat.sha256, stat.etag) == (
        len(DATA),
        "application/pdf",
        info.sha256,
        info.etag,
    )
    assert await s3_storage.exists(key)
    assert await s3_storage.get_object(key) == DATA
    assert await s3_storage.get_object(key, (100, 199)) == DATA[100:200]
    assert await s3_storage.get_object(key, (10_000, None)) == DATA[10_000:]

    url = await s3_storage.presigned_get_url(key, expires=300)
    async with httpx.AsyncClient() as client:
        whole = await client.get(url)
        assert whole.status_code == 200
        assert whole.content == DATA
        part = await client.get(url, headers={"Range": "bytes=1000-1099"})
        assert part.status_code == 206
        assert part.headers["content-range"] == f"bytes 1000-1099/{len(DATA)}"
        assert part.content == DATA[1000:1100]

    await s3_storage.delete(key)
    assert not await s3_storage.exists(key)
    with pytest.raises(ObjectNotFound):
        await s3_storage.get_object(key)
    with pytest.raises(ObjectNotFound):
        await s3_storage.stat(key)
    await s3_storage.delete(key)  # deleting twice is fine, as in S3


async def test_suffix_and_unsatisfiable_ranges(s3_storage: S3ObjectStore) -> None:
    await s3_storage.put_object("r.bin", DATA)
    assert await s3_storage.get_object("r.bin", ByteRange(suffix=16)) == DATA[-16:]
    with pytest.raises(RangeNotSatisfiable) as info:
        await s3_storage.get_object("r.bin", (len(DATA), None))
    assert info.value.size == len(DATA)


async def test_streams_are_spooled_with_size_limit(s3_storage: S3ObjectStore) -> None:
    async def chunks():
        for i in range(4):
            yield bytes([i]) * 1000

    info = await s3_storage.put_object("stream.bin", chunks(), "video/mp4")
    assert info.size == 4000
    assert await s3_storage.get_object("stream.bin", (999, 1000)) == b"\x00\x01"

    info = await s3_storage.put_object("file.bin", io.BytesIO(DATA))
    assert (await s3_storage.stat("file.bin")).sha256 == hashlib.sha256(DATA).hexdigest()

    with pytest.raises(ObjectTooLarge):
        await s3_storage.put_object("big.bin", io.BytesIO(DATA), max_size=len(DATA) - 1)
    with pytest.raises(ObjectTooLarge):
        await s3_storage.put_object("big.bin", DATA, max_size=10)
    assert not await s3_storage.exists("big.bin")


async def test_presigned_put_then_list(s3_storage: S3ObjectStore) -> None:
    url = await s3_storage.presigned_put_url("uploads/a.png", expires=300)
    async with httpx.AsyncClient() as client:
        response = await client.put(
            url, content=b"png-bytes", headers={"content-type": "image/png"}
        )
    assert response.status_code == 200
    stat = await s3_storage.stat("uploads/a.png")
    assert (stat.size, stat.content_type) == (9, "image/png")

    await s3_storage.put_object("uploads/b.txt", b"b")
    await s3_storage.put_object("other.txt", b"o")
    assert [o.key for o in await s3_storage.list("uploads/")] == ["uploads/a.png", "uploads/b.txt"]
    assert [o.key for o in await s3_storage.list()] == [
        "other.txt",
        "uploads/a.png",
        "uploads/b.txt",
    ]


async def test_bad_keys_and_missing_bucket(s3_storage: S3ObjectStore, s3_server) -> None:
    with pytest.raises(InvalidObjectKey):
        await s3_storage.put_object("../escape", b"x")
    with pytest.raises(InvalidObjectKey):
        await s3_storage.presigned_get_url("/abs")

    other = S3ObjectStore(
        s3_server.endpoint,
        s3_server.access_key,
        s3_server.secret_key,
        s3_storage.bucket + "-new",
        secure=False,
    )
    with pytest.raises(StorageError, match="NoSuchBucket"):
        await other.put_object("a", b"x")
    await other.ensure_bucket()
    await other.ensure_bucket()  # idempotent
    await other.put_object("a", b"x")
    assert await other.get_object("a") == b"x"
    await other.delete("a")
    other.client.remove_bucket(other.bucket)


async def test_public_endpoint_is_used_for_presigned_urls() -> None:
    store = S3ObjectStore(
        "http://minio:9000", "ak", "sk", "bkt", public_endpoint="https://files.example.cn"
    )
    assert (await store.presigned_get_url("k", 60)).startswith("https://files.example.cn/bkt/k?")
    assert (await store.presigned_put_url("k", 60)).startswith("https://files.example.cn/bkt/k?")
