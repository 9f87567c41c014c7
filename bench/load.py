"""A small closed-loop HTTP load generator (bounded in requests and time, loopback only)."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p95_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


async def run_load(
    base_url: str,
    path_for: Callable[[int], str],
    *,
    headers: dict[str, str] | None = None,
    concurrency: int = 16,
    seconds: float = 8.0,
    max_requests: int = 200_000,
) -> LoadResult:
    latencies: list[float] = []
    errors = 0
    counter = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, limits=limits, timeout=10
    ) as client:

        async def worker() -> None:
            nonlocal errors, counter
            while time.perf_counter() < deadline and counter < max_requests:
                counter += 1
                t = time.perf_counter()
                r = await client.get(path_for(counter))
                latencies.append(time.perf_counter() - t)
                if r.status_code != 200:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return LoadResult(len(latencies), errors, elapsed, q[49] * 1000, q[94] * 1000)


def percentiles(samples_ms: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(samples_ms, n=100)
    return q[49], q[94]
