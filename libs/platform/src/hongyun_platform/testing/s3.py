"""Object-storage fixtures: a real S3 API (moto's server, in-process) and filesystem stores.

moto does not check signatures or presigned expiry: never use it to test authorisation.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hongyun_platform.storage import FilesystemObjectStore, S3ObjectStore

__all__ = ["S3ServerInfo", "fs_storage", "s3_server", "s3_storage"]

TEST_SIGNING_KEY = "test-signing-key-0123456789abcdef"


@dataclass(frozen=True)
class S3ServerInfo:
    endpoint: str  # host:port, as the minio SDK wants it
    access_key: str
    secret_key: str
    region: str

    @property
    def url(self) -> str:
        return f"http://{self.endpoint}"


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3ServerInfo]:
    """moto's S3 API on 127.0.0.1 and a free port, for the whole session (state is in memory)."""
    from moto.server import ThreadedMotoServer  # heavy import: only when S3 is wanted

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield S3ServerInfo(f"{host}:{port}", "testing", "testing-secret", "us-east-1")
    finally:
        server.stop()


@pytest.fixture
def s3_storage(s3_server: S3ServerInfo) -> Iterator[S3ObjectStore]:
    """An S3 store on a fresh bucket, emptied and removed afterwards.

    Synchronous on purpose, so it works for sync and async tests under any event loop scope.
    """
    store = S3ObjectStore(
        s3_server.endpoint,
        s3_server.access_key,
        s3_server.secret_key,
        f"test-{uuid.uuid4().hex[:24]}",
        secure=False,
        region=s3_server.region,
    )
    store.client.make_bucket(store.bucket)
    yield store
    with contextlib.suppress(Exception):  # cleanup only; moto forgets it all at exit anyway
        for obj in store.client.list_objects(store.bucket, recursive=True):
            store.client.remove_object(store.bucket, obj.object_name or "")
        store.client.remove_bucket(store.bucket)


@pytest.fixture
def fs_storage(tmp_path: Path) -> FilesystemObjectStore:
    """A filesystem store under tmp_path whose signed URLs point at http://testserver/files."""
    return FilesystemObjectStore(
        tmp_path / "storage", base_url="http://testserver/files", signing_key=TEST_SIGNING_KEY
    )
