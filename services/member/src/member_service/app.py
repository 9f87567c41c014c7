"""Assembles the member service process: database, field cipher, NATS, outbox relay, gRPC."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass, field
from functools import partial

import nats
from hongyun.member.v1 import (
    member_pb2,
    member_pb2_grpc,
    member_stats_pb2_grpc,
    tenant_admin_pb2,
    tenant_admin_pb2_grpc,
)
from hongyun_platform.crypto import FieldCipher, Keyring
from hongyun_platform.db import Database
from hongyun_platform.grpc.server import GrpcServer, build_server
from hongyun_platform.logging import get_logger
from hongyun_platform.messaging.relay import OutboxRelay
from hongyun_platform.telemetry import instrument_engine

from member_service.config import MemberSettings
from member_service.models import messaging
from member_service.service import MemberDirectory
from member_service.servicer import MemberServicer
from member_service.stats import MemberStats
from member_service.stats_servicer import MemberStatsServicer
from member_service.tenancy import TenantAdmin
from member_service.tenancy_servicer import TenantAdminServicer

log = get_logger(__name__)
SERVICE_NAME = member_pb2.DESCRIPTOR.services_by_name["MemberService"].full_name
TENANT_ADMIN_SERVICE = tenant_admin_pb2.DESCRIPTOR.services_by_name["TenantAdminService"].full_name


def cipher_from_settings(s: MemberSettings) -> FieldCipher:
    if not s.field_keys or not s.blind_index_key:
        raise SystemExit(
            "HONGYUN_FIELD_KEYS and HONGYUN_BLIND_INDEX_KEY are required (personal data is "
            "encrypted at rest); see README, Configuration"
        )
    keyring = Keyring.from_env_string(
        s.field_keys, algorithm=s.field_algorithm, active=s.field_key_active or None
    )
    return FieldCipher(keyring, index_key=base64.b64decode(s.blind_index_key))


async def _connect_nats(url: str, name: str) -> nats.NATS:
    async def on_error(exc: Exception) -> None:
        log.warning("nats error", error=str(exc))

    return await nats.connect(
        url,
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        allow_reconnect=True,
        error_cb=on_error,
        connect_timeout=5,
    )


@dataclass
class MemberApp:
    settings: MemberSettings
    db: Database
    nc: nats.NATS
    relay: OutboxRelay
    grpc: GrpcServer
    tasks: list[asyncio.Task] = field(default_factory=list)
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def port(self) -> int:
        return self.grpc.port

    async def start(self) -> None:
        await self.grpc.start(self.settings.health_check_seconds)
        self.tasks.append(asyncio.create_task(self.relay.run(self.stop_event)))
        log.info("member service started", port=self.grpc.port)

    async def stop(self) -> None:
        """NOT_SERVING → finish in-flight calls → stop relay → drain NATS → close pool."""
        await self.grpc.stop(self.settings.shutdown_grace_seconds)
        self.stop_event.set()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.nc.is_connected:
            await self.nc.drain()
        await self.db.dispose()
        log.info("member service stopped")


async def build_app(settings: MemberSettings) -> MemberApp:
    db = Database(settings.database_url, pool_size=settings.db_pool_size)
    instrument_engine(db.engine)
    cipher = cipher_from_settings(settings)
    nc = await _connect_nats(settings.nats_url, "member")
    relay = OutboxRelay(
        db,
        messaging.outbox,
        nc.jetstream,
        batch_size=settings.outbox_batch_size,
        poll_seconds=settings.outbox_poll_seconds,
        max_backoff_seconds=settings.outbox_max_backoff_seconds,
    )
    directory = MemberDirectory(cipher)
    servicer = MemberServicer(db, directory, after_commit=relay.wake)
    tenant_admin = TenantAdminServicer(db, TenantAdmin(directory), after_commit=relay.wake)
    stats = MemberStatsServicer(db, MemberStats(directory))

    async def nats_up() -> bool:
        return nc.is_connected

    # (register function, servicer, full service name) — one line per gRPC service.
    services = [
        (member_pb2_grpc.add_MemberServiceServicer_to_server, servicer, SERVICE_NAME),
        (tenant_admin_pb2_grpc.add_TenantAdminServiceServicer_to_server, tenant_admin, TENANT_ADMIN_SERVICE),
        (member_stats_pb2_grpc.add_MemberStatsServiceServicer_to_server, stats, "hongyun.member.v1.MemberStatsService"),
    ]  # fmt: skip
    server = build_server(
        host=settings.grpc_host,
        port=settings.grpc_port,
        register=[partial(add, impl) for add, impl, _ in services],
        service_names=[name for _, _, name in services],
        checks=[db.ping, nats_up],
        reflection_enabled=settings.grpc_reflection,
    )
    return MemberApp(settings, db, nc, relay, server)
