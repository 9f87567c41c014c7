"""Domain errors raised by services; transports map them to gRPC status / HTTP problem+json."""

from __future__ import annotations


class DomainError(Exception):
    """Base class. `code` is a stable machine-readable reason; `message` is for humans."""

    code = "domain_error"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.field = field


class InvalidArgument(DomainError):
    code = "invalid_argument"


class NotFound(DomainError):
    code = "not_found"


class AlreadyExists(DomainError):
    code = "already_exists"


class PermissionDenied(DomainError):
    code = "permission_denied"


class Unauthenticated(DomainError):
    code = "unauthenticated"


class FailedPrecondition(DomainError):
    code = "failed_precondition"


class Conflict(DomainError):
    """Optimistic-concurrency or state conflicts (gRPC ABORTED, HTTP 409)."""

    code = "conflict"
