"""Event delivery after a bulk write: how fast the outbox relay drains the import's events to
JetStream, beside raw JetStream publishing of as many messages of the same size from this
process (the baseline, measured in the same run on a scratch stream)."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import nats

PENDING = "SELECT count(*), coalesce(avg(length(payload)), 0) FROM member.outbox WHERE published_at IS NULL"


async def measure_relay_drain(dsn: str, *, timeout_s: float = 900) -> dict:
    """Waits until the outbox is empty; events/s from the pending count at the start."""
    conn = await asyncpg.connect(dsn)
    try:
        started = time.perf_counter()
        pending, size = await conn.fetchrow(PENDING)
        while True:
            left = (await conn.fetchrow(PENDING))[0]
            if left == 0 or time.perf_counter() - started > timeout_s:
                break
            await asyncio.sleep(0.5)
        seconds = time.perf_counter() - started
    finally:
        await conn.close()
    return {
        "events": pending,
        "left": left,
        "payload_bytes": round(size),
        "seconds": round(seconds, 1),
        "events_per_s": round(pending / seconds) if seconds and pending else 0,
    }


async def raw_jetstream_publish(nats_url: str, count: int, payload_bytes: int) -> float:
    """Messages/s of plain JetStream publishes (acked, de-duplication ids, 500 in flight)."""
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await js.add_stream(name="BENCH_RAW", subjects=["bench-raw.>"])
    try:
        payload = b"x" * max(1, payload_bytes)
        started = time.perf_counter()
        for i in range(0, count, 500):
            acks = [
                await js.publish_async(
                    "bench-raw.event", payload, headers={"Nats-Msg-Id": f"raw-{i + j}"}
                )
                for j in range(min(500, count - i))
            ]
            await asyncio.gather(*acks)
        return count / (time.perf_counter() - started)
    finally:
        await js.delete_stream("BENCH_RAW")
        await nc.close()
