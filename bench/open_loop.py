"""Open-loop load: requests sent on a fixed schedule (e.g. 10,000 learners each reporting once per
30 s), whatever the server's speed — the latency a user sees at a realistic rate, unlike a closed
loop that slows its clients down when the server slows."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from load import percentiles


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    json: Any = None
    headers: dict[str, str] | None = None


async def run_open_loop(
    base_url: str,
    *,
    clients: int,
    period_s: float,
    duration_s: float,
    call_for: Callable[[int, int], Call],
    ok: tuple[int, ...] = (200,),
    max_connections: int = 200,
) -> dict:
    """`clients` each send `call_for(client, round)` once per `period_s`, spread evenly over the
    period, for `duration_s`. Returns offered and achieved rates, p50/p95 latency and errors.

    Latency counts from when a request was due, not from when it was sent: a request that waits
    for a free connection because the server fell behind is late by that wait too (no
    coordinated omission). At most `max_connections` are in flight, so the client's own pool
    never queues thousands of requests. aiohttp, not httpx: on these 2 cores httpx's client
    cost more CPU per request than the server under test."""
    latencies: list[float] = []
    errors: dict[str, int] = {}
    interval = period_s / clients
    total = int(duration_s / interval)
    in_flight = asyncio.Semaphore(max_connections)
    connector = aiohttp.TCPConnector(limit=max_connections)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(base_url, connector=connector, timeout=timeout) as client:

        async def one(i: int, due: float) -> None:
            c = call_for(i % clients, i // clients)
            try:
                async with client.request(c.method, c.path, json=c.json, headers=c.headers) as r:
                    await r.read()
                    status, good = str(r.status), r.status in ok
            except (aiohttp.ClientError, TimeoutError) as exc:
                status, good = type(exc).__name__, False
            finally:
                in_flight.release()
            latencies.append((time.perf_counter() - due) * 1000)
            if not good:
                errors[status] = errors.get(status, 0) + 1

        started = time.perf_counter()
        tasks = []
        for i in range(total):
            due = started + i * interval
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await in_flight.acquire()
            tasks.append(asyncio.create_task(one(i, due)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
    p50, p95 = percentiles(latencies)
    return {
        "requests": total,
        "offered_per_s": round(clients / period_s, 1),
        "achieved_per_s": round(total / elapsed, 1),
        "p50_ms": round(p50, 1),
        "p95_ms": round(p95, 1),
        "errors": errors,
    }
