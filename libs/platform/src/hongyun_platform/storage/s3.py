"""S3 backend on the `minio` SDK: MinIO in production, moto's S3 server in tests."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import tempfile
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

import urllib3
from minio import Minio
from minio.error import MinioException, S3Error

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
from .errors import ObjectNotFound, ObjectTooLarge, RangeNotSatisfiable, StorageError

T = TypeVar("T")
_SPOOL_IN_MEMORY = 8 * 1024 * 1024
_NOT_FOUND = {"NoSuchKey", "NoSuchObject", "ResourceNotFound"}


class S3ObjectStore(ObjectStore):
    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        *,
        secure: bool = True,
        region: str = "us-east-1",
        public_endpoint: str | None = None,
        http_client: urllib3.PoolManager | None = None,
    ):
        """`endpoint` is `host:port` or a URL (whose scheme then decides `secure`).

        `public_endpoint` is the address browsers reach when it differs from the in-cluster
        one: presigned URLs are signed for a host, so they are made by a second client.
        Knowing the region keeps presigning offline (no bucket-location lookup).
        """
        host, secure = _split_endpoint(endpoint, secure)
        self.bucket = bucket
        self.region = region
        self.client = Minio(
            host,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region,
            http_client=http_client,
        )
        self._presigner = self.client
        if public_endpoint:
            public_host, public_secure = _split_endpoint(public_endpoint, secure)
            self._presigner = Minio(
                public_host,
                access_key=access_key,
                secret_key=secret_key,
                secure=public_secure,
                region=region,
            )

    async def ensure_bucket(self) -> None:
        def ensure() -> None:
            if self.client.bucket_exists(self.bucket):
                return
            try:
                self.client.make_bucket(self.bucket, location=self.region)
            except S3Error as exc:
                if exc.code != "BucketAlreadyOwnedByYou":  # lost a creation race: fine
                    raise

        await self._run(ensure)

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
        with contextlib.ExitStack() as cleanup:
            if isinstance(data, bytes | bytearray | memoryview):
                view = memoryview(data).cast("B")
                if max_size is not None and view.nbytes > max_size:
                    raise ObjectTooLarge(max_size)
                size = view.nbytes
                sha256 = await asyncio.to_thread(lambda: hashlib.sha256(view).hexdigest())
                body: Any = io.BytesIO(data)
            else:
                # S3 takes user metadata before the body, so a stream is spooled to learn its
                # sha256 and length first (which also enforces max_size before any upload).
                body = cleanup.enter_context(tempfile.SpooledTemporaryFile(_SPOOL_IN_MEMORY))
                size, sha256 = await copy_into(data, body, max_size=max_size)
                body.seek(0)
            result = await self._run(
                self.client.put_object,
                self.bucket,
                key,
                body,
                size,
                content_type=content_type,
                metadata={"sha256": sha256},
                key=key,
            )
        return ObjectInfo(
            key=key,
            size=size,
            etag=result.etag or "",
            content_type=content_type,
            sha256=sha256,
            last_modified=result.last_modified,
        )

    async def get_object(
        self, key: str, byte_range: ByteRange | tuple[int, int | None] | None = None
    ) -> bytes:
        validate_key(key)
        headers = {}
        if byte_range is not None:
            rng = ByteRange.coerce(byte_range)
            if rng.suffix == 0:  # S3 servers disagree on `bytes=-0`; RFC 9110 says 416
                raise RangeNotSatisfiable((await self.stat(key)).size)
            headers["Range"] = _range_header(rng)

        def get() -> bytes:
            response = self.client.get_object(self.bucket, key, request_headers=headers)
            try:
                return response.read()
            finally:
                response.close()
                response.release_conn()

        try:
            return await self._run(get, key=key)
        except _InvalidRange:
            raise RangeNotSatisfiable((await self.stat(key)).size) from None

    async def stat(self, key: str) -> ObjectInfo:
        validate_key(key)
        obj = await self._run(self.client.stat_object, self.bucket, key, key=key)
        return ObjectInfo(
            key=key,
            size=obj.size or 0,
            etag=obj.etag or "",
            content_type=obj.content_type,
            sha256=(obj.metadata or {}).get("x-amz-meta-sha256"),
            last_modified=obj.last_modified,
        )

    async def delete(self, key: str) -> None:
        validate_key(key)
        await self._run(self.client.remove_object, self.bucket, key, key=key)

    async def list(self, prefix: str = "") -> list[ObjectInfo]:
        def list_all() -> list[ObjectInfo]:
            return [
                ObjectInfo(
                    key=o.object_name or "",
                    size=o.size or 0,
                    etag=o.etag or "",
                    content_type=None,
                    sha256=None,
                    last_modified=o.last_modified,
                )
                for o in self.client.list_objects(self.bucket, prefix=prefix, recursive=True)
            ]

        return await self._run(list_all)

    async def presigned_get_url(self, key: str, expires: timedelta | int = 3600) -> str:
        validate_key(key)
        ttl = timedelta(seconds=expiry_seconds(expires))
        return self._presigner.presigned_get_object(self.bucket, key, expires=ttl)

    async def presigned_put_url(self, key: str, expires: timedelta | int = 3600) -> str:
        validate_key(key)
        ttl = timedelta(seconds=expiry_seconds(expires))
        return self._presigner.presigned_put_object(self.bucket, key, expires=ttl)

    async def _run(self, fn: Callable[..., T], *args: Any, key: str = "", **kwargs: Any) -> T:
        """Run a blocking minio call in a thread, translating its errors to ours."""
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except S3Error as exc:
            if exc.code in _NOT_FOUND:
                raise ObjectNotFound(key) from None
            if exc.code == "InvalidRange":
                raise _InvalidRange from None
            raise StorageError(f"S3 {exc.code}: {exc.message}") from exc
        except (MinioException, urllib3.exceptions.HTTPError) as exc:
            raise StorageError(f"S3 request failed: {exc}") from exc


class _InvalidRange(Exception):
    pass


def _range_header(rng: ByteRange) -> str:
    if rng.suffix is not None:
        return f"bytes=-{rng.suffix}"
    return f"bytes={rng.start}-{'' if rng.end is None else rng.end}"


def _split_endpoint(endpoint: str, secure: bool) -> tuple[str, bool]:
    if "://" not in endpoint:
        return endpoint, secure
    url = urlsplit(endpoint)
    if url.path not in ("", "/") or url.scheme not in ("http", "https"):
        raise ValueError(f"S3 endpoint must be host:port or http(s)://host:port, not {endpoint!r}")
    return url.netloc, url.scheme == "https"
