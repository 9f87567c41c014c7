"""The learning service process: migrations as the owner, the runtime role under row-level
security, the LEARNING stream, and gRPC health once the database and NATS are connected."""

from __future__ import annotations

import asyncio

import grpc
import nats
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

pytestmark = pytest.mark.integration


async def test_serving_once_database_and_nats_are_connected(learning_app):
    status = None
    async with grpc.aio.insecure_channel(f"127.0.0.1:{learning_app.port}") as ch:
        for _ in range(50):  # the first health check runs just after start
            r = await health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest())
            status = r.status
            if status == health_pb2.HealthCheckResponse.SERVING:
                break
            await asyncio.sleep(0.1)
    assert status == health_pb2.HealthCheckResponse.SERVING


async def test_learning_stream_is_provisioned(learning_settings_fx):
    nc = await nats.connect(learning_settings_fx.nats_url)
    try:
        info = await nc.jetstream().stream_info("LEARNING")
    finally:
        await nc.close()
    assert info.config.subjects == ["learning.>"]


def test_tables_are_forced_under_row_level_security(learning_settings_fx, owner_sql):
    out = owner_sql(
        "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'learning' AND c.relkind = 'r' AND c.relforcerowsecurity ORDER BY 1"
    )
    for table in ("courses", "chapters", "items", "material_versions", "checkpoints"):
        assert table in out


def test_runtime_role_owns_nothing(learning_settings_fx, owner_sql):
    out = owner_sql(
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'learning' AND tableowner = 'hongyun_app'"
    )
    assert out.split() == ["0"] or out.split()[-1] == "0"
