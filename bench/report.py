"""Writes docs/benchmarks.md from a results dict (each figure beside its same-run baseline)."""

from __future__ import annotations

from pathlib import Path


def write_report(r: dict, path: Path) -> None:
    g = r["gateway"]
    c = r["member_counts"]
    lines = [
        "# Benchmarks",
        "",
        "Produced by `make bench` (`bench/run.py`); raw numbers in `bench/results/latest.json`.",
        "Each figure is reported beside a baseline measured in the same run on the same machine;",
        "absolute numbers from a 2-core machine are noisy (±20 %), ratios less so. No test asserts",
        "on time.",
        "",
        f"Last run: {r['when']} on {r['machine']}; scale {r['scale']}: {r['organizations']:,} "
        f"organisations in 5 levels, {r['members']:,} members (generated and bulk-loaded in "
        f"{r['generate_seconds']} s, encryption included).",
        "",
        "## Gateway throughput (closed loop, 16 connections, client on the same 2 cores)",
        "",
        "| route | req/s | p50 ms | p95 ms | errors | ratio to bare FastAPI |",
        "|---|---|---|---|---|---|",
    ]
    names = {
        "bare_fastapi": "bare FastAPI `GET /ping` (baseline)",
        "get_member": "`GET /api/v1/members/{id}` (JWT, gRPC, SQL, decrypt + mask)",
        "list_members_of_branch": "`GET /api/v1/members?organization_id=<branch>&limit=50`",
    }
    for key, label in names.items():
        x = g[key]
        lines.append(
            f"| {label} | {x['rps']:,} | {x['p50_ms']} | {x['p95_ms']} | {x['errors']} | {x['ratio_to_bare']} |"
        )
    lines += [
        "",
        "## Member counts by status and category (`MemberStatsService.CountMembers`, gRPC)",
        "",
        "| subtree | members | p50 ms | p95 ms | target |",
        "|---|---|---|---|---|",
        f"| a city | {c['city']['members']:,} | {c['city']['p50_ms']} | {c['city']['p95_ms']} | < 20 ms |",
        f"| the province root | {c['province_root']['members']:,} | {c['province_root']['p50_ms']} | "
        f"{c['province_root']['p95_ms']} | < 20 ms |",
        "",
    ]
    if "what_is_due" in r:
        d = r["what_is_due"]
        records = ", ".join(f"{n:,} {k.replace('_', ' ')}" for k, n in d["records"].items())
        lines += [
            "## What is due (`DueService.ListDue`, gRPC, every kind, 20 items per kind)",
            "",
            f"Records behind it, bulk-loaded into the province: {records}. Baseline: "
            "`CountMembers` of the same subtree in the same run (a rollup lookup).",
            "",
            "| subtree | items by kind | p50 ms | p95 ms | p50 ÷ CountMembers p50 |",
            "|---|---|---|---|---|",
        ]
        for where, label in (("city", "a city"), ("province_root", "the province root")):
            x = d[where]
            kinds = ", ".join(f"{k} {n:,}" for k, n in x["items_by_kind"].items())
            lines.append(
                f"| {label} | {kinds} | {x['p50_ms']} | {x['p95_ms']} | {x['ratio_to_counts_p50']} |"
            )
        lines.append("")
    if "development_evaluation" in r:
        x = r["development_evaluation"]
        lines += [
            "## Development pipeline evaluation of the whole province",
            "",
            "Every development case (a person between application and conversion) evaluated as"
            " `GetDevelopmentCase` does: ORM rows and mappers of the member service, then"
            " `domain.development.evaluate` (stage, next step, deadline, blockers) with the"
            " tenant's rules. Baseline: the same case and step rows fetched raw with asyncpg.",
            "",
            "| cases | step rows | seconds | cases/s | baseline raw fetch cases/s | ratio |"
            " overdue | blocked today |",
            "|---|---|---|---|---|---|---|---|",
            f"| {x['cases']:,} | {x['step_rows']:,} | {x['seconds']} | {x['cases_per_s']:,} | "
            f"{x['baseline_raw_fetch_cases_per_s']:,} | {x['ratio_to_raw_fetch']} | "
            f"{x['overdue']:,} | {x['blocked_today']:,} |",
            "",
        ]
    if "search" in r:
        lines += [
            "## Member search (`MemberSearchService.SearchMembers`, gRPC, whole province unless noted)",
            "",
            "| query kind | queries | with hits | p50 ms | p95 ms | target p95 |",
            "|---|---|---|---|---|---|",
        ]
        for kind, x in r["search"].items():
            lines.append(
                f"| {kind} | {x['queries']} | {x['with_hits']} | {x['p50_ms']} | {x['p95_ms']} | < 30 ms |"
            )
        lines.append("")
    if "import_xlsx" in r:
        x = r["import_xlsx"]
        lines += [
            "## Import of a template workbook (.xlsx, valid-rows-only, through gRPC, job polled)",
            "",
            "| rows | accepted | seconds | rows/s | baseline: raw COPY rows/s | ratio | target |",
            "|---|---|---|---|---|---|---|",
            f"| {x['rows']:,} | {x['accepted']:,} | {x['seconds']} | {x['rows_per_s']:,} | "
            f"{r['baseline_raw_copy_rows_per_s']:,} | {x['ratio_to_raw_copy']} | 100k rows < 10 s |",
            "",
        ]
        if x.get("phases_s"):
            lines += [
                "Where the import's time goes (seconds, from the job's log line; validate and "
                "encrypt run in worker processes, summed over them, overlapping the writes):",
                "",
                "| " + " | ".join(x["phases_s"]) + " |",
                "|" + "---|" * len(x["phases_s"]),
                "| " + " | ".join(f"{v:.1f}" for v in x["phases_s"].values()) + " |",
                "",
            ]
    if "event_relay" in r:
        e = r["event_relay"]
        lines += [
            "## Event relay after the import (outbox → JetStream, at-least-once)",
            "",
            "| events | payload bytes | seconds to drain | events/s | baseline: raw JetStream "
            "publish msgs/s | ratio |",
            "|---|---|---|---|---|---|",
            f"| {e['events']:,} | {e['payload_bytes']} | {e['seconds']} | {e['events_per_s']:,} | "
            f"{e['baseline_raw_publish_per_s']:,} | {e['ratio_to_raw_publish']} |",
            "",
        ]
    if "learning" in r:
        lines += learning_section(r["learning"])
    lines += [
        f"Baseline in the same run: raw PostgreSQL COPY of the same member rows (already encrypted "
        f"CSV into an unlogged table): {r['baseline_raw_copy_rows_per_s']:,} rows/s.",
        "",
    ]
    notes = path.parent / "benchmarks-notes.md"
    if notes.exists():
        lines += ["## Notes", "", notes.read_text().strip(), ""]
    path.write_text("\n".join(lines))


def learning_section(x: dict) -> list[str]:
    """Issue 5: progress reports, material downloads, the exam submission burst."""
    p, d, b = x["progress_reports"], x["material_downloads"], x.get("exam_burst")
    failed = b.get("error") if b else None
    b = None if failed else b
    when = (
        f" (measured {x['when']} on a platform with {x['members']:,} members)"
        if "when" in x
        else ""
    )
    lines = [
        f"## Learning{when}",
        "",
        "Through the gateway's REST API, open loop: requests are sent on schedule whatever the",
        "server's speed, and latency counts from when a request was due (time spent waiting for",
        "a free connection included). The bare FastAPI route gets the same schedule.",
        "",
        "| load | offered/s | achieved/s | p50 ms | p95 ms | errors | bare FastAPI p95 ms | "
        "p95 ratio | rate ratio |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| progress reports: {p['requests']:,} from 10,000 learners, one per learner per 30 s | "
        f"{p['offered_per_s']} | {p['achieved_per_s']} | {p['p50_ms']} | {p['p95_ms']} | "
        f"{sum(p['errors'].values())} | {p['bare_fastapi']['p95_ms']} | {p['p95_ratio_to_bare']} | "
        f"{p['rate_ratio_to_bare']} |",
    ]
    if b:
        lines.append(
            f"| exam submissions: {b['requests']:,} learners submit within 60 s | "
            f"{b['offered_per_s']} | {b['achieved_per_s']} | {b['p50_ms']} | {b['p95_ms']} | "
            f"{sum(b['errors'].values())} | {b['bare_fastapi']['p95_ms']} | {b['p95_ratio_to_bare']} | "
            f"{round(b['achieved_per_s'] / max(b['bare_fastapi']['achieved_per_s'], 0.1), 3)} |"
        )
    lines.append("")
    if failed:
        lines += [f"The exam burst failed in this run: `{failed}`.", ""]
    if b:
        c = b["check"]
        lines += [
            f"Exam burst, checked in the database afterwards: {c['attempts']:,} attempts, "
            f"{c['graded']:,} graded ({c['by_learner']:,} submitted by the learner), "
            f"{c['answers_saved']:,} answers saved and {c['answers_graded']:,} graded — "
            f"**{b['lost_answers']} lost**; {c['exam_submitted_events']:,} `ExamSubmitted` events. "
            f"Preparing (start + {b['prepare']['answers_saved']:,} autosaves, 32 at a time) took "
            f"{b['prepare']['seconds']} s.",
            "",
        ]
    lines += [
        f"Material downloads ({d['file_mb']} MB video, filesystem store's presigned URL served by "
        "the gateway, beside the same file from Starlette `StaticFiles` on uvicorn):",
        "",
        "| pattern | store MB/s | p95 ms | static server MB/s | p95 ms | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for key, label in (("whole_file", "whole file, 4 at a time"),
                       ("range_1mib", "1 MiB range reads (seeking), 16 at a time")):  # fmt: skip
        s, t = d[key]["filesystem_store"], d[key]["static_server"]
        lines.append(
            f"| {label} | {s['mb_per_s']} | {s['p95_ms']} | {t['mb_per_s']} | {t['p95_ms']} | "
            f"{s['ratio_to_static']} |"
        )
    return [*lines, ""]
