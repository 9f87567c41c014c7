"""Member lifecycle at province scale: the records behind the "what is due" view, bulk-loaded
with COPY, and the view's latency for a city and the province root (docs/adr/0014).

Baseline in the same run: `CountMembers` of the same subtree (a primary-key lookup on rollups,
the cheapest scoped call the member service answers), so the ratio shows what the view's SQL adds
on top of a gRPC round trip with scope checks.
"""

from __future__ import annotations

import io
import random
import time
import uuid
from datetime import date

import asyncpg
import grpc
from generate import NULL, _csv
from hongyun.member.v1 import member_due_pb2 as dpb
from hongyun.member.v1 import member_due_pb2_grpc
from hongyun_platform.grpc.context import CallerContext
from hongyun_platform.ids import new_id
from load import percentiles
from member_service.domain.dates import add_months, add_years

TERM_COLUMNS = ["id", "tenant_id", "organization_id", "unit_kind", "started_on", "term_years",
                "ends_on", "rule_citation", "created_by"]  # fmt: skip


async def load_terms(conn: asyncpg.Connection, gen, rnd: random.Random, today: date) -> int:
    """One committee term per branch and city, started over the last 3½ years (a few overdue)."""
    rows = []
    for org_id in [gen.root_id, *gen.city_ids, *gen.branch_ids]:
        started = date.fromordinal(today.toordinal() - rnd.randrange(0, 3 * 365 + 180))
        rows.append([new_id(), gen.tenant_id, org_id, "other", started, 3,
                     add_years(started, 3), "支部工作条例（试行）第九条", "bench"])  # fmt: skip
    await conn.copy_to_table("committee_terms", schema_name="member", columns=TERM_COLUMNS,
                             source=io.BytesIO(_csv(rows)), format="csv", null=NULL)  # fmt: skip
    return len(rows)


ACCOUNT_COLUMNS = ["member_id", "tenant_id", "organization_id", "start_month", "paid_through"]
STANDARD_COLUMNS = ["id", "tenant_id", "member_id", "effective_month", "dues_group", "monthly_fen",
                    "rate_per_mille", "rule_key", "rule_value", "rule_citation", "rule_source",
                    "rounding_value", "created_by"]  # fmt: skip


async def load_dues(conn: asyncpg.Connection, gen, rnd: random.Random, today: date) -> int:
    """A standard and an account for every member since January 2024: 90 % paid up, the rest
    1 to 12 months behind (so a few per branch are in arrears, as in a real province)."""
    members = await conn.fetch(
        "SELECT id, organization_id FROM member.members WHERE tenant_id = $1", gen.tenant_id
    )
    this_month = today.replace(day=1)
    start = date(2024, 1, 1)
    accounts, standards = [], []
    for m in members:
        behind = 0 if rnd.random() < 0.9 else rnd.choice((1, 1, 2, 2, 3, 4, 5, 6, 8, 12))
        paid = add_months(this_month, -behind)
        accounts.append([m["id"], gen.tenant_id, m["organization_id"], start, paid])
        standards.append([new_id(), gen.tenant_id, m["id"], start, "employed", 1500, 10,
                          "dues.rate.employed", '[{"up_to_yuan":null,"per_mille":10}]',
                          "党费规定 2008", "national",
                          '{"step_fen":1,"mode":"half_up","min_fen":1}', "bench"])  # fmt: skip
    await conn.copy_to_table("dues_standards", schema_name="member", columns=STANDARD_COLUMNS,
                             source=io.BytesIO(_csv(standards)), format="csv", null=NULL)  # fmt: skip
    await conn.copy_to_table("dues_accounts", schema_name="member", columns=ACCOUNT_COLUMNS,
                             source=io.BytesIO(_csv(accounts)), format="csv", null=NULL)  # fmt: skip
    return len(accounts)


LETTER_COLUMNS = ["id", "tenant_id", "member_id", "scope", "state", "from_organization_id",
                  "from_organization_name", "destination", "member_name", "member_gender",
                  "member_birth_date", "member_category", "member_id_number_enc", "key_id",
                  "dues_paid_until", "letter_number", "valid_days", "validity_citation",
                  "validity_source", "issued_on", "valid_until", "created_by"]  # fmt: skip


async def load_letters(conn: asyncpg.Connection, gen, rnd: random.Random, today: date) -> int:
    """Issued letters out of the platform for 0.3 % of members (a province sends a few thousand
    a year), issued over the last 120 days with 90 days' validity: some expired, some expiring."""
    members = await conn.fetch(
        "SELECT m.id, m.name, m.gender, m.birth_date, m.category, m.id_number_enc, m.key_id,"
        " o.id AS org_id, o.name AS org_name FROM member.members m"
        " JOIN member.organizations o ON o.id = m.organization_id"
        " WHERE m.tenant_id = $1 AND m.departed_on IS NULL",
        gen.tenant_id,
    )
    rows = []
    for n, m in enumerate(rnd.sample(list(members), max(1, len(members) * 3 // 1000))):
        issued = date.fromordinal(today.toordinal() - rnd.randrange(0, 120))
        until = date.fromordinal(issued.toordinal() + 89)
        rows.append([new_id(), gen.tenant_id, m["id"], "out_of_platform", "issued", m["org_id"],
                     m["org_name"], "外省某市某党支部", m["name"], m["gender"], m["birth_date"],
                     m["category"], "\\x" + bytes(m["id_number_enc"]).hex(), m["key_id"],
                     today.replace(day=1), f"BENCH-{n:07d}", 90, "基准", "national", issued,
                     until, "bench"])  # fmt: skip
    await conn.copy_to_table("letters", schema_name="member", columns=LETTER_COLUMNS,
                             source=io.BytesIO(_csv(rows)), format="csv", null=NULL)  # fmt: skip
    return len(rows)


async def load_lifecycle(dsn: str, gen, *, seed: int = 11) -> dict[str, int]:
    """The lifecycle records of the generated province; returns how many of each."""
    from member_service.domain.dates import china_today

    rnd, today = random.Random(seed), china_today()
    conn = await asyncpg.connect(dsn)
    try:
        counts = {
            "committee_terms": await load_terms(conn, gen, rnd, today),
            "dues_accounts": await load_dues(conn, gen, rnd, today),
            "letters": await load_letters(conn, gen, rnd, today),
        }
        for table in ("committee_terms", "dues_standards", "dues_accounts", "letters"):
            await conn.execute(f"VACUUM (ANALYZE) member.{table}")
    finally:
        await conn.close()
    return counts


async def measure_due(
    target: str, caller: CallerContext, org_id: uuid.UUID, runs: int = 20
) -> dict:
    async with grpc.aio.insecure_channel(target) as ch:
        stub = member_due_pb2_grpc.DueServiceStub(ch)
        req = dpb.ListDueRequest(organization_id=str(org_id), limit=20)
        samples, resp = [], None
        for i in range(runs + 3):
            t = time.perf_counter()
            resp = await stub.ListDue(req, metadata=caller.to_metadata(), timeout=120)
            if i >= 3:  # warm-up excluded
                samples.append((time.perf_counter() - t) * 1000)
    p50, p95 = percentiles(samples)
    totals = {dpb.DueKind.Name(s.kind).removeprefix("DUE_KIND_").lower(): s.total
              for s in resp.sections}  # fmt: skip
    return {"p50_ms": round(p50, 1), "p95_ms": round(p95, 1), "items_by_kind": totals}
