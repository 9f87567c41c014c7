"""Training from the learning service (docs/adr/0015): a JetStream consumer of
`hongyun.learning.v1.TrainingHoursRecorded` that adds the hours to the development case, so they
count toward dev.candidate.training_min before step 12.

Idempotent twice over: the platform's IdempotentConsumer records each event id in the inbox in
the handler's transaction (a redelivered event is acked without running the handler), and the
training row's source_event_id is unique. The LEARNING stream belongs to the learning service
(its provision-streams creates it); until it exists the job waits and looks again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import nats
from hongyun.learning.v1 import learning_events_pb2 as lpb
from hongyun_platform.db import Database, UnitOfWork
from hongyun_platform.logging import get_logger
from hongyun_platform.messaging.consumer import ConsumerSpec, IdempotentConsumer
from hongyun_platform.messaging.envelope import Envelope
from nats.js.errors import NotFoundError

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


class TrainingConsumerJob:
    """Runs the consumer on its own NATS connection until `stop` is set."""

    def __init__(
        self,
        db: Database,
        pipeline: DevelopmentPipeline,
        nats_url: str,
        *,
        retry_seconds: float,
        connect: Callable[..., Awaitable[Any]] = nats.connect,
    ):
        self.db = db
        self.pipeline = pipeline
        self.nats_url = nats_url
        self.retry_seconds = retry_seconds
        self.connect = connect

    async def run(self, stop: asyncio.Event) -> None:
        nc = None
        try:
            while not stop.is_set() and nc is None:
                try:
                    nc = await self.connect(self.nats_url, name="member-development-training",
                                            connect_timeout=5, max_reconnect_attempts=-1)  # fmt: skip
                except Exception as exc:
                    log.warning("training consumer cannot reach NATS", error=str(exc))
                    await _wait(stop, self.retry_seconds)
            if nc is None:
                return
            js = nc.jetstream()
            told = False
            while not stop.is_set():
                try:
                    await js.stream_info(LEARNING_STREAM)
                    break
                except NotFoundError:
                    # Said once: until the learning service runs this is the normal state.
                    (log.debug if told else log.info)(
                        "learning stream not provisioned yet", stream=LEARNING_STREAM
                    )
                    told = True
                except Exception as exc:
                    log.warning("learning stream check failed", error=str(exc))
                await _wait(stop, self.retry_seconds)
            if not stop.is_set():
                await IdempotentConsumer(self.db, messaging, js, consumer_spec(self.pipeline)).run(
                    stop
                )
        finally:
            if nc is not None:
                with contextlib.suppress(Exception):
                    await nc.close()


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
