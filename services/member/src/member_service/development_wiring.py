"""Wiring of the development part of the member lifecycle (docs/adr/0014, 0015): the gRPC
DevelopmentService, the reminder job and the consumer of training events."""

from __future__ import annotations

from member_service.development import DevelopmentPipeline, MaterialLimits
from member_service.development_reminders import DevelopmentReminders
from member_service.development_servicer import SERVICE_NAME, DevelopmentServicer
from member_service.development_training_consumer import TrainingConsumerJob
from member_service.lifecycle_wiring import LifecycleParts, Wired
from member_service.rules import RuleBook

GRPC_MESSAGE_LIMIT = 4 * 1024 * 1024 - 64 * 1024  # a material travels in one gRPC message
CONSUMER_RETRY_SECONDS = 60.0


def pipeline_for(parts: LifecycleParts, rules: RuleBook | None = None) -> DevelopmentPipeline:
    s = parts.settings
    limits = MaterialLimits(
        max_bytes=min(s.attachment_max_bytes, GRPC_MESSAGE_LIMIT),
        download_url_seconds=s.attachment_download_url_seconds,
    )
    return DevelopmentPipeline(parts.directory, rules or RuleBook(), parts.store, limits)


def wire(parts: LifecycleParts) -> Wired:
    from hongyun.member.v1 import member_development_pb2_grpc as grpc_mod

    rules = RuleBook()
    pipeline = pipeline_for(parts, rules)
    s = parts.settings
    reminders = DevelopmentReminders(
        parts.db, rules, interval_seconds=s.lifecycle_job_interval_seconds,
        after_commit=parts.after_commit,
    )  # fmt: skip
    training = TrainingConsumerJob(
        parts.db, pipeline, s.nats_url,
        retry_seconds=min(CONSUMER_RETRY_SECONDS, s.lifecycle_job_interval_seconds),
    )  # fmt: skip
    return Wired(
        services=[
            (
                grpc_mod.add_DevelopmentServiceServicer_to_server,
                DevelopmentServicer(parts.db, pipeline, after_commit=parts.after_commit),
                SERVICE_NAME,
            )
        ],
        jobs=[reminders.run, training.run],
    )
