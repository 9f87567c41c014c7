"""Exam submission burst (issue 5): 5,000 learners who started a 5-question exam and saved their
answers all submit within one minute (open loop through the gateway). Afterwards the database is
checked as the owner: every attempt submitted and graded once, every saved answer graded — no
lost answers. The baseline is the same schedule of PUTs against a bare FastAPI route."""

from __future__ import annotations

import asyncio

import aiohttp
import asyncpg
import httpx
from learning import REPORT_PERIOD_S, Tokens, _bare_progress, _ok, learner_headers
from open_loop import Call, run_open_loop

TAKERS = 5_000
QUESTIONS = 5
BURST_S = 60.0


def publish_exam(gateway: str, admin: dict) -> str:
    with httpx.Client(base_url=gateway, timeout=60) as c:
        bank = _ok(c.post("/api/v1/question-banks", headers=admin, json={"name": "基准题库"}))
        ids = [
            _ok(c.post(f"/api/v1/question-banks/{bank['id']}/questions", headers=admin, json={
                "kind": "single", "prompt": f"第{i + 1}题：党的二十大在哪一年召开？",
                "options": ["2021 年", "2022 年", "2023 年"], "answer": [1]}))["id"]
            for i in range(QUESTIONS)
        ]  # fmt: skip
        exam = _ok(c.post("/api/v1/exams", headers=admin, json={
            "title": "二十大精神知识测试（基准）", "time_limit_minutes": 60,
            "items": [{"question_id": q, "points": 20} for q in ids],
            "audiences": [{"kind": "tenant"}], "pass_score": 60}))  # fmt: skip
        _ok(c.post(f"/api/v1/exams/{exam['id']}/publish", headers=admin))
    return exam["id"]


async def prepare_attempts(
    gateway: str, exam_id: str, takers: list[dict]
) -> tuple[list[str], float]:
    """Each taker starts an attempt and saves every answer (closed loop, 32 at a time)."""
    attempts: list[str] = [""] * len(takers)
    gate = asyncio.Semaphore(32)
    loop = asyncio.get_running_loop()
    started = loop.time()
    connector = aiohttp.TCPConnector(limit=32)
    async with aiohttp.ClientSession(gateway, connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=120)) as c:  # fmt: skip

        async def call(method: str, path: str, headers: dict, body=None) -> dict:
            async with c.request(method, path, headers=headers, json=body) as r:
                if r.status >= 400:
                    raise SystemExit(f"{method} {path} -> {r.status}: {(await r.text())[:300]}")
                return await r.json()

        async def take(i: int) -> None:
            async with gate:
                a = (await call("POST", f"/api/v1/exams/{exam_id}/attempts", takers[i]))["attempt"]
                attempts[i] = a["id"]
                for q in a["questions"]:
                    await call("PUT", f"/api/v1/exams/attempts/{a['id']}/answers/{q['position']}",
                               takers[i], {"choices": [i % 3], "version": 1})  # fmt: skip

        await asyncio.gather(*(take(i) for i in range(len(takers))))
    return attempts, loop.time() - started


async def check_nothing_lost(owner_dsn: str, exam_id: str) -> dict:
    conn = await asyncpg.connect(owner_dsn)
    try:
        row = await conn.fetchrow(
            """SELECT count(*) AS attempts,
                      count(*) FILTER (WHERE status = 'graded') AS graded,
                      count(*) FILTER (WHERE submitted_by = 'learner') AS by_learner
               FROM learning.exam_attempts WHERE exam_id = $1""", exam_id)  # fmt: skip
        answers = await conn.fetchrow(
            """SELECT count(*) FILTER (WHERE response IS NOT NULL) AS saved,
                      count(*) FILTER (WHERE response IS NOT NULL AND finalised
                                       AND score IS NOT NULL) AS graded
               FROM learning.exam_answers WHERE exam_id = $1""", exam_id)  # fmt: skip
        events = await conn.fetchval(
            "SELECT count(*) FROM learning.outbox WHERE subject LIKE '%.exam.submitted'"
        )
    finally:
        await conn.close()
    return {**dict(row), "answers_saved": answers["saved"], "answers_graded": answers["graded"],
            "exam_submitted_events": events}  # fmt: skip


async def measure_exam_burst(info: dict, gen, tokens: Tokens, owner_dsn: str) -> dict:
    gateway = info["gateway_url"]
    admin = tokens.bearer("bench-exam-admin", gen.tenant_id, ["tenant_admin"])
    exam_id = publish_exam(gateway, admin)
    takers = learner_headers(tokens, gen.tenant_id, gen.branch_ids, TAKERS, prefix="bench-taker")
    attempts, prep_s = await prepare_attempts(gateway, exam_id, takers)
    burst = await run_open_loop(
        gateway, clients=TAKERS, period_s=BURST_S, duration_s=BURST_S,
        call_for=lambda i, _r: Call("POST", f"/api/v1/exams/attempts/{attempts[i]}/submit",
                                    None, takers[i]),
    )  # fmt: skip
    bare = await _bare_progress(TAKERS, BURST_S, period_s=BURST_S)
    burst["bare_fastapi"] = bare
    burst["p95_ratio_to_bare"] = round(burst["p95_ms"] / max(bare["p95_ms"], 0.1), 1)
    burst["prepare"] = {"attempts": len(attempts), "answers_saved": len(attempts) * QUESTIONS,
                        "seconds": round(prep_s, 1)}  # fmt: skip
    burst["check"] = await check_nothing_lost(owner_dsn, exam_id)
    burst["lost_answers"] = burst["check"]["answers_saved"] - burst["check"]["answers_graded"]
    return burst


__all__ = ["REPORT_PERIOD_S", "measure_exam_burst"]
