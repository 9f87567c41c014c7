"""OpenTelemetry setup: one trace from gateway → gRPC → SQL → outbox → NATS → consumer.

Export is off unless an OTLP endpoint is configured; tests attach an in-memory exporter instead.
"""

from __future__ import annotations

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

_configured = False


def setup_tracing(service: str, otlp_endpoint: str = "", *, processors: list[SpanProcessor] = ()):
    """Install a tracer provider once per process and instrument grpc.aio (before servers exist)."""
    global _configured
    if _configured:
        provider = trace.get_tracer_provider()
        for p in processors:
            provider.add_span_processor(p)  # type: ignore[attr-defined]
        return provider
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint)))
    for p in processors:
        provider.add_span_processor(p)
    trace.set_tracer_provider(provider)
    from opentelemetry.instrumentation.grpc import (
        GrpcAioInstrumentorClient,
        GrpcAioInstrumentorServer,
    )

    GrpcAioInstrumentorServer().instrument()
    GrpcAioInstrumentorClient().instrument()
    _configured = True
    return provider


def instrument_engine(engine) -> None:
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    SQLAlchemyInstrumentor().instrument(engine=engine.sync_engine)


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name)


def current_traceparent() -> str:
    """W3C traceparent of the active span ('' when none), for outbox rows and message headers."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent", "")


def context_from_traceparent(traceparent: str):
    return propagate.extract({"traceparent": traceparent} if traceparent else {})
