"""Fixtures for member service tests: a migrated database, a running service, callers."""

from __future__ import annotations

import asyncio
import base64
import uuid

import grpc
import pytest
from hongyun.member.v1 import member_pb2_grpc
from hongyun_platform.crypto import encode_key, generate_key
from hongyun_platform.grpc.context import (
    ROLE_PLATFORM_ADMIN,
    ROLE_SECRETARY,
    ROLE_TENANT_ADMIN,
    CallerContext,
)
from hongyun_platform.testing.plugin import APP_ROLE
from member_service.config import MemberSettings
from member_service.main import migrate, provision_streams


def member_settings(app_url: str, owner_url: str, nats_url: str, **overrides) -> MemberSettings:
    values = dict(
        database_url=app_url,
        migration_database_url=owner_url,
        db_app_role=APP_ROLE,
        nats_url=nats_url,
        grpc_host="127.0.0.1",
        grpc_port=0,
        field_keys=encode_key("k1", generate_key("AES-GCM")),
        blind_index_key=base64.b64encode(generate_key("AES-GCM")).decode(),
        outbox_poll_seconds=0.1,
        outbox_max_backoff_seconds=1.0,
        shutdown_grace_seconds=1.0,
        health_check_seconds=0.2,
    )
    values.update(overrides)
    return MemberSettings(**values)


@pytest.fixture(scope="module")
async def member_settings_fx(module_database, nats_server) -> MemberSettings:
    settings = member_settings(module_database.app_url, module_database.owner_url, nats_server.url)
    await asyncio.to_thread(migrate, settings)
    await provision_streams(settings)
    return settings


@pytest.fixture(scope="module")
async def member_app(member_settings_fx):
    from member_service.app import build_app

    app = await build_app(member_settings_fx)
    await app.start()
    yield app
    await app.stop()


@pytest.fixture(scope="module")
async def member_stub(member_app):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{member_app.port}") as channel:
        yield member_pb2_grpc.MemberServiceStub(channel)


PLATFORM_ADMIN = CallerContext(
    user_id="root", tenant_id=None, roles=frozenset({ROLE_PLATFORM_ADMIN})
)


def tenant_admin(tenant_id: str | uuid.UUID) -> CallerContext:
    return CallerContext(
        user_id=f"admin-{tenant_id}", tenant_id=uuid.UUID(str(tenant_id)),
        roles=frozenset({ROLE_TENANT_ADMIN}),
    )  # fmt: skip


def secretary(tenant_id, scope_org_id) -> CallerContext:
    return CallerContext(
        user_id=f"sec-{scope_org_id}", tenant_id=uuid.UUID(str(tenant_id)),
        roles=frozenset({ROLE_SECRETARY}), scope_org_id=uuid.UUID(str(scope_org_id)),
    )  # fmt: skip


@pytest.fixture(scope="module")
def owner_sql(module_database):
    """SQL as the superuser, outside row-level security: set-up the API cannot do (the past) and
    ground truth to compare with (direct counts)."""

    def run(sql: str) -> str:
        return module_database.pg.psql(sql, module_database.name)

    return run
