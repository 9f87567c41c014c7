"""Server interceptor: caller identity from metadata into a ContextVar, DomainError → status."""

from __future__ import annotations

import grpc

from hongyun_platform.errors import DomainError
from hongyun_platform.grpc.context import CallerContext, caller_scope
from hongyun_platform.grpc.errors import abort_with
from hongyun_platform.logging import get_logger

log = get_logger(__name__)


class CallerContextInterceptor(grpc.aio.ServerInterceptor):
    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        inner = handler.unary_unary
        method = handler_call_details.method

        async def wrapper(request, context: grpc.aio.ServicerContext):
            try:
                caller = CallerContext.from_metadata(context.invocation_metadata())
            except DomainError as err:
                await abort_with(context, err)
                return None
            with caller_scope(caller, method):
                try:
                    return await inner(request, context)
                except DomainError as err:
                    log.info("request refused", method=method, code=err.code, reason=err.message)
                    await abort_with(context, err)
                    return None

        return grpc.unary_unary_rpc_method_handler(
            wrapper,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
