"""Class hours from the learning service reach the member service's development case exactly
once: both services run on the same PostgreSQL server (separate databases) and the same NATS.
A candidate's case is walked to step 11 in the member service; in learning a class for that case
gets sessions and attendance and is closed; the member's TrainingConsumerJob (a lifecycle job)
adds the hours to the case, and step 12 — refused before for dev.candidate.training_min — is
accepted. Redelivered events (the same Nats-Msg-Id, and a fresh one past JetStream's dedupe) count
once; with the member service stopped while the class closes, the hours arrive once after it
starts again."""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from types import SimpleNamespace

import grpc
import nats
import pytest
from hongyun.learning.v1 import learning_training_pb2 as lpb
from hongyun.learning.v1 import learning_training_pb2_grpc
from hongyun.member.v1 import member_development_pb2 as dpb
from hongyun.member.v1 import member_development_pb2_grpc, member_pb2_grpc
from hongyun.member.v1 import member_pb2 as pb
from hongyun_platform.crypto import encode_key, generate_key
from hongyun_platform.grpc.context import (
    ROLE_PLATFORM_ADMIN,
    ROLE_SECRETARY,
    ROLE_TENANT_ADMIN,
    CallerContext,
)
from hongyun_platform.messaging.envelope import H_MSG_ID, Envelope
from hongyun_platform.testing.plugin import APP_ROLE
from hongyun_platform.validation import check_character
from member_service.config import MemberSettings
from member_service.development_training_consumer import CONSUMER_NAME, LEARNING_STREAM
from member_service.main import migrate as migrate_member
from member_service.main import provision_streams as provision_member_streams

pytestmark = pytest.mark.integration

PLATFORM_ADMIN = CallerContext(user_id="root", tenant_id=None,
                               roles=frozenset({ROLE_PLATFORM_ADMIN}))  # fmt: skip
LATE = "整理历史档案补录"
# Steps 1-10 at dates that satisfy the national rules; the class runs after step 10.
PLAN = {
    1: "2023-03-01", 2: "2023-03-20", 3: "2023-04-10", 4: "2023-04-15", 5: "2023-04-20",
    6: "2023-10-10", 7: "2024-04-10", 8: "2024-04-15", 9: "2024-04-20", 10: "2024-05-06",
    11: "2024-05-10", 12: "2024-06-03",
}  # fmt: skip
CLASS_DAYS = ("2024-05-07", "2024-05-08", "2024-05-09")
_seq = iter(range(100, 999))


def admin(tenant) -> CallerContext:
    return CallerContext(user_id=f"admin-{tenant}", tenant_id=uuid.UUID(str(tenant)),
                         roles=frozenset({ROLE_TENANT_ADMIN}))  # fmt: skip


def sec(tenant, org) -> CallerContext:
    return CallerContext(user_id=f"sec-{org}", tenant_id=uuid.UUID(str(tenant)),
                         roles=frozenset({ROLE_SECRETARY}), scope_org_id=uuid.UUID(str(org)))  # fmt: skip


def id_number() -> str:
    first17 = f"44030519900315{next(_seq):03d}"
    return first17 + check_character(first17)


async def call(method, request, caller):
    return await method(request, metadata=caller.to_metadata(), timeout=15)


async def eventually(probe, *, seconds: float = 30.0):
    """Poll `probe()` until it returns a truthy value (events arrive asynchronously)."""
    deadline = time.monotonic() + seconds
    while True:
        value = await probe()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.1)


# ---- the member service, in its own database, that the tests stop and start ----


class MemberRunner:
    def __init__(self, settings: MemberSettings):
        self.settings = settings
        self.app = None
        self.channel: grpc.aio.Channel | None = None

    async def start(self) -> SimpleNamespace:
        from member_service.app import build_app

        self.app = await build_app(self.settings)
        await self.app.start()
        self.channel = grpc.aio.insecure_channel(f"127.0.0.1:{self.app.port}")
        return self.stubs

    @property
    def stubs(self) -> SimpleNamespace:
        return SimpleNamespace(
            member=member_pb2_grpc.MemberServiceStub(self.channel),
            dev=member_development_pb2_grpc.DevelopmentServiceStub(self.channel),
        )

    async def stop(self) -> None:
        if self.channel is not None:
            await self.channel.close()
        if self.app is not None:
            await self.app.stop()
        self.app = self.channel = None


@pytest.fixture(scope="module")
async def member(postgres, nats_server, tmp_path_factory):
    name = f"t_training_flow_member_{uuid.uuid4().hex[:8]}"
    postgres.create_database(name)
    settings = MemberSettings(
        database_url=postgres.url(name, APP_ROLE), migration_database_url=postgres.url(name),
        db_app_role=APP_ROLE, nats_url=nats_server.url, grpc_host="127.0.0.1", grpc_port=0,
        field_keys=encode_key("k1", generate_key("AES-GCM")),
        blind_index_key=base64.b64encode(generate_key("AES-GCM")).decode(),
        outbox_poll_seconds=0.1, outbox_max_backoff_seconds=1.0, shutdown_grace_seconds=1.0,
        health_check_seconds=0.2, import_workers=0, term_reminders_enabled=False,
        # The lifecycle jobs include the consumer of training hours; it looks again this often.
        lifecycle_jobs_enabled=True, lifecycle_job_interval_seconds=0.3,
    )  # fmt: skip
    await asyncio.to_thread(migrate_member, settings)
    await provision_member_streams(settings)
    runner = MemberRunner(settings)
    await runner.start()
    yield runner
    await runner.stop()


@pytest.fixture(scope="module")
async def learning(learning_app):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{learning_app.port}") as channel:
        yield learning_training_pb2_grpc.TrainingServiceStub(channel)


@pytest.fixture(scope="module")
async def world(member):
    s = member.stubs
    code = uuid.uuid4().hex[:8]
    tenant = (await call(s.member.CreateTenant, pb.CreateTenantRequest(
        name="示范党委", code=f"flow-{code}"), PLATFORM_ADMIN)).tenant  # fmt: skip
    adm = admin(tenant.id)

    async def org(name, type_, parent=""):
        return (await call(s.member.CreateOrganization, pb.CreateOrganizationRequest(
            parent_id=parent, name=name, type=type_), adm)).organization  # fmt: skip

    root = await org("示范党委", pb.ORGANIZATION_TYPE_COMMITTEE)
    branch = await org("第一支部", pb.ORGANIZATION_TYPE_BRANCH, root.id)
    fulls = []
    for _ in range(2):  # contacts and introducers
        profile = pb.MemberProfile(name=f"党员{next(_seq)}", id_number=id_number(),
                                   category=pb.MEMBER_CATEGORY_FULL, joined_on="2005-07-01",
                                   converted_on="2006-07-01")  # fmt: skip
        fulls.append((await call(s.member.CreateMember, pb.CreateMemberRequest(
            organization_id=branch.id, profile=profile), adm)).member)  # fmt: skip
    return SimpleNamespace(tenant=tenant.id, adm=adm, root=root.id, branch=branch.id,
                           sec=sec(tenant.id, branch.id), fulls=[m.id for m in fulls])  # fmt: skip


def step(world, case_id: str, n: int) -> dpb.RecordDevelopmentStepRequest:
    values: dict = dict(case_id=case_id, number=n, date=PLAN[n], late_reason=LATE)
    if n == 5:
        values["member_ids"] = world.fulls[:1]
    if n == 9:
        values["member_ids"] = world.fulls
    if n == 10:
        values["decision"] = dpb.DEVELOPMENT_DECISION_APPROVED
    if n == 12:
        values["publicity_from"], values["publicity_to"] = "2024-05-20", "2024-05-24"
    return dpb.RecordDevelopmentStepRequest(**values)


async def candidate(stubs, world, name: str) -> str:
    """A development case at step 11, recorded without training of its own."""
    case = (await call(stubs.dev.OpenDevelopmentCase, dpb.OpenDevelopmentCaseRequest(
        organization_id=world.branch, name=name, id_number=id_number(),
        application_date=PLAN[1], late_reason=LATE), world.adm)).case  # fmt: skip
    for n in range(2, 12):
        await call(stubs.dev.RecordDevelopmentStep, step(world, case.id, n), world.adm)
    return case.id


async def run_class(learning, world, case_id: str, title: str) -> lpb.CloseTrainingClassResponse:
    """The branch secretary's class for the candidate: three days of 8 class hours, attended."""
    caller = world.sec
    cls = (await call(learning.CreateTrainingClass, lpb.CreateTrainingClassRequest(
        title=title, kind=lpb.TRAINING_CLASS_KIND_DEVELOPMENT_CANDIDATE,
        organizer_org_id=world.branch, organizer_name="中共示范党委第一支部委员会",
        starts_on=CLASS_DAYS[0], ends_on=CLASS_DAYS[-1]), caller)).training_class  # fmt: skip
    enrolment = (await call(learning.EnrolTrainee, lpb.EnrolTraineeRequest(
        class_id=cls.id, development_case_id=case_id, display_name="张小红"),
        caller)).enrolment  # fmt: skip
    await call(learning.OpenTrainingClass, lpb.OpenTrainingClassRequest(id=cls.id), caller)
    for day in CLASS_DAYS:
        session = (await call(learning.AddTrainingSession, lpb.AddTrainingSessionRequest(
            class_id=cls.id, mode=lpb.TRAINING_SESSION_MODE_OFFLINE, held_on=day,
            starts_at="08:30", ends_at="17:30", place="党校", class_hours_hundredths=800),
            caller)).session  # fmt: skip
        await call(learning.RecordTrainingAttendance, lpb.RecordTrainingAttendanceRequest(
            class_id=cls.id, session_id=session.id, entries=[lpb.TrainingAttendanceEntry(
                enrolment_id=enrolment.id, status=lpb.TRAINING_ATTENDANCE_STATUS_PRESENT)]),
            caller)  # fmt: skip
    closed = await call(learning.CloseTrainingClass, lpb.CloseTrainingClassRequest(id=cls.id),
                        caller)  # fmt: skip
    assert closed.newly_completed == 1
    return closed


async def learned(stubs, world, case_id: str) -> dpb.GetDevelopmentCaseResponse:
    return await call(stubs.dev.GetDevelopmentCase, dpb.GetDevelopmentCaseRequest(id=case_id),
                      world.adm)  # fmt: skip


def from_learning(got: dpb.GetDevelopmentCaseResponse) -> list[tuple[int, int, str, str]]:
    return [(t.class_hours_hundredths, t.days, t.title, t.completed_on)
            for t in got.training if t.source == "learning"]  # fmt: skip


def on_timeline(got: dpb.GetDevelopmentCaseResponse, title: str) -> int:
    return sum(
        1 for e in got.timeline
        if e.kind == dpb.DEVELOPMENT_TIMELINE_KIND_TRAINING and title in (e.title + e.detail)
    )  # fmt: skip


async def outbox_row(learning_app, record_id: str):
    from learning_service.models import messaging
    from sqlalchemy import select

    o = messaging.outbox
    async with learning_app.db.unit_of_work(None) as uow:
        rows = (await uow.session.execute(
            select(o).where(o.c.event_type == "hongyun.learning.v1.TrainingHoursRecorded")
        )).all()  # fmt: skip
    from hongyun.learning.v1 import learning_events_pb2 as epb

    (row,) = [r for r in rows if epb.TrainingHoursRecorded.FromString(r.payload).record_id
              == record_id]  # fmt: skip
    return row


async def consumer_caught_up(js, seq: int) -> bool:
    try:
        info = await js.consumer_info(LEARNING_STREAM, CONSUMER_NAME)
    except nats.js.errors.NotFoundError:
        return False
    return info.ack_floor.stream_seq >= seq and not info.num_ack_pending


async def test_class_hours_reach_the_case_once_even_when_redelivered(
    member, learning, learning_app, world
):
    stubs = member.stubs
    case_id = await candidate(stubs, world, "张小红")
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await call(stubs.dev.RecordDevelopmentStep, step(world, case_id, 12), world.adm)
    refused = dict(e.value.trailing_metadata() or ())
    assert refused["x-hongyun-rule-key"] == "dev.candidate.training_min"

    title = "2024年第一期发展对象短期集中培训班"
    closed = await run_class(learning, world, case_id, title)
    (trainee,) = closed.evaluation.trainees
    record_id = trainee.enrolment.completion.id

    async def arrived():
        got = await learned(stubs, world, case_id)
        return got if from_learning(got) else None

    got = await eventually(arrived)
    assert got is not None, "the hours did not reach the development case"
    assert from_learning(got) == [(2400, 3, title, "2024-05-09")]
    assert on_timeline(got, title) == 1
    assert got.evaluation.training_class_hours_hundredths == 2400
    assert got.evaluation.training_days == 3
    # The rule is met now: step 12 is accepted.
    await call(stubs.dev.RecordDevelopmentStep, step(world, case_id, 12), world.adm)

    # Redelivery: the same message again (JetStream drops it inside its duplicate window), and
    # the same event under a fresh Nats-Msg-Id (delivered; the member's inbox drops it).
    row = await outbox_row(learning_app, record_id)
    assert row.published_at is not None
    env = Envelope(row.id, row.event_type, row.tenant_id, row.occurred_at)
    nc = await nats.connect(learning_app.settings.nats_url)
    try:
        js = nc.jetstream()
        same = await js.publish(row.subject, row.payload, headers=env.headers())
        assert same.duplicate
        fresh = await js.publish(row.subject, row.payload,
                                 headers={**env.headers(), H_MSG_ID: str(uuid.uuid4())})  # fmt: skip
        assert not fresh.duplicate
        assert await eventually(lambda: consumer_caught_up(js, fresh.seq))
    finally:
        await nc.close()
    got = await learned(stubs, world, case_id)
    assert from_learning(got) == [(2400, 3, title, "2024-05-09")]
    assert on_timeline(got, title) == 1


async def test_hours_closed_while_the_member_service_is_down_arrive_once_after_restart(
    member, learning, learning_app, world
):
    stubs = member.stubs
    case_id = await candidate(stubs, world, "李小明")
    await member.stop()  # before the event exists, let alone is consumed
    try:
        title = "2024年第二期发展对象短期集中培训班"
        closed = await run_class(learning, world, case_id, title)
        record_id = closed.evaluation.trainees[0].enrolment.completion.id

        async def published():
            return (await outbox_row(learning_app, record_id)).published_at

        assert await eventually(published), "the learning relay did not publish the event"
        # Both apps gone for a moment is fine: JetStream keeps the event for the consumer.
        await asyncio.sleep(0.3)
    finally:
        stubs = await member.start()

    async def arrived():
        got = await learned(stubs, world, case_id)
        return got if from_learning(got) else None

    got = await eventually(arrived)
    assert got is not None, "the hours did not arrive after the restart"
    assert from_learning(got) == [(2400, 3, title, "2024-05-09")]
    assert on_timeline(got, title) == 1
    # Still once after the consumer has gone over everything again.
    nc = await nats.connect(learning_app.settings.nats_url)
    try:
        js = nc.jetstream()
        last = (await js.stream_info(LEARNING_STREAM)).state.last_seq
        assert await eventually(lambda: consumer_caught_up(js, last))
    finally:
        await nc.close()
    got = await learned(stubs, world, case_id)
    assert len(from_learning(got)) == 1
