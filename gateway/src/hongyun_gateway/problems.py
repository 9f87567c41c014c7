"""RFC 9457 problem details (application/problem+json) for every error the gateway returns.

Body: ``type`` (https://hongyun.dev/problems/<code>), ``title``, ``status``, ``detail``,
``instance`` (the request path) plus extensions ``code`` (stable, machine-readable),
``errors`` ([{field, message, reason}], validation only) and ``trace_id`` when tracing is on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from hongyun_platform import errors as domain_errors
from opentelemetry import trace
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://hongyun.dev/problems/"
ERROR_CODE_METADATA = "x-hongyun-error-code"
ERROR_FIELD_METADATA = "x-hongyun-error-field"

logger = logging.getLogger(__name__)


class FieldError(BaseModel):
    field: str = Field(description="Dotted path of the offending field, e.g. 'id_number'")
    message: str
    reason: str | None = Field(default=None, description="Stable reason code, e.g. 'check_digit'")


class Problem(BaseModel):
    """Problem details (RFC 9457). 问题详情。"""

    type: str = Field(examples=["https://hongyun.dev/problems/not_found"])
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    code: str
    errors: list[FieldError] | None = None
    trace_id: str | None = None


@dataclass(eq=False)
class ProblemError(Exception):
    """Raise anywhere in a request to answer with a problem+json response."""

    status: int
    code: str
    detail: str | None = None
    title: str | None = None
    errors: list[dict[str, Any]] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.detail or self.code)


_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    412: "Precondition Failed",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    428: "Precondition Required",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
}

# gRPC status → (HTTP status, default problem code). The service's own reason code from the
# trailing metadata (x-hongyun-error-code) replaces the default code when present.
GRPC_TO_HTTP: Mapping[grpc.StatusCode, tuple[int, str]] = {
    grpc.StatusCode.INVALID_ARGUMENT: (422, "invalid_argument"),
    grpc.StatusCode.OUT_OF_RANGE: (422, "out_of_range"),
    grpc.StatusCode.NOT_FOUND: (404, "not_found"),
    grpc.StatusCode.ALREADY_EXISTS: (409, "already_exists"),
    grpc.StatusCode.PERMISSION_DENIED: (403, "permission_denied"),
    grpc.StatusCode.UNAUTHENTICATED: (401, "unauthenticated"),
    grpc.StatusCode.FAILED_PRECONDITION: (409, "failed_precondition"),
    grpc.StatusCode.ABORTED: (409, "conflict"),
    grpc.StatusCode.RESOURCE_EXHAUSTED: (429, "resource_exhausted"),
    grpc.StatusCode.UNIMPLEMENTED: (501, "not_implemented"),
    grpc.StatusCode.UNAVAILABLE: (503, "service_unavailable"),
    grpc.StatusCode.DEADLINE_EXCEEDED: (503, "service_unavailable"),
    grpc.StatusCode.CANCELLED: (503, "service_unavailable"),
}

DOMAIN_TO_HTTP: Mapping[type[domain_errors.DomainError], int] = {
    domain_errors.InvalidArgument: 422,
    domain_errors.NotFound: 404,
    domain_errors.AlreadyExists: 409,
    domain_errors.PermissionDenied: 403,
    domain_errors.Unauthenticated: 401,
    domain_errors.FailedPrecondition: 409,
    domain_errors.Conflict: 409,
}


def title_for(status: int) -> str:
    return _TITLES.get(status, "Error")


def _trace_id() -> str | None:
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None


def problem_response(
    status: int,
    code: str,
    *,
    detail: str | None = None,
    title: str | None = None,
    instance: str | None = None,
    errors: Sequence[Mapping[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title or title_for(status),
        "status": status,
        "detail": detail,
        "instance": instance,
        "code": code,
    }
    if errors is not None:
        body["errors"] = [dict(e) for e in errors]
    trace_id = _trace_id()
    if trace_id:
        body["trace_id"] = trace_id
    return JSONResponse(
        body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=dict(headers or {})
    )


# ---- gRPC ----


def metadata_value(metadata: Iterable[tuple[str, str | bytes]] | None, key: str) -> str | None:
    for k, v in metadata or ():
        if k == key:
            return v.decode() if isinstance(v, bytes) else v
    return None


def problem_from_rpc_error(error: grpc.aio.AioRpcError) -> ProblemError:
    """Map a failed gRPC call to a problem. 5xx answers never carry the service's details."""
    status, default_code = GRPC_TO_HTTP.get(error.code(), (500, "internal_error"))
    trailing = error.trailing_metadata()
    code = metadata_value(trailing, ERROR_CODE_METADATA) or default_code
    field_name = metadata_value(trailing, ERROR_FIELD_METADATA)
    if status >= 500:
        if status != 503:
            logger.error("member service call failed: %s %s", error.code(), error.details())
            return ProblemError(500, "internal_error", "服务器内部错误 (internal error)")
        return ProblemError(
            503,
            "service_unavailable",
            "服务暂时不可用，请稍后重试 (service temporarily unavailable, retry later)",
            headers={"Retry-After": "1"},
        )
    detail = error.details() or None
    errors = None
    if field_name:
        errors = [{"field": field_name, "message": detail or code, "reason": code}]
    return ProblemError(status, code, detail, errors=errors)


# ---- validation ----


_LOCATIONS = {"body", "query", "path", "header", "cookie"}


def _field_path(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in _LOCATIONS:
        parts = parts[1:]
    return ".".join(parts) or "body"


def _clean_message(msg: str) -> str:
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            return msg[len(prefix) :]
    return msg


def field_errors(raw: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for err in raw:
        ctx = err.get("ctx") or {}
        reason = ctx.get("reason") if isinstance(ctx.get("reason"), str) else err.get("type")
        out.append(
            {
                "field": _field_path(err.get("loc", ())),
                "message": _clean_message(str(err.get("msg", "invalid value"))),
                "reason": reason,
            }
        )
    return out


def validation_problem(errors: list[dict[str, Any]], detail: str | None = None) -> ProblemError:
    return ProblemError(
        422,
        "validation_failed",
        detail or "请求参数校验失败 (request validation failed)",
        errors=errors,
    )


# ---- handlers ----


def _from_problem(request: Request, exc: ProblemError) -> JSONResponse:
    return problem_response(
        exc.status,
        exc.code,
        detail=exc.detail,
        title=exc.title,
        instance=request.url.path,
        errors=exc.errors,
        headers=exc.headers,
    )


async def _handle_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return _from_problem(request, exc)


async def _handle_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    raw = exc.errors()
    if any(e.get("type") == "json_invalid" for e in raw):
        return _from_problem(
            request,
            ProblemError(400, "malformed_json", "请求体不是有效的JSON (malformed JSON body)"),
        )
    return _from_problem(request, validation_problem(field_errors(raw)))


async def _handle_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else None
    return _from_problem(
        request,
        ProblemError(exc.status_code, code, detail, headers=dict(exc.headers or {})),
    )


async def _handle_rpc(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, grpc.aio.AioRpcError)
    return _from_problem(request, problem_from_rpc_error(exc))


async def _handle_domain(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, domain_errors.DomainError)
    status = next((s for t, s in DOMAIN_TO_HTTP.items() if isinstance(exc, t)), 500)
    if status >= 500:
        return await _handle_unexpected(request, exc)
    errors = None
    if exc.field:
        errors = [{"field": exc.field, "message": exc.message, "reason": exc.code}]
    return _from_problem(request, ProblemError(status, exc.code, exc.message, errors=errors))


async def _handle_unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _from_problem(
        request, ProblemError(500, "internal_error", "服务器内部错误 (internal error)")
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _handle_problem)
    app.add_exception_handler(RequestValidationError, _handle_validation)
    app.add_exception_handler(StarletteHTTPException, _handle_http)
    app.add_exception_handler(grpc.aio.AioRpcError, _handle_rpc)
    app.add_exception_handler(domain_errors.DomainError, _handle_domain)
    app.add_exception_handler(Exception, _handle_unexpected)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for problem answers (openapi.py sets the media type)."""
    return {s: {"model": Problem, "description": title_for(s)} for s in statuses}
