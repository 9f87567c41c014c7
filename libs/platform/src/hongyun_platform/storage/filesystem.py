"""Filesystem backend: the embedded default for `make run`, with HMAC-signed expiring URLs.

Layout under `root`: `objects/` holds, per key segment, `<seg>.d/` directories, `<seg>.bin`
data and `<seg>.json` metadata, so "a" and "a/b" can coexist as in S3; `tmp/` holds uploads in
flight. The metadata file is the commit record: it names the data file's inode, and readers
retry until both agree, so a reader never pairs new bytes with old metadata.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

from .base import (
    DEFAULT_CONTENT_TYPE,
    ByteRange,
    ObjectData,
    ObjectInfo,
    ObjectStore,
    copy_into,
    expiry_seconds,
    validate_content_type,
    validate_key,
)
from .errors import InvalidSignature, ObjectNotFound, StorageError

MIN_SIGNING_KEY_BYTES = 32
_KEY_FILE = ".signing-key"
_READ_RETRIES = 50  # x 5 ms: far longer than the two renames of a commit take


class FilesystemObjectStore(ObjectStore):
    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        base_url: str,
        signing_key: str | bytes | None = None,
        clock: Callable[[], float] = time.time,
    ):
        """`base_url` is where `make_fs_download_app` is mounted, e.g. http://host/files.

        Without `signing_key` a random key is created once in `root/.signing-key`: every
        process sharing the directory (as they must, to share objects) then shares the key.
        """
        self.root = Path(root)
        self.base_url = base_url.rstrip("/")
        self._objects = self.root / "objects"
        self._tmp = self.root / "tmp"
        self._clock = clock
        if isinstance(signing_key, str):
            signing_key = signing_key.encode()
        if signing_key is not None and len(signing_key) < MIN_SIGNING_KEY_BYTES:
            raise ValueError(f"signing key must be at least {MIN_SIGNING_KEY_BYTES} bytes")
        self._signing_key = signing_key

    # -- interface ---------------------------------------------------------------------------

    async def ensure_bucket(self) -> None:
        await asyncio.to_thread(self._make_dirs)
        await self._key()

    async def put_object(
        self,
        key: str,
        data: ObjectData,
        content_type: str = DEFAULT_CONTENT_TYPE,
        *,
        max_size: int | None = None,
    ) -> ObjectInfo:
        validate_key(key)
        content_type = validate_content_type(content_type)
        await asyncio.to_thread(self._make_dirs)
        fd, name = await asyncio.to_thread(tempfile.mkstemp, dir=self._tmp, prefix="put-")
        try:
            with os.fdopen(fd, "wb") as f:
                size, sha256 = await copy_into(data, f, max_size=max_size)
                await asyncio.to_thread(_sync, f)
            return await asyncio.to_thread(self._commit, key, name, size, sha256, content_type)
        finally:
            # After a commit the temp name is gone; after a failure nothing else is left.
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)

    async def get_object(
        self, key: str, byte_range: ByteRange | tuple[int, int | None] | None = None
    ) -> bytes:
        rng = ByteRange.coerce(byte_range) if byte_range is not None else None

        def read() -> bytes:
            f, info = self.open_object(key)
            with f:
                if rng is None:
                    return f.read()
                first, last = rng.resolve(info.size)
                f.seek(first)
                return f.read(last - first + 1)

        return await asyncio.to_thread(read)

    async def stat(self, key: str) -> ObjectInfo:
        def stat() -> ObjectInfo:
            f, info = self.open_object(key)
            f.close()
            return info

        return await asyncio.to_thread(stat)

    async def delete(self, key: str) -> None:
        validate_key(key)
        data_path, meta_path = self._paths(key)

        def delete() -> None:
            # Empty directories are left behind: removing them would race with puts.
            with self._commit_lock():
                meta_path.unlink(missing_ok=True)
                data_path.unlink(missing_ok=True)

        await asyncio.to_thread(delete)

    async def list(self, prefix: str = "") -> list[ObjectInfo]:
        return await asyncio.to_thread(self._list, prefix)

    async def presigned_get_url(self, key: str, expires: timedelta | int = 3600) -> str:
        return await self.sign_url("GET", key, int(self._clock()) + expiry_seconds(expires))

    async def presigned_put_url(self, key: str, expires: timedelta | int = 3600) -> str:
        return await self.sign_url("PUT", key, int(self._clock()) + expiry_seconds(expires))

    # -- signed URLs -------------------------------------------------------------------------

    async def sign_url(self, method: str, key: str, expires_at: int) -> str:
        """`{base_url}/{key}?expires=<unix>&sig=<hmac>`, valid for `method` until `expires_at`."""
        validate_key(key)
        sig = self._signature(await self._key(), method, key, expires_at)
        return f"{self.base_url}/{quote(key, safe='/')}?expires={expires_at}&sig={sig}"

    async def verify_signature(
        self, method: str, key: str, expires: str | None, sig: str | None
    ) -> None:
        """Raise InvalidSignature unless `sig` signs (method, key, expires) and is unexpired."""
        validate_key(key)
        if not (expires and sig and expires.isascii() and expires.isdigit() and len(expires) < 13):
            raise InvalidSignature("missing or malformed signature")
        expected = self._signature(await self._key(), method, key, int(expires))
        # Bytes, because compare_digest refuses non-ASCII str (that would be a 500, not a 403).
        if not hmac.compare_digest(expected.encode(), sig.lower().encode()):
            raise InvalidSignature("signature does not match")
        if int(expires) < self._clock():
            raise InvalidSignature("signed URL has expired")

    @staticmethod
    def _signature(secret: bytes, method: str, key: str, expires_at: int) -> str:
        msg = f"{method.upper()}\n{key}\n{expires_at}".encode()
        return hmac.new(secret, msg, hashlib.sha256).hexdigest()

    async def _key(self) -> bytes:
        if self._signing_key is None:
            self._signing_key = await asyncio.to_thread(self._load_or_create_key)
        return self._signing_key

    def _load_or_create_key(self) -> bytes:
        path = self.root / _KEY_FILE
        if not path.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.root, prefix=f"{_KEY_FILE}-")  # mode 0600
            try:
                os.write(fd, secrets.token_hex(32).encode())
                os.fsync(fd)
                os.close(fd)
                with contextlib.suppress(FileExistsError):  # another process won the race
                    os.link(tmp, path)
            finally:
                os.unlink(tmp)
        return path.read_bytes().strip()

    # -- files (blocking; called from threads) -----------------------------------------------

    def open_object(self, key: str) -> tuple[BinaryIO, ObjectInfo]:
        """An open file and the metadata describing exactly those bytes. Blocking."""
        validate_key(key)
        data_path, meta_path = self._paths(key)
        for _ in range(_READ_RETRIES):
            try:
                f = open(data_path, "rb")  # noqa: SIM115 - returned to the caller
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                raise ObjectNotFound(key) from None
            try:
                meta = json.loads(meta_path.read_bytes())
            except FileNotFoundError:
                f.close()  # bytes without a commit record: a first write still in progress
                raise ObjectNotFound(key) from None
            if meta["inode"] == os.fstat(f.fileno()).st_ino:
                return f, _info(meta)
            f.close()  # a commit is between its two renames
            time.sleep(0.005)
        raise StorageError(f"object {key!r} has inconsistent metadata; write it again")

    def _paths(self, key: str) -> tuple[Path, Path]:
        *dirs, name = key.split("/")
        parent = self._objects.joinpath(*(f"{d}.d" for d in dirs))
        return parent / f"{name}.bin", parent / f"{name}.json"

    def _make_dirs(self) -> None:
        self._objects.mkdir(parents=True, exist_ok=True)
        self._tmp.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def _commit_lock(self) -> Iterator[None]:
        # flock serialises commits across threads and processes sharing the root, so two
        # writers' renames never interleave into data from one and metadata from the other.
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _commit(self, key: str, tmp: str, size: int, sha256: str, content_type: str) -> ObjectInfo:
        data_path, meta_path = self._paths(key)
        meta = {
            "key": key,
            "size": size,
            "sha256": sha256,
            "etag": sha256,
            "content_type": content_type,
            "last_modified": datetime.now(UTC).isoformat(),
            "inode": os.stat(tmp).st_ino,
        }
        fd, meta_tmp = tempfile.mkstemp(dir=self._tmp, prefix="meta-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(json.dumps(meta).encode())
                _sync(f)
            with self._commit_lock():
                data_path.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, data_path)
                os.replace(meta_tmp, meta_path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(meta_tmp)
        return _info(meta)

    def _list(self, prefix: str) -> list[ObjectInfo]:
        *dirs, _ = prefix.split("/")
        if any(d in ("", ".", "..") for d in dirs):
            return []  # no valid key starts with such a prefix
        start = self._objects.joinpath(*(f"{d}.d" for d in dirs))
        found = []
        for dirpath, dirnames, filenames in os.walk(start):
            rel = Path(dirpath).relative_to(self._objects).parts
            base = "".join(f"{p[:-2]}/" for p in rel)
            # Only descend where some key could still match the prefix.
            dirnames[:] = [
                d
                for d in dirnames
                if d.endswith(".d")
                and (f"{base}{d[:-2]}/".startswith(prefix) or prefix.startswith(f"{base}{d[:-2]}/"))
            ]
            for name in filenames:
                if name.endswith(".json") and f"{base}{name[:-5]}".startswith(prefix):
                    with contextlib.suppress(FileNotFoundError):  # deleted meanwhile
                        found.append(_info(json.loads((Path(dirpath) / name).read_bytes())))
        return sorted(found, key=lambda i: i.key)


def _info(meta: dict) -> ObjectInfo:
    return ObjectInfo(
        key=meta["key"],
        size=meta["size"],
        etag=meta["etag"],
        content_type=meta["content_type"],
        sha256=meta["sha256"],
        last_modified=datetime.fromisoformat(meta["last_modified"]),
    )


def _sync(f: BinaryIO) -> None:
    f.flush()
    os.fsync(f.fileno())
