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
from minio.commonconfig import REPLACE, CopySource
from minio.datatypes import Part
from minio.error import MinioException, S3Error

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
    ObjectNotFound,
    ObjectTooLarge,
    RangeNotSatisfiable,
    StorageError,
    UploadNotFound,
)

T = TypeVar("T")
_SPOOL_IN_MEMORY = 8 * 1024 * 1024
_NOT_FOUND = {"NoSuchKey", "NoSuchObject", "ResourceNotFound"}
# What CompleteMultipartUpload says about parts it will not assemble.
_BAD_PARTS = {"EntityTooSmall", "InvalidPart", "InvalidPartOrder", "MalformedXML"}


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

    # -- multipart uploads: the minio SDK's multipart calls (it keeps them underscored, as
    # its own put_object drives them); parts go straight from clients to S3 by presigned URL.

    async def create_multipart_upload(
        self, key: str, content_type: str = DEFAULT_CONTENT_TYPE
    ) -> str:
        validate_key(key)
        headers = {"Content-Type": validate_content_type(content_type)}
        return await self._run(
            self.client._create_multipart_upload, self.bucket, key, headers, key=key
        )

    async def presigned_upload_part_url(
        self, key: str, upload_id: str, part_number: int, expires: timedelta | int = 3600
    ) -> str:
        """Signed offline, so an unknown upload id shows only when the PUT gets 404."""
        validate_key(key)
        validate_part_number(part_number)
        if not upload_id:
            raise UploadNotFound(upload_id, key)
        ttl = timedelta(seconds=expiry_seconds(expires))
        return self._presigner.get_presigned_url(
            "PUT",
            self.bucket,
            key,
            expires=ttl,
            extra_query_params={"partNumber": str(part_number), "uploadId": upload_id},
        )

    async def list_parts(self, key: str, upload_id: str) -> list[UploadedPart]:
        validate_key(key)
        if not upload_id:
            raise UploadNotFound(upload_id, key)
        return await self._run(self._list_parts, key, upload_id, key=key, upload_id=upload_id)

    async def complete_multipart_upload(
        self, key: str, upload_id: str, *, max_size: int | None = None
    ) -> ObjectInfo:
        parts = await self.list_parts(key, upload_id)
        if not parts:
            raise InvalidMultipartUpload(f"upload {upload_id!r} has no parts to complete")
        if max_size is not None and sum(p.size for p in parts) > max_size:
            raise ObjectTooLarge(max_size)
        result = await self._run(
            self.client._complete_multipart_upload,
            self.bucket,
            key,
            upload_id,
            [Part(p.number, p.etag) for p in parts],
            key=key,
            upload_id=upload_id,
        )
        etag = result.etag or ""
        # S3 knows no whole-object sha256 of a multipart object: read it back, then record it
        # as the metadata put_object writes, by a server-side copy onto itself. Both steps
        # are conditional on the ETag, so they never hash or label a newer object.
        try:
            sha256 = await self._run(self._sha256_of, key, etag, key=key, conditional=True)
            stat = await self.stat(key)
            await self._run(
                self.client.copy_object,
                self.bucket,
                key,
                CopySource(self.bucket, key, match_etag=etag or None),
                metadata={
                    "sha256": sha256,
                    "Content-Type": stat.content_type or DEFAULT_CONTENT_TYPE,
                },
                metadata_directive=REPLACE,
                key=key,
                conditional=True,
            )
        except _PreconditionFailed:
            raise StorageError(
                f"{key!r} was replaced while its multipart upload was being completed"
            ) from None
        return await self.stat(key)

    async def abort_multipart_upload(self, key: str, upload_id: str) -> None:
        validate_key(key)
        if not upload_id:
            return
        with contextlib.suppress(UploadNotFound):  # already gone: nothing to do, as documented
            await self._run(
                self.client._abort_multipart_upload,
                self.bucket,
                key,
                upload_id,
                key=key,
                upload_id=upload_id,
            )

    def _list_parts(self, key: str, upload_id: str) -> list[UploadedPart]:
        parts: list[UploadedPart] = []
        marker: str | None = None
        while True:
            page = self.client._list_parts(self.bucket, key, upload_id, part_number_marker=marker)
            parts.extend(UploadedPart(p.part_number, p.etag, p.size or 0) for p in page.parts)
            if not page.is_truncated or not page.next_part_number_marker:
                return sorted(parts, key=lambda p: p.number)
            marker = page.next_part_number_marker

    def _sha256_of(self, key: str, etag: str) -> str:
        digest = hashlib.sha256()
        headers = {"If-Match": f'"{etag}"'} if etag else None
        response = self.client.get_object(self.bucket, key, request_headers=headers)
        try:
            for chunk in response.stream(CHUNK_SIZE):
                digest.update(chunk)
        finally:
            response.close()
            response.release_conn()
        return digest.hexdigest()

    async def _run(
        self,
        fn: Callable[..., T],
        *args: Any,
        key: str = "",
        upload_id: str | None = None,
        conditional: bool = False,
        **kwargs: Any,
    ) -> T:
        """Run a blocking minio call in a thread, translating its errors to ours."""
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except S3Error as exc:
            if exc.code == "NoSuchUpload" and upload_id is not None:
                raise UploadNotFound(upload_id, key) from None
            if upload_id is not None and exc.code in _BAD_PARTS:
                raise InvalidMultipartUpload(f"S3 {exc.code}: {exc.message}") from None
            if exc.code == "PreconditionFailed" and conditional:
                raise _PreconditionFailed from None
            if exc.code in _NOT_FOUND:
                raise ObjectNotFound(key) from None
            if exc.code == "InvalidRange":
                raise _InvalidRange from None
            raise StorageError(f"S3 {exc.code}: {exc.message}") from exc
        except (MinioException, urllib3.exceptions.HTTPError) as exc:
            raise StorageError(f"S3 request failed: {exc}") from exc


class _InvalidRange(Exception):
    pass


class _PreconditionFailed(Exception):
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
