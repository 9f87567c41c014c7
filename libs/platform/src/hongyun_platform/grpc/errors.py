"""DomainError → gRPC status, with the stable reason in trailing metadata for the gateway."""

from __future__ import annotations

import grpc

from hongyun_platform import errors as e

MD_ERROR_CODE = "x-hongyun-error-code"
MD_ERROR_FIELD = "x-hongyun-error-field"

STATUS_FOR = {
    e.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    e.NotFound: grpc.StatusCode.NOT_FOUND,
    e.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    e.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    e.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    e.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    e.Conflict: grpc.StatusCode.ABORTED,
}


def status_for(err: e.DomainError) -> grpc.StatusCode:
    for cls in type(err).__mro__:
        if cls in STATUS_FOR:
            return STATUS_FOR[cls]
    return grpc.StatusCode.UNKNOWN


async def abort_with(context: grpc.aio.ServicerContext, err: e.DomainError) -> None:
    md = [(MD_ERROR_CODE, err.code)]
    if err.field:
        md.append((MD_ERROR_FIELD, err.field))
    context.set_trailing_metadata(tuple(md))
    await context.abort(status_for(err), err.message)
