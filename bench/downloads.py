"""Material download throughput: whole-file downloads and 1 MiB range reads (a video player
seeking) of one study material through its presigned filesystem-store URL (the gateway's /files),
beside the same file served by a plain static file server (bench/static_app.py) in the same run."""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from hongyun_platform.embedded import free_port
from load import percentiles

RANGE_BYTES = 1024 * 1024


async def _pull(url: str, *, seconds: float, concurrency: int, size: int, ranged: bool) -> dict:
    """Bytes/s and per-request latency of repeated GETs for `seconds` (closed loop)."""
    latencies: list[float] = []
    received = errors = 0
    deadline = time.perf_counter() + seconds
    rng = random.Random(7)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:

        async def worker() -> None:
            nonlocal received, errors
            while time.perf_counter() < deadline:
                headers = {}
                if ranged:
                    start = rng.randrange(0, max(1, size - RANGE_BYTES))
                    headers["Range"] = f"bytes={start}-{start + RANGE_BYTES - 1}"
                t = time.perf_counter()
                async with client.stream("GET", url, headers=headers) as r:
                    async for chunk in r.aiter_bytes(256 * 1024):
                        received += len(chunk)
                    if r.status_code != (206 if ranged else 200):
                        errors += 1
                latencies.append((time.perf_counter() - t) * 1000)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    p50, p95 = percentiles(latencies) if len(latencies) > 1 else (latencies[0], latencies[0])
    return {
        "requests": len(latencies),
        "errors": errors,
        "mb_per_s": round(received / elapsed / 1e6, 1),
        "p50_ms": round(p50, 1),
        "p95_ms": round(p95, 1),
    }


def start_static_server(directory: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "static_app:app", "--port", str(port),
         "--log-level", "warning"],
        cwd=Path(__file__).parent, env={"BENCH_STATIC_DIR": str(directory), "PATH": ""},
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            httpx.get(base + "/", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    return proc, base


async def measure_downloads(signed_url: str, file_path: Path, size: int, seconds: float) -> dict:
    """`signed_url`: the material's presigned URL; `file_path`: the same bytes on disk."""
    static, base = start_static_server(file_path.parent)
    try:
        static_url = f"{base}/{file_path.name}"
        out = {"file_mb": round(size / 1e6, 1)}
        for label, ranged, conc in (("whole_file", False, 4), ("range_1mib", True, 16)):
            store = await _pull(
                signed_url, seconds=seconds, concurrency=conc, size=size, ranged=ranged
            )
            plain = await _pull(
                static_url, seconds=seconds, concurrency=conc, size=size, ranged=ranged
            )
            store["ratio_to_static"] = round(store["mb_per_s"] / max(plain["mb_per_s"], 0.1), 3)
            out[label] = {"filesystem_store": store, "static_server": plain}
        return out
    finally:
        static.send_signal(signal.SIGTERM)
        static.wait(10)
