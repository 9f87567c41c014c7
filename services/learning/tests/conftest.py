"""Fixtures for learning service tests: a migrated database, a running service, callers."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from hongyun_platform.grpc.context import (
    ROLE_MEMBER,
    ROLE_SECRETARY,
    ROLE_TENANT_ADMIN,
    CallerContext,
)
from hongyun_platform.testing.plugin import APP_ROLE
from learning_service.config import LearningSettings
from learning_service.main import migrate, provision_streams


def learning_settings(app_url: str, owner_url: str, nats_url: str, **overrides) -> LearningSettings:
    values = dict(
        database_url=app_url,
        migration_database_url=owner_url,
        db_app_role=APP_ROLE,
        nats_url=nats_url,
        grpc_host="127.0.0.1",
        grpc_port=0,
        outbox_poll_seconds=0.1,
        outbox_max_backoff_seconds=1.0,
        shutdown_grace_seconds=1.0,
        health_check_seconds=0.2,
        directory_retry_seconds=0.2,
        job_interval_seconds=0.2,
        # The session's NATS carries every test module's MEMBER events; only the directory
        # projection's own tests (on a private NATS) consume them.
        directory_projection_enabled=False,
    )
    values.update(overrides)
    return LearningSettings(**values)


@pytest.fixture(scope="module")
async def learning_settings_fx(module_database, nats_server) -> LearningSettings:
    settings = learning_settings(
        module_database.app_url, module_database.owner_url, nats_server.url
    )
    await asyncio.to_thread(migrate, settings)
    await provision_streams(settings)
    return settings


@pytest.fixture(scope="module")
async def learning_store(tmp_path_factory):
    """The filesystem object store (as `make run` uses); S3 tests use the s3_storage fixture."""
    from hongyun_platform.storage import storage_from_settings

    root = tmp_path_factory.mktemp("objects")
    store = storage_from_settings(
        {"storage_kind": "filesystem", "storage_root": root,
         "storage_public_url": "http://127.0.0.1:9/files"}
    )  # fmt: skip
    await store.ensure_bucket()
    return store


@pytest.fixture(scope="module")
async def learning_app(learning_settings_fx, learning_store):
    from learning_service.app import build_app

    app = await build_app(learning_settings_fx, object_store=learning_store)
    await app.start()
    yield app
    await app.stop()


def tenant_admin(tenant_id) -> CallerContext:
    return CallerContext(
        user_id=f"admin-{tenant_id}", tenant_id=uuid.UUID(str(tenant_id)),
        roles=frozenset({ROLE_TENANT_ADMIN}),
    )  # fmt: skip


def secretary(tenant_id, org_id) -> CallerContext:
    return CallerContext(
        user_id=f"sec-{org_id}", tenant_id=uuid.UUID(str(tenant_id)),
        roles=frozenset({ROLE_SECRETARY}), scope_org_id=uuid.UUID(str(org_id)),
    )  # fmt: skip


def learner(tenant_id, org_id, user_id: str | None = None) -> CallerContext:
    return CallerContext(
        user_id=user_id or f"member-{uuid.uuid4()}", tenant_id=uuid.UUID(str(tenant_id)),
        roles=frozenset({ROLE_MEMBER}), scope_org_id=uuid.UUID(str(org_id)),
    )  # fmt: skip


@pytest.fixture(scope="module")
def owner_sql(module_database):
    """SQL as the superuser, outside row-level security (set-up and ground truth)."""

    def run(sql: str) -> str:
        return module_database.pg.psql(sql, module_database.name)

    return run


@pytest.fixture(scope="module")
async def member_app(module_database, learning_settings_fx):
    """The real member service beside the learning service (same database server, its own
    schema; same NATS): the source of directory events and the consumer of training hours."""
    import base64

    from hongyun_platform.crypto import encode_key, generate_key
    from member_service.app import build_app
    from member_service.config import MemberSettings
    from member_service.main import migrate as migrate_member
    from member_service.main import provision_streams as provision_member_streams

    settings = MemberSettings(
        database_url=module_database.app_url, migration_database_url=module_database.owner_url,
        db_app_role=APP_ROLE, nats_url=learning_settings_fx.nats_url, grpc_host="127.0.0.1", grpc_port=0,
        field_keys=encode_key("k1", generate_key("AES-GCM")),
        blind_index_key=base64.b64encode(generate_key("AES-GCM")).decode(),
        outbox_poll_seconds=0.1, outbox_max_backoff_seconds=1.0, shutdown_grace_seconds=1.0,
        health_check_seconds=0.2, lifecycle_job_interval_seconds=0.5,
    )  # fmt: skip
    await asyncio.to_thread(migrate_member, settings)
    await provision_member_streams(settings)
    app = await build_app(settings)
    await app.start()
    yield app
    await app.stop()


async def eventually(probe, *, attempts: int = 100, delay: float = 0.1):
    """Poll `probe()` (async) until it returns a truthy value; events arrive asynchronously."""
    for _ in range(attempts):
        value = await probe()
        if value:
            return value
        await asyncio.sleep(delay)
    return await probe()


@pytest.fixture
def eventually_fx():
    return eventually


@pytest.fixture(scope="session")
def make_learning_settings():
    """`learning_settings(app_url, owner_url, nats_url, **overrides)` for modules that need their
    own (e.g. a private NATS)."""
    return learning_settings
