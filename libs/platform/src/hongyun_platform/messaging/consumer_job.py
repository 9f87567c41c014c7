"""A background job that consumes another service's stream: connect to NATS (retrying), wait until
the stream exists (its owner provisions it; until then waiting is the normal state, said once in
the log), then run one IdempotentConsumer per spec until `stop` is set."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import nats
from nats.js.errors import NotFoundError

from hongyun_platform.db import Database
from hongyun_platform.logging import get_logger
from hongyun_platform.messaging.consumer import ConsumerSpec, IdempotentConsumer
from hongyun_platform.messaging.tables import MessagingTables

log = get_logger(__name__)


class StreamConsumerJob:
    def __init__(
        self,
        db: Database,
        tables: MessagingTables,
        nats_url: str,
        stream: str,
        specs: Sequence[ConsumerSpec],
        *,
        name: str,
        retry_seconds: float,
        connect: Callable[..., Awaitable[Any]] = nats.connect,
    ):
        self.db, self.tables, self.nats_url = db, tables, nats_url
        self.stream, self.specs, self.name = stream, list(specs), name
        self.retry_seconds = retry_seconds
        self.connect = connect

    async def run(self, stop: asyncio.Event) -> None:
        nc = None
        try:
            while not stop.is_set() and nc is None:
                try:
                    nc = await self.connect(self.nats_url, name=self.name,
                                            connect_timeout=5, max_reconnect_attempts=-1)  # fmt: skip
                except Exception as exc:
                    log.warning("consumer cannot reach NATS", job=self.name, error=str(exc))
                    await wait_or_stop(stop, self.retry_seconds)
            if nc is None:
                return
            js = nc.jetstream()
            if await self._stream_ready(js, stop):
                consumers = [IdempotentConsumer(self.db, self.tables, js, s) for s in self.specs]
                await asyncio.gather(*(c.run(stop) for c in consumers))
        finally:
            if nc is not None:
                with contextlib.suppress(Exception):
                    await nc.close()

    async def _stream_ready(self, js: Any, stop: asyncio.Event) -> bool:
        told = False
        while not stop.is_set():
            try:
                await js.stream_info(self.stream)
                return True
            except NotFoundError:
                (log.debug if told else log.info)("stream not provisioned yet", stream=self.stream)
                told = True
            except Exception as exc:
                log.warning("stream check failed", stream=self.stream, error=str(exc))
            await wait_or_stop(stop, self.retry_seconds)
        return False


async def wait_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
