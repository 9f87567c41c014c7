"""gRPC client for the learning service: one grpc.aio channel for the process.

Routers build the stubs they need on `channel` and call them through `call`, which carries the
caller's identity as metadata and a deadline. Errors propagate as grpc.aio.AioRpcError and become
problem+json in problems.py (an unreachable learning service is a 503, the member API unaffected).
"""

from __future__ import annotations

from typing import Any

import grpc
from hongyun_platform.grpc.context import CallerContext

_CHANNEL_OPTIONS = [
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 0),
]


class LearningClient:
    def __init__(self, target: str, *, deadline_seconds: float = 5.0) -> None:
        self.target = target
        self.deadline_seconds = deadline_seconds
        self._channel = grpc.aio.insecure_channel(target, options=_CHANNEL_OPTIONS)

    @property
    def channel(self) -> grpc.aio.Channel:
        return self._channel

    async def call(
        self, method: Any, request: Any, caller: CallerContext, *, deadline: float | None = None
    ) -> Any:
        """A unary call of any learning stub built on `channel`, as the caller; `deadline` in
        seconds overrides the default (e.g. longer for file work)."""
        return await method(
            request, metadata=caller.to_metadata(), timeout=deadline or self.deadline_seconds
        )

    async def close(self, grace: float | None = None) -> None:
        await self._channel.close(grace)
