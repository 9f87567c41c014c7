"""Assembles the member service process: database, field cipher, NATS, outbox relay, gRPC."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

import nats
from hongyun.member.v1 import (
    member_archive_pb2_grpc,
    member_pb2,
    member_pb2_grpc,
    member_search_pb2_grpc,
    member_stats_pb2_grpc,
    member_transfer_files_pb2_grpc,
    tenant_admin_pb2,
    tenant_admin_pb2_grpc,
)
from hongyun_platform.crypto import FieldCipher, Keyring
from hongyun_platform.db import Database
from hongyun_platform.grpc.server import GrpcServer, build_server
from hongyun_platform.logging import get_logger
from hongyun_platform.messaging.connection import connect_nats
from hongyun_platform.messaging.relay import OutboxRelay
from hongyun_platform.storage import ObjectStore, storage_from_settings
from hongyun_platform.telemetry import instrument_engine

from member_service.archive import AttachmentLimits, MemberArchive
from member_service.archive_servicer import MemberArchiveServicer
from member_service.config import MemberSettings
from member_service.cross_tenant import audit_cross_tenant_access
from member_service.exports import MemberExports
from member_service.imports import CipherSpec, ImportLimits, ImportRunner, MemberImports
from member_service.lifecycle_wiring import Job, LifecycleParts, lifecycle_services
from member_service.models import messaging
from member_service.org_wiring import organization_services
from member_service.search import MemberSearch
from member_service.search_servicer import SERVICE_NAME as SEARCH_SERVICE
from member_service.search_servicer import MemberSearchServicer
from member_service.service import MemberDirectory
from member_service.servicer import MemberServicer
from member_service.stats import MemberStats
from member_service.stats_servicer import MemberStatsServicer
from member_service.tenancy import TenantAdmin
from member_service.tenancy_servicer import TenantAdminServicer
from member_service.tenant_export import TenantExportLimits, TenantExportRunner, TenantExports
from member_service.term_reminders import CommitteeTermReminders
from member_service.transfer_servicer import MemberTransferServicer

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


@dataclass
class MemberApp:
    settings: MemberSettings
    db: Database
    nc: nats.NATS
    relay: OutboxRelay
    grpc: GrpcServer
    tasks: list[asyncio.Task] = field(default_factory=list)
    term_reminders: CommitteeTermReminders | None = None  # 换届 reminder job (docs/adr/0007)
    tenant_exports: TenantExportRunner | None = None  # tenant data exports (docs/adr/0012)
    lifecycle_jobs: list[Job] = field(default_factory=list)  # docs/adr/0014
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def port(self) -> int:
        return self.grpc.port

    async def start(self) -> None:
        await self.grpc.start(self.settings.health_check_seconds)
        self.tasks.append(asyncio.create_task(self.relay.run(self.stop_event)))
        if self.term_reminders and self.settings.term_reminders_enabled:
            self.tasks.append(asyncio.create_task(self.term_reminders.run(self.stop_event)))
        if self.settings.lifecycle_jobs_enabled:
            self.tasks += [asyncio.create_task(job(self.stop_event)) for job in self.lifecycle_jobs]
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


async def build_app(
    settings: MemberSettings, *, object_store: ObjectStore | None = None
) -> MemberApp:
    """`object_store` defaults to the HONGYUN_STORAGE_* configured one (tests pass their own)."""
    db = Database(
        settings.database_url, pool_size=settings.db_pool_size, on_begin=audit_cross_tenant_access
    )
    instrument_engine(db.engine)
    cipher = cipher_from_settings(settings)
    nc = await connect_nats(settings.nats_url, "member")
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
    stats = MemberStatsServicer(db, MemberStats(directory))
    store = object_store or storage_from_settings()
    export_limits = TenantExportLimits(stale_after=timedelta(seconds=settings.import_stale_seconds))
    export_runner = TenantExportRunner(db, directory, store, export_limits)
    tenant_admin = TenantAdminServicer(
        db, TenantAdmin(directory), after_commit=relay.wake,
        exports=TenantExports(directory, store, export_limits), export_runner=export_runner,
    )  # fmt: skip
    archive = MemberArchiveServicer(
        db,
        MemberArchive(directory, store, AttachmentLimits.from_settings(settings)),
        after_commit=relay.wake,
    )
    import_limits = ImportLimits(
        max_bytes=settings.import_max_bytes,
        max_rows=settings.import_max_rows,
        stale_after=timedelta(seconds=settings.import_stale_seconds),
        concurrency=settings.import_concurrency,
        workers=settings.import_workers,
    )
    import_runner = ImportRunner(
        db,
        directory,
        import_limits,
        after_commit=relay.wake,
        cipher_spec=CipherSpec(
            settings.field_keys,
            settings.field_algorithm,
            settings.field_key_active,
            settings.blind_index_key,
        ),
    )
    transfer = MemberTransferServicer(
        db, MemberImports(directory, import_limits), import_runner, MemberExports(directory)
    )

    organizations = organization_services(db, settings, relay.wake)
    lifecycle = lifecycle_services(LifecycleParts(db, directory, store, settings, relay.wake))

    async def nats_up() -> bool:
        return nc.is_connected

    # (register function, servicer, full service name) — one line per gRPC service.
    services = [
        (member_pb2_grpc.add_MemberServiceServicer_to_server, servicer, SERVICE_NAME),
        (tenant_admin_pb2_grpc.add_TenantAdminServiceServicer_to_server, tenant_admin, TENANT_ADMIN_SERVICE),
        (member_stats_pb2_grpc.add_MemberStatsServiceServicer_to_server, stats, "hongyun.member.v1.MemberStatsService"),
        (member_search_pb2_grpc.add_MemberSearchServiceServicer_to_server, MemberSearchServicer(db, MemberSearch(directory)), SEARCH_SERVICE),
        (member_archive_pb2_grpc.add_MemberArchiveServiceServicer_to_server, archive, "hongyun.member.v1.MemberArchiveService"),
        (member_transfer_files_pb2_grpc.add_MemberImportExportServiceServicer_to_server, transfer, "hongyun.member.v1.MemberImportExportService"),
        *organizations.services,
        *lifecycle.services,
    ]  # fmt: skip
    server = build_server(
        host=settings.grpc_host,
        port=settings.grpc_port,
        register=[partial(add, impl) for add, impl, _ in services],
        service_names=[name for _, _, name in services],
        checks=[db.ping, nats_up],
        reflection_enabled=settings.grpc_reflection,
    )
    app = MemberApp(settings, db, nc, relay, server)
    app.term_reminders = organizations.term_reminders
    app.lifecycle_jobs = lifecycle.jobs
    # Import jobs stop with the app: cancelled ones are marked interrupted (docs/adr/0010).
    app.tasks.append(asyncio.create_task(import_runner.supervise(app.stop_event)))
    app.tenant_exports = export_runner
    app.tasks.append(asyncio.create_task(export_runner.supervise(app.stop_event)))
    return app
