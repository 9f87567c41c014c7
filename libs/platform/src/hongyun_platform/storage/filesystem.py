"""Filesystem backend: the embedded default for `make run`, with HMAC-signed expiring URLs.

Layout under `root`: `objects/` holds, per key segment, `<seg>.d/` directories, `<seg>.bin`
data and `<seg>.json` metadata, so "a" and "a/b" can coexist as in S3; `tmp/` holds uploads in
flight. The metadata file is the commit record: it names the data file's inode, and readers
retry until both agree, so a reader never pairs new bytes with old metadata.

Multipart uploads are staged in `.multipart/<upload id>/`, outside `objects/`, so no key and
no listing reaches them: `upload.json` (key, content type), and per part `NNNNN.part` with its
`NNNNN.json` record (size, etag, inode), both renamed into place under the upload directory's
flock. Completing or aborting first renames the directory away under that lock, so exactly one
of them wins and a part arriving later finds no upload; the object is then assembled in `tmp/`
and committed like any other write.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

from .base import (
    CHUNK_SIZE,
    DEFAULT_CONTENT_TYPE,
    ByteRange,
    ObjectData,
    ObjectInfo,
    ObjectStore,
    UploadedPart,
    copy_into,
    expiry_seconds,
    validate_content_type,
    validate_key,
    validate_part_number,
)
from .errors import (
    InvalidMultipartUpload,
    InvalidSignature,
    ObjectNotFound,
    ObjectTooLarge,
    StorageError,
    UploadNotFound,
)

MIN_SIGNING_KEY_BYTES = 32
_KEY_FILE = ".signing-key"
_READ_RETRIES = 50  # x 5 ms: far longer than the two renames of a commit take
_UPLOADS = ".multipart"
_UPLOAD_META = "upload.json"
_UPLOAD_ID_RE = re.compile(r"[0-9a-f]{32}")
_PART_RE = re.compile(r"([0-9]{5})\.json")


class FilesystemObjectStore(ObjectStore):
    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        base_url: str,
        signing_key: str | bytes | None = None,
        clock: Callable[[], float] = time.time,
        max_upload_bytes: int | None = None,
    ):
        """`base_url` is where `make_fs_download_app` is mounted, e.g. http://host/files.

        Without `signing_key` a random key is created once in `root/.signing-key`: every
        process sharing the directory (as they must, to share objects) then shares the key.
        `max_upload_bytes` caps what a multipart upload may stage and assemble (None: no cap).
        """
        self.root = Path(root)
        self.base_url = base_url.rstrip("/")
        self.max_upload_bytes = max_upload_bytes
        self._objects = self.root / "objects"
        self._tmp = self.root / "tmp"
        self._uploads = self.root / _UPLOADS
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

    # -- multipart uploads -------------------------------------------------------------------

    async def create_multipart_upload(
        self, key: str, content_type: str = DEFAULT_CONTENT_TYPE
    ) -> str:
        validate_key(key)
        content_type = validate_content_type(content_type)
        upload_id = secrets.token_hex(16)
        await asyncio.to_thread(self._create_upload, upload_id, key, content_type)
        return upload_id

    async def presigned_upload_part_url(
        self, key: str, upload_id: str, part_number: int, expires: timedelta | int = 3600
    ) -> str:
        validate_key(key)
        validate_part_number(part_number)
        expires_at = int(self._clock()) + expiry_seconds(expires)
        await asyncio.to_thread(self._check_upload, key, upload_id)  # fail now, not at the PUT
        return await self.sign_part_url(key, upload_id, part_number, expires_at)

    async def upload_part(
        self,
        key: str,
        upload_id: str,
        part_number: int,
        data: ObjectData,
        *,
        max_size: int | None = None,
    ) -> UploadedPart:
        """Stage part `part_number`, replacing an earlier upload of it (what a PUT to a signed
        part URL does). ObjectTooLarge past `max_size`, or when the staged parts would add up
        to more than the store's `max_upload_bytes`; then nothing is staged."""
        validate_key(key)
        validate_part_number(part_number)
        limit, room = max_size, None
        if self.max_upload_bytes is not None:
            others = await self.list_parts(key, upload_id)
            staged = sum(p.size for p in others if p.number != part_number)
            room = max(0, self.max_upload_bytes - staged)
            limit = room if limit is None else min(limit, room)
        upload_dir = await asyncio.to_thread(self._check_upload, key, upload_id)
        try:
            fd, name = await asyncio.to_thread(tempfile.mkstemp, dir=upload_dir, prefix=".part-")
        except FileNotFoundError:  # completed or aborted meanwhile
            raise UploadNotFound(upload_id, key) from None
        try:
            with os.fdopen(fd, "wb") as f:
                try:
                    size, etag = await copy_into(data, f, max_size=limit)
                except ObjectTooLarge:
                    if room is not None and limit == room and limit != max_size:
                        raise ObjectTooLarge(self.max_upload_bytes or 0) from None
                    raise
                await asyncio.to_thread(_sync, f)
            part = UploadedPart(number=part_number, etag=etag, size=size)
            await asyncio.to_thread(self._commit_part, key, upload_id, name, part)
            return part
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)

    async def list_parts(self, key: str, upload_id: str) -> list[UploadedPart]:
        validate_key(key)
        return await asyncio.to_thread(self._list_parts, key, upload_id)

    async def complete_multipart_upload(
        self, key: str, upload_id: str, *, max_size: int | None = None
    ) -> ObjectInfo:
        validate_key(key)
        limits = [v for v in (max_size, self.max_upload_bytes) if v is not None]
        # One thread does it all, so a cancelled caller cannot leave it half done.
        return await asyncio.to_thread(
            self._complete, key, upload_id, min(limits) if limits else None
        )

    async def abort_multipart_upload(self, key: str, upload_id: str) -> None:
        validate_key(key)
        await asyncio.to_thread(self._abort, key, upload_id)

    async def purge_stale_uploads(self, older_than: timedelta | int) -> int:
        """Remove multipart uploads (and leftovers of interrupted completions) untouched for
        `older_than`; S3 stores do this with a lifecycle rule. Returns how many were removed."""
        seconds = older_than.total_seconds() if isinstance(older_than, timedelta) else older_than
        return await asyncio.to_thread(self._purge_stale, self._clock() - seconds)

    # -- signed URLs -------------------------------------------------------------------------

    async def sign_url(self, method: str, key: str, expires_at: int) -> str:
        """`{base_url}/{key}?expires=<unix>&sig=<hmac>`, valid for `method` until `expires_at`."""
        validate_key(key)
        sig = self._signature(await self._key(), method, key, expires_at)
        return f"{self.base_url}/{quote(key, safe='/')}?expires={expires_at}&sig={sig}"

    async def sign_part_url(
        self, key: str, upload_id: str, part_number: int, expires_at: int
    ) -> str:
        """`{base_url}/{key}?uploadId=..&partNumber=..&expires=..&sig=..`: a PUT of that one part
        of that one upload until `expires_at`; the signature covers all four values."""
        validate_key(key)
        part = str(validate_part_number(part_number))
        if not _UPLOAD_ID_RE.fullmatch(upload_id):
            raise UploadNotFound(upload_id, key)
        sig = self._signature(await self._key(), "PUT", key, expires_at, upload_id, part)
        return (
            f"{self.base_url}/{quote(key, safe='/')}?uploadId={quote(upload_id, safe='')}"
            f"&partNumber={part}&expires={expires_at}&sig={sig}"
        )

    async def verify_signature(
        self,
        method: str,
        key: str,
        expires: str | None,
        sig: str | None,
        *,
        upload_id: str | None = None,
        part_number: str | None = None,
    ) -> None:
        """Raise InvalidSignature unless `sig` signs (method, key, expires) - and, for a part
        URL, the upload id and part number as they appear in the URL - and is unexpired."""
        validate_key(key)
        if not (expires and sig and expires.isascii() and expires.isdigit() and len(expires) < 13):
            raise InvalidSignature("missing or malformed signature")
        extra: tuple[str, ...] = ()
        if upload_id is not None or part_number is not None:
            if not (
                upload_id
                and _UPLOAD_ID_RE.fullmatch(upload_id)
                and part_number
                and part_number.isascii()
                and part_number.isdigit()
                and len(part_number) < 6
            ):
                raise InvalidSignature("missing or malformed upload id or part number")
            extra = (upload_id, part_number)
        expected = self._signature(await self._key(), method, key, int(expires), *extra)
        # Bytes, because compare_digest refuses non-ASCII str (that would be a 500, not a 403).
        if not hmac.compare_digest(expected.encode(), sig.lower().encode()):
            raise InvalidSignature("signature does not match")
        if int(expires) < self._clock():
            raise InvalidSignature("signed URL has expired")

    @staticmethod
    def _signature(secret: bytes, method: str, key: str, expires_at: int, *extra: str) -> str:
        # Keys hold no control characters, so the fields cannot run into each other, and a
        # part signature (five lines) never equals a whole-object one (three lines).
        msg = "\n".join([method.upper(), key, str(expires_at), *extra]).encode()
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
        self._uploads.mkdir(parents=True, exist_ok=True)

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

    # -- multipart staging (blocking; called from threads) -----------------------------------

    def _upload_path(self, upload_id: str, key: str) -> Path:
        if not isinstance(upload_id, str) or not _UPLOAD_ID_RE.fullmatch(upload_id):
            raise UploadNotFound(upload_id, key)  # also keeps ids from naming other paths
        return self._uploads / upload_id

    @contextlib.contextmanager
    def _upload_lock(self, key: str, upload_id: str, *, exclusive: bool) -> Iterator[Path]:
        """Hold the upload directory's flock; yields its path once its key is checked."""
        path = self._upload_path(upload_id, key)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        except (FileNotFoundError, NotADirectoryError):
            raise UploadNotFound(upload_id, key) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            try:  # completed or aborted while we waited: the name now points elsewhere or nowhere
                same = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                raise UploadNotFound(upload_id, key)
            self._upload_meta(path, key, upload_id)
            yield path
        finally:
            os.close(fd)

    @staticmethod
    def _upload_meta(path: Path, key: str, upload_id: str) -> dict:
        try:
            meta = json.loads((path / _UPLOAD_META).read_bytes())
        except (FileNotFoundError, NotADirectoryError):
            raise UploadNotFound(upload_id, key) from None
        if meta["key"] != key:  # an upload id belongs to one key, as in S3
            raise UploadNotFound(upload_id, key)
        return meta

    def _check_upload(self, key: str, upload_id: str) -> Path:
        with self._upload_lock(key, upload_id, exclusive=False) as path:
            return path

    def _create_upload(self, upload_id: str, key: str, content_type: str) -> None:
        self._make_dirs()
        # Built under a dot-name and renamed into place: an id never names a half-made upload.
        tmp = Path(tempfile.mkdtemp(dir=self._uploads, prefix=".new-"))
        try:
            meta = {
                "key": key,
                "content_type": content_type,
                "created": datetime.now(UTC).isoformat(),
            }
            with open(tmp / _UPLOAD_META, "xb") as f:
                f.write(json.dumps(meta).encode())
                _sync(f)
            os.rename(tmp, self._uploads / upload_id)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def _commit_part(self, key: str, upload_id: str, data_tmp: str, part: UploadedPart) -> None:
        try:
            record = {
                "number": part.number,
                "etag": part.etag,
                "size": part.size,
                "inode": os.stat(data_tmp).st_ino,
            }
            fd, meta_tmp = tempfile.mkstemp(dir=os.path.dirname(data_tmp), prefix=".meta-")
        except FileNotFoundError:  # completed or aborted while the part was arriving
            raise UploadNotFound(upload_id, key) from None
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(json.dumps(record).encode())
                _sync(f)
            with self._upload_lock(key, upload_id, exclusive=True) as path:
                os.replace(data_tmp, path / f"{part.number:05d}.part")
                os.replace(meta_tmp, path / f"{part.number:05d}.json")
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(meta_tmp)

    @staticmethod
    def _parts_in(path: Path) -> list[UploadedPart]:
        parts = []
        for entry in os.scandir(path):
            m = _PART_RE.fullmatch(entry.name)
            if not m:
                continue
            record = json.loads(Path(entry.path).read_bytes())
            try:
                inode = os.stat(path / f"{m[1]}.part").st_ino
            except FileNotFoundError:
                continue
            if inode != record["inode"]:
                continue  # a crash between a part's two renames: the client sends it again
            parts.append(UploadedPart(record["number"], record["etag"], record["size"]))
        return sorted(parts, key=lambda p: p.number)

    def _list_parts(self, key: str, upload_id: str) -> list[UploadedPart]:
        with self._upload_lock(key, upload_id, exclusive=False) as path:
            return self._parts_in(path)

    def _complete(self, key: str, upload_id: str, limit: int | None) -> ObjectInfo:
        with self._upload_lock(key, upload_id, exclusive=True) as path:
            meta = self._upload_meta(path, key, upload_id)
            parts = self._parts_in(path)
            if not parts:
                raise InvalidMultipartUpload(f"upload {upload_id!r} has no parts to complete")
            if limit is not None and sum(p.size for p in parts) > limit:
                raise ObjectTooLarge(limit)
            # Claim it: later parts, aborts and completions of this id find nothing.
            claimed = self._uploads / f".completing-{upload_id}-{secrets.token_hex(4)}"
            os.rename(path, claimed)
        try:
            self._make_dirs()
            fd, tmp = tempfile.mkstemp(dir=self._tmp, prefix="complete-")
            try:
                with os.fdopen(fd, "wb") as out:
                    size, sha256 = _assemble(claimed, parts, out)
                    _sync(out)
                info = self._commit(key, tmp, size, sha256, meta["content_type"])
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
        except BaseException:
            with contextlib.suppress(OSError):  # give the upload back, to retry or abort
                os.rename(claimed, path)
            raise
        shutil.rmtree(claimed, ignore_errors=True)
        return info

    def _abort(self, key: str, upload_id: str) -> None:
        try:
            with self._upload_lock(key, upload_id, exclusive=True) as path:
                trash = self._uploads / f".aborted-{upload_id}-{secrets.token_hex(4)}"
                os.rename(path, trash)
        except UploadNotFound:
            return
        shutil.rmtree(trash, ignore_errors=True)

    def _purge_stale(self, cutoff: float) -> int:
        try:
            entries = list(os.scandir(self._uploads))
        except FileNotFoundError:
            return 0
        removed = 0
        for entry in entries:
            path = Path(entry.path)
            try:
                latest = max(
                    [entry.stat().st_mtime, *(e.stat().st_mtime for e in os.scandir(path))]
                )
            except (FileNotFoundError, NotADirectoryError):
                continue
            if latest >= cutoff:
                continue
            if _UPLOAD_ID_RE.fullmatch(entry.name):
                try:  # under the lock, as an abort, so no part commit is half done
                    with open(path / _UPLOAD_META, "rb") as f:
                        key = json.loads(f.read())["key"]
                    self._abort(key, entry.name)
                except (FileNotFoundError, NotADirectoryError, ValueError, KeyError):
                    shutil.rmtree(path, ignore_errors=True)
            else:  # .new-, .completing-, .aborted- leftovers of a crash
                shutil.rmtree(path, ignore_errors=True)
            removed += 1
        return removed


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


def _assemble(claimed: Path, parts: list[UploadedPart], out: BinaryIO) -> tuple[int, str]:
    """Concatenate the parts into `out`: (size, sha256 hex). Blocking."""
    digest = hashlib.sha256()
    size = 0
    for part in parts:
        got = 0
        with open(claimed / f"{part.number:05d}.part", "rb") as f:
            while chunk := f.read(CHUNK_SIZE):
                got += len(chunk)
                digest.update(chunk)
                out.write(chunk)
        if got != part.size:
            raise StorageError(f"part {part.number} has {got} bytes, its record says {part.size}")
        size += got
    return size, digest.hexdigest()
