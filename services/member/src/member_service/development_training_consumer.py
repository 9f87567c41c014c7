"""Training from the learning service (docs/adr/0015): a JetStream consumer of
`hongyun.learning.v1.TrainingHoursRecorded` that adds the hours to the development case, so they
count toward dev.candidate.training_min before step 12.

Idempotent twice over: the platform's IdempotentConsumer records each event id in the inbox in
the handler's transaction (a redelivered event is acked without running the handler), and the
training row's source_event_id is unique. The LEARNING stream belongs to the learning service
(its provision-streams creates it); until it exists the job waits and looks again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import nats
from hongyun.learning.v1 import learning_events_pb2 as lpb
from hongyun_platform.db import Database, UnitOfWork
from hongyun_platform.logging import get_logger
from hongyun_platform.messaging.consumer import ConsumerSpec
from hongyun_platform.messaging.consumer_job import StreamConsumerJob
from hongyun_platform.messaging.envelope import Envelope

from member_service.development import DevelopmentPipeline
from member_service.models import messaging

log = get_logger(__name__)

LEARNING_STREAM = "LEARNING"
LEARNING_SUBJECTS = ["learning.>"]
TRAINING_SUBJECT = "learning.*.training.hours_recorded"
CONSUMER_NAME = "member__development_training"
EVENT_TYPE = lpb.TrainingHoursRecorded.DESCRIPTOR.full_name


def training_handler(
    pipeline: DevelopmentPipeline,
) -> Callable[[UnitOfWork, Envelope, bytes], Awaitable[None]]:
    async def handle(uow: UnitOfWork, env: Envelope, data: bytes) -> None:
        if env.event_type != EVENT_TYPE:
            return  # another event on the subject: nothing for us
        event = lpb.TrainingHoursRecorded.FromString(data)
        if env.tenant_id is None or (event.tenant_id and event.tenant_id != str(env.tenant_id)):
            log.warning("training event without a matching tenant dropped",
                        event_id=str(env.event_id))  # fmt: skip
            return
        await pipeline.apply_training_event(
            uow.session, env.tenant_id, env.event_id,
            case_id=event.development_case_id, member_id=event.member_id, days=event.days,
            hours_centi=event.class_hours_hundredths, title=event.course_title,
            completed_on=event.completed_on, record_id=event.record_id,
        )  # fmt: skip

    return handle


def consumer_spec(pipeline: DevelopmentPipeline) -> ConsumerSpec:
    return ConsumerSpec(
        name=CONSUMER_NAME,
        stream=LEARNING_STREAM,
        filter_subject=TRAINING_SUBJECT,
        handler=training_handler(pipeline),
    )


class TrainingConsumerJob(StreamConsumerJob):
    """Runs the consumer on its own NATS connection until `stop` is set, once the learning
    service has provisioned its stream."""

    def __init__(
        self,
        db: Database,
        pipeline: DevelopmentPipeline,
        nats_url: str,
        *,
        retry_seconds: float,
        connect: Callable[..., Awaitable[Any]] = nats.connect,
    ):
        super().__init__(
            db, messaging, nats_url, LEARNING_STREAM, [consumer_spec(pipeline)],
            name="member-development-training", retry_seconds=retry_seconds, connect=connect,
        )  # fmt: skip
        self.pipeline = pipeline
