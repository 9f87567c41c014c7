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
from datetime import date, timedelta

import asyncpg
import grpc
from generate import NULL, _csv
from hongyun.member.v1 import member_due_pb2 as dpb
from hongyun.member.v1 import member_due_pb2_grpc
from hongyun_platform.grpc.context import CallerContext
from hongyun_platform.ids import new_id
from hongyun_platform.validation import check_character
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


CASE_COLUMNS = ["id", "tenant_id", "organization_id", "name", "gender", "birth_date",
                "id_number_enc", "id_number_index", "key_id", "status", "current_step",
                "current_step_on", "application_on", "due_step", "due_anchor", "created_by"]  # fmt: skip
STEP_COLUMNS = ["id", "tenant_id", "case_id", "number", "occurrence", "occurred_on", "acting",
                "votes", "member_ids", "decision", "publicity_from", "publicity_to",
                "training_days", "training_hours_centi", "recorded_by"]  # fmt: skip
# Days after the application on which a typical case records each step (activist reviews at 6
# and 12 months, probation of a year from the meeting of step 15).
STEP_DAY = {1: 0, 2: 20, 3: 200, 4: 210, 5: 215, 6: 380, 7: 570, 8: 575, 9: 580, 10: 600,
            11: 610, 12: 640, 13: 650, 14: 655, 15: 660, 16: 670, 17: 700, 18: 710, 19: 720,
            20: 730, 21: 800, 22: 990, 23: 1025}  # fmt: skip
VOTES = '{"entitled": 20, "present": 18, "yes": 17, "no": 1, "abstain": 0}'


def _case_steps(case_id, tenant_id, applied: date, last: int, contacts: str) -> list[list]:
    rows = []
    for n in range(1, last + 1):
        on = date.fromordinal(applied.toordinal() + STEP_DAY[n])
        extra = {
            5: dict(member_ids=contacts), 9: dict(member_ids=contacts),
            11: dict(training_days=3, training_hours_centi=2400),
            12: dict(publicity_from=date.fromordinal(on.toordinal() - 20),
                     publicity_to=date.fromordinal(on.toordinal() - 10)),
            15: dict(votes=VOTES), 23: dict(votes=VOTES), 17: dict(decision="approved"),
        }.get(n, {})  # fmt: skip
        rows.append([new_id(), tenant_id, case_id, n, 1, on, "支部委员会", extra.get("votes"),
                     extra.get("member_ids", "{}"), extra.get("decision", ""),
                     extra.get("publicity_from"), extra.get("publicity_to"),
                     extra.get("training_days", 0), extra.get("training_hours_centi", 0),
                     "bench"])  # fmt: skip
    if last >= 6:  # the second activist review
        on = date.fromordinal(applied.toordinal() + 560)
        rows.append([new_id(), tenant_id, case_id, 6, 2, on, "支部委员会", None, "{}", "", None,
                     None, 0, 0, "bench"])  # fmt: skip
    return rows


async def load_development(
    conn: asyncpg.Connection, gen, rnd: random.Random, today: date, cipher
) -> tuple[int, int]:
    """People in the development pipeline: 5 % of the members' number (50,000 for a province
    of 1M), at every step from application to the conversion meeting, their steps dated as a
    typical case would be; introducers and contacts are real full members of their branch."""
    from member_service.domain import development as dev

    full = await conn.fetch(
        "SELECT DISTINCT ON (organization_id) organization_id, id FROM member.members"
        " WHERE tenant_id = $1 AND category = 1 AND party_status = 1",
        gen.tenant_id,
    )
    contact = {r["organization_id"]: r["id"] for r in full}
    branches = [b for b in gen.branch_ids if b in contact]
    weights = [10, 6, 8, 2, 2, 8, 5, 2, 2, 2, 2, 2, 2, 2, 2, 2, 4, 1, 1, 1, 6, 3, 2]
    cases, steps = [], []
    for i in range(max(10, gen.members // 20)):
        last = rnd.choices(range(1, 24), weights=weights)[0]
        applied = date.fromordinal(today.toordinal() - STEP_DAY[last] - rnd.randrange(1, 120))
        org = branches[i % len(branches)]
        case_id = new_id()
        case_steps = _case_steps(case_id, gen.tenant_id, applied, last, f"{{{contact[org]}}}")
        status = dev.CaseStatus.ADMITTED if last >= 17 else dev.CaseStatus.OPEN
        kind, anchor = dev.due_anchor(status, [dev.Step(r[3], r[5]) for r in case_steps])
        first17 = f"110105{date(2000, 1, 1) + timedelta(days=i % 3000):%Y%m%d}{i % 1000:03d}"
        enc = cipher.encrypt(
            first17 + check_character(first17), aad=f"development_case:{case_id}:id_number".encode()
        )
        cases.append([case_id, gen.tenant_id, org, f"申请人{i}", 1 + i % 2,
                      date(2000, 1, 1) + timedelta(days=i % 3000), "\\x" + enc.hex(),
                      uuid.uuid4().hex, cipher.active_key_id, status.value, last,
                      case_steps[last - 1][5], applied, int(kind), anchor, "bench"])  # fmt: skip
        steps += case_steps
    await conn.copy_to_table("development_cases", schema_name="member", columns=CASE_COLUMNS,
                             source=io.BytesIO(_csv(cases)), format="csv", null=NULL)  # fmt: skip
    await conn.copy_to_table("development_steps", schema_name="member", columns=STEP_COLUMNS,
                             source=io.BytesIO(_csv(steps)), format="csv", null=NULL)  # fmt: skip
    return len(cases), len(steps)


async def load_lifecycle(dsn: str, gen, cipher, *, seed: int = 11) -> dict[str, int]:
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
        cases, steps = await load_development(conn, gen, rnd, today, cipher)
        counts |= {"development_cases": cases, "development_steps": steps}
        for table in ("committee_terms", "dues_standards", "dues_accounts", "letters",
                      "development_cases", "development_steps"):  # fmt: skip
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


async def measure_evaluation(owner_url: str, dsn: str, tenant_id: uuid.UUID) -> dict:
    """Every development case of the province evaluated as GetDevelopmentCase does (rows through
    the service's ORM models and mappers, then domain.development.evaluate with the tenant's
    rules), in keyset batches; baseline: the same case and step rows fetched raw with asyncpg."""
    from member_service.development import facts_of, step_of
    from member_service.development_models import DevelopmentCase, DevelopmentStepRow
    from member_service.domain import development as dev
    from member_service.domain.dates import china_today
    from member_service.rules import RuleBook
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    conn = await asyncpg.connect(dsn)
    try:
        t = time.perf_counter()
        raw = await conn.fetch(
            "SELECT c.*, s.* FROM member.development_cases c"
            " JOIN member.development_steps s ON s.case_id = c.id WHERE c.tenant_id = $1",
            tenant_id,
        )
        raw_s = time.perf_counter() - t
    finally:
        await conn.close()
    engine = create_async_engine(owner_url)
    today, stages, overdue, blocked, cases = china_today(), {}, 0, 0, 0
    try:
        async with AsyncSession(engine) as session:
            rules = await RuleBook().effective(session, tenant_id, dev.RULE_KEYS, today)
            t = time.perf_counter()
            after = None
            while True:
                stmt = select(DevelopmentCase).where(DevelopmentCase.tenant_id == tenant_id)
                if after is not None:
                    stmt = stmt.where(DevelopmentCase.id > after)
                batch = list((await session.execute(
                    stmt.order_by(DevelopmentCase.id).limit(2000))).scalars())  # fmt: skip
                if not batch:
                    break
                after = batch[-1].id
                by_case: dict[uuid.UUID, list] = {c.id: [] for c in batch}
                rows = await session.execute(
                    select(DevelopmentStepRow).where(DevelopmentStepRow.case_id.in_(by_case))
                )
                for row in rows.scalars():
                    by_case[row.case_id].append(step_of(row))
                for case in batch:
                    e = dev.evaluate(facts_of(case, []), by_case[case.id], rules, today)
                    cases += 1
                    stages[e.stage] = stages.get(e.stage, 0) + 1
                    overdue += e.overdue(today)
                    blocked += bool(e.blockers)
                session.expunge_all()
            seconds = time.perf_counter() - t
    finally:
        await engine.dispose()
    per_s = cases / seconds
    raw_cases_per_s = cases / raw_s
    return {
        "cases": cases, "step_rows": len(raw), "seconds": round(seconds, 1),
        "cases_per_s": round(per_s), "baseline_raw_fetch_cases_per_s": round(raw_cases_per_s),
        "ratio_to_raw_fetch": round(per_s / raw_cases_per_s, 3),
        "by_stage": dict(sorted(stages.items())), "overdue": overdue, "blocked_today": blocked,
    }  # fmt: skip
