"""Object storage: one interface (ObjectStore), an S3 backend for MinIO and a filesystem
backend with signed local URLs for the embedded `make run` setup. See docs/adr/0004."""

from .base import ByteRange, ObjectData, ObjectInfo, ObjectStore, UploadedPart, validate_key
from .errors import (
    InvalidMultipartUpload,
    InvalidObjectKey,
    InvalidSignature,
    ObjectNotFound,
    ObjectTooLarge,
    RangeNotSatisfiable,
    StorageError,
    UploadNotFound,
)
from .factory import StorageSettings, storage_from_settings
from .filesystem import FilesystemObjectStore
from .fs_http import make_fs_download_app
from .s3 import S3ObjectStore

__all__ = [
    "ByteRange",
    "FilesystemObjectStore",
    "InvalidMultipartUpload",
    "InvalidObjectKey",
    "InvalidSignature",
    "ObjectData",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectStore",
    "ObjectTooLarge",
    "RangeNotSatisfiable",
    "S3ObjectStore",
    "StorageError",
    "StorageSettings",
    "UploadNotFound",
    "UploadedPart",
    "make_fs_download_app",
    "storage_from_settings",
    "validate_key",
]
