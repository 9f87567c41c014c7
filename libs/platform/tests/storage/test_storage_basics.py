"""Key validation, range parsing and backend selection: rules shared by every backend."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hongyun_platform.storage import (
    ByteRange,
    FilesystemObjectStore,
    InvalidObjectKey,
    RangeNotSatisfiable,
    S3ObjectStore,
    StorageSettings,
    storage_from_settings,
    validate_key,
)
from hongyun_platform.storage.base import expiry_seconds


@pytest.mark.parametrize(
    "key",
    [
        "materials/2024/课件.pdf",
        "a",
        "tenant-1/a b/c~d.mp4",
        "x" * 250,
        "/".join(["y" * 200] * 5),  # 1004 bytes
    ],
)
def test_valid_keys_pass(key: str) -> None:
    assert validate_key(key) == key


@pytest.mark.parametrize(
    "key",
    [
        "",
        "/etc/passwd",
        "../secret",
        "a/../../b",
        "a/./b",
        "a//b",
        "a/",
        "a\\..\\b",
        "a\x00b",
        "a\nb",
        "x" * 251,
        "/".join(["y" * 200] * 6),  # over 1024 bytes
        "课" * 342,  # 1026 UTF-8 bytes
    ],
)
def test_unsafe_keys_are_rejected(key: str) -> None:
    with pytest.raises(InvalidObjectKey):
        validate_key(key)


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        ("bytes=0-4", 10, (0, 4)),
        ("bytes=5-", 10, (5, 9)),
        ("bytes=-3", 10, (7, 9)),
        ("bytes=-30", 10, (0, 9)),
        ("bytes=8-100", 10, (8, 9)),
        ("BYTES = 1 - 2", 10, (1, 2)),
    ],
)
def test_range_header_resolves(header: str, size: int, expected: tuple[int, int]) -> None:
    rng = ByteRange.parse_header(header)
    assert rng is not None
    assert rng.resolve(size) == expected


@pytest.mark.parametrize("header", ["bytes=4-2", "bytes=0-1,3-4", "items=0-1", "bytes=-", "junk"])
def test_unsupported_range_headers_are_ignored(header: str) -> None:
    assert ByteRange.parse_header(header) is None


@pytest.mark.parametrize(("header", "size"), [("bytes=10-", 10), ("bytes=-0", 10), ("bytes=0-", 0)])
def test_unsatisfiable_ranges(header: str, size: int) -> None:
    rng = ByteRange.parse_header(header)
    assert rng is not None
    with pytest.raises(RangeNotSatisfiable) as info:
        rng.resolve(size)
    assert info.value.size == size


def test_url_expiry_is_bounded() -> None:
    assert expiry_seconds(timedelta(minutes=5)) == 300
    for bad in (0, -1, timedelta(days=8)):
        with pytest.raises(ValueError):
            expiry_seconds(bad)


def test_factory_builds_filesystem_store_from_a_mapping(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HONGYUN_STORAGE_KIND", "s3")  # a mapping must not pick this up
    store = storage_from_settings(
        {"storage_root": tmp_path, "storage_public_url": "http://h/files/"}
    )
    assert isinstance(store, FilesystemObjectStore)
    assert store.root == tmp_path
    assert store.base_url == "http://h/files"


async def test_factory_reads_s3_settings_from_the_environment(monkeypatch) -> None:
    for name, value in {
        "HONGYUN_STORAGE_KIND": "S3",
        "HONGYUN_S3_ENDPOINT": "https://minio.internal:9000",
        "HONGYUN_S3_ACCESS_KEY": "ak",
        "HONGYUN_S3_SECRET_KEY": "sk",
        "HONGYUN_S3_BUCKET": "materials",
        "HONGYUN_S3_REGION": "cn-north-1",
    }.items():
        monkeypatch.setenv(name, value)
    store = storage_from_settings()
    assert isinstance(store, S3ObjectStore)
    assert store.bucket == "materials"
    assert store.region == "cn-north-1"
    # Presigning is offline when the region is known, so this needs no server.
    url = await store.presigned_get_url("a.pdf", 60)
    assert url.startswith("https://minio.internal:9000/materials/a.pdf?")
    assert "cn-north-1" in url


def test_s3_settings_need_credentials(monkeypatch) -> None:
    monkeypatch.delenv("HONGYUN_S3_ACCESS_KEY", raising=False)
    monkeypatch.delenv("HONGYUN_S3_SECRET_KEY", raising=False)
    with pytest.raises(ValueError, match="HONGYUN_S3_ACCESS_KEY"):
        StorageSettings(storage_kind="s3")


def test_short_signing_keys_are_refused(tmp_path) -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        FilesystemObjectStore(tmp_path, base_url="http://h/files", signing_key="short")
