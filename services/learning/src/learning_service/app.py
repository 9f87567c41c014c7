"""Assembles the learning service process: database, NATS, outbox relay, directory projection,
the areas' gRPC services and background jobs."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

import nats
from hongyun_platform.db import Database, UnitOfWork
from hongyun_platform.grpc.context import current_caller
from hongyun_platform.grpc.server import GrpcServer, build_server
from hongyun_platform.logging import get_logger
from hongyun_platform.messaging.connection import connect_nats
from hongyun_platform.messaging.relay import OutboxRelay
from hongyun_platform.storage import ObjectStore, storage_from_settings
from hongyun_platform.telemetry import instrument_engine
from sqlalchemy import text

from learning_service.config import LearningSettings
from learning_service.directory_projection import DirectoryProjectionJob
from learning_service.models import messaging
from learning_service.upload_cleanup import AbandonedUploadCleanup
from learning_service.wiring import Job, Parts, wire_all

log = get_logger(__name__)


async def read_only_across_tenants(uow: UnitOfWork) -> None:
    """A parent tenant's reader in a descendant tenant may read, never write (PostgreSQL
    enforces it for the whole transaction)."""
    if current_caller().is_cross_tenant:
        await uow.session.execute(text("SET TRANSACTION READ ONLY"))


@dataclass
class LearningApp:
    settings: LearningSettings
    db: Database
    nc: nats.NATS
    relay: OutboxRelay
    grpc: GrpcServer
    store: ObjectStore
    jobs: list[Job] = field(default_factory=list)
    tasks: list[asyncio.Task] = field(default_factory=list)
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def port(self) -> int:
        return self.grpc.port

    async def start(self) -> None:
        await self.grpc.start(self.settings.health_check_seconds)
        self.tasks.append(asyncio.create_task(self.relay.run(self.stop_event)))
        self.tasks += [asyncio.create_task(job(self.stop_event)) for job in self.jobs]
        log.info("learning service started", port=self.grpc.port)

    async def stop(self) -> None:
        """NOT_SERVING → finish in-flight calls → stop jobs and relay → drain NATS → close."""
        await self.grpc.stop(self.settings.shutdown_grace_seconds)
        self.stop_event.set()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.nc.is_connected:
            await self.nc.drain()
        await self.db.dispose()
        log.info("learning service stopped")


async def build_app(
    settings: LearningSettings, *, object_store: ObjectStore | None = None
) -> LearningApp:
    """`object_store` defaults to the HONGYUN_STORAGE_* configured one (tests pass their own)."""
    db = Database(
        settings.database_url, pool_size=settings.db_pool_size, on_begin=read_only_across_tenants
    )
    instrument_engine(db.engine)
    nc = await connect_nats(settings.nats_url, "learning")
    relay = OutboxRelay(
        db, messaging.outbox, nc.jetstream, batch_size=settings.outbox_batch_size,
        poll_seconds=settings.outbox_poll_seconds,
        max_backoff_seconds=settings.outbox_max_backoff_seconds,
    )  # fmt: skip
    store = object_store or storage_from_settings()
    wired = wire_all(Parts(db, store, settings, relay.wake))
    jobs = list(wired.jobs) if settings.jobs_enabled else []
    if settings.jobs_enabled:
        cleanup = AbandonedUploadCleanup(
            store, older_than=timedelta(hours=settings.material_abandoned_upload_hours),
            interval_seconds=3600,
        )  # fmt: skip
        jobs.append(cleanup.run)
    if settings.directory_projection_enabled:
        projection = DirectoryProjectionJob(
            db, settings.nats_url, retry_seconds=settings.directory_retry_seconds,
            max_deliver=settings.consumer_max_deliver,
        )  # fmt: skip
        jobs.append(projection.run)

    async def nats_up() -> bool:
        return nc.is_connected

    server = build_server(
        host=settings.grpc_host,
        port=settings.grpc_port,
        register=[partial(add, impl) for add, impl, _ in wired.services],
        service_names=[name for _, _, name in wired.services],
        checks=[db.ping, nats_up],
        reflection_enabled=settings.grpc_reflection,
    )
    return LearningApp(settings, db, nc, relay, server, store, jobs)
