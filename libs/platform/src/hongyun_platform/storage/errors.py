"""Errors raised by every object-store backend, so callers never catch backend-specific types."""

from __future__ import annotations


class StorageError(Exception):
    """Base class for object-storage failures."""


class InvalidObjectKey(StorageError, ValueError):
    """The key is unsafe or too long (e.g. contains `..` or starts with `/`)."""


class ObjectNotFound(StorageError):
    def __init__(self, key: str):
        super().__init__(f"object not found: {key!r}")
        self.key = key


class RangeNotSatisfiable(StorageError):
    """The requested byte range starts beyond the object (HTTP 416)."""

    def __init__(self, size: int):
        super().__init__(f"range not satisfiable for object of {size} bytes")
        self.size = size


class ObjectTooLarge(StorageError):
    """The upload exceeded the caller's size limit (HTTP 413); nothing was stored."""

    def __init__(self, limit: int):
        super().__init__(f"object exceeds the limit of {limit} bytes")
        self.limit = limit


class InvalidSignature(StorageError):
    """A signed URL was missing its signature, tampered with, or expired (HTTP 403)."""


class UploadNotFound(StorageError):
    """No multipart upload with this id for this key: never created, already completed or
    aborted (HTTP 404; S3's NoSuchUpload)."""

    def __init__(self, upload_id: str, key: str = ""):
        super().__init__(f"multipart upload not found: {upload_id!r} for {key!r}")
        self.upload_id = upload_id
        self.key = key


class InvalidMultipartUpload(StorageError, ValueError):
    """The upload cannot be completed as it stands (no parts, a part number outside 1..10,000,
    or, on S3, a part other than the last below 5 MiB) (HTTP 400); the upload is kept."""
