"""Unit tests of small platform pieces: envelope headers, page tokens, settings precedence,
caller metadata, trace ids in logs, error → status mapping."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import grpc
import pytest
from hongyun_platform import errors
from hongyun_platform.db.repository import clamp_page_size, decode_token, encode_token
from hongyun_platform.grpc.context import CallerContext
from hongyun_platform.grpc.errors import status_for
from hongyun_platform.ids import new_id
from hongyun_platform.messaging.envelope import H_EVENT_ID, H_MSG_ID, Envelope, subject_for
from hongyun_platform.settings import ServiceSettings


def test_envelope_round_trips_through_headers():
    env = Envelope(new_id(), "hongyun.member.v1.MemberRegistered", uuid.uuid4(),
                   datetime(2026, 11, 28, 8, 0, tzinfo=UTC), "00-" + "a" * 32 + "-" + "b" * 16 + "-01")  # fmt: skip
    headers = env.headers()
    assert headers[H_MSG_ID] == headers[H_EVENT_ID] == str(env.event_id)
    assert Envelope.from_headers(headers) == env


def test_envelope_without_required_headers_is_rejected():
    with pytest.raises(ValueError, match="missing"):
        Envelope.from_headers({"Hongyun-Event-Type": "x"})


def test_subject_names_service_tenant_aggregate_event():
    t = uuid.uuid4()
    assert subject_for("member", t, "member", "registered") == f"member.{t}.member.registered"
    assert subject_for("member", None, "tenant", "created") == "member._.tenant.created"


def test_ids_are_time_ordered():
    ids = [new_id() for _ in range(100)]
    assert ids == sorted(ids) and all(i.version == 7 for i in ids)


def test_page_tokens_round_trip_and_reject_garbage():
    i = new_id()
    assert decode_token(encode_token(i)) == i
    assert decode_token("") is None
    with pytest.raises(errors.InvalidArgument):
        decode_token("not-a-token!")
    assert clamp_page_size(0) == 50 and clamp_page_size(10_000) == 200
    with pytest.raises(errors.InvalidArgument):
        clamp_page_size(-1)


def test_service_prefix_overrides_shared_setting(monkeypatch):
    class MemberLike(ServiceSettings):
        service_name = "member"

    monkeypatch.setenv("HONGYUN_NATS_URL", "nats://shared:4222")
    monkeypatch.setenv("HONGYUN_DATABASE_URL", "postgresql+asyncpg://shared/db")
    monkeypatch.setenv("HONGYUN_MEMBER_DATABASE_URL", "postgresql+asyncpg://member/db")
    s = MemberLike()
    assert s.database_url == "postgresql+asyncpg://member/db"
    assert s.nats_url == "nats://shared:4222"


def test_caller_context_round_trips_metadata_and_rejects_bad_values():
    ctx = CallerContext("u1", uuid.uuid4(), frozenset({"secretary"}), uuid.uuid4())
    assert CallerContext.from_metadata(ctx.to_metadata()) == ctx
    with pytest.raises(errors.InvalidArgument):
        CallerContext.from_metadata([("x-hongyun-roles", "superuser")])
    with pytest.raises(errors.InvalidArgument):
        CallerContext.from_metadata([("x-hongyun-tenant", "not-a-uuid")])
    with pytest.raises(errors.PermissionDenied):
        ctx.require_role("tenant_admin")


def test_domain_errors_map_to_grpc_status():
    assert status_for(errors.InvalidArgument("x")) == grpc.StatusCode.INVALID_ARGUMENT
    assert status_for(errors.NotFound("x")) == grpc.StatusCode.NOT_FOUND
    assert status_for(errors.Conflict("x")) == grpc.StatusCode.ABORTED
    assert status_for(errors.DomainError("x")) == grpc.StatusCode.UNKNOWN


def test_log_lines_carry_the_trace_id():
    import io

    import structlog
    from hongyun_platform.logging import configure_logging, get_logger
    from opentelemetry.sdk.trace import TracerProvider

    out = io.StringIO()
    configure_logging("unit", json=True, stream=out)
    try:
        tracer = TracerProvider().get_tracer("t")
        with tracer.start_as_current_span("work") as span:
            get_logger("t").info("hello")
    finally:
        structlog.reset_defaults()
        structlog.contextvars.clear_contextvars()
    line = json.loads(out.getvalue().strip().splitlines()[-1])
    assert line["event"] == "hello" and line["service"] == "unit"
    assert line["trace_id"] == format(span.get_span_context().trace_id, "032x")
