"""Learning benchmarks (issue 5), through the gateway's REST API as users reach it:

- progress reports of 10,000 learners at their realistic rate (one report per learner per 30 s)
  for two rounds, open loop, beside the same schedule against a bare FastAPI PUT route;
- material downloads from the filesystem store (presigned URLs served by the gateway's /files)
  beside the same file on a plain static file server (downloads.py);
- an exam submission burst (exam_burst.py).

Learners are accounts: their access tokens are minted with the platform's JWT secret (creating
10,000 password hashes would measure argon2, not learning).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
from hongyun_gateway.access_tokens import AccessTokens
from hongyun_platform.embedded import free_port
from open_loop import Call, run_open_loop

LEARNERS = 10_000
REPORT_PERIOD_S = 30.0
VIDEO_SECONDS = 2400  # a 40-minute lecture
VIDEO_BYTES = 64 * 1024 * 1024


class Tokens:
    """Access tokens for synthetic accounts, signed like the gateway signs them."""

    def __init__(self, data_dir: Path):
        secret = json.loads((data_dir / "secrets.json").read_text())["HONGYUN_JWT_SECRET"]
        self._tokens = AccessTokens(secret, timedelta(hours=2))

    def bearer(self, account_id: str, tenant_id, roles: list[str], scope_org_id=None) -> dict:
        token = self._tokens.issue(
            account_id, tenant_id=tenant_id, roles=roles, scope_org_id=scope_org_id
        )
        return {"Authorization": f"Bearer {token.token}"}


def _ok(r: httpx.Response) -> dict:
    if r.status_code >= 400:
        raise SystemExit(f"{r.request.method} {r.request.url} → {r.status_code}: {r.text[:500]}")
    return r.json() if r.content else {}


def publish_video_course(gateway: str, author: dict, admin: dict) -> dict:
    """A 40-minute lecture with a 64 MB video (uploaded in parts), for the whole tenant,
    written by a secretary and approved by the tenant admin (two-person rule)."""
    body = random.Random(5).randbytes(VIDEO_BYTES)
    with httpx.Client(base_url=gateway, timeout=120) as c:
        course = _ok(c.post("/api/v1/courses", headers=author, json={
            "title": "学习贯彻党的二十大精神（基准）", "tags": ["二十大"], "class_hours": "1"}))  # fmt: skip
        cid = course["id"]
        chapter = _ok(c.post(f"/api/v1/courses/{cid}/chapters", headers=author,
                             json={"title": "第一章"}))  # fmt: skip
        item = _ok(c.post(f"/api/v1/courses/{cid}/chapters/{chapter['id']}/items", headers=author,
                          json={"kind": "video", "title": "专题讲座", "length": VIDEO_SECONDS}))  # fmt: skip
        iid = item["id"]
        base = f"/api/v1/courses/{cid}/items/{iid}/materials"
        started = _ok(c.post(base, headers=author, json={
            "filename": "lecture.mp4", "content_type": "video/mp4", "size_bytes": len(body),
            "sha256": hashlib.sha256(body).hexdigest()}))  # fmt: skip
        mid, plan = started["material"]["id"], started["upload"]
        t = time.perf_counter()
        if plan["put_url"]:
            _put(plan["put_url"], body)
        else:
            size, count = plan["part_bytes"], plan["part_count"]
            urls = _ok(c.post(f"{base}/{mid}/part-urls", headers=author,
                              json={"part_numbers": list(range(1, count + 1))}))["urls"]  # fmt: skip
            for u in urls:
                n = u["part_number"]
                _put(u["url"], body[(n - 1) * size : n * size])
        _ok(c.post(f"{base}/{mid}/complete", headers=author, json={"length": VIDEO_SECONDS}))
        upload_s = time.perf_counter() - t
        _ok(c.put(f"/api/v1/courses/{cid}/audiences", headers=admin,
                  json={"audiences": [{"kind": "tenant", "required": True}]}))  # fmt: skip
        _ok(c.post(f"/api/v1/courses/{cid}/submit", headers=author))
        _ok(c.post(f"/api/v1/courses/{cid}/approve", headers=admin))
    return {"course_id": cid, "item_id": iid, "bytes": len(body), "upload_s": round(upload_s, 2)}


def _put(url: str, data: bytes) -> None:
    r = httpx.put(url, content=data, headers={"Content-Type": "video/mp4"}, timeout=120)
    if r.status_code >= 300:
        raise SystemExit(f"PUT {url} → {r.status_code}: {r.text[:300]}")


def learner_headers(
    tokens: Tokens, tenant_id, branch_ids: list, n: int, *, prefix: str = "bench-learner"
) -> list[dict]:
    rng = random.Random(11)
    return [
        tokens.bearer(f"{prefix}-{i}", tenant_id, ["member"], rng.choice(branch_ids))
        for i in range(n)
    ]


async def measure_progress(
    gateway: str, item_id: str, headers: list[dict], rounds: int = 2
) -> dict:
    """Each learner reports once per 30 s, 30 s further into the lecture each time."""
    sessions = [str(uuid.uuid4()) for _ in headers]
    path = f"/api/v1/learning/items/{item_id}/progress"

    def call(learner: int, rnd: int) -> Call:
        return Call("PUT", path, {"session_id": sessions[learner], "position": 30 * rnd},
                    headers[learner])  # fmt: skip

    duration = REPORT_PERIOD_S * rounds
    result = await run_open_loop(gateway, clients=len(headers), period_s=REPORT_PERIOD_S,
                                 duration_s=duration, call_for=call)  # fmt: skip
    bare = await _bare_progress(len(headers), duration)
    result["bare_fastapi"] = bare
    result["p95_ratio_to_bare"] = round(result["p95_ms"] / max(bare["p95_ms"], 0.1), 1)
    result["rate_ratio_to_bare"] = round(
        result["achieved_per_s"] / max(bare["achieved_per_s"], 0.1), 3
    )
    return result


async def _bare_progress(
    clients: int, duration: float, *, period_s: float = REPORT_PERIOD_S
) -> dict:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bare_app:app", "--port", str(port),
         "--log-level", "warning"], cwd=Path(__file__).parent, env={**os.environ},
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(f"{base}/ping", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        sid = str(uuid.uuid4())
        return await run_open_loop(
            base, clients=clients, period_s=period_s, duration_s=duration,
            call_for=lambda i, r: Call("PUT", f"/progress/{i}", {"session_id": sid, "position": 30 * r}),
        )  # fmt: skip
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


def material_file(data_dir: Path) -> Path:
    """The lecture's bytes as the filesystem store keeps them."""
    found = sorted((data_dir / "objects").rglob("lecture.mp4.bin"))
    if not found:
        raise SystemExit("the uploaded lecture was not found in the object store")
    return found[-1]


def download_url(gateway: str, course: dict, headers: dict) -> str:
    r = httpx.get(f"{gateway}/api/v1/courses/{course['course_id']}/items/{course['item_id']}/download",
                  headers=headers, timeout=30)  # fmt: skip
    return _ok(r)["url"]
