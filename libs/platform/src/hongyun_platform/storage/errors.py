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
