"""Operations: gRPC health follows the dependencies (SERVING only while PostgreSQL and NATS are
reachable), reflection is off unless enabled, and operators can list parked events."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from member_service.app import SERVICE_NAME, build_app
from member_service.main import provision_streams

from ..conftest import member_settings

pytestmark = pytest.mark.integration
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def wait_status(stub, want, service: str = "", rounds: int = 100) -> int:
    status = None
    for _ in range(rounds):
        status = (
            await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=2)
        ).status
        if status == want:
            break
        await asyncio.sleep(0.1)
    return status


async def test_health_follows_the_broker(member_settings_fx, private_nats):
    settings = member_settings(
        member_settings_fx.database_url, member_settings_fx.migration_database_url, private_nats.url
    )
    await provision_streams(settings)
    app = await build_app(settings)
    await app.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as ch:
            stub = health_pb2_grpc.HealthStub(ch)
            assert await wait_status(stub, SERVING) == SERVING
            assert await wait_status(stub, SERVING, SERVICE_NAME) == SERVING
            private_nats.kill()
            assert await wait_status(stub, NOT_SERVING) == NOT_SERVING
            private_nats.restart()
            assert await wait_status(stub, SERVING) == SERVING
    finally:
        await app.stop()


async def test_reflection_only_when_enabled(member_settings_fx, nats_server):
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    async def list_services(enabled: bool):
        app = await build_app(member_settings_fx.model_copy(update={"grpc_reflection": enabled}))
        await app.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as ch:
                stub = reflection_pb2_grpc.ServerReflectionStub(ch)
                req = reflection_pb2.ServerReflectionRequest(list_services="")
                responses = [r async for r in stub.ServerReflectionInfo(iter([req]))]
                return [s.name for s in responses[0].list_services_response.service]
        finally:
            await app.stop()

    assert SERVICE_NAME in await list_services(True)
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await list_services(False)
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED


async def test_operator_lists_parked_events(member_settings_fx, capsys):
    from hongyun_platform.db import Database
    from hongyun_platform.ids import new_id
    from member_service.main import dead_letters
    from member_service.models import messaging
    from sqlalchemy import insert

    db = Database(member_settings_fx.database_url)
    dl_id = new_id()
    async with db.unit_of_work(None) as uow:
        await uow.session.execute(insert(messaging.dead_letters).values(
            id=dl_id, consumer="analytics__rollup", subject="member.x.member.registered",
            headers={}, payload=b"", error="ValueError: boom", deliveries=8))  # fmt: skip
    await db.dispose()
    await dead_letters(member_settings_fx, None)
    out = capsys.readouterr().out
    assert str(dl_id) in out and "analytics__rollup" in out and "parked" in out
