"""One trace from the caller through gRPC, SQL, the outbox row, NATS and a consumer."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from hongyun.member.v1 import events_pb2, member_pb2_grpc
from hongyun.member.v1 import member_pb2 as pb
from hongyun_platform.messaging.consumer import ConsumerSpec, IdempotentConsumer
from hongyun_platform.telemetry import setup_tracing
from member_service.models import messaging
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from ..conftest import PLATFORM_ADMIN, tenant_admin

pytestmark = pytest.mark.integration

exporter = InMemorySpanExporter()


@pytest.fixture(scope="module")
async def traced_app(member_settings_fx):
    # Instrumentation must be installed before the server and channels exist.
    setup_tracing("member-test", processors=[SimpleSpanProcessor(exporter)])
    from member_service.app import build_app

    app = await build_app(member_settings_fx)
    await app.start()
    yield app
    await app.stop()


async def test_request_event_and_consumer_share_one_trace(traced_app):
    received: list[str] = []

    async def on_registered(uow, env, data):
        received.append(events_pb2.MemberRegistered.FromString(data).member_id)

    tracer = trace.get_tracer("test-gateway")
    async with grpc.aio.insecure_channel(f"127.0.0.1:{traced_app.port}") as ch:
        stub = member_pb2_grpc.MemberServiceStub(ch)
        t = (await stub.CreateTenant(pb.CreateTenantRequest(name="链路", code="trace-t"),
                                      metadata=PLATFORM_ADMIN.to_metadata())).tenant  # fmt: skip
        adm = tenant_admin(t.id).to_metadata()
        consumer = IdempotentConsumer(
            traced_app.db,
            messaging,
            traced_app.nc.jetstream(),
            ConsumerSpec(name=f"trace_test__{t.id[-12:]}", stream="MEMBER",
                         filter_subject=f"member.{t.id}.member.registered", handler=on_registered),
        )  # fmt: skip
        stop = asyncio.Event()
        task = asyncio.create_task(consumer.run(stop))
        root = (await stub.CreateOrganization(pb.CreateOrganizationRequest(
            name="党委", type=pb.ORGANIZATION_TYPE_COMMITTEE), metadata=adm)).organization  # fmt: skip
        with tracer.start_as_current_span("POST /api/v1/members") as parent:
            from hongyun_platform.validation import check_character

            idn = "11010519850505001" + check_character("11010519850505001")
            m = (await stub.CreateMember(pb.CreateMemberRequest(
                organization_id=root.id, profile=pb.MemberProfile(
                    name="链路测试", id_number=idn, category=pb.MEMBER_CATEGORY_FULL)),
                metadata=adm)).member  # fmt: skip
    for _ in range(100):
        if m.id in received:
            break
        await asyncio.sleep(0.1)
    stop.set()
    await task
    assert m.id in received

    trace_id = parent.get_span_context().trace_id
    spans = [s for s in exporter.get_finished_spans() if s.context.trace_id == trace_id]
    names = {s.name for s in spans}
    assert "/hongyun.member.v1.MemberService/CreateMember" in names  # gRPC server span
    assert any(s.attributes.get("db.system") == "postgresql" for s in spans)  # SQL
    assert "publish hongyun.member.v1.MemberRegistered" in names  # relay → NATS
    assert "consume hongyun.member.v1.MemberRegistered" in names  # consumer
