"""The development pipeline (DevelopmentService, docs/adr/0015) against a real PostgreSQL,
nats-server and a filesystem object store: a full pipeline through gRPC with its events, refused
steps carrying the rule key and citation, late entries, duplicates, tenant isolation (RLS) and
data scope, extensions and closing, training and materials, the "what is due" list, the reminder
job and the consumer of the learning service's training events."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import grpc
import httpx
import nats
import pytest
from hongyun.learning.v1 import learning_events_pb2 as lpb
from hongyun.member.v1 import (
    events_pb2,
    member_development_pb2_grpc,
    member_pb2_grpc,
    organization_admin_pb2_grpc,
    rules_pb2_grpc,
)
from hongyun.member.v1 import member_development_pb2 as dpb
from hongyun.member.v1 import member_pb2 as pb
from hongyun.member.v1 import organization_admin_pb2 as opb
from hongyun.member.v1 import rules_pb2 as rpb
from hongyun_platform.grpc.context import ROLE_PLATFORM_ADMIN, CallerContext
from hongyun_platform.ids import new_id
from hongyun_platform.messaging.envelope import H_MSG_ID, Envelope
from hongyun_platform.messaging.streams import ensure_stream
from hongyun_platform.storage import FilesystemObjectStore, make_fs_download_app
from hongyun_platform.testing.s3 import TEST_SIGNING_KEY
from hongyun_platform.validation import check_character
from member_service.development_due import list_due
from member_service.development_reminders import DevelopmentReminders
from member_service.development_training_consumer import (
    CONSUMER_NAME,
    LEARNING_STREAM,
    LEARNING_SUBJECTS,
    TrainingConsumerJob,
)
from member_service.domain.dates import china_today
from member_service.domain.due_items import DueKind
from member_service.models import messaging
from member_service.rules import RuleBook
from sqlalchemy import select, text

from ..conftest import PLATFORM_ADMIN, secretary, tenant_admin

pytestmark = pytest.mark.integration

FILES_URL = "http://files.test/files"
PDF = b"%PDF-1.7\n" + b"0" * 300
TODAY = china_today()
OPENED = "hongyun.member.v1.DevelopmentCaseOpened"
RECORDED = "hongyun.member.v1.DevelopmentStepRecorded"
CLOSED = "hongyun.member.v1.DevelopmentCaseClosed"
EXTENDED = "hongyun.member.v1.ProbationExtended"
STEP_DUE = "hongyun.member.v1.DevelopmentStepDue"
LATE = "整理历史档案补录"

# A full pipeline at dates that satisfy every national rule (all before today: late entries).
PLAN = {
    1: "2023-03-01", 2: "2023-03-20", 3: "2023-04-10", 4: "2023-04-15", 5: "2023-04-20",
    6: "2023-10-10", 7: "2024-04-10", 8: "2024-04-15", 9: "2024-04-20", 10: "2024-05-06",
    11: "2024-05-10", 12: "2024-06-03", 13: "2024-06-10", 14: "2024-06-15", 15: "2024-07-01",
    16: "2024-07-15", 17: "2024-08-20", 18: "2024-08-25", 19: "2024-09-01", 20: "2024-09-05",
    21: "2025-01-10", 22: "2025-06-01", 23: "2025-07-01", 24: "2025-07-10", 25: "2025-08-01",
}  # fmt: skip
VOTES = dpb.DevelopmentVotes(entitled=10, present=8, yes=8)


def id_number(birth: str, seq: int) -> str:
    first17 = f"440305{birth.replace('-', '')}{seq:03d}"
    return first17 + check_character(first17)


_seq = iter(range(100, 999))


def adult_id() -> str:
    return id_number("1990-03-15", next(_seq))


async def call(method, request, caller):
    return await method(request, metadata=caller.to_metadata(), timeout=15)


async def fails(method, request, caller, code: grpc.StatusCode) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await call(method, request, caller)
    assert e.value.code() == code, e.value.details()
    return e.value


def trailing(err: grpc.aio.AioRpcError) -> dict:
    return dict(err.trailing_metadata() or ())


async def refused(method, request, caller, rule_key: str) -> grpc.aio.AioRpcError:
    err = await fails(method, request, caller, grpc.StatusCode.FAILED_PRECONDITION)
    md = trailing(err)
    assert md["x-hongyun-error-code"] == "rule_violated"
    assert md["x-hongyun-rule-key"] == rule_key
    citation = md["x-hongyun-rule-citation-bin"].decode()
    assert citation and citation in err.details() and rule_key in err.details()
    return err


# ---- the service ----


@pytest.fixture(scope="module")
def fs_store(tmp_path_factory) -> FilesystemObjectStore:
    root = tmp_path_factory.mktemp("development-objects")
    return FilesystemObjectStore(root, base_url=FILES_URL, signing_key=TEST_SIGNING_KEY)


@pytest.fixture(scope="module")
async def dev_app(member_settings_fx, fs_store):
    from member_service.app import build_app

    # Jobs run by hand with a chosen "today" (the background ones would use the real day).
    settings = member_settings_fx.model_copy(update={"lifecycle_jobs_enabled": False})
    app = await build_app(settings, object_store=fs_store)
    await app.start()
    yield app
    await app.stop()


@pytest.fixture(scope="module")
async def s(dev_app):
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{dev_app.port}")
    yield SimpleNamespace(
        member=member_pb2_grpc.MemberServiceStub(channel),
        dev=member_development_pb2_grpc.DevelopmentServiceStub(channel),
        rules=rules_pb2_grpc.RuleServiceStub(channel),
    )
    await channel.close()


@pytest.fixture(scope="module")
async def world(s):
    code = uuid.uuid4().hex[:8]
    a = (await call(s.member.CreateTenant, pb.CreateTenantRequest(name="甲", code=f"dev-a-{code}"),
                    PLATFORM_ADMIN)).tenant  # fmt: skip
    b = (await call(s.member.CreateTenant, pb.CreateTenantRequest(name="乙", code=f"dev-b-{code}"),
                    PLATFORM_ADMIN)).tenant  # fmt: skip
    adm_a, adm_b = tenant_admin(a.id), tenant_admin(b.id)

    async def org(caller, name, type_, parent=""):
        return (await call(s.member.CreateOrganization, pb.CreateOrganizationRequest(
            parent_id=parent, name=name, type=type_), caller)).organization  # fmt: skip

    root = await org(adm_a, "甲党委", pb.ORGANIZATION_TYPE_COMMITTEE)
    br1 = await org(adm_a, "第一支部", pb.ORGANIZATION_TYPE_BRANCH, root.id)
    br2 = await org(adm_a, "第二支部", pb.ORGANIZATION_TYPE_BRANCH, root.id)
    root_b = await org(adm_b, "乙党委", pb.ORGANIZATION_TYPE_COMMITTEE)

    async def member(caller, org_id, category, joined="2005-07-01", converted="2006-07-01"):
        profile = pb.MemberProfile(
            name=f"党员{next(_seq)}", id_number=adult_id(), category=category, joined_on=joined,
            converted_on=converted if category == pb.MEMBER_CATEGORY_FULL else "",
        )  # fmt: skip
        return (await call(s.member.CreateMember, pb.CreateMemberRequest(
            organization_id=org_id, profile=profile), caller)).member  # fmt: skip

    full1 = await member(adm_a, br1.id, pb.MEMBER_CATEGORY_FULL)
    full2 = await member(adm_a, br1.id, pb.MEMBER_CATEGORY_FULL)
    full3 = await member(adm_a, br2.id, pb.MEMBER_CATEGORY_FULL)
    prob = await member(adm_a, br1.id, pb.MEMBER_CATEGORY_PROBATIONARY, joined="2026-01-10")
    full_b = await member(adm_b, root_b.id, pb.MEMBER_CATEGORY_FULL)
    return dict(a=a, b=b, adm_a=adm_a, adm_b=adm_b, root=root, br1=br1, br2=br2, root_b=root_b,
                sec1=secretary(a.id, br1.id), sec2=secretary(a.id, br2.id), full1=full1,
                full2=full2, full3=full3, prob=prob, full_b=full_b)  # fmt: skip


def step_request(case_id: str, n: int, world, **kw) -> dpb.RecordDevelopmentStepRequest:
    values: dict = dict(case_id=case_id, number=n, date=PLAN[n], late_reason=LATE)
    if n == 5:
        values["member_ids"] = [world["full1"].id]
    if n == 9:
        values["member_ids"] = [world["full1"].id, world["full2"].id]
    if n in (10, 17, 24):
        values["decision"] = dpb.DEVELOPMENT_DECISION_APPROVED
    if n == 11:
        values["training_days"] = 3
    if n == 12:
        values["publicity_from"], values["publicity_to"] = "2024-05-20", "2024-05-24"
    if n in (15, 23):
        values["votes"] = VOTES
    values.update(kw)
    return dpb.RecordDevelopmentStepRequest(**values)


async def open_case(s, world, caller=None, org="br1", **kw) -> dpb.DevelopmentCase:
    values = dict(organization_id=world[org].id, name="张小红", id_number=adult_id(),
                  application_date=PLAN[1], late_reason=LATE)  # fmt: skip
    values.update(kw)
    resp = await call(s.dev.OpenDevelopmentCase, dpb.OpenDevelopmentCaseRequest(**values),
                      caller or world["adm_a"])  # fmt: skip
    return resp.case


async def walk(s, world, case_id: str, upto: int, first: int = 2, caller=None):
    resp = None
    for n in range(first, upto + 1):
        resp = await call(s.dev.RecordDevelopmentStep, step_request(case_id, n, world),
                          caller or world["adm_a"])  # fmt: skip
    return resp


def wired_job(app, cls):
    """The instance behind one of the app's lifecycle jobs (they are not started here)."""
    return next(
        j.__self__ for j in app.lifecycle_jobs if isinstance(getattr(j, "__self__", None), cls)
    )


async def outbox(app, tenant_id: str, event_type: str) -> list[bytes]:
    o = messaging.outbox
    async with app.db.unit_of_work(None) as uow:
        rows = await uow.session.execute(
            select(o.c.payload)
            .where(o.c.tenant_id == uuid.UUID(tenant_id), o.c.event_type == event_type)
            .order_by(o.c.occurred_at, o.c.id)
        )
        return [r.payload for r in rows]


async def case_events(app, tenant_id, event_type, cls, case_id) -> list:
    return [e for e in (cls.FromString(p) for p in await outbox(app, tenant_id, event_type))
            if e.case_id == case_id]  # fmt: skip


# ---- a full pipeline ----


async def test_a_full_pipeline_admits_then_converts_with_an_event_per_step(s, world, dev_app):
    adm, sec1 = world["adm_a"], world["sec1"]
    number = adult_id()
    case = await open_case(s, world, caller=sec1, id_number=number)
    assert case.status == dpb.DEVELOPMENT_CASE_STATUS_OPEN and case.current_step == 1
    assert case.id_number.startswith("440") and "*" in case.id_number and not case.revealed
    gender = pb.GENDER_MALE if int(number[16]) % 2 else pb.GENDER_FEMALE
    assert case.birth_date == "1990-03-15" and case.gender == gender

    got = await call(s.dev.GetDevelopmentCase, dpb.GetDevelopmentCaseRequest(id=case.id), sec1)
    ev = got.evaluation
    assert (ev.stage, ev.last_step, ev.next_step) == (1, 1, 2)
    assert ev.deadline.step == 2 and ev.deadline.due_on == "2023-04-01" and ev.deadline.overdue
    assert ev.deadline.rule_key == "dev.application.talk_within_months"
    assert "一个月内" in ev.deadline.rule_citation
    assert got.steps[0].late and got.steps[0].late_reason == LATE

    await walk(s, world, case.id, 16, caller=sec1)
    member_before = await call(s.member.ListMembers, pb.ListMembersRequest(
        organization_id=world["br1"].id, page_size=200), adm)  # fmt: skip
    admitted = await call(s.dev.RecordDevelopmentStep, step_request(case.id, 17, world), sec1)
    assert admitted.case.status == dpb.DEVELOPMENT_CASE_STATUS_ADMITTED
    member_id = admitted.case.member_id
    assert member_id and admitted.evaluation.probation_ends_on == "2025-07-01"
    m = (await call(s.member.GetMember, pb.GetMemberRequest(id=member_id), adm)).member
    assert m.organization_id == world["br1"].id
    assert m.profile.category == pb.MEMBER_CATEGORY_PROBATIONARY
    assert m.profile.joined_on == "2024-07-01" and m.profile.name == "张小红"
    assert m.profile.party_status == pb.PARTY_STATUS_NORMAL
    member_after = await call(s.member.ListMembers, pb.ListMembersRequest(
        organization_id=world["br1"].id, page_size=200), adm)  # fmt: skip
    assert len(member_after.members) == len(member_before.members) + 1
    registered = [events_pb2.MemberRegistered.FromString(p) for p in await outbox(
        dev_app, world["a"].id, "hongyun.member.v1.MemberRegistered")]  # fmt: skip
    (reg,) = [e for e in registered if e.member_id == member_id]
    assert reg.category == pb.MEMBER_CATEGORY_PROBATIONARY and reg.joined_on == "2024-07-01"

    await walk(s, world, case.id, 23, first=18, caller=sec1)
    converted = await call(s.dev.RecordDevelopmentStep, step_request(case.id, 24, world), sec1)
    assert converted.case.status == dpb.DEVELOPMENT_CASE_STATUS_CONVERTED
    m = (await call(s.member.GetMember, pb.GetMemberRequest(id=member_id), adm)).member
    assert m.profile.category == pb.MEMBER_CATEGORY_FULL
    assert m.profile.converted_on == "2025-07-01"  # the day probation ended, not the approval
    done = await call(s.dev.RecordDevelopmentStep, step_request(case.id, 25, world), sec1)
    assert done.evaluation.next_step == 0 and done.evaluation.stage == 5

    full = await call(s.dev.GetDevelopmentCase, dpb.GetDevelopmentCaseRequest(id=case.id), adm)
    assert [st.number for st in full.steps] == list(range(1, 26))
    assert [t.step for t in full.timeline] == list(range(1, 26))
    assert full.steps[14].votes.entitled == 10 and full.steps[8].member_ids == [
        world["full1"].id, world["full2"].id]  # fmt: skip
    assert all(st.recorded_by == sec1.user_id for st in full.steps)

    opened = await case_events(dev_app, world["a"].id, OPENED, dpb.DevelopmentCaseOpened, case.id)
    assert len(opened) == 1 and opened[0].application_date == PLAN[1]
    steps = await case_events(dev_app, world["a"].id, RECORDED, dpb.DevelopmentStepRecorded,
                              case.id)  # fmt: skip
    assert [e.step for e in steps] == list(range(1, 26))
    assert steps[16].status == dpb.DEVELOPMENT_CASE_STATUS_ADMITTED and steps[16].member_id
    assert steps[23].status == dpb.DEVELOPMENT_CASE_STATUS_CONVERTED
    assert all(e.late for e in steps) and steps[0].organization_id == world["br1"].id

    # The relay publishes them to JetStream.
    nc = await nats.connect(dev_app.settings.nats_url)
    try:
        sub = await nc.jetstream().pull_subscribe(
            f"member.{world['a'].id}.development_case.step_recorded", stream="MEMBER"
        )
        seen: list[int] = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and 25 not in seen:
            try:
                msgs = await sub.fetch(50, timeout=1)
            except (TimeoutError, nats.errors.TimeoutError):
                continue
            for msg in msgs:
                e = dpb.DevelopmentStepRecorded.FromString(msg.data)
                if e.case_id == case.id:
                    seen.append(e.step)
                await msg.ack()
        assert sorted(set(seen)) == list(range(1, 26))
    finally:
        await nc.close()


async def test_the_id_number_is_encrypted_masked_and_revealed_with_an_audit(
    s, world, dev_app, module_database
):
    number = adult_id()
    case = await open_case(s, world, id_number=number)
    assert case.id_number != number
    raw = module_database.pg.psql(
        f"SELECT encode(id_number_enc, 'escape') FROM member.development_cases "
        f"WHERE id = '{case.id}'", module_database.name)  # fmt: skip
    assert raw.strip() and number not in raw
    shown = await call(s.dev.GetDevelopmentCase, dpb.GetDevelopmentCaseRequest(
        id=case.id, reveal=True, reason="核对档案"), world["adm_a"])  # fmt: skip
    assert shown.case.id_number == number and shown.case.revealed
    async with dev_app.db.unit_of_work(uuid.UUID(world["a"].id)) as uow:
        actions = (await uow.session.execute(text(
            "SELECT action, reason FROM member.audit_log WHERE target_id = :t"),
            {"t": uuid.UUID(case.id)})).all()  # fmt: skip
    assert ("development_reveal", "核对档案") in [tuple(a) for a in actions]
    root = CallerContext("root", uuid.UUID(world["a"].id), frozenset({ROLE_PLATFORM_ADMIN}))
    await fails(s.dev.GetDevelopmentCase, dpb.GetDevelopmentCaseRequest(id=case.id, reveal=True),
                root, grpc.StatusCode.PERMISSION_DENIED)  # fmt: skip


# ---- refusals ----


async def test_an_applicant_under_18_is_refused_with_the_rule_and_citation(s, world, dev_app):
    young = id_number("2008-02-29", 1)
    before = len(await outbox(dev_app, world["a"].id, OPENED))
    err = await refused(s.dev.OpenDevelopmentCase, dpb.OpenDevelopmentCaseRequest(
        organization_id=world["br1"].id, name="少年", id_number=young,
        application_date="2026-02-27", late_reason=LATE), world["adm_a"],
        "dev.application.min_age_years")  # fmt: skip
    assert "未满18周岁" in err.details() and "2026-02-28" in err.details()
    assert trailing(err)["x-hongyun-error-field"] == "date"
    assert len(await outbox(dev_app, world["a"].id, OPENED)) == before
    # On the (clamped) 18th birthday the application is accepted.
    case = await open_case(s, world, id_number=young, application_date="2026-02-28")
    assert case.birth_date == "2008-02-29"


async def test_refused_steps_name_their_rule_and_change_nothing(s, world, dev_app):
    adm = world["adm_a"]
    case = await open_case(s, world)
    await refused(s.dev.RecordDevelopmentStep, step_request(case.id, 3, world), adm,
                  "dev.steps.order")  # fmt: skip
    await walk(s, world, case.id, 6)
    early = step_request(case.id, 7, world, date="2024-04-09")  # a day short of a year
    err = await refused(s.dev.RecordDevelopmentStep, early, adm,
                        "dev.candidate.min_activist_months")  # fmt: skip
    assert "2024-04-10" in err.details()
    await walk(s, world, case.id, 8, first=7)
    # An introducer who is a probationary member, one of another tenant, one of too few.
    for ids in ([world["full1"].id, world["prob"].id], [world["full1"].id, world["full_b"].id],
                [world["full1"].id]):  # fmt: skip
        await refused(s.dev.RecordDevelopmentStep, step_request(case.id, 9, world,
                      member_ids=ids), adm, "dev.candidate.introducers")  # fmt: skip
    await walk(s, world, case.id, 14, first=9)
    short = step_request(case.id, 15, world, votes=dpb.DevelopmentVotes(
        entitled=10, present=8, yes=5))  # fmt: skip
    err = await refused(s.dev.RecordDevelopmentStep, short, adm, "dev.branch_meeting.vote")
    assert trailing(err)["x-hongyun-error-field"] == "votes.yes"
    bad = step_request(case.id, 15, world, votes=dpb.DevelopmentVotes(
        entitled=10, present=11, yes=9))  # fmt: skip
    err = await fails(s.dev.RecordDevelopmentStep, bad, adm, grpc.StatusCode.INVALID_ARGUMENT)
    assert trailing(err)["x-hongyun-error-code"] == "invalid_votes"

    got = await call(s.dev.GetDevelopmentCase, dpb.GetDevelopmentCaseRequest(id=case.id), adm)
    assert got.case.current_step == 14 and len(got.steps) == 14
    recorded = await case_events(dev_app, world["a"].id, RECORDED, dpb.DevelopmentStepRecorded,
                                 case.id)  # fmt: skip
    assert [e.step for e in recorded] == list(range(1, 15))


async def test_training_and_publicity_are_checked_before_the_committee_review(s, world):
    adm = world["adm_a"]
    case = await open_case(s, world)
    await walk(s, world, case.id, 10)
    await call(s.dev.RecordDevelopmentStep, step_request(
        case.id, 11, world, training_days=1, training_class_hours_hundredths=1000), adm)  # fmt: skip
    await refused(s.dev.RecordDevelopmentStep, step_request(case.id, 12, world), adm,
                  "dev.candidate.training_min")  # fmt: skip
    resp = await call(s.dev.RecordDevelopmentTraining, dpb.RecordDevelopmentTrainingRequest(
        case_id=case.id, completed_on="2024-05-20", class_hours_hundredths=1400,
        title="党的基本知识"), adm)  # fmt: skip
    assert resp.evaluation.training_class_hours_hundredths == 2400
    assert resp.evaluation.blockers == []
    four_days = step_request(case.id, 12, world, publicity_from="2024-05-20",
                             publicity_to="2024-05-23")  # fmt: skip
    await refused(s.dev.RecordDevelopmentStep, four_days, adm,
                  "dev.admission.publicity_min_working_days")  # fmt: skip
    await call(s.dev.RecordDevelopmentStep, step_request(case.id, 12, world), adm)


async def test_a_tenant_override_applies_to_the_next_step(s, world):
    adm = world["adm_a"]
    case = await open_case(s, world)
    await walk(s, world, case.id, 2)
    await call(s.rules.SetRuleOverride, rpb.SetRuleOverrideRequest(
        key="dev.activist.min_months_after_application", value_json="6",
        citation="某省发展党员工作实施细则第六条", effective_from="2020-01-01"), adm)  # fmt: skip
    try:
        err = await refused(s.dev.RecordDevelopmentStep, step_request(case.id, 3, world), adm,
                            "dev.activist.min_months_after_application")  # fmt: skip
        assert "某省发展党员工作实施细则第六条" in err.details()
        await call(s.dev.RecordDevelopmentStep, step_request(case.id, 3, world,
                                                             date="2023-09-01"), adm)  # fmt: skip
    finally:
        await call(s.rules.DeleteRuleOverride, rpb.DeleteRuleOverrideRequest(
            key="dev.activist.min_months_after_application", reason="测试结束"), adm)  # fmt: skip


async def test_a_late_entry_needs_a_reason_and_a_timely_one_does_not(s, world):
    adm = world["adm_a"]
    err = await fails(s.dev.OpenDevelopmentCase, dpb.OpenDevelopmentCaseRequest(
        organization_id=world["br1"].id, name="李四", id_number=adult_id(),
        application_date=PLAN[1]), adm, grpc.StatusCode.INVALID_ARGUMENT)  # fmt: skip
    assert trailing(err)["x-hongyun-error-code"] == "late_reason_required"
    # Entered late from before the seeded rules' start dates (党章 2022): today's rules apply.
    old = await open_case(s, world, application_date="2019-05-06")
    await call(s.dev.RecordDevelopmentStep, step_request(old.id, 2, world, date="2019-05-20"), adm)
    case = await open_case(s, world, application_date=TODAY.isoformat(), late_reason="")
    got = await call(s.dev.GetDevelopmentCase, dpb.GetDevelopmentCaseRequest(id=case.id), adm)
    assert not got.steps[0].late and got.evaluation.deadline.overdue is False
    err = await fails(s.dev.RecordDevelopmentStep, dpb.RecordDevelopmentStepRequest(
        case_id=case.id, number=2, date=(TODAY + timedelta(days=1)).isoformat()), adm,
        grpc.StatusCode.INVALID_ARGUMENT)  # fmt: skip
    assert trailing(err)["x-hongyun-error-code"] == "future_date"


async def test_one_open_case_per_person_and_none_for_a_member(s, world):
    number = adult_id()
    await open_case(s, world, id_number=number)
    err = await fails(s.dev.OpenDevelopmentCase, dpb.OpenDevelopmentCaseRequest(
        organization_id=world["br2"].id, name="张小红", id_number=number,
        application_date=PLAN[1], late_reason=LATE), world["adm_a"],
        grpc.StatusCode.ALREADY_EXISTS)  # fmt: skip
    assert trailing(err)["x-hongyun-error-code"] == "duplicate_case"
    member = (await call(s.member.GetMember, pb.GetMemberRequest(
        id=world["full1"].id, reveal=True, reveal_reason="核对"), world["adm_a"])).member  # fmt: skip
    err = await fails(s.dev.OpenDevelopmentCase, dpb.OpenDevelopmentCaseRequest(
        organization_id=world["br1"].id, name="老党员", id_number=member.profile.id_number,
        application_date=PLAN[1], late_reason=LATE), world["adm_a"],
        grpc.StatusCode.ALREADY_EXISTS)  # fmt: skip
    assert trailing(err)["x-hongyun-error-code"] == "already_member"


# ---- tenants and scope ----


async def test_other_tenants_and_other_branches_see_nothing(s, world, dev_app):
    case = await open_case(s, world, caller=world["sec1"])
    get = dpb.GetDevelopmentCaseRequest(id=case.id)
    for caller in (world["adm_b"], world["sec2"]):
        err = await fails(s.dev.GetDevelopmentCase, get, caller, grpc.StatusCode.NOT_FOUND)
        assert trailing(err)["x-hongyun-error-code"] == "case_not_found"
        await fails(s.dev.RecordDevelopmentStep, step_request(case.id, 2, world), caller,
                    grpc.StatusCode.NOT_FOUND)  # fmt: skip
        await fails(s.dev.ListDevelopmentMaterials, dpb.ListDevelopmentMaterialsRequest(
            case_id=case.id), caller, grpc.StatusCode.NOT_FOUND)  # fmt: skip
    # A secretary cannot open a case in another branch either.
    await fails(s.dev.OpenDevelopmentCase, dpb.OpenDevelopmentCaseRequest(
        organization_id=world["br1"].id, name="王五", id_number=adult_id(),
        application_date=PLAN[1], late_reason=LATE), world["sec2"],
        grpc.StatusCode.NOT_FOUND)  # fmt: skip

    async def listed(caller, **kw) -> set[str]:
        resp = await call(s.dev.ListDevelopmentCases, dpb.ListDevelopmentCasesRequest(
            page_size=200, **kw), caller)  # fmt: skip
        return {c.case.id for c in resp.cases}

    assert case.id in await listed(world["sec1"]) and case.id in await listed(world["adm_a"])
    assert case.id not in await listed(world["sec2"]) and not await listed(world["adm_b"])
    await fails(s.dev.ListDevelopmentCases, dpb.ListDevelopmentCasesRequest(
        organization_id=world["br1"].id), world["sec2"], grpc.StatusCode.NOT_FOUND)  # fmt: skip

    # Row-level security: inside tenant B's transaction tenant A's rows do not exist.
    async with dev_app.db.unit_of_work(uuid.UUID(world["b"].id)) as uow:
        for table in ("development_cases", "development_steps", "development_training",
                      "development_extensions", "development_materials",
                      "development_reminders"):  # fmt: skip
            n = (await uow.session.execute(text(f"SELECT count(*) FROM member.{table}"))).scalar()
            assert n == 0, table
        with pytest.raises(Exception, match="row-level security"):
            async with uow.session.begin_nested():
                await uow.session.execute(text(
                    "INSERT INTO member.development_extensions (id, tenant_id, case_id,"
                    " decided_on, months) VALUES (:i, :t, :c, '2025-01-01', 6)"),
                    {"i": new_id(), "t": uuid.UUID(world["a"].id), "c": uuid.UUID(case.id)})  # fmt: skip


async def test_list_by_stage_and_status_pages_with_deadlines(s, world):
    adm = world["adm_a"]
    branch = (await call(s.member.CreateOrganization, pb.CreateOrganizationRequest(
        parent_id=world["root"].id, name=f"列表支部{next(_seq)}",
        type=pb.ORGANIZATION_TYPE_BRANCH), adm)).organization  # fmt: skip
    world = {**world, "list_br": branch}
    cases = [await open_case(s, world, org="list_br") for _ in range(3)]
    await walk(s, world, cases[1].id, 3)
    await call(s.dev.CloseDevelopmentCase, dpb.CloseDevelopmentCaseRequest(
        case_id=cases[2].id, reason="本人撤回申请"), adm)  # fmt: skip

    async def ids(**kw) -> list[str]:
        resp = await call(s.dev.ListDevelopmentCases, dpb.ListDevelopmentCasesRequest(
            organization_id=branch.id, **kw), adm)  # fmt: skip
        return [c.case.id for c in resp.cases]

    assert await ids() == [c.id for c in cases]
    assert await ids(stage=2) == [cases[1].id]
    assert await ids(status=dpb.DEVELOPMENT_CASE_STATUS_CLOSED) == [cases[2].id]
    first = await call(s.dev.ListDevelopmentCases, dpb.ListDevelopmentCasesRequest(
        organization_id=branch.id, page_size=2), adm)  # fmt: skip
    assert len(first.cases) == 2 and first.next_page_token
    assert first.cases[0].deadline.step == 2 and first.cases[0].deadline.overdue
    assert first.cases[1].deadline.step == 6 and first.cases[1].deadline.due_on == "2023-10-10"
    second = await call(s.dev.ListDevelopmentCases, dpb.ListDevelopmentCasesRequest(
        organization_id=branch.id, page_size=2, page_token=first.next_page_token), adm)  # fmt: skip
    assert [c.case.id for c in second.cases] == [cases[2].id] and not second.cases[0].deadline.step


# ---- extension, closing, rejection ----


async def test_probation_is_extended_once_and_moves_the_conversion(s, world, dev_app):
    adm = world["adm_a"]
    case = await open_case(s, world)
    await walk(s, world, case.id, 23)
    ext = await call(s.dev.ExtendProbation, dpb.ExtendProbationRequest(
        case_id=case.id, date="2025-06-25", months=6, reason="考察期间表现需进一步考察"), adm)  # fmt: skip
    assert ext.evaluation.probation_ends_on == "2026-01-01"
    assert ext.extension.months == 6 and ext.case.version > 1
    await refused(s.dev.ExtendProbation, dpb.ExtendProbationRequest(
        case_id=case.id, date="2025-07-01", months=6, reason="再次延长"), adm,
        "dev.probation.extension")  # fmt: skip
    await refused(s.dev.RecordDevelopmentStep, step_request(case.id, 24, world), adm,
                  "dev.probation.extension")  # fmt: skip
    ok = await call(s.dev.RecordDevelopmentStep, step_request(case.id, 24, world,
                                                              date="2026-01-05"), adm)  # fmt: skip
    m = (await call(s.member.GetMember, pb.GetMemberRequest(id=ok.case.member_id), adm)).member
    assert m.profile.converted_on == "2026-01-01"
    (event,) = await case_events(dev_app, world["a"].id, EXTENDED, dpb.ProbationExtended, case.id)
    assert (event.months, event.probation_ends_on) == (6, "2026-01-01") and event.member_id
    got = await call(s.dev.GetDevelopmentCase, dpb.GetDevelopmentCaseRequest(id=case.id), adm)
    kinds = [t.kind for t in got.timeline]
    assert dpb.DEVELOPMENT_TIMELINE_KIND_PROBATION_EXTENDED in kinds


async def test_closing_and_rejection_end_a_case(s, world, dev_app):
    adm = world["adm_a"]
    withdrawn = await open_case(s, world)
    closed = await call(s.dev.CloseDevelopmentCase, dpb.CloseDevelopmentCaseRequest(
        case_id=withdrawn.id, reason="本人撤回申请"), adm)  # fmt: skip
    assert closed.case.status == dpb.DEVELOPMENT_CASE_STATUS_CLOSED
    assert closed.case.closed_on == TODAY.isoformat()
    await refused(s.dev.RecordDevelopmentStep, step_request(withdrawn.id, 2, world), adm,
                  "dev.steps.order")  # fmt: skip
    # The person may apply again once the earlier case is closed.
    number = (await call(s.dev.GetDevelopmentCase, dpb.GetDevelopmentCaseRequest(
        id=withdrawn.id, reveal=True, reason="重新申请"), adm)).case.id_number  # fmt: skip
    again = await open_case(s, world, id_number=number)
    await walk(s, world, again.id, 16)
    rejected = await call(s.dev.RecordDevelopmentStep, step_request(
        again.id, 17, world, decision=dpb.DEVELOPMENT_DECISION_REJECTED), adm)  # fmt: skip
    assert rejected.case.status == dpb.DEVELOPMENT_CASE_STATUS_CLOSED
    assert not rejected.case.member_id and rejected.evaluation.next_step == 0
    (ev,) = await case_events(dev_app, world["a"].id, CLOSED, dpb.DevelopmentCaseClosed, again.id)
    assert ev.rejected_at_step == 17
    admitted = await open_case(s, world)
    await walk(s, world, admitted.id, 17)
    err = await fails(s.dev.CloseDevelopmentCase, dpb.CloseDevelopmentCaseRequest(
        case_id=admitted.id, reason="x"), adm, grpc.StatusCode.FAILED_PRECONDITION)  # fmt: skip
    assert trailing(err)["x-hongyun-error-code"] == "case_not_open"


async def test_a_refused_conversion_cancels_the_probationary_membership(s, world, dev_app):
    """取消预备党员资格: the member leaves the register (not listed, not found, not counted) but
    the record stays as departed archive, with a MemberUpdated event and an audit entry."""
    adm = world["adm_a"]
    case = await open_case(s, world)
    await walk(s, world, case.id, 23)
    member_id = (await call(s.dev.GetDevelopmentCase, dpb.GetDevelopmentCaseRequest(
        id=case.id), adm)).case.member_id  # fmt: skip
    listed = await call(s.member.ListMembers, pb.ListMembersRequest(
        organization_id=world["br1"].id, page_size=200), adm)  # fmt: skip
    assert member_id in {m.id for m in listed.members}
    before = len(await outbox(dev_app, world["a"].id, "hongyun.member.v1.MemberUpdated"))
    cancelled = await call(s.dev.RecordDevelopmentStep, step_request(
        case.id, 24, world, decision=dpb.DEVELOPMENT_DECISION_REJECTED), adm)  # fmt: skip
    assert cancelled.case.status == dpb.DEVELOPMENT_CASE_STATUS_CLOSED
    await fails(s.member.GetMember, pb.GetMemberRequest(id=member_id), adm,
                grpc.StatusCode.NOT_FOUND)  # fmt: skip
    listed = await call(s.member.ListMembers, pb.ListMembersRequest(
        organization_id=world["br1"].id, page_size=200), adm)  # fmt: skip
    assert member_id not in {m.id for m in listed.members}
    assert (
        len(await outbox(dev_app, world["a"].id, "hongyun.member.v1.MemberUpdated")) == before + 1
    )
    async with dev_app.db.unit_of_work(uuid.UUID(world["a"].id)) as uow:
        row = (await uow.session.execute(text(
            "SELECT departed_on, departed_reason FROM member.members WHERE id = :id"),
            {"id": member_id})).one()  # fmt: skip
        audit = (await uow.session.execute(text(
            "SELECT count(*) FROM member.audit_log WHERE target_id = :id"
            " AND action = 'member_departed'"), {"id": member_id})).scalar_one()  # fmt: skip
    assert row.departed_reason == "probation_cancelled" and row.departed_on.isoformat() == PLAN[24]
    assert audit == 1


async def test_cases_follow_their_people_across_moves_and_merges(s, world, dev_app):
    adm = world["adm_a"]
    orgs = organization_admin_pb2_grpc.OrganizationAdminServiceStub(
        grpc.aio.insecure_channel(f"127.0.0.1:{dev_app.port}")
    )
    for key, name in (("mx", "合并前支部"), ("my", "合并后支部")):
        world[key] = (await call(s.member.CreateOrganization, pb.CreateOrganizationRequest(
            parent_id=world["root"].id, name=name, type=pb.ORGANIZATION_TYPE_BRANCH), adm)
        ).organization  # fmt: skip
    mx, my = world["mx"].id, world["my"].id
    applicant = await open_case(s, world, org="mx")
    admitted = await open_case(s, world, org="mx")
    await walk(s, world, admitted.id, 17)

    async def org_of(case_id: str) -> str:
        got = await call(s.dev.GetDevelopmentCase, dpb.GetDevelopmentCaseRequest(id=case_id), adm)
        return got.case.organization_id

    member_id = (await call(s.dev.GetDevelopmentCase, dpb.GetDevelopmentCaseRequest(
        id=admitted.id), adm)).case.member_id  # fmt: skip
    await call(s.member.UpdateMember, pb.UpdateMemberRequest(
        id=member_id, organization_id=my, update_mask=["organization_id"]), adm)  # fmt: skip
    assert (await org_of(admitted.id), await org_of(applicant.id)) == (my, mx)
    await call(orgs.MergeOrganization, opb.MergeOrganizationRequest(
        id=mx, target_id=my, effective_on=TODAY.isoformat(), reason="支部合并"), adm)  # fmt: skip
    assert await org_of(applicant.id) == my
    listed = await call(s.dev.ListDevelopmentCases, dpb.ListDevelopmentCasesRequest(
        organization_id=my), secretary(world["a"].id, my))  # fmt: skip
    assert {c.case.id for c in listed.cases} == {applicant.id, admitted.id}


# ---- materials ----


async def test_materials_are_stored_listed_and_downloaded(s, world, dev_app, fs_store):
    adm = world["adm_a"]
    case = await open_case(s, world)
    got = await call(s.dev.GetDevelopmentCase, dpb.GetDevelopmentCaseRequest(id=case.id), adm)
    up = await call(s.dev.UploadDevelopmentMaterial, dpb.UploadDevelopmentMaterialRequest(
        case_id=case.id, step_record_id=got.steps[0].id, file_name="入党申请书.pdf",
        content_type="application/pdf", content=PDF), adm)  # fmt: skip
    assert up.material.size == len(PDF) and up.material.step_record_id == got.steps[0].id
    listed = await call(s.dev.ListDevelopmentMaterials, dpb.ListDevelopmentMaterialsRequest(
        case_id=case.id), world["sec1"])  # fmt: skip
    assert [m.file_name for m in listed.materials] == ["入党申请书.pdf"]
    link = await call(s.dev.GetDevelopmentMaterialDownload,
                      dpb.GetDevelopmentMaterialDownloadRequest(
                          case_id=case.id, material_id=up.material.id, reason="审核"), adm)  # fmt: skip
    app = make_fs_download_app(fs_store, max_upload_bytes=1024 * 1024)
    transport = httpx.ASGITransport(app=app, root_path="/files")
    async with httpx.AsyncClient(transport=transport, base_url="http://files.test") as client:
        r = await client.get(link.url)
    assert r.status_code == 200 and r.content == PDF
    for ctype, content, code in (("text/plain", b"hello", "unsupported_content_type"),
                                 ("image/png", PDF, "content_mismatch")):  # fmt: skip
        err = await fails(s.dev.UploadDevelopmentMaterial, dpb.UploadDevelopmentMaterialRequest(
            case_id=case.id, file_name="x", content_type=ctype, content=content), adm,
            grpc.StatusCode.INVALID_ARGUMENT)  # fmt: skip
        assert trailing(err)["x-hongyun-error-code"] == code


# ---- what is due ----


async def _due(app, world, today: date, root_path: str | None = None, limit: int = 50):
    async with app.db.unit_of_work(uuid.UUID(world["a"].id)) as uow:
        return await list_due(uow.session, uuid.UUID(world["a"].id), root_path, today, limit,
                              RuleBook())  # fmt: skip


async def _path(app, world, org: str) -> str:
    async with app.db.unit_of_work(uuid.UUID(world["a"].id)) as uow:
        return (await uow.session.execute(text(
            "SELECT path::text FROM member.organizations WHERE id = :i"),
            {"i": uuid.UUID(world[org].id)})).scalar_one()  # fmt: skip


async def test_what_is_due_lists_deadlines_in_scope_earliest_first(s, world, dev_app):
    adm = world["adm_a"]
    code = next(_seq)
    sub = {}
    for name in ("due1", "due2"):
        sub[name] = (await call(s.member.CreateOrganization, pb.CreateOrganizationRequest(
            parent_id=world["root"].id, name=f"待办{name}{code}",
            type=pb.ORGANIZATION_TYPE_BRANCH), adm)).organization  # fmt: skip
    w = {**world, **sub}
    talk = await open_case(s, w, org="due1", application_date="2025-01-31")  # talk 2025-02-28
    review = await open_case(s, w, org="due1", application_date="2024-01-10")
    for n, day in ((2, "2024-01-20"), (3, "2024-08-31")):  # review due 2025-02-28
        await call(s.dev.RecordDevelopmentStep, step_request(review.id, n, w, date=day), adm)
    approval = await open_case(s, w, org="due2")
    await walk(s, w, approval.id, 15)  # meeting 2024-07-01: approval due 2024-10-01
    nothing = await open_case(s, w, org="due2")
    await walk(s, w, nothing.id, 7)  # waits for no deadline

    root_path = await _path(dev_app, w, "root")
    due1 = await _path(dev_app, w, "due1")
    due2 = await _path(dev_app, w, "due2")
    mine = {talk.id, review.id, approval.id, nothing.id}

    page = await _due(dev_app, w, date(2025, 2, 1), due1)
    # The same day: by id (the talk case was opened first).
    assert [i.subject_id for i in page.items] == [uuid.UUID(talk.id), uuid.UUID(review.id)]
    assert page.total == 2 and page.overdue == 0
    assert {i.due_on for i in page.items} == {date(2025, 2, 28)}
    assert page.items[1].rule_key == "dev.activist.review_months"
    item = page.items[0]
    assert item.kind == DueKind.DEVELOPMENT_STEP and item.subject_label == "张小红"
    assert (
        item.rule_key == "dev.application.talk_within_months" and "一个月内" in item.rule_citation
    )
    assert item.rule_source == "national" and item.organization_id == uuid.UUID(sub["due1"].id)
    # Outside the 30-day lead nothing is listed yet; the overdue approval is always listed.
    early = await _due(dev_app, w, date(2025, 1, 28), due1)
    assert early.total == 0
    overdue = await _due(dev_app, w, date(2025, 2, 1), due2)
    assert [(i.subject_id, i.due_on) for i in overdue.items] == [
        (uuid.UUID(approval.id), date(2024, 10, 1))]  # fmt: skip
    assert overdue.overdue == 1 and "审批" in overdue.items[0].title
    # The whole tenant: counts over everything, items limited.
    whole = await _due(dev_app, w, date(2025, 2, 1), root_path, limit=2)
    assert len(whole.items) == 2 and whole.total >= 3 and whole.overdue >= 1
    assert [i.due_on for i in whole.items] == sorted(i.due_on for i in whole.items)
    listed = {str(i.subject_id) for i in (await _due(dev_app, w, date(2025, 2, 1), root_path,
                                                     limit=200)).items}  # fmt: skip
    assert mine & listed == {talk.id, review.id, approval.id}
    # A tenant override of the talk deadline applies at once.
    await call(s.rules.SetRuleOverride, rpb.SetRuleOverrideRequest(
        key="dev.application.talk_within_months", value_json="2",
        citation="某省规定：两个月内谈话", effective_from="2020-01-01"), adm)  # fmt: skip
    try:
        moved = await _due(dev_app, w, date(2025, 2, 1), due1)
        assert [i.subject_id for i in moved.items] == [uuid.UUID(review.id)]
        later = await _due(dev_app, w, date(2025, 3, 1), due1)
        talk_item = next(i for i in later.items if i.subject_id == uuid.UUID(talk.id))
        assert talk_item.due_on == date(2025, 3, 31) and talk_item.rule_source == "tenant"
    finally:
        await call(s.rules.DeleteRuleOverride, rpb.DeleteRuleOverrideRequest(
            key="dev.application.talk_within_months", reason="测试结束"), adm)  # fmt: skip


# ---- the reminder job ----


async def test_reminders_are_sent_once_each_before_the_deadline(s, world, dev_app):
    adm = world["adm_a"]
    case = await open_case(s, world, application_date="2025-01-31")  # talk due 2025-02-28
    job = wired_job(dev_app, DevelopmentReminders)

    async def reminders() -> list[dpb.DevelopmentStepDue]:
        return await case_events(dev_app, world["a"].id, STEP_DUE, dpb.DevelopmentStepDue,
                                 case.id)  # fmt: skip

    await job.run_once(today=date(2025, 1, 28))  # 31 days before: too early
    assert await reminders() == []
    day30 = date(2025, 1, 29)
    await asyncio.gather(job.run_once(today=day30), job.run_once(today=day30))  # concurrent
    await job.run_once(today=day30 + timedelta(days=2))  # a rerun
    (first,) = await reminders()
    assert (first.step, first.due_on, first.days_before, first.remind_on) == (
        2, "2025-02-28", 30, "2025-01-29")  # fmt: skip
    assert first.days_remaining == 30 and first.rule_key == "dev.application.talk_within_months"
    assert first.organization_id == world["br1"].id
    await job.run_once(today=date(2025, 2, 21))
    await job.run_once(today=date(2025, 2, 22))
    assert [e.days_before for e in await reminders()] == [30, 7]
    await job.run_once(today=date(2025, 3, 1))  # overdue: the list shows it, no more reminders
    assert len(await reminders()) == 2
    # Once the step is recorded the case waits for nothing: no reminder.
    await call(s.dev.RecordDevelopmentStep, step_request(case.id, 2, world,
                                                         date="2025-02-10"), adm)  # fmt: skip
    other = await open_case(s, world, application_date="2025-01-31")
    await call(
        s.dev.RecordDevelopmentStep, step_request(other.id, 2, world, date="2025-02-05"), adm
    )
    await job.run_once(today=date(2025, 2, 27))
    assert len(await reminders()) == 2
    # A deadline that appears late sends only the nearest reminder and skips the earlier one.
    late = await open_case(s, world, application_date="2025-05-31")  # talk due 2025-06-30
    await job.run_once(today=date(2025, 6, 25))
    got = await case_events(dev_app, world["a"].id, STEP_DUE, dpb.DevelopmentStepDue, late.id)
    assert [e.days_before for e in got] == [7]
    async with dev_app.db.unit_of_work(uuid.UUID(world["a"].id)) as uow:
        rows = (await uow.session.execute(text(
            "SELECT days_before, outcome FROM member.development_reminders WHERE case_id = :c "
            "ORDER BY days_before"), {"c": uuid.UUID(late.id)})).all()  # fmt: skip
    assert [tuple(r) for r in rows] == [(7, "sent"), (30, "skipped")]


# ---- training events from the learning service ----


async def test_a_redelivered_training_event_counts_once(s, world, dev_app):
    adm = world["adm_a"]
    case = await open_case(s, world)
    await walk(s, world, case.id, 11)
    nc = await nats.connect(dev_app.settings.nats_url)
    js = nc.jetstream()
    await ensure_stream(js, LEARNING_STREAM, LEARNING_SUBJECTS)
    job = wired_job(dev_app, TrainingConsumerJob)
    stop = asyncio.Event()
    task = asyncio.create_task(job.run(stop))
    try:
        tenant = uuid.UUID(world["a"].id)
        event = lpb.TrainingHoursRecorded(
            tenant_id=str(tenant), development_case_id=case.id, class_hours_hundredths=1650,
            course_title="发展对象培训班（线上）", completed_on="2024-05-15", record_id="L-1",
        )  # fmt: skip
        env = Envelope(new_id(), lpb.TrainingHoursRecorded.DESCRIPTOR.full_name, tenant,
                       datetime.now(UTC))  # fmt: skip
        subject = f"learning.{tenant}.training.hours_recorded"
        # The same event twice, as a replay would send it (a new message id, the same event id).
        await js.publish(subject, event.SerializeToString(), headers=env.headers())
        await js.publish(subject, event.SerializeToString(),
                         headers={**env.headers(), H_MSG_ID: f"{env.event_id}:replay"})  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            try:
                info = await js.consumer_info(LEARNING_STREAM, CONSUMER_NAME)
                if (
                    info.delivered.stream_seq >= 2
                    and not info.num_pending
                    and not (info.num_ack_pending)
                ):
                    break
            except nats.js.errors.NotFoundError:
                pass
            assert time.monotonic() < deadline, "the consumer did not process both messages"
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await task
        await nc.close()
    got = await call(s.dev.GetDevelopmentCase, dpb.GetDevelopmentCaseRequest(id=case.id), adm)
    learned = [t for t in got.training if t.source == "learning"]
    assert [(t.class_hours_hundredths, t.title) for t in learned] == [
        (1650, "发展对象培训班（线上）")]  # fmt: skip
    assert got.evaluation.training_class_hours_hundredths == 1650
    assert got.evaluation.training_days == 3  # step 11's own record
