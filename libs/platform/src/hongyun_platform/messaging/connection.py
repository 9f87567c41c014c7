"""The NATS connection of a service process: reconnects for ever (the outbox keeps events while
NATS is away), logs errors instead of raising them."""

from __future__ import annotations

import nats

from hongyun_platform.logging import get_logger

log = get_logger(__name__)


async def connect_nats(url: str, name: str) -> nats.NATS:
    async def on_error(exc: Exception) -> None:
        log.warning("nats error", error=str(exc))

    return await nats.connect(
        url, name=name, max_reconnect_attempts=-1, reconnect_time_wait=0.5,
        allow_reconnect=True, error_cb=on_error, connect_timeout=5,
    )  # fmt: skip
