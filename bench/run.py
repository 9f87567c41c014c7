"""`make bench`: generate a province-scale tenant and measure, each figure beside a baseline
measured in the same run. Results: bench/results/latest.json and docs/benchmarks.md.

    python bench/run.py [--scale 1.0] [--seconds 8]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import grpc
from hongyun.member.v1 import member_stats_pb2 as spb
from hongyun.member.v1 import member_stats_pb2_grpc
from hongyun_platform.crypto import FieldCipher, Keyring
from hongyun_platform.embedded import free_port
from hongyun_platform.grpc.context import ROLE_SECRETARY, ROLE_TENANT_ADMIN, CallerContext

sys.path.insert(0, str(Path(__file__).parent))
from downloads import measure_downloads
from events import measure_relay_drain, raw_jetstream_publish
from exam_burst import measure_exam_burst
from generate import MEMBER_COLUMNS, NULL, generate
from import_search import import_workbook, measure_import, measure_search, search_queries
from learning import (
    LEARNERS,
    Tokens,
    download_url,
    learner_headers,
    material_file,
    measure_progress,
    publish_video_course,
)
from lifecycle import load_lifecycle, measure_due, measure_evaluation
from load import percentiles, run_load
from report import write_report

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "Bench@2026pass"


def start_platform(data: Path) -> tuple[subprocess.Popen, dict]:
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    log = open(data / "run.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "run_platform.py"), "--data-dir", str(data),
         "--port", "0", "--member-port", "0", "--learning-port", "0", "--nats-port", "0"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 180
    while not (data / "run.json").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("platform did not start: " + (data / "run.log").read_text()[-2000:])
        time.sleep(0.3)
    return proc, json.loads((data / "run.json").read_text())


def import_phases(member_log: Path) -> dict[str, float]:
    """Seconds per phase of the last import job, from the member service's own log line
    (validate and encrypt are summed over the worker processes, so they overlap the rest)."""
    found: dict[str, float] = {}
    for line in member_log.read_text(errors="replace").splitlines():
        if "import job finished" in line:
            plain = re.sub(r"\x1b\[[0-9;]*m", "", line)
            found = {k: float(v) for k, v in re.findall(r"(\w+)_s=([0-9.]+)", plain)}
    return found


def cipher_for(data: Path) -> FieldCipher:
    s = json.loads((data / "secrets.json").read_text())
    keyring = Keyring.from_env_string(s["HONGYUN_FIELD_KEYS"], algorithm="AES-GCM")
    return FieldCipher(keyring, index_key=base64.b64decode(s["HONGYUN_BLIND_INDEX_KEY"]))


def asyncpg_dsn(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://")


async def raw_copy_baseline(dsn: str, data: bytes) -> float:
    """rows/s of PostgreSQL COPY of the same member rows into a plain table."""
    cols = MEMBER_COLUMNS
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("DROP TABLE IF EXISTS public.bench_copy")
        await conn.execute(
            "CREATE UNLOGGED TABLE public.bench_copy (LIKE member.members INCLUDING DEFAULTS)"
        )
        t = time.perf_counter()
        await conn.copy_to_table(
            "bench_copy",
            schema_name="public",
            columns=cols,
            source=io.BytesIO(data),
            format="csv",
            null=NULL,
        )
        elapsed = time.perf_counter() - t
        n = await conn.fetchval("SELECT count(*) FROM public.bench_copy")
        await conn.execute("DROP TABLE public.bench_copy")
    finally:
        await conn.close()
    return n / elapsed


async def measure_counts(target: str, caller: CallerContext, org_id: str, runs: int = 30) -> dict:
    async with grpc.aio.insecure_channel(target) as ch:
        stub = member_stats_pb2_grpc.MemberStatsServiceStub(ch)
        req = spb.CountMembersRequest(organization_id=org_id)
        samples, total = [], 0
        for i in range(runs + 3):
            t = time.perf_counter()
            resp = await stub.CountMembers(req, metadata=caller.to_metadata(), timeout=60)
            if i >= 3:  # warm-up excluded
                samples.append((time.perf_counter() - t) * 1000)
            total = resp.total
    p50, p95 = percentiles(samples)
    return {"members": total, "p50_ms": round(p50, 1), "p95_ms": round(p95, 1)}


async def measure_gateway(info: dict, gen, seconds: float) -> dict:
    port = free_port()
    bare = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bare_app:app", "--port", str(port), "--log-level", "warning"],
        cwd=Path(__file__).parent,
    )  # fmt: skip
    try:
        import httpx

        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{port}/ping", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        base = await run_load(f"http://127.0.0.1:{port}", lambda i: "/ping", seconds=seconds)
    finally:
        bare.send_signal(signal.SIGTERM)
        bare.wait(10)
    import httpx

    token = httpx.post(f"{info['gateway_url']}/api/v1/auth/login",
                       json={"username": "bench-admin", "password": PASSWORD}).json()["access_token"]  # fmt: skip
    auth = {"Authorization": f"Bearer {token}"}
    ids, branches = gen.member_ids_sample, gen.branch_ids
    get_member = await run_load(info["gateway_url"], lambda i: f"/api/v1/members/{ids[i % len(ids)]}",
                                headers=auth, seconds=seconds)  # fmt: skip
    list_members = await run_load(
        info["gateway_url"], lambda i: f"/api/v1/members?organization_id={branches[i % len(branches)]}&limit=50",
        headers=auth, seconds=seconds,
    )  # fmt: skip

    def row(r):
        return {"rps": round(r.rps), "p50_ms": round(r.p50_ms, 1), "p95_ms": round(r.p95_ms, 1),
                "errors": r.errors, "ratio_to_bare": round(r.rps / base.rps, 3)}  # fmt: skip

    return {
        "bare_fastapi": row(base),
        "get_member": row(get_member),
        "list_members_of_branch": row(list_members),
    }


async def measure_learning(info: dict, gen, data: Path, seconds: float, only_exam=False) -> dict:
    """Issue 5: progress at 10,000 learners' rate, material downloads, the exam burst."""
    tokens = Tokens(data)
    if only_exam:
        dsn = asyncpg_dsn(info["owner_database_url"])
        return {"exam_burst": await measure_exam_burst(info, gen, tokens, dsn)}
    admin = tokens.bearer("bench-learning-admin", gen.tenant_id, ["tenant_admin"])
    author = tokens.bearer("bench-author", gen.tenant_id, ["secretary"], gen.root_id)
    gateway = info["gateway_url"]
    course = publish_video_course(gateway, author, admin)
    print(f"  learning course {course}", flush=True)
    learners = learner_headers(tokens, gen.tenant_id, gen.branch_ids, LEARNERS)
    progress = await measure_progress(gateway, course["item_id"], learners)
    print(f"  progress {progress}", flush=True)
    downloads = await measure_downloads(
        download_url(gateway, course, learners[0]), material_file(data), course["bytes"], seconds
    )
    print(f"  downloads {downloads}", flush=True)
    try:
        burst = await measure_exam_burst(info, gen, tokens, asyncpg_dsn(info["owner_database_url"]))
    except Exception as exc:  # keep the other figures of a long run
        burst = {"error": repr(exc)}
    print(f"  exam burst {burst}", flush=True)
    return {"course": course, "progress_reports": progress, "material_downloads": downloads,
            "exam_burst": burst}  # fmt: skip


async def main_async(args) -> None:
    data = ROOT / ".bench-data" / f"s{args.scale}"
    proc, info = start_platform(data)
    try:
        owner_dsn = asyncpg_dsn(info["owner_database_url"])
        code = f"bench-{int(time.time())}"
        print(f"generating scale {args.scale} …", flush=True)
        gen = await generate(owner_dsn, cipher_for(data), code=code, scale=args.scale)
        print(
            f"  {gen.organizations} organisations, {gen.members} members in {gen.seconds:.1f}s",
            flush=True,
        )
        os.environ.update(
            {"HONGYUN_ENV": "dev", "HONGYUN_GATEWAY_DATABASE_URL": info["database_url"]}
        )
        from hongyun_gateway.commands import create_account
        from hongyun_gateway.settings import GatewaySettings

        await create_account(GatewaySettings(), username="bench-admin", password=PASSWORD,
                             roles=["tenant_admin"], tenant=str(gen.tenant_id))  # fmt: skip
        if args.only in ("learning", "exam"):  # one part, merged into the last full run's results
            learning = await measure_learning(info, gen, data, args.seconds, args.only == "exam")
            learning.update(
                when=datetime.now(UTC).isoformat(timespec="seconds"), members=gen.members
            )
            out = ROOT / "bench" / "results" / "latest.json"
            results = json.loads(out.read_text()) if out.exists() else None
            print(json.dumps(learning, indent=2, ensure_ascii=False), flush=True)
            if results and args.only == "exam":
                results["learning"].update(
                    exam_burst=learning["exam_burst"], exam_when=learning["when"]
                )
            elif results:
                results["learning"] = learning
                out.write_text(json.dumps(results, indent=2, ensure_ascii=False))
                write_report(results, ROOT / "docs" / "benchmarks.md")
            return
        copy_rps = await raw_copy_baseline(owner_dsn, gen.member_csv)
        admin = CallerContext("bench", gen.tenant_id, frozenset({ROLE_TENANT_ADMIN}))
        counts = {
            "city": await measure_counts(info["member_grpc"], admin, str(gen.city_ids[0])),
            "province_root": await measure_counts(info["member_grpc"], admin, str(gen.root_id)),
        }
        print(f"  counts {counts}", flush=True)
        lifecycle_rows = await load_lifecycle(owner_dsn, gen, cipher_for(data))
        due = {
            "records": lifecycle_rows,
            "city": await measure_due(info["member_grpc"], admin, gen.city_ids[0]),
            "province_root": await measure_due(info["member_grpc"], admin, gen.root_id),
        }
        for where in ("city", "province_root"):
            due[where]["ratio_to_counts_p50"] = round(
                due[where]["p50_ms"] / max(counts[where]["p50_ms"], 0.1), 1
            )
        print(f"  what is due {due}", flush=True)
        evaluation = await measure_evaluation(info["owner_database_url"], owner_dsn, gen.tenant_id)
        print(f"  development evaluation {evaluation}", flush=True)
        queries = search_queries(gen.people)
        search = await measure_search(info["member_grpc"], admin, queries)
        # A city secretary: the same names, searched inside a subtree of 5,000 organisations.
        city_secretary = CallerContext(
            "bench-sec", gen.tenant_id, frozenset({ROLE_SECRETARY}), scope_org_id=gen.city_ids[0]
        )
        scoped = await measure_search(
            info["member_grpc"], city_secretary, {"chinese_name": queries["chinese_name"]}
        )
        search["chinese_name, city secretary's scope"] = scoped["chinese_name"]
        print(f"  search {search}", flush=True)
        import_rows = max(1000, round(100_000 * min(1.0, args.scale * 10)))
        xlsx = import_workbook(import_rows, gen.branch_paths)
        imported = await measure_import(info["member_grpc"], admin, xlsx, import_rows)
        imported["ratio_to_raw_copy"] = round(imported["rows_per_s"] / copy_rps, 3)
        imported["phases_s"] = import_phases(data / "logs" / "member.log")
        print(f"  import {imported}", flush=True)
        # The import's MemberRegistered events, relayed to JetStream; drained before the gateway
        # load so the relay does not share the cores with it.
        relay = await measure_relay_drain(owner_dsn)
        raw_rps = await raw_jetstream_publish(
            info["nats_url"], min(relay["events"] or 1000, 50_000), relay["payload_bytes"]
        )
        relay["baseline_raw_publish_per_s"] = round(raw_rps)
        relay["ratio_to_raw_publish"] = round(relay["events_per_s"] / raw_rps, 3)
        print(f"  relay {relay}", flush=True)
        gateway = await measure_gateway(info, gen, args.seconds)
        print(f"  gateway {gateway}", flush=True)
        learning = await measure_learning(info, gen, data, args.seconds)
        results = {
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
            "scale": args.scale,
            "organizations": gen.organizations,
            "members": gen.members,
            "generate_seconds": round(gen.seconds, 1),
            "baseline_raw_copy_rows_per_s": round(copy_rps),
            "member_counts": counts,
            "what_is_due": due,
            "development_evaluation": evaluation,
            "search": search,
            "import_xlsx": imported,
            "event_relay": relay,
            "gateway": gateway,
            "learning": learning,
        }
        out = ROOT / "bench" / "results"
        out.mkdir(exist_ok=True)
        (out / "latest.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
        write_report(results, ROOT / "docs" / "benchmarks.md")
        print("results: bench/results/latest.json, docs/benchmarks.md", flush=True)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=float(os.environ.get("SCALE", "1.0")))
    parser.add_argument("--seconds", type=float, default=8.0, help="duration of each load phase")
    parser.add_argument("--only", choices=["learning", "exam"],
                        help="run one part and merge it into bench/results/latest.json")  # fmt: skip
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
