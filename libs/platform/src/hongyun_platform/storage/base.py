"""The one object-store interface, its value types, and the checks shared by all backends."""

from __future__ import annotations

import asyncio
import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import BinaryIO, TypeAlias

from .errors import (
    InvalidMultipartUpload,
    InvalidObjectKey,
    ObjectNotFound,
    ObjectTooLarge,
    RangeNotSatisfiable,
)

DEFAULT_CONTENT_TYPE = "application/octet-stream"
MAX_KEY_BYTES = 1024  # the S3 limit
# Leaves room for the filesystem backend's name suffixes under the usual 255-byte NAME_MAX.
MAX_SEGMENT_BYTES = 250
MAX_URL_EXPIRY = timedelta(days=7)  # the SigV4 presign limit; the filesystem backend matches it
CHUNK_SIZE = 1024 * 1024
MAX_PART_NUMBER = 10_000  # S3: parts are numbered 1..10,000
MIN_PART_SIZE = 5 * 1024 * 1024  # S3: every part but the last (the filesystem backend: none)

ObjectData: TypeAlias = bytes | bytearray | memoryview | BinaryIO | AsyncIterable[bytes]


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    key: str
    size: int
    etag: str
    content_type: str | None  # None in S3 listings, which do not return it
    sha256: str | None  # hex; None for objects not written through this library
    last_modified: datetime | None = None


@dataclass(frozen=True, slots=True)
class UploadedPart:
    """One part of a multipart upload as the store has it (S3 numbering: 1..10,000)."""

    number: int
    etag: str
    size: int


@dataclass(frozen=True, slots=True)
class ByteRange:
    """An HTTP byte-range-spec: `start-end` (inclusive), `start-`, or the last `suffix` bytes."""

    start: int | None = None
    end: int | None = None
    suffix: int | None = None

    def __post_init__(self) -> None:
        if self.suffix is not None:
            ok = self.start is None and self.end is None and self.suffix >= 0
        else:
            ok = (
                self.start is not None
                and self.start >= 0
                and (self.end is None or self.end >= self.start)
            )
        if not ok:
            raise ValueError(f"invalid byte range {self!r}")

    @classmethod
    def coerce(cls, value: ByteRange | tuple[int, int | None]) -> ByteRange:
        return value if isinstance(value, ByteRange) else cls(start=value[0], end=value[1])

    @classmethod
    def parse_header(cls, header: str) -> ByteRange | None:
        """Parse a `Range` header; None means "ignore it and send the whole object" (RFC 9110
        says so for syntax we do not support, which includes multiple ranges)."""
        m = _RANGE_RE.match(header)
        if not m or (not m[1] and not m[2]):
            return None
        try:
            if not m[1]:
                return cls(suffix=int(m[2]))
            return cls(start=int(m[1]), end=int(m[2]) if m[2] else None)
        except ValueError:
            return None

    def resolve(self, size: int) -> tuple[int, int]:
        """(first, last) inclusive offsets within an object of `size` bytes."""
        if self.suffix is not None:
            if self.suffix == 0 or size == 0:
                raise RangeNotSatisfiable(size)
            return max(0, size - self.suffix), size - 1
        assert self.start is not None
        if self.start >= size:
            raise RangeNotSatisfiable(size)
        return self.start, size - 1 if self.end is None else min(self.end, size - 1)


_RANGE_RE = re.compile(r"^\s*bytes\s*=\s*(\d{0,19})\s*-\s*(\d{0,19})\s*$", re.IGNORECASE)
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def validate_key(key: str) -> str:
    """Reject keys that could escape a directory or that S3 and filesystems treat differently."""
    if not isinstance(key, str) or not key:
        raise InvalidObjectKey("object key must be a non-empty string")
    if len(key.encode()) > MAX_KEY_BYTES:
        raise InvalidObjectKey(f"object key longer than {MAX_KEY_BYTES} bytes")
    if key.startswith("/"):
        raise InvalidObjectKey("object key must not start with '/'")
    if "\\" in key or _CONTROL_RE.search(key):
        raise InvalidObjectKey("object key must not contain backslashes or control characters")
    for segment in key.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidObjectKey(f"object key has an empty, '.' or '..' segment: {key!r}")
        if len(segment.encode()) > MAX_SEGMENT_BYTES:
            raise InvalidObjectKey(f"object key segment longer than {MAX_SEGMENT_BYTES} bytes")
    return key


def validate_content_type(content_type: str | None) -> str:
    if not content_type:
        return DEFAULT_CONTENT_TYPE
    if _CONTROL_RE.search(content_type) or len(content_type) > 255:
        raise ValueError("invalid content type")
    return content_type


def validate_part_number(part_number: int) -> int:
    if isinstance(part_number, bool) or not isinstance(part_number, int):
        raise InvalidMultipartUpload("part number must be an integer")
    if not 1 <= part_number <= MAX_PART_NUMBER:
        raise InvalidMultipartUpload(f"part number must be between 1 and {MAX_PART_NUMBER}")
    return part_number


def expiry_seconds(expires: timedelta | int) -> int:
    seconds = int(expires.total_seconds() if isinstance(expires, timedelta) else expires)
    if not 1 <= seconds <= MAX_URL_EXPIRY.total_seconds():
        raise ValueError("URL expiry must be between 1 second and 7 days")
    return seconds


async def copy_into(data: ObjectData, dest: BinaryIO, *, max_size: int | None) -> tuple[int, str]:
    """Write `data` to `dest`, returning (size, sha256 hex); file work runs off the event loop."""
    digest = hashlib.sha256()
    size = 0

    def take(chunk: bytes | memoryview) -> None:
        nonlocal size
        size += len(chunk)
        if max_size is not None and size > max_size:
            raise ObjectTooLarge(max_size)
        digest.update(chunk)
        dest.write(chunk)

    def pump(src: BinaryIO) -> None:
        while chunk := src.read(CHUNK_SIZE):
            take(chunk)

    if isinstance(data, bytes | bytearray | memoryview):
        await asyncio.to_thread(take, memoryview(data).cast("B"))
    elif hasattr(data, "read"):
        await asyncio.to_thread(pump, data)  # type: ignore[arg-type]
    else:
        async for chunk in data:  # type: ignore[union-attr]
            if chunk:
                await asyncio.to_thread(take, chunk)
    return size, digest.hexdigest()


class ObjectStore(ABC):
    """One bucket's worth of objects. Every method is a coroutine; blocking I/O runs in threads.

    `get_object` loads the (range of the) object into memory: hand large objects to clients
    through `presigned_get_url` instead.
    """

    @abstractmethod
    async def ensure_bucket(self) -> None:
        """Create the bucket (or root directory) if it does not exist yet."""

    @abstractmethod
    async def put_object(
        self,
        key: str,
        data: ObjectData,
        content_type: str = DEFAULT_CONTENT_TYPE,
        *,
        max_size: int | None = None,
    ) -> ObjectInfo:
        """Store `data` under `key`, replacing any object there; ObjectTooLarge past `max_size`."""

    @abstractmethod
    async def get_object(
        self, key: str, byte_range: ByteRange | tuple[int, int | None] | None = None
    ) -> bytes:
        """The object's bytes, or the inclusive `byte_range` of them."""

    @abstractmethod
    async def stat(self, key: str) -> ObjectInfo: ...

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Remove the object; deleting a missing object is not an error (as in S3)."""

    async def exists(self, key: str) -> bool:
        try:
            await self.stat(key)
        except ObjectNotFound:
            return False
        return True

    @abstractmethod
    async def list(self, prefix: str = "") -> list[ObjectInfo]:
        """Objects whose key starts with `prefix` (a plain string prefix, as in S3), by key."""

    @abstractmethod
    async def presigned_get_url(self, key: str, expires: timedelta | int = 3600) -> str:
        """A URL anyone can GET (with Range) until it expires; `expires` in seconds or timedelta."""

    @abstractmethod
    async def presigned_put_url(self, key: str, expires: timedelta | int = 3600) -> str:
        """A URL a client can PUT the object's bytes to until it expires."""

    # ---- multipart uploads: large files in parts, each PUT to its own presigned URL; a client
    # that lost its connection asks which parts the store has (list_parts) and sends the rest.
    # Parts are numbered 1..10,000; on S3 every part but the last must be at least 5 MiB
    # (MIN_PART_SIZE), the filesystem backend accepts any size. Re-uploading a part number
    # replaces that part. An upload id belongs to one key: used with another key, it is
    # unknown. Unknown, completed and aborted uploads raise UploadNotFound.

    async def create_multipart_upload(
        self, key: str, content_type: str = DEFAULT_CONTENT_TYPE
    ) -> str:
        """Start a multipart upload of `key`; returns the upload id. The content type is the
        completed object's."""
        raise NotImplementedError

    async def presigned_upload_part_url(
        self, key: str, upload_id: str, part_number: int, expires: timedelta | int = 3600
    ) -> str:
        """A URL a client can PUT part `part_number` (1..10,000) of the upload to; the response
        carries the part's ETag. InvalidMultipartUpload for a part number out of range."""
        raise NotImplementedError

    async def list_parts(self, key: str, upload_id: str) -> list[UploadedPart]:
        """The parts received so far, by number (resuming an interrupted upload)."""
        raise NotImplementedError

    async def complete_multipart_upload(
        self, key: str, upload_id: str, *, max_size: int | None = None
    ) -> ObjectInfo:
        """Assemble every uploaded part, in number order, into the object `key`, replacing any
        object there; the upload is gone afterwards. The returned info carries the sha256 of
        the whole object (computed by the store or by reading it back).

        InvalidMultipartUpload when there are no parts (or S3 refuses the part sizes) and
        ObjectTooLarge when the parts add up to more than `max_size` (or the store's own
        limit); in both cases nothing is written and the upload stays, to be fixed or aborted.
        """
        raise NotImplementedError

    async def abort_multipart_upload(self, key: str, upload_id: str) -> None:
        """Drop the upload and its parts; aborting an unknown upload is not an error."""
        raise NotImplementedError

    async def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        """Release connections; the store must not be used afterwards."""
