"""Party dues (党费) through the gRPC API against real PostgreSQL and NATS: standards computed from
the rules with their citations, payments and refused duplicates, hardship decisions approved by
the next level, arrears per organisation, a month's roll, the arrears flag job (once per
threshold and episode), the "what is due" list, row-level security and data scope."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import grpc
import nats
import pytest
from hongyun.member.v1 import member_dues_pb2 as dpb
from hongyun.member.v1 import member_dues_pb2_grpc, rules_pb2, rules_pb2_grpc
from hongyun.member.v1 import member_pb2 as pb
from hongyun_platform.db import Database
from hongyun_platform.validation import check_character
from member_service import dues_models
from member_service.domain import dues as d
from member_service.domain.dates import add_months, china_today
from member_service.domain.due_items import DueKind
from member_service.dues_due import list_due
from member_service.dues_flags import DuesArrearsFlags
from member_service.models import Base, messaging
from member_service.rules import RuleBook
from sqlalchemy import select, text

from ..conftest import PLATFORM_ADMIN, secretary, tenant_admin

pytestmark = pytest.mark.integration

TODAY = china_today()
CUR = d.month_of(TODAY)
_seq = iter(range(500, 999))


def month(k: int) -> str:
    """The month k months from the current one, YYYY-MM."""
    return d.fmt_month(add_months(CUR, k))


def id_number(seq: int) -> str:
    first17 = f"11010519800101{seq:03d}"
    return first17 + check_character(first17)


async def call(method, request, caller):
    return await method(request, metadata=caller.to_metadata(), timeout=10)


async def fails(method, request, caller) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await call(method, request, caller)
    return e.value


def code_of(err: grpc.aio.AioRpcError) -> str:
    return dict(err.trailing_metadata() or ()).get("x-hongyun-error-code", "")


@pytest.fixture(scope="module")
async def dues(member_app):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{member_app.port}") as channel:
        yield member_dues_pb2_grpc.DuesServiceStub(channel)


@pytest.fixture(scope="module")
async def rule_stub(member_app):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{member_app.port}") as channel:
        yield rules_pb2_grpc.RuleServiceStub(channel)


@pytest.fixture(scope="module")
async def world(member_stub):
    """Tenant A: 党委 → {总支 X → 支部 br1 → 党小组 g, 支部 br2}; tenant B: 党委 with one member."""
    code = uuid.uuid4().hex[:8]
    a = (await call(member_stub.CreateTenant, pb.CreateTenantRequest(
        name="甲", code=f"da-{code}"), PLATFORM_ADMIN)).tenant  # fmt: skip
    b = (await call(member_stub.CreateTenant, pb.CreateTenantRequest(
        name="乙", code=f"db-{code}"), PLATFORM_ADMIN)).tenant  # fmt: skip
    adm, adm_b = tenant_admin(a.id), tenant_admin(b.id)

    async def org(name, type_, parent="", caller=adm):
        return (await call(member_stub.CreateOrganization, pb.CreateOrganizationRequest(
            parent_id=parent, name=name, type=type_), caller)).organization  # fmt: skip

    root = await org("甲党委", pb.ORGANIZATION_TYPE_COMMITTEE)
    x = await org("机关总支", pb.ORGANIZATION_TYPE_GENERAL_BRANCH, root.id)
    br1 = await org("第一支部", pb.ORGANIZATION_TYPE_BRANCH, x.id)
    g = await org("第一党小组", pb.ORGANIZATION_TYPE_GROUP, br1.id)
    br2 = await org("第二支部", pb.ORGANIZATION_TYPE_BRANCH, root.id)
    root_b = await org("乙党委", pb.ORGANIZATION_TYPE_COMMITTEE, caller=adm_b)
    return dict(
        a=a, b=b, adm=adm, adm_b=adm_b, root=root, x=x, br1=br1, g=g, br2=br2, root_b=root_b,
        sec_x=secretary(a.id, x.id), sec_br1=secretary(a.id, br1.id),
        sec_br2=secretary(a.id, br2.id),
    )  # fmt: skip


@pytest.fixture(scope="module")
def new_member(member_stub, world):
    async def make(org, *, joined_on="2005-07-01", caller=None, **kw) -> pb.Member:
        seq = next(_seq)
        values = dict(name=f"党员{seq}", id_number=id_number(seq),
                      category=pb.MEMBER_CATEGORY_FULL, joined_on=joined_on)  # fmt: skip
        values.update(kw)
        profile = pb.MemberProfile(**values)
        return (await call(member_stub.CreateMember, pb.CreateMemberRequest(
            organization_id=org.id, profile=profile), caller or world["adm"])).member  # fmt: skip

    return make


@pytest.fixture(scope="module")
def new_branch(member_stub, world):
    async def make(name: str) -> pb.Organization:
        return (await call(member_stub.CreateOrganization, pb.CreateOrganizationRequest(
            parent_id=world["root"].id, name=f"{name}{uuid.uuid4().hex[:4]}",
            type=pb.ORGANIZATION_TYPE_BRANCH), world["adm"])).organization  # fmt: skip

    return make


async def set_standard(dues, caller, member, base_fen=300000, *, group=dpb.DUES_GROUP_EMPLOYED,
                       effective=0, opening=""):  # fmt: skip
    return await call(dues.SetStandard, dpb.SetStandardRequest(
        member_id=member.id, group=group, declared_base_fen=base_fen,
        effective_month=month(effective), opening_paid_through=opening), caller)  # fmt: skip


async def pay(dues, caller, member, first, last=None, amount=None, **kw):
    months = (last if last is not None else first) - first + 1
    return await call(dues.RecordPayment, dpb.RecordPaymentRequest(
        member_id=member.id, first_month=month(first),
        last_month=month(last if last is not None else first),
        amount_fen=amount if amount is not None else 1500 * months, **kw), caller)  # fmt: skip


async def member_dues(dues, caller, member) -> dpb.GetMemberDuesResponse:
    return await call(dues.GetMemberDues, dpb.GetMemberDuesRequest(member_id=member.id), caller)


async def outbox(app, tenant_id, type_name: str) -> list[bytes]:
    o = messaging.outbox
    async with app.db.unit_of_work(None) as uow:
        rows = await uow.session.execute(
            select(o.c.payload)
            .where(o.c.tenant_id == uuid.UUID(tenant_id), o.c.event_type == type_name)
            .order_by(o.c.id)
        )
        return [r.payload for r in rows]


# ---- schema ----


async def test_dues_models_match_the_migration(member_settings_fx, module_database):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    assert dues_models.DuesAccount.__table__.metadata is Base.metadata
    db = Database(module_database.owner_url)

    def diff(conn):
        ctx = MigrationContext.configure(conn, opts={"include_schemas": True})
        return compare_metadata(ctx, Base.metadata)

    async with db.engine.connect() as conn:
        changes = await conn.run_sync(diff)
    await db.dispose()
    mine = [c for c in changes if "dues_" in repr(c) and not (
        isinstance(c, tuple) and c[0] == "remove_index")]  # fmt: skip
    assert mine == []


# ---- standards ----


async def test_standard_is_computed_from_the_rule_with_its_citation(dues, world, new_member,
                                                                    member_app):  # fmt: skip
    m = await new_member(world["br1"])
    resp = await set_standard(dues, world["sec_br1"], m, 300000)
    s = resp.standard
    assert (s.monthly_fen, s.rate_per_mille, s.group) == (1500, 5, dpb.DUES_GROUP_EMPLOYED)
    assert s.rate_rule.key == "dues.rate.employed" and "党费" in s.rate_rule.citation
    assert s.rate_rule.source == rules_pb2.RULE_SOURCE_NATIONAL
    assert s.rounding_rule.key == "dues.amount.rounding"
    assert s.declared_base_fen == 300000 and s.base_revealed
    assert "3000 元以下（含）" in s.explanation and "15.00" in s.explanation
    assert resp.account.start_month == month(0) and resp.account.months_owed == 1
    assert resp.account.paid_through == "" and resp.account.amount_owed_fen == 1500

    # Bracket boundaries through the API: 3000.01 → 1%, retired 5000.01 → 1%, a student 0.20.
    assert (await set_standard(dues, world["adm"], m, 300001)).standard.monthly_fen == 3000
    retired = await set_standard(dues, world["adm"], m, 500001, group=dpb.DUES_GROUP_RETIRED)
    assert (retired.standard.monthly_fen, retired.standard.rate_rule.key) == (
        5000, "dues.rate.retired")  # fmt: skip
    student = await set_standard(dues, world["adm"], m, 0, group=dpb.DUES_GROUP_STUDENT)
    assert student.standard.monthly_fen == 20 and not student.standard.HasField("rounding_rule")

    # The same month was declared four times: one standard, the last one.
    got = (await call(dues.GetStandard, dpb.GetStandardRequest(member_id=m.id),
                      world["sec_br1"])).standard  # fmt: skip
    assert got.monthly_fen == 20 and got.group == dpb.DUES_GROUP_STUDENT
    events = [dpb.DuesStandardSet.FromString(p) for p in await outbox(
        member_app, world["a"].id, "hongyun.member.v1.DuesStandardSet")]  # fmt: skip
    mine = [e for e in events if e.member_id == m.id]
    assert [e.monthly_fen for e in mine] == [1500, 3000, 5000, 20]
    assert mine[0].organization_id == world["br1"].id and mine[0].rule_key == "dues.rate.employed"


async def test_the_declared_base_is_encrypted_hidden_and_revealed_with_an_audit(
    dues, world, new_member, owner_sql
):
    m = await new_member(world["br1"])
    await set_standard(dues, world["sec_br1"], m, 1234567)
    raw = owner_sql(
        "SELECT encode(base_enc, 'escape') LIKE '%1234567%', monthly_fen FROM "
        f"member.dues_standards WHERE member_id = '{m.id}'"
    )
    assert raw.strip().split("|") == ["f", "24691"]  # 12345.67 × 2% = 246.9134 → 246.91
    hidden = (await call(dues.GetStandard, dpb.GetStandardRequest(member_id=m.id),
                         world["sec_br1"])).standard  # fmt: skip
    assert hidden.declared_base_fen == 0 and not hidden.base_revealed
    assert "12345" not in hidden.explanation and "2%" in hidden.explanation
    shown = (await call(dues.GetStandard, dpb.GetStandardRequest(
        member_id=m.id, reveal=True, reason="核对"), world["sec_br1"])).standard  # fmt: skip
    assert shown.declared_base_fen == 1234567 and "12345.67" in shown.explanation
    audit = owner_sql(
        "SELECT action, fields, reason FROM member.audit_log "
        f"WHERE target_id = '{m.id}' ORDER BY at"
    )
    assert "dues_standard_set" in audit and "reveal" in audit and "核对" in audit


async def test_bad_standards_are_refused_with_clear_errors(dues, world, new_member):
    m = await new_member(world["br1"])
    adm = world["adm"]
    cases = [
        (dict(declared_base_fen=-100), grpc.StatusCode.INVALID_ARGUMENT, "dues_invalid_base"),
        (dict(declared_base_fen=0), grpc.StatusCode.INVALID_ARGUMENT, "dues_invalid_base"),
        (dict(group=dpb.DUES_GROUP_UNSPECIFIED), grpc.StatusCode.INVALID_ARGUMENT,
         "dues_unknown_group"),
        (dict(group=99), grpc.StatusCode.INVALID_ARGUMENT, "dues_unknown_group"),
        (dict(group=dpb.DUES_GROUP_FARMER), grpc.StatusCode.INVALID_ARGUMENT,
         "dues_base_not_used"),
        (dict(effective_month=month(13)), grpc.StatusCode.INVALID_ARGUMENT, "dues_month_too_far"),
        (dict(effective_month="2026-13"), grpc.StatusCode.INVALID_ARGUMENT, "invalid_month"),
        (dict(opening_paid_through=month(1)), grpc.StatusCode.INVALID_ARGUMENT,
         "dues_opening_in_future"),
        (dict(member_id="not-a-uuid"), grpc.StatusCode.INVALID_ARGUMENT, "invalid_argument"),
        (dict(member_id=str(uuid.uuid4())), grpc.StatusCode.NOT_FOUND, "member_not_found"),
    ]  # fmt: skip
    for change, status, code in cases:
        request = dict(member_id=m.id, group=dpb.DUES_GROUP_EMPLOYED, declared_base_fen=300000)
        request.update(change)
        err = await fails(dues.SetStandard, dpb.SetStandardRequest(**request), adm)
        assert (err.code(), code_of(err)) == (status, code), change
    too_far = await fails(dues.SetStandard, dpb.SetStandardRequest(
        member_id=m.id, group=dpb.DUES_GROUP_EMPLOYED, declared_base_fen=300000,
        effective_month=month(13)), adm)  # fmt: skip
    assert "dues.payment.max_months_ahead" in too_far.details()
    assert (await member_dues(dues, adm, m)).HasField("account") is False


async def test_a_tenant_override_of_the_rates_applies_to_new_standards(
    dues, rule_stub, world, new_member
):
    m = await new_member(world["br2"])
    adm = world["adm"]
    await call(rule_stub.SetRuleOverride, rules_pb2.SetRuleOverrideRequest(
        key="dues.amount.rounding", value_json='{"step_fen": 10, "mode": "up", "min_fen": 10}',
        citation="某省党费收缴办法：向上取整到角", effective_from="2000-01-01"), adm)  # fmt: skip
    try:
        s = (await set_standard(dues, adm, m, 299999)).standard  # 1499.995 fen → 1500
        assert s.monthly_fen == 1500
        s = (await set_standard(dues, adm, m, 300001)).standard  # 3000.01 fen → 3010
        assert s.monthly_fen == 3010
        assert s.rounding_rule.source == rules_pb2.RULE_SOURCE_TENANT
        assert s.rounding_rule.citation == "某省党费收缴办法：向上取整到角"
    finally:
        await call(rule_stub.DeleteRuleOverride, rules_pb2.DeleteRuleOverrideRequest(
            key="dues.amount.rounding", reason="test"), adm)  # fmt: skip


# ---- payments ----


async def test_payments_settle_months_in_order_and_a_month_is_never_paid_twice(
    dues, world, new_member, member_app
):
    sec = world["sec_br1"]
    m = await new_member(world["g"])
    await set_standard(dues, sec, m, 300000, effective=-2)  # owes 3 months from 2 months ago
    before = (await member_dues(dues, sec, m)).account
    assert (before.months_owed, before.amount_owed_fen) == (3, 4500)
    assert before.first_unpaid_month == month(-2)

    resp = await pay(dues, sec, m, -2, -1, method="微信", receipt_number=f"R-{m.id[:8]}")
    p = resp.payment
    assert (p.months, p.amount_fen, p.due_fen) == (2, 3000, 3000)
    assert (p.first_month, p.last_month, p.recorded_by) == (month(-2), month(-1), sec.user_id)
    assert p.paid_on == TODAY.isoformat() and p.method == "微信"
    assert resp.account.paid_through == month(-1) and resp.account.months_owed == 1

    # The same month again, or overlapping: ALREADY_EXISTS, nothing recorded.
    for first, last in ((-2, -2), (-1, 0)):
        err = await fails(dues.RecordPayment, dpb.RecordPaymentRequest(
            member_id=m.id, first_month=month(first), last_month=month(last),
            amount_fen=3000), sec)  # fmt: skip
        assert err.code() == grpc.StatusCode.ALREADY_EXISTS
        assert code_of(err) == "dues_month_already_paid" and month(first) in err.details()
    # Skipping the unpaid current month.
    err = await fails(dues.RecordPayment, dpb.RecordPaymentRequest(
        member_id=m.id, first_month=month(1), amount_fen=1500), sec)  # fmt: skip
    assert (err.code(), code_of(err)) == (grpc.StatusCode.FAILED_PRECONDITION, "dues_month_order")
    assert month(0) in err.details()
    # Too little: the message says what the months cost.
    err = await fails(dues.RecordPayment, dpb.RecordPaymentRequest(
        member_id=m.id, first_month=month(0), last_month=month(1), amount_fen=2999), sec)  # fmt: skip
    assert (err.code(), code_of(err)) == (grpc.StatusCode.INVALID_ARGUMENT, "dues_amount_short")
    assert "30.00" in err.details()
    # Too far ahead (rule dues.payment.max_months_ahead, 12 months).
    err = await fails(dues.RecordPayment, dpb.RecordPaymentRequest(
        member_id=m.id, first_month=month(0), last_month=month(13), amount_fen=21000), sec)  # fmt: skip
    assert code_of(err) == "dues_month_too_far" and "max_months_ahead" in err.details()
    # Other bad input.
    bad = [
        (dict(first_month=""), "required"),
        (dict(first_month=month(0), last_month=month(-1)), "invalid_month_range"),
        (dict(first_month=month(0), amount_fen=-5), "dues_invalid_amount"),
        (dict(first_month=month(0), paid_on=(TODAY + timedelta(days=1)).isoformat()),
         "future_date"),
        (dict(first_month=month(0), receipt_number=f"R-{m.id[:8]}"), "dues_receipt_exists"),
    ]  # fmt: skip
    for change, code in bad:
        request = dict(member_id=m.id, amount_fen=1500)
        request.update(change)
        err = await fails(dues.RecordPayment, dpb.RecordPaymentRequest(**request), sec)
        assert code_of(err) == code, change

    # A voluntary extra is recorded as paid; ahead of time is fine.
    extra = await pay(dues, sec, m, 0, 2, amount=10000)
    assert (extra.payment.due_fen, extra.payment.amount_fen) == (4500, 10000)
    assert extra.account.paid_through == month(2) and extra.account.months_owed == 0

    listed = await call(dues.ListPayments, dpb.ListPaymentsRequest(member_id=m.id), sec)
    assert [(p.first_month, p.amount_fen) for p in listed.payments] == [
        (month(-2), 3000), (month(0), 10000)]  # fmt: skip
    in_x = await call(dues.ListPayments, dpb.ListPaymentsRequest(
        organization_id=world["x"].id, page_size=200), world["sec_x"])  # fmt: skip
    assert {p.member_id for p in in_x.payments} >= {m.id}
    events = [dpb.DuesPaymentRecorded.FromString(p) for p in await outbox(
        member_app, world["a"].id, "hongyun.member.v1.DuesPaymentRecorded")]  # fmt: skip
    mine = [e for e in events if e.member_id == m.id]
    assert [(e.months, e.amount_fen, e.paid_through) for e in mine] == [
        (2, 3000, month(-1)), (3, 10000, month(2))]  # fmt: skip


async def test_concurrent_payments_of_the_same_month_record_one(dues, world, new_member,
                                                               owner_sql):  # fmt: skip
    sec = world["sec_br1"]
    m = await new_member(world["br1"])
    await set_standard(dues, sec, m, 300000)
    results = await asyncio.gather(
        *(pay(dues, sec, m, 0) for _ in range(4)), return_exceptions=True
    )
    ok = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(ok) == 1 and len(refused) == 3
    assert {code_of(e) for e in refused} == {"dues_month_already_paid"}
    assert (
        owner_sql(f"SELECT count(*) FROM member.dues_months WHERE member_id = '{m.id}'").strip()
        == "1"
    )


async def test_payment_events_reach_jetstream(dues, world, new_member, member_settings_fx):
    nc = await nats.connect(member_settings_fx.nats_url)
    try:
        js = nc.jetstream()
        sub = await js.pull_subscribe(f"member.{world['a'].id}.dues.payment_recorded",
                                      stream="MEMBER")  # fmt: skip
        m = await new_member(world["br2"])
        await set_standard(dues, world["adm"], m, 300000)
        await pay(dues, world["adm"], m, 0)
        seen = []
        while m.id not in seen:
            (msg,) = await sub.fetch(1, timeout=10)
            await msg.ack()
            seen.append(dpb.DuesPaymentRecorded.FromString(msg.data).member_id)
    finally:
        await nc.close()


async def test_an_opening_balance_and_acceptance_set_the_first_month_owed(dues, world,
                                                                          new_member):  # fmt: skip
    adm = world["adm"]
    # A probationary member accepted two months ago with the standard from that month.
    accepted = add_months(TODAY, -2)
    p = await new_member(world["br2"], joined_on=accepted.isoformat(),
                         category=pb.MEMBER_CATEGORY_PROBATIONARY)  # fmt: skip
    acc = (await set_standard(dues, adm, p, 200000, effective=-5)).account
    assert acc.start_month == month(-2) and acc.months_owed == 3  # from acceptance
    # A member migrated onto the platform, paid through last month before recording began.
    old = await new_member(world["br2"])
    acc = (await set_standard(dues, adm, old, 300000, effective=-6, opening=month(-1))).account
    assert (acc.start_month, acc.paid_through, acc.months_owed) == (month(-6), month(-1), 1)
    await pay(dues, adm, old, 0)
    err = await fails(dues.SetStandard, dpb.SetStandardRequest(
        member_id=old.id, group=dpb.DUES_GROUP_EMPLOYED, declared_base_fen=300000,
        opening_paid_through=month(-2)), adm)  # fmt: skip
    assert code_of(err) == "dues_opening_after_payments"


# ---- hardship ----


async def test_hardship_is_decided_by_the_branch_and_approved_by_the_next_level(
    dues, world, new_member, member_app, owner_sql
):
    sec, sec_x = world["sec_br1"], world["sec_x"]
    m = await new_member(world["br1"])
    await set_standard(dues, sec, m, 300000, effective=-3)  # owes 4 months
    req = (await call(dues.RequestHardship, dpb.RequestHardshipRequest(
        member_id=m.id, first_month=month(-3), last_month=month(-1), waived=True,
        reason="长期患病住院，家庭困难"), sec)).hardship  # fmt: skip
    assert req.status == dpb.DUES_HARDSHIP_STATUS_REQUESTED and req.reason.startswith("长期患病")
    assert (
        owner_sql(
            f"SELECT count(*) FROM member.dues_hardships WHERE id = '{req.id}' "
            "AND encode(reason_enc, 'escape') LIKE '%患病%'"
        ).strip()
        == "0"
    )
    # Not in effect yet.
    assert (await member_dues(dues, sec, m)).account.months_owed == 4
    # The requester, and another secretary of the same branch, may not approve.
    err = await fails(dues.ApproveHardship, dpb.ApproveHardshipRequest(id=req.id, approved=True),
                      sec)  # fmt: skip
    assert (err.code(), code_of(err)) == (grpc.StatusCode.PERMISSION_DENIED,
                                          "dues_approver_is_requester")  # fmt: skip
    deputy = secretary(world["a"].id, world["br1"].id)
    deputy = type(deputy)(user_id="deputy", tenant_id=deputy.tenant_id, roles=deputy.roles,
                          scope_org_id=deputy.scope_org_id)  # fmt: skip
    err = await fails(dues.ApproveHardship, dpb.ApproveHardshipRequest(id=req.id, approved=True),
                      deputy)  # fmt: skip
    assert code_of(err) == "dues_approval_level"
    # Another branch's secretary does not see it at all.
    err = await fails(dues.ApproveHardship, dpb.ApproveHardshipRequest(id=req.id, approved=True),
                      world["sec_br2"])  # fmt: skip
    assert err.code() == grpc.StatusCode.NOT_FOUND
    # The general branch above approves: the three months are waived.
    ok = await call(dues.ApproveHardship, dpb.ApproveHardshipRequest(id=req.id, approved=True),
                    sec_x)  # fmt: skip
    assert ok.hardship.status == dpb.DUES_HARDSHIP_STATUS_APPROVED
    assert ok.hardship.decided_by == sec_x.user_id and ok.hardship.HasField("decided_at")
    assert (ok.account.paid_through, ok.account.months_owed, ok.account.amount_owed_fen) == (
        month(-1), 1, 1500)  # fmt: skip
    again = await fails(dues.ApproveHardship, dpb.ApproveHardshipRequest(id=req.id,
                                                                         approved=False), sec_x)  # fmt: skip
    assert code_of(again) == "dues_hardship_decided"
    # A waived month cannot be paid.
    err = await fails(dues.RecordPayment, dpb.RecordPaymentRequest(
        member_id=m.id, first_month=month(-2), amount_fen=1500), sec)  # fmt: skip
    assert code_of(err) == "dues_month_already_paid"

    # A reduction for the coming months, approved by the tenant admin.
    bad = await fails(dues.RequestHardship, dpb.RequestHardshipRequest(
        member_id=m.id, first_month=month(0), last_month=month(2), reduced_monthly_fen=1500,
        reason="收入下降"), sec)  # fmt: skip
    assert code_of(bad) == "dues_reduction_not_lower" and "15.00" in bad.details()
    red = (await call(dues.RequestHardship, dpb.RequestHardshipRequest(
        member_id=m.id, first_month=month(0), last_month=month(2), reduced_monthly_fen=500,
        reason="收入下降"), sec)).hardship  # fmt: skip
    overlap = await fails(dues.RequestHardship, dpb.RequestHardshipRequest(
        member_id=m.id, first_month=month(2), last_month=month(3), waived=True,
        reason="x"), sec)  # fmt: skip
    assert code_of(overlap) == "dues_hardship_overlap"
    for change, code in [
        (dict(reason=""), "required"),
        (dict(waived=True, reduced_monthly_fen=100), "dues_relief_ambiguous"),
        (dict(first_month=month(-9)), "dues_month_before_start"),
        (dict(last_month=month(13)), "dues_month_too_far"),
    ]:
        request = dict(member_id=m.id, first_month=month(4), last_month=month(5),
                       reduced_monthly_fen=100, reason="x")  # fmt: skip
        request.update(change)
        err = await fails(dues.RequestHardship, dpb.RequestHardshipRequest(**request), sec)
        assert code_of(err) == code, change
    ok = await call(dues.ApproveHardship, dpb.ApproveHardshipRequest(id=red.id, approved=True),
                    world["adm"])  # fmt: skip
    assert ok.account.amount_owed_fen == 500
    paid = await pay(dues, sec, m, 0, 2, amount=1500)
    assert paid.payment.due_fen == 1500 and paid.account.paid_through == month(2)

    view = await member_dues(dues, sec, m)
    assert [h.status for h in view.hardships] == [dpb.DUES_HARDSHIP_STATUS_APPROVED] * 2
    assert view.hardships[0].reduced_monthly_fen == 500
    decided = [dpb.DuesHardshipDecided.FromString(p) for p in await outbox(
        member_app, world["a"].id, "hongyun.member.v1.DuesHardshipDecided")]  # fmt: skip
    assert [(e.waived, e.approved) for e in decided if e.member_id == m.id] == [
        (True, True), (False, True)]  # fmt: skip


async def test_a_rejected_hardship_changes_nothing(dues, world, new_member):
    m = await new_member(world["br2"])
    await set_standard(dues, world["sec_br2"], m, 300000, effective=-1)
    req = (await call(dues.RequestHardship, dpb.RequestHardshipRequest(
        member_id=m.id, first_month=month(-1), last_month=month(0), waived=True,
        reason="困难"), world["sec_br2"])).hardship  # fmt: skip
    rej = await call(dues.ApproveHardship, dpb.ApproveHardshipRequest(id=req.id, approved=False),
                     world["adm"])  # fmt: skip
    assert rej.hardship.status == dpb.DUES_HARDSHIP_STATUS_REJECTED
    assert rej.account.months_owed == 2


async def test_months_waived_after_an_unpaid_month_are_not_owed(dues, world, new_member,
                                                                 member_app):  # fmt: skip
    """A waiver for later months leaves the earlier unpaid month owed, alone: not 4 months."""
    adm = world["adm"]
    m = await new_member(world["br2"])
    await set_standard(dues, adm, m, 300000, effective=-3)  # owes -3 … 0
    req = (await call(dues.RequestHardship, dpb.RequestHardshipRequest(
        member_id=m.id, first_month=month(-2), last_month=month(0), waived=True,
        reason="困难"), world["sec_br2"])).hardship  # fmt: skip
    ok = await call(dues.ApproveHardship, dpb.ApproveHardshipRequest(id=req.id, approved=True),
                    adm)  # fmt: skip
    assert ok.account.paid_through == ""  # month -3 is still unpaid
    assert (ok.account.months_owed, ok.account.amount_owed_fen) == (1, 1500)
    arrears = await call(dues.ListArrears, dpb.ListArrearsRequest(
        organization_id=world["br2"].id, min_months=1, page_size=200), adm)  # fmt: skip
    (row,) = [a for a in arrears.arrears if a.member_id == m.id]
    assert (row.months_owed, row.first_unpaid_month, row.flag_months) == (1, month(-3), 0)
    default = await call(dues.ListArrears, dpb.ListArrearsRequest(
        organization_id=world["br2"].id, page_size=200), adm)  # fmt: skip
    assert m.id not in {a.member_id for a in default.arrears}
    tenant = uuid.UUID(world["a"].id)
    async with member_app.db.unit_of_work(tenant) as uow:
        page = await list_due(uow.session, tenant, None, TODAY, 500, RuleBook())
    assert uuid.UUID(m.id) not in {i.subject_id for i in page.items}
    # Paying month -3 settles everything up to now at once.
    paid = await pay(dues, adm, m, -3)
    assert (paid.account.paid_through, paid.account.months_owed) == (month(0), 0)


async def test_an_account_follows_its_member_to_another_branch_and_out_of_paying(
    dues, member_stub, world, new_member
):
    adm = world["adm"]
    m = await new_member(world["br1"])
    await set_standard(dues, adm, m, 300000, effective=-3)  # owes 4

    async def arrears_in(org, caller=adm) -> dict[str, dpb.DuesArrears]:
        resp = await call(dues.ListArrears, dpb.ListArrearsRequest(
            organization_id=org.id, page_size=200), caller)  # fmt: skip
        return {a.member_id: a for a in resp.arrears}

    assert m.id in await arrears_in(world["br1"], world["sec_br1"])
    await call(member_stub.UpdateMember, pb.UpdateMemberRequest(
        id=m.id, update_mask=["organization_id"], organization_id=world["br2"].id), adm)  # fmt: skip
    assert m.id not in await arrears_in(world["br1"], world["sec_br1"])
    moved = (await arrears_in(world["br2"], world["sec_br2"]))[m.id]
    assert (moved.organization_id, moved.organization_name, moved.months_owed) == (
        world["br2"].id, "第二支部", 4)  # fmt: skip
    # 保留党籍 (retained): no dues are owed, not in arrears, not on the roll.
    await call(member_stub.UpdateMember, pb.UpdateMemberRequest(
        id=m.id, update_mask=["party_status"],
        profile=pb.MemberProfile(party_status=pb.PARTY_STATUS_RETAINED)), adm)  # fmt: skip
    assert m.id not in await arrears_in(world["root"])
    roll = await call(dues.ListMonthRoll, dpb.ListMonthRollRequest(
        organization_id=world["br2"].id, page_size=200), adm)  # fmt: skip
    assert m.id not in {e.member_id for e in roll.entries}
    await call(member_stub.UpdateMember, pb.UpdateMemberRequest(
        id=m.id, update_mask=["party_status"],
        profile=pb.MemberProfile(party_status=pb.PARTY_STATUS_RESTORED)), adm)  # fmt: skip
    assert m.id in await arrears_in(world["root"])  # 恢复党籍: owed again


# ---- arrears, roll and scope ----


async def test_arrears_per_organisation_subtree_longest_first(dues, world, new_member):
    adm = world["adm"]
    behind = {}
    for org, effective in (("g", -7), ("br1", -3), ("br2", -2)):
        m = await new_member(world[org])
        await set_standard(dues, adm, m, 300000, effective=effective)
        behind[org] = m
    current = await new_member(world["br1"])
    await set_standard(dues, adm, current, 300000)  # owes this month only: not in arrears

    async def arrears(caller, **kw):
        out, token = [], ""
        while True:
            resp = await call(dues.ListArrears, dpb.ListArrearsRequest(
                page_size=1, page_token=token, **kw), caller)  # fmt: skip
            out += resp.arrears
            token = resp.next_page_token
            if not token:
                return out, resp

    everyone, resp = await arrears(adm)
    mine = [a for a in everyone if a.member_id in {m.id for m in behind.values()}]
    assert [(a.member_id, a.months_owed, a.amount_owed_fen, a.flag_months) for a in mine] == [
        (behind["g"].id, 8, 12000, 6),
        (behind["br1"].id, 4, 6000, 3),
        (behind["br2"].id, 3, 4500, 3),
    ]
    assert current.id not in {a.member_id for a in everyone}
    assert resp.min_months == 3 and resp.flag_rule.key == "dues.arrears.flag_months"
    assert "第九条" in resp.flag_rule.citation and resp.total == len(everyone)
    g_row = mine[0]
    assert g_row.organization_id == world["g"].id and g_row.organization_name == "第一党小组"
    assert g_row.first_unpaid_month == month(-7) and g_row.paid_through == ""

    in_br1, _ = await arrears(world["sec_br1"])
    assert {behind["g"].id, behind["br1"].id} <= {a.member_id for a in in_br1}
    assert behind["br2"].id not in {a.member_id for a in in_br1}
    long_ones, resp = await arrears(adm, organization_id=world["x"].id, min_months=5)
    assert behind["g"].id in {a.member_id for a in long_ones}
    assert all(a.months_owed >= 5 for a in long_ones) and resp.min_months == 5
    err = await fails(dues.ListArrears, dpb.ListArrearsRequest(
        organization_id=world["br2"].id), world["sec_br1"])  # fmt: skip
    assert err.code() == grpc.StatusCode.NOT_FOUND
    err = await fails(dues.ListArrears, dpb.ListArrearsRequest(min_months=-1), adm)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_months_roll_shows_each_member_due_and_paid(dues, world, new_member, new_branch):
    adm = world["adm"]
    # A fresh branch: one paid, one unpaid, one waived, one not yet due, one without standard.
    br = await new_branch("第三支部")
    paid, unpaid, waived, later, none = [await new_member(br) for _ in range(5)]
    for m in (paid, unpaid, waived):
        await set_standard(dues, adm, m, 300000, effective=-1)
    await set_standard(dues, adm, later, 600000, effective=1)  # from next month: 90.00
    await pay(dues, adm, paid, -1, 0)
    req = (await call(dues.RequestHardship, dpb.RequestHardshipRequest(
        member_id=waived.id, first_month=month(0), last_month=month(0), waived=True,
        reason="困难"), adm)).hardship  # fmt: skip
    # A tenant admin's own decision is approved by another tenant admin.
    other_admin = type(adm)(user_id="admin-2", tenant_id=adm.tenant_id, roles=adm.roles)
    await call(dues.ApproveHardship, dpb.ApproveHardshipRequest(id=req.id, approved=True),
               other_admin)  # fmt: skip

    roll = await call(dues.ListMonthRoll, dpb.ListMonthRollRequest(organization_id=br.id), adm)
    by_id = {e.member_id: (e.status, e.due_fen) for e in roll.entries}
    assert by_id == {
        paid.id: (dpb.DUES_MONTH_STATUS_PAID, 1500),
        unpaid.id: (dpb.DUES_MONTH_STATUS_UNPAID, 1500),
        waived.id: (dpb.DUES_MONTH_STATUS_WAIVED, 0),
        later.id: (dpb.DUES_MONTH_STATUS_NOT_DUE, 0),
        none.id: (dpb.DUES_MONTH_STATUS_NO_STANDARD, 0),
    }
    assert roll.month == month(0)
    assert (roll.members, roll.paid_members, roll.unpaid_members) == (5, 2, 1)
    assert (roll.due_fen_total, roll.paid_fen_total) == (3000, 1500)
    assert [e.payment_id != "" for e in roll.entries if e.member_id == paid.id] == [True]
    # Next month, page by page: everyone with a standard owes it, the waiver was for one month.
    entries, token = [], ""
    while True:
        nxt = await call(dues.ListMonthRoll, dpb.ListMonthRollRequest(
            organization_id=br.id, month=month(1), page_size=2, page_token=token), adm)  # fmt: skip
        entries += nxt.entries
        token = nxt.next_page_token
        if not token:
            break
    assert len(entries) == 5 and len({e.member_id for e in entries}) == 5
    assert (nxt.members, nxt.unpaid_members, nxt.due_fen_total) == (5, 4, 1500 * 3 + 9000)
    err = await fails(dues.ListMonthRoll, dpb.ListMonthRollRequest(
        organization_id=br.id), world["sec_br2"])  # fmt: skip
    assert err.code() == grpc.StatusCode.NOT_FOUND


async def test_other_tenants_and_other_branches_see_nothing(
    dues, world, new_member, module_database
):
    m = await new_member(world["br1"])
    await set_standard(dues, world["adm"], m, 300000, effective=-4)
    other = [
        (world["adm_b"], dues.GetMemberDues, dpb.GetMemberDuesRequest(member_id=m.id)),
        (world["sec_br2"], dues.GetMemberDues, dpb.GetMemberDuesRequest(member_id=m.id)),
        (world["sec_br2"], dues.RecordPayment, dpb.RecordPaymentRequest(
            member_id=m.id, first_month=month(-4), amount_fen=1500)),
        (world["adm_b"], dues.SetStandard, dpb.SetStandardRequest(
            member_id=m.id, group=dpb.DUES_GROUP_EMPLOYED, declared_base_fen=1)),
        (world["sec_br2"], dues.GetStandard, dpb.GetStandardRequest(member_id=m.id)),
        (world["sec_br2"], dues.ListPayments, dpb.ListPaymentsRequest(member_id=m.id)),
        (world["sec_br2"], dues.RequestHardship, dpb.RequestHardshipRequest(
            member_id=m.id, first_month=month(0), last_month=month(0), waived=True,
            reason="x")),
    ]  # fmt: skip
    for caller, method, request in other:
        err = await fails(method, request, caller)
        assert err.code() == grpc.StatusCode.NOT_FOUND, method
    b_arrears = await call(dues.ListArrears, dpb.ListArrearsRequest(page_size=200),
                           world["adm_b"])  # fmt: skip
    assert b_arrears.arrears == [] and b_arrears.total == 0

    # Under row-level security, the runtime role in tenant B sees no dues rows of tenant A.
    db = Database(module_database.app_url)
    try:
        async with db.unit_of_work(uuid.UUID(world["b"].id)) as uow:
            for table in ("dues_accounts", "dues_standards", "dues_months", "dues_payments",
                          "dues_hardships", "dues_arrears_flags"):  # fmt: skip
                n = await uow.session.execute(text(f"SELECT count(*) FROM member.{table}"))
                assert n.scalar_one() == 0, table
        async with db.unit_of_work(uuid.UUID(world["a"].id)) as uow:
            n = await uow.session.execute(text("SELECT count(*) FROM member.dues_accounts"))
            assert n.scalar_one() > 0
    finally:
        await db.dispose()


# ---- the arrears flag job ----


async def test_flags_are_sent_once_per_threshold_and_episode(dues, world, new_member, member_app):
    adm = world["adm"]
    m = await new_member(world["br2"])
    await set_standard(dues, adm, m, 300000, effective=-2)  # owes 3 this month
    job = DuesArrearsFlags(member_app.db, RuleBook(), interval_seconds=3600)

    async def flags() -> list[dpb.DuesArrearsFlagged]:
        return [e for e in (dpb.DuesArrearsFlagged.FromString(p) for p in await outbox(
            member_app, world["a"].id, "hongyun.member.v1.DuesArrearsFlagged"))
            if e.member_id == m.id]  # fmt: skip

    await job.run_once(today=add_months(TODAY, -1))  # last month: owed 2
    assert await flags() == []
    await asyncio.gather(job.run_once(today=TODAY), job.run_once(today=TODAY))
    await job.run_once(today=TODAY)  # a rerun
    (three,) = await flags()
    assert (three.flag_months, three.months_owed, three.amount_owed_fen) == (3, 3, 4500)
    assert three.first_unpaid_month == month(-2) and not three.final_flag
    assert three.rule_key == "dues.arrears.flag_months" and "第九条" in three.rule_citation
    assert three.organization_id == world["br2"].id and three.flagged_on == TODAY.isoformat()
    assert (await member_dues(dues, adm, m)).account.open_flags == [3]

    in_three = add_months(CUR, 3)  # owes 6: 党章第九条
    await job.run_once(today=in_three)
    await job.run_once(today=in_three + timedelta(days=5))
    three_again, six = await flags()
    assert three_again == three and six.flag_months == 6 and six.final_flag
    assert six.months_owed == 6 and six.amount_owed_fen == 9000

    # Paid up: the episode ends at once; falling behind again starts a new one.
    await pay(dues, adm, m, -2, 0)
    assert (await member_dues(dues, adm, m)).account.open_flags == []
    await job.run_once(today=add_months(CUR, 2))  # owes 2 then: nothing
    assert len(await flags()) == 2
    await job.run_once(today=add_months(CUR, 3))  # owes 3: a new episode
    got = await flags()
    assert [e.flag_months for e in got] == [3, 6, 3]
    assert got[-1].first_unpaid_month == month(1)


async def test_a_member_first_seen_far_behind_gets_one_flag(dues, world, new_member, member_app,
                                                            owner_sql):  # fmt: skip
    m = await new_member(world["g"])
    await set_standard(dues, world["adm"], m, 300000, effective=-9)
    job = DuesArrearsFlags(member_app.db, RuleBook(), interval_seconds=3600)
    await job.run_once(today=TODAY)
    events = [e for e in (dpb.DuesArrearsFlagged.FromString(p) for p in await outbox(
        member_app, world["a"].id, "hongyun.member.v1.DuesArrearsFlagged"))
        if e.member_id == m.id]  # fmt: skip
    assert [(e.flag_months, e.months_owed) for e in events] == [(6, 10)]
    rows = owner_sql(
        "SELECT flag_months, outcome FROM member.dues_arrears_flags "
        f"WHERE member_id = '{m.id}' ORDER BY flag_months"
    )
    assert [r.split("|") for r in rows.split()] == [["3", "skipped"], ["6", "sent"]]


# ---- what is due ----


async def test_list_due_lists_arrears_by_subtree_in_date_order(
    dues, rule_stub, world, new_member, new_branch, member_app
):
    adm = world["adm"]
    br = await new_branch("第四支部")
    far, mid, near, fine = [await new_member(br) for _ in range(4)]
    for m, effective in ((far, -8), (mid, -4), (near, -2), (fine, -1)):
        await set_standard(dues, adm, m, 300000, effective=effective)
    rules = RuleBook()
    tenant = uuid.UUID(world["a"].id)

    async def due(root_path, limit=50, today=TODAY):
        async with member_app.db.unit_of_work(tenant) as uow:
            return await list_due(uow.session, tenant, root_path, today, limit, rules)

    br_path = await _path(member_app, tenant, br.id)
    page = await due(br_path)
    assert [i.subject_id for i in page.items] == [uuid.UUID(far.id), uuid.UUID(mid.id),
                                                  uuid.UUID(near.id)]  # fmt: skip
    first = page.items[0]
    assert first.kind is DueKind.DUES_ARREARS and first.due_on == add_months(CUR, -8 + 2)
    assert first.rule_key == "dues.arrears.flag_months" and "第九条" in first.rule_citation
    assert first.rule_source == "national" and first.subject_label == far.profile.name
    assert "13500" not in first.title and "9 个月" in first.title
    assert page.items[2].due_on == CUR
    assert page.total == 3
    assert page.overdue == (2 if TODAY.day == 1 else 3)
    assert (await due(None, limit=500)).total >= 3  # the whole tenant
    limited = await due(br_path, limit=1)
    assert len(limited.items) == 1 and limited.total == 3

    # A tenant override applies at once: flag from 2 months.
    await call(rule_stub.SetRuleOverride, rules_pb2.SetRuleOverrideRequest(
        key="dues.arrears.flag_months", value_json="[2]", citation="本单位规定",
        effective_from="2000-01-01"), adm)  # fmt: skip
    try:
        page = await due(br_path)
        assert [i.subject_id for i in page.items][-1] == uuid.UUID(fine.id)
        assert page.total == 4 and page.items[0].rule_source == "tenant"
    finally:
        await call(rule_stub.DeleteRuleOverride, rules_pb2.DeleteRuleOverrideRequest(
            key="dues.arrears.flag_months", reason="test"), adm)  # fmt: skip


async def _path(app, tenant, org_id) -> str:
    async with app.db.unit_of_work(tenant) as uow:
        return (await uow.session.execute(
            text("SELECT path::text FROM member.organizations WHERE id = :i"),
            {"i": uuid.UUID(org_id)})).scalar_one()  # fmt: skip
