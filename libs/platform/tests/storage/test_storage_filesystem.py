"""The filesystem backend: atomic writes, sidecar metadata, ranges, listing, key safety."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json

import pytest
from hongyun_platform.storage import (
    ByteRange,
    FilesystemObjectStore,
    InvalidObjectKey,
    ObjectNotFound,
    ObjectTooLarge,
    RangeNotSatisfiable,
)

DATA = bytes(range(256)) * 40


async def test_put_get_range_stat_delete(fs_storage: FilesystemObjectStore) -> None:
    key = "materials/2024/第一课.pdf"
    info = await fs_storage.put_object(key, DATA, "application/pdf")
    assert info.size == len(DATA)
    assert info.sha256 == hashlib.sha256(DATA).hexdigest()

    stat = await fs_storage.stat(key)
    assert stat == info
    assert await fs_storage.get_object(key) == DATA
    assert await fs_storage.get_object(key, (100, 199)) == DATA[100:200]
    assert await fs_storage.get_object(key, (10_000, None)) == DATA[10_000:]
    assert await fs_storage.get_object(key, ByteRange(suffix=5)) == DATA[-5:]
    with pytest.raises(RangeNotSatisfiable):
        await fs_storage.get_object(key, (len(DATA), None))

    await fs_storage.delete(key)
    assert not await fs_storage.exists(key)
    with pytest.raises(ObjectNotFound):
        await fs_storage.get_object(key)
    await fs_storage.delete(key)


async def test_layout_has_sidecar_metadata_and_no_leftovers(
    fs_storage: FilesystemObjectStore,
) -> None:
    await fs_storage.put_object("a/b.txt", b"hello", "text/plain")
    objects = fs_storage.root / "objects"
    assert (objects / "a.d" / "b.txt.bin").read_bytes() == b"hello"
    meta = json.loads((objects / "a.d" / "b.txt.json").read_text())
    assert meta["content_type"] == "text/plain"
    assert meta["sha256"] == hashlib.sha256(b"hello").hexdigest()
    assert list((fs_storage.root / "tmp").iterdir()) == []


async def test_key_and_its_children_coexist_like_in_s3(fs_storage: FilesystemObjectStore) -> None:
    await fs_storage.put_object("course/1", b"parent")
    await fs_storage.put_object("course/1/cover.png", b"child")
    await fs_storage.put_object("course/10", b"sibling")
    assert await fs_storage.get_object("course/1") == b"parent"
    assert await fs_storage.get_object("course/1/cover.png") == b"child"
    assert [o.key for o in await fs_storage.list("course/1")] == [
        "course/1",
        "course/1/cover.png",
        "course/10",
    ]
    assert [o.key for o in await fs_storage.list("course/1/")] == ["course/1/cover.png"]
    assert [o.key for o in await fs_storage.list("cour")] == [
        "course/1",
        "course/1/cover.png",
        "course/10",
    ]
    assert await fs_storage.list("nothing/") == []
    assert await fs_storage.list("../") == []


async def test_streams_and_size_limit(fs_storage: FilesystemObjectStore) -> None:
    async def chunks():
        for i in range(3):
            yield bytes([i]) * 10

    assert (await fs_storage.put_object("s", chunks())).size == 30
    assert (await fs_storage.put_object("f", io.BytesIO(DATA))).size == len(DATA)

    await fs_storage.put_object("keep", b"original")
    with pytest.raises(ObjectTooLarge):
        await fs_storage.put_object("keep", io.BytesIO(DATA), max_size=100)
    assert await fs_storage.get_object("keep") == b"original"
    assert list((fs_storage.root / "tmp").iterdir()) == []


async def test_path_traversal_keys_are_rejected(
    fs_storage: FilesystemObjectStore, tmp_path
) -> None:
    for key in ("../outside", "a/../../outside", "/etc/passwd", "a\\..\\b"):
        with pytest.raises(InvalidObjectKey):
            await fs_storage.put_object(key, b"x")
        with pytest.raises(InvalidObjectKey):
            await fs_storage.get_object(key)
        with pytest.raises(InvalidObjectKey):
            await fs_storage.presigned_get_url(key)
    assert not (tmp_path / "outside").exists()


async def test_concurrent_overwrites_stay_consistent(fs_storage: FilesystemObjectStore) -> None:
    bodies = [bytes([i]) * (1000 + i) for i in range(20)]

    async def reader() -> None:
        for _ in range(50):
            try:
                data = await fs_storage.get_object("hot")
                info = await fs_storage.stat("hot")
            except ObjectNotFound:
                continue
            assert data in bodies  # never a torn write
            assert info.size in {len(b) for b in bodies}

    await asyncio.gather(*(fs_storage.put_object("hot", b) for b in bodies), reader(), reader())
    final = await fs_storage.stat("hot")
    assert await fs_storage.get_object("hot") in bodies
    assert final.sha256 == hashlib.sha256(await fs_storage.get_object("hot")).hexdigest()


async def test_generated_signing_key_is_shared_through_the_root(tmp_path) -> None:
    a = FilesystemObjectStore(tmp_path, base_url="http://h/files")
    b = FilesystemObjectStore(tmp_path, base_url="http://h/files")
    await a.ensure_bucket()
    assert oct((tmp_path / ".signing-key").stat().st_mode & 0o777) == "0o600"
    url = await a.sign_url("GET", "k", 4_000_000_000)
    assert url == await b.sign_url("GET", "k", 4_000_000_000)
    other = FilesystemObjectStore(tmp_path / "elsewhere", base_url="http://h/files")
    assert url != await other.sign_url("GET", "k", 4_000_000_000)
