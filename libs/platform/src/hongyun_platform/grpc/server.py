"""grpc.aio server lifecycle: health (SERVING only while DB and NATS are up), optional
reflection, graceful shutdown on SIGTERM/SIGINT (NOT_SERVING → stop accepting → finish calls)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from hongyun_platform.grpc.interceptors import CallerContextInterceptor
from hongyun_platform.logging import get_logger

log = get_logger(__name__)

Check = Callable[[], Awaitable[bool]]


@dataclass
class GrpcServer:
    server: grpc.aio.Server
    health: health.aio.HealthServicer
    port: int
    service_names: Sequence[str]
    checks: Sequence[Check] = field(default_factory=list)
    _task: asyncio.Task | None = None

    async def _set(self, status) -> None:
        for name in ("", *self.service_names):
            await self.health.set(name, status)

    async def _watch(self, interval: float) -> None:
        serving = None
        while True:
            ok = all([await c() for c in self.checks])
            if ok != serving:
                serving = ok
                await self._set(
                    health_pb2.HealthCheckResponse.SERVING
                    if ok
                    else health_pb2.HealthCheckResponse.NOT_SERVING
                )
                log.info("health changed", serving=ok)
            await asyncio.sleep(interval)

    async def start(self, check_interval: float = 2.0) -> None:
        await self._set(health_pb2.HealthCheckResponse.NOT_SERVING)
        await self.server.start()
        self._task = asyncio.create_task(self._watch(check_interval))

    async def stop(self, grace: float) -> None:
        if self._task:
            self._task.cancel()
        await self._set(health_pb2.HealthCheckResponse.NOT_SERVING)
        await self.server.stop(grace)


def build_server(
    *,
    host: str,
    port: int,
    register: Sequence[Callable[[grpc.aio.Server], None]],
    service_names: Sequence[str],
    checks: Sequence[Check],
    reflection_enabled: bool = False,
) -> GrpcServer:
    server = grpc.aio.server(
        interceptors=[CallerContextInterceptor()],
        options=[("grpc.so_reuseport", 0)],
    )
    for reg in register:
        reg(server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    if reflection_enabled:
        reflection.enable_server_reflection(
            [*service_names, health.SERVICE_NAME, reflection.SERVICE_NAME], server
        )
    bound = server.add_insecure_port(f"{host}:{port}")
    return GrpcServer(server, health_servicer, bound, service_names, list(checks))


def install_signal_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
