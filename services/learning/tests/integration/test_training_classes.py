"""Training classes through gRPC against the real service (PostgreSQL under row-level security,
NATS, the outbox): defaults per kind, the lifecycle with attendance corrections, closing with one
TrainingHoursRecorded per completion (never twice), certificates, duplicate enrolment, another
tenant's class and a sibling branch's secretary (404, nothing written), online sessions through
the OnlineCompletion seam, the auto-close job and append-only attendance."""

from __future__ import annotations

import base64
import contextlib
import re
import uuid
import zlib
from datetime import timedelta

import grpc
import pytest
from hongyun.learning.v1 import learning_events_pb2 as epb
from hongyun.learning.v1 import learning_training_pb2 as pb
from hongyun.learning.v1 import learning_training_pb2_grpc
from hongyun_platform.grpc.context import (
    ROLE_MEMBER,
    ROLE_SECRETARY,
    ROLE_TENANT_ADMIN,
    CallerContext,
)
from learning_service.domain.training import china_today
from learning_service.training import Training
from learning_service.training_jobs import TrainingAutoClose
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

pytestmark = pytest.mark.integration

TODAY = china_today()
START = TODAY - timedelta(days=20)
HOURS = "hongyun.learning.v1.TrainingHoursRecorded"
PRESENT = pb.TRAINING_ATTENDANCE_STATUS_PRESENT
ABSENT = pb.TRAINING_ATTENDANCE_STATUS_ABSENT
LEAVE = pb.TRAINING_ATTENDANCE_STATUS_LEAVE
CANDIDATE = pb.TRAINING_CLASS_KIND_DEVELOPMENT_CANDIDATE


def admin(tenant) -> CallerContext:
    return CallerContext(user_id=f"admin-{tenant}", tenant_id=uuid.UUID(str(tenant)),
                         roles=frozenset({ROLE_TENANT_ADMIN}))  # fmt: skip


def sec(tenant, org) -> CallerContext:
    return CallerContext(user_id=f"sec-{org}", tenant_id=uuid.UUID(str(tenant)),
                         roles=frozenset({ROLE_SECRETARY}), scope_org_id=uuid.UUID(str(org)))  # fmt: skip


def member(tenant, user_id: str) -> CallerContext:
    return CallerContext(user_id=user_id, tenant_id=uuid.UUID(str(tenant)),
                         roles=frozenset({ROLE_MEMBER}))  # fmt: skip


def day(offset: int) -> str:
    return (START + timedelta(days=offset)).isoformat()


async def call(method, request, caller):
    return await method(request, metadata=caller.to_metadata(), timeout=15)


async def fails(method, request, caller, code: grpc.StatusCode, reason: str | None = None):
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await call(method, request, caller)
    assert e.value.code() == code, e.value.details()
    if reason is not None:
        assert dict(e.value.trailing_metadata() or ())["x-hongyun-error-code"] == reason
    assert "(" in e.value.details()  # Chinese first, English in parentheses
    return e.value


@pytest.fixture(scope="module")
async def stub(learning_app):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{learning_app.port}") as channel:
        yield learning_training_pb2_grpc.TrainingServiceStub(channel)


@pytest.fixture(scope="module")
def world(learning_app, owner_sql):
    """Two tenants; in A a committee with two branches, known to the directory projection."""
    a, b = uuid.uuid4(), uuid.uuid4()
    root, br1, br2, root_b = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    paths = [(a, root, [root]), (a, br1, [root, br1]), (a, br2, [root, br2]), (b, root_b, [root_b])]

    def array(path) -> str:
        return "ARRAY[" + ", ".join(f"'{p}'::uuid" for p in path) + "]"

    values = ", ".join(f"('{t}', '{o}', {array(path)})" for t, o, path in paths)
    owner_sql(f"INSERT INTO learning.org_paths (tenant_id, org_id, path) VALUES {values}")
    return dict(a=a, b=b, root=root, br1=br1, br2=br2, root_b=root_b)


def count(owner_sql, sql: str) -> int:
    return int(owner_sql(sql).split()[-1])


def hours_events(owner_sql, tenant) -> list[epb.TrainingHoursRecorded]:
    rows = owner_sql(
        "SELECT encode(payload, 'hex') FROM learning.outbox "
        f"WHERE subject = 'learning.{tenant}.training.hours_recorded' AND event_type = '{HOURS}' "
        "ORDER BY occurred_at"
    )
    return [epb.TrainingHoursRecorded.FromString(bytes.fromhex(h)) for h in rows.split() if h]


async def new_class(stub, caller, org, **kw) -> pb.TrainingClass:
    values = dict(title="2026年第一期发展对象培训班", kind=CANDIDATE, organizer_org_id=str(org),
                  organizer_name="中共示范第一支部委员会", starts_on=day(0), ends_on=day(6))  # fmt: skip
    values.update(kw)
    return (await call(stub.CreateTrainingClass, pb.CreateTrainingClassRequest(**values),
                       caller)).training_class  # fmt: skip


async def enrol(stub, caller, class_id, name, **kw) -> pb.TrainingEnrolment:
    values = dict(class_id=class_id, member_id=str(uuid.uuid4()), display_name=name)
    values.update(kw)
    return (await call(stub.EnrolTrainee, pb.EnrolTraineeRequest(**values), caller)).enrolment


async def offline(stub, caller, class_id, offset, hours=800) -> pb.TrainingSession:
    return (await call(stub.AddTrainingSession, pb.AddTrainingSessionRequest(
        class_id=class_id, mode=pb.TRAINING_SESSION_MODE_OFFLINE, title=f"第{offset + 1}天",
        held_on=day(offset), starts_at="08:30", ends_at="17:30", place="党员活动室",
        class_hours_hundredths=hours), caller)).session  # fmt: skip


async def attend(stub, caller, class_id, session_id, *entries):
    return (await call(stub.RecordTrainingAttendance, pb.RecordTrainingAttendanceRequest(
        class_id=class_id, session_id=session_id,
        entries=[pb.TrainingAttendanceEntry(enrolment_id=e, status=s, note=n)
                 for e, s, n in entries]), caller)).records  # fmt: skip


def pdf_texts(data: bytes) -> str:
    """The PDF's drawn strings (CID font text decoded as UTF-16BE)."""
    cid_fonts = set(re.findall(rb"/Encoding /UniGB-UCS2-H /Name /(F\d+)", data))
    out, font = [], b""
    for m in re.finditer(rb"stream\r?\n(.*?)\s*endstream", data, re.S):
        body = m.group(1).strip()
        if body.endswith(b"~>"):
            body = base64.a85decode(body.removeprefix(b"<~")[:-2])
        with contextlib.suppress(zlib.error):
            body = zlib.decompress(body)
        for op in re.finditer(rb"/(F\d+) [\d.]+ Tf|\(((?:\\.|[^\\)])*)\)\s*Tj", body, re.S):
            if op.group(1):
                font = op.group(1)
                continue
            raw = re.sub(
                rb"\\([0-7]{1,3}|.)",
                lambda e: bytes([int(e.group(1), 8)]) if e.group(1)[:1].isdigit()
                else {b"n": b"\n", b"r": b"\r", b"t": b"\t"}.get(e.group(1), e.group(1)),
                op.group(2),
            )  # fmt: skip
            out.append(raw.decode("utf-16-be") if font in cid_fonts else raw.decode("latin-1"))
    return "\n".join(out)


# ---- kinds ----


async def test_defaults_per_kind_come_from_data_with_the_citation(stub, world):
    got = (await call(stub.ListTrainingKindDefaults, pb.ListTrainingKindDefaultsRequest(),
                      admin(world["a"]))).defaults  # fmt: skip
    assert [d.kind for d in got] == [1, 2, 3, 4, 5]
    candidate = got[0]
    assert candidate.label == "发展对象短期集中培训"
    assert candidate.rule.min_days == 3 and candidate.rule.min_class_hours_hundredths == 2400
    assert candidate.rule.duration_mode == pb.TRAINING_DURATION_MODE_ANY
    assert "《中国共产党发展党员工作细则》" in candidate.rule.citation
    assert not candidate.rule.HasField("min_attendance_percent")
    assert got[2].label == "党员冬训" and got[2].rule.min_attendance_percent == 100

    cls = await new_class(stub, admin(world["a"]), world["root"])
    assert cls.status == pb.TRAINING_CLASS_STATUS_PLANNED
    assert cls.rule == candidate.rule  # copied onto the class
    own = pb.TrainingCompletionRule(min_attendance_percent=80, require_online_courses=False,
                                    note="本地规定")  # fmt: skip
    custom = await new_class(stub, admin(world["a"]), world["root"], title="冬训",
                             kind=pb.TRAINING_CLASS_KIND_MEMBER_WINTER, rule=own)  # fmt: skip
    assert custom.rule.min_attendance_percent == 80 and custom.rule.note == "本地规定"
    assert custom.rule.duration_mode == pb.TRAINING_DURATION_MODE_ANY


async def test_bad_classes_are_refused_and_nothing_is_written(stub, world, owner_sql):
    adm = admin(world["a"])
    before = count(owner_sql, "SELECT count(*) FROM learning.training_classes")
    bad = [
        (dict(kind=pb.TRAINING_CLASS_KIND_UNSPECIFIED), "invalid_kind"),
        (dict(title="  "), "invalid_text"),
        (dict(organizer_org_id="not-a-uuid"), "invalid_id"),
        (dict(starts_on="2026-13-01"), "invalid_date"),
        (dict(ends_on=day(-1)), "invalid_dates"),
        (dict(rule=pb.TrainingCompletionRule(min_attendance_percent=120)), "invalid_rule"),
        (dict(rule=pb.TrainingCompletionRule()), "invalid_rule"),
        (dict(auto_close_after_days=-1), "invalid_auto_close"),
    ]
    for kw, reason in bad:
        values = dict(title="班", kind=CANDIDATE, organizer_org_id=str(world["root"]),
                      organizer_name="党委", starts_on=day(0), ends_on=day(3))  # fmt: skip
        values.update(kw)
        await fails(stub.CreateTrainingClass, pb.CreateTrainingClassRequest(**values), adm,
                    grpc.StatusCode.INVALID_ARGUMENT, reason)  # fmt: skip
    await fails(stub.CreateTrainingClass, pb.CreateTrainingClassRequest(title="班"),
                member(world["a"], "m-1"), grpc.StatusCode.PERMISSION_DENIED)  # fmt: skip
    assert count(owner_sql, "SELECT count(*) FROM learning.training_classes") == before


# ---- the lifecycle ----


async def test_a_class_from_planning_to_completion_with_one_event_per_completion(
    stub, world, owner_sql
):
    tenant = world["a"]
    adm, sec1 = admin(tenant), sec(tenant, world["br1"])
    cls = await new_class(stub, sec1, world["br1"])
    cid = cls.id
    full = await enrol(stub, sec1, cid, "张三", development_case_id=str(uuid.uuid4()),
                       learner_account_id="acct-zhang")  # fmt: skip
    part = await enrol(stub, sec1, cid, "李四")
    late = await enrol(stub, sec1, cid, "王五")
    s = [await offline(stub, sec1, cid, i) for i in range(3)]
    assert [x.held_on for x in s] == [day(0), day(1), day(2)]

    await fails(stub.RecordTrainingAttendance, pb.RecordTrainingAttendanceRequest(
        class_id=cid, session_id=s[0].id, entries=[pb.TrainingAttendanceEntry(
            enrolment_id=full.id, status=PRESENT)]), sec1,
        grpc.StatusCode.FAILED_PRECONDITION, "training_class_not_open")  # fmt: skip
    opened = await call(stub.OpenTrainingClass, pb.OpenTrainingClassRequest(id=cid), sec1)
    assert opened.training_class.status == pb.TRAINING_CLASS_STATUS_OPEN

    for i, session in enumerate(s):
        await attend(stub, sec1, cid, session.id, (full.id, PRESENT, ""),
                     (part.id, PRESENT if i < 2 else LEAVE, "" if i < 2 else "出差"),
                     (late.id, ABSENT, ""))  # fmt: skip
    # 王五's absences were a recording mistake: corrections are new records.
    for session in s:
        (rec,) = await attend(stub, adm, cid, session.id, (late.id, PRESENT, "补正：实际出席"))
        assert rec.supersedes_id and rec.recorded_by == adm.user_id
    again = await attend(stub, adm, cid, s[0].id, (late.id, PRESENT, "补正：实际出席"))
    assert again[0].supersedes_id  # the same record again: nothing new
    history = (await call(stub.ListTrainingAttendance, pb.ListTrainingAttendanceRequest(
        class_id=cid, session_id=s[0].id, history=True), sec1)).records  # fmt: skip
    mine = [r for r in history if r.enrolment_id == late.id]
    assert [r.status for r in mine] == [ABSENT, PRESENT] and mine[1].supersedes_id == mine[0].id
    current = (await call(stub.ListTrainingAttendance, pb.ListTrainingAttendanceRequest(
        class_id=cid), sec1)).records  # fmt: skip
    assert len(current) == 9
    assert {r.status for r in current if r.enrolment_id == late.id} == {PRESENT}

    preview = (await call(stub.EvaluateTrainingClass, pb.EvaluateTrainingClassRequest(id=cid),
                          sec1)).evaluation  # fmt: skip
    by_name = {x.enrolment.display_name: x for x in preview.trainees}
    assert by_name["张三"].completed and by_name["张三"].days == 3
    assert by_name["张三"].class_hours_hundredths == 2400
    assert not by_name["李四"].completed
    assert [(m.code, m.required, m.actual) for m in by_name["李四"].missing] == [
        ("days", 3, 2), ("class_hours", 2400, 1600)]  # fmt: skip
    assert (preview.completed, preview.incomplete) == (2, 1)
    assert hours_events(owner_sql, tenant) == []  # a preview writes nothing
    assert count(owner_sql, "SELECT count(*) FROM learning.training_completions") == 0

    closed = await call(stub.CloseTrainingClass, pb.CloseTrainingClassRequest(id=cid), sec1)
    assert closed.newly_completed == 2
    assert closed.evaluation.training_class.status == pb.TRAINING_CLASS_STATUS_CLOSED
    assert closed.evaluation.training_class.completions == 2
    done = {x.enrolment.display_name: x.enrolment.completion for x in closed.evaluation.trainees}
    assert done["张三"].completed_on == day(2) and done["张三"].days == 3
    assert done["张三"].certificate_number and done["张三"].verification_code
    assert not done["李四"].id

    events = hours_events(owner_sql, tenant)
    assert sorted((e.record_id, e.class_hours_hundredths, e.days) for e in events) == sorted(
        [(done["张三"].id, 2400, 3), (done["王五"].id, 2400, 3)])  # fmt: skip
    zhang = next(e for e in events if e.record_id == done["张三"].id)
    assert zhang.development_case_id == full.development_case_id
    assert zhang.member_id == full.member_id and zhang.tenant_id == str(tenant)
    assert zhang.course_title == "2026年第一期发展对象培训班" and zhang.completed_on == day(2)

    # Closing again or re-evaluating never announces anything twice.
    await fails(stub.CloseTrainingClass, pb.CloseTrainingClassRequest(id=cid), adm,
                grpc.StatusCode.FAILED_PRECONDITION, "training_class_closed")  # fmt: skip
    await call(stub.EvaluateTrainingClass, pb.EvaluateTrainingClassRequest(id=cid), adm)
    assert len(hours_events(owner_sql, tenant)) == 2
    await fails(stub.RecordTrainingAttendance, pb.RecordTrainingAttendanceRequest(
        class_id=cid, session_id=s[2].id, entries=[pb.TrainingAttendanceEntry(
            enrolment_id=part.id, status=PRESENT)]), adm,
        grpc.StatusCode.FAILED_PRECONDITION, "training_class_closed")  # fmt: skip
    await fails(stub.EnrolTrainee, pb.EnrolTraineeRequest(class_id=cid, member_id=str(
        uuid.uuid4()), display_name="赵六"), adm, grpc.StatusCode.FAILED_PRECONDITION,
        "training_class_closed")  # fmt: skip

    # The certificate: organisers in scope and the trainee themself.
    cert = await call(stub.GetTrainingCertificate, pb.GetTrainingCertificateRequest(
        class_id=cid, enrolment_id=full.id), sec1)  # fmt: skip
    assert cert.content.startswith(b"%PDF") and cert.content_type == "application/pdf"
    assert cert.certificate_number == done["张三"].certificate_number
    assert cert.file_name.endswith(".pdf") and cert.certificate_number in cert.file_name
    drawn = pdf_texts(cert.content)
    assert "2026年第一期发展对象培训班" in drawn and "张三同志" in drawn
    assert "3天、24学时" in drawn and "中共示范第一支部委员会" in drawn
    assert done["张三"].verification_code in drawn
    own = await call(stub.GetTrainingCertificate, pb.GetTrainingCertificateRequest(
        class_id=cid, enrolment_id=full.id), member(tenant, "acct-zhang"))  # fmt: skip
    assert own.certificate_number == cert.certificate_number
    await fails(stub.GetTrainingCertificate, pb.GetTrainingCertificateRequest(
        class_id=cid, enrolment_id=full.id), member(tenant, "acct-other"),
        grpc.StatusCode.NOT_FOUND)  # fmt: skip
    await fails(stub.GetTrainingCertificate, pb.GetTrainingCertificateRequest(
        class_id=cid, enrolment_id=part.id), sec1, grpc.StatusCode.FAILED_PRECONDITION,
        "training_not_completed")  # fmt: skip


async def test_duplicate_enrolment_is_409_and_bad_ids_are_refused(stub, world, owner_sql):
    adm = admin(world["a"])
    cls = await new_class(stub, adm, world["root"])
    person, case = str(uuid.uuid4()), str(uuid.uuid4())
    await enrol(stub, adm, cls.id, "张三", member_id=person)
    await enrol(stub, adm, cls.id, "候选人", member_id="", development_case_id=case)
    await fails(stub.EnrolTrainee, pb.EnrolTraineeRequest(class_id=cls.id, member_id=person,
                display_name="张三"), adm, grpc.StatusCode.ALREADY_EXISTS,
                "training_already_enrolled")  # fmt: skip
    await fails(stub.EnrolTrainee, pb.EnrolTraineeRequest(class_id=cls.id,
                development_case_id=case, display_name="候选人"), adm,
                grpc.StatusCode.ALREADY_EXISTS, "training_already_enrolled")  # fmt: skip
    for kw, reason in [
        (dict(member_id="123"), "invalid_id"),
        (dict(member_id="", development_case_id="x"), "invalid_id"),
        (dict(member_id=""), "training_person_required"),
        (dict(display_name=""), "invalid_text"),
        (dict(learner_account_id="has space"), "invalid_id"),
    ]:
        values = dict(class_id=cls.id, member_id=str(uuid.uuid4()), display_name="某某")
        values.update(kw)
        await fails(stub.EnrolTrainee, pb.EnrolTraineeRequest(**values), adm,
                    grpc.StatusCode.INVALID_ARGUMENT, reason)  # fmt: skip
    await fails(stub.EnrolTrainee, pb.EnrolTraineeRequest(class_id="nope", member_id=person,
                display_name="张三"), adm, grpc.StatusCode.INVALID_ARGUMENT, "invalid_id")  # fmt: skip
    rows = count(owner_sql, f"SELECT count(*) FROM learning.training_enrolments WHERE class_id = '{cls.id}'")  # fmt: skip
    assert rows == 2
    page = await call(stub.ListTrainingEnrolments,
                      pb.ListTrainingEnrolmentsRequest(class_id=cls.id, page_size=1), adm)  # fmt: skip
    assert len(page.enrolments) == 1 and page.next_page_token


async def test_sessions_are_checked(stub, world, owner_sql):
    adm = admin(world["a"])
    cls = await new_class(stub, adm, world["root"])
    base = dict(class_id=cls.id, mode=pb.TRAINING_SESSION_MODE_OFFLINE, held_on=day(1),
                class_hours_hundredths=400)  # fmt: skip
    for kw, reason in [
        (dict(held_on=day(10)), "training_session_outside_class"),
        (dict(held_on=""), "invalid_date"),
        (dict(starts_at="9:00"), "invalid_time"),
        (dict(starts_at="10:00", ends_at="09:00"), "invalid_time"),
        (dict(class_hours_hundredths=-1), "invalid_class_hours"),
        (dict(course_id=str(uuid.uuid4())), "training_session_mode"),
        (dict(mode=pb.TRAINING_SESSION_MODE_UNSPECIFIED), "invalid_mode"),
    ]:
        values = {**base, **kw}
        await fails(stub.AddTrainingSession, pb.AddTrainingSessionRequest(**values), adm,
                    grpc.StatusCode.INVALID_ARGUMENT, reason)  # fmt: skip
    future = await new_class(stub, adm, world["root"], starts_on=TODAY.isoformat(),
                             ends_on=(TODAY + timedelta(days=5)).isoformat())  # fmt: skip
    await call(stub.OpenTrainingClass, pb.OpenTrainingClassRequest(id=future.id), adm)
    tomorrow = (await call(stub.AddTrainingSession, pb.AddTrainingSessionRequest(
        class_id=future.id, mode=pb.TRAINING_SESSION_MODE_OFFLINE,
        held_on=(TODAY + timedelta(days=1)).isoformat(), class_hours_hundredths=400),
        adm)).session  # fmt: skip
    someone = await enrol(stub, adm, future.id, "张三")
    await fails(stub.RecordTrainingAttendance, pb.RecordTrainingAttendanceRequest(
        class_id=future.id, session_id=tomorrow.id, entries=[pb.TrainingAttendanceEntry(
            enrolment_id=someone.id, status=PRESENT)]), adm,
        grpc.StatusCode.FAILED_PRECONDITION, "training_session_in_future")  # fmt: skip
    await fails(stub.RecordTrainingAttendance, pb.RecordTrainingAttendanceRequest(
        class_id=future.id, session_id=tomorrow.id, entries=[pb.TrainingAttendanceEntry(
            enrolment_id=str(uuid.uuid4()), status=PRESENT)]), adm,
        grpc.StatusCode.FAILED_PRECONDITION)  # fmt: skip
    assert count(owner_sql, f"SELECT count(*) FROM learning.training_attendance WHERE class_id = '{future.id}'") == 0  # fmt: skip


# ---- tenants and scopes ----


async def test_another_tenants_class_is_not_found_and_nothing_is_written(stub, world, owner_sql):
    cls = await new_class(stub, admin(world["a"]), world["root"])
    other = admin(world["b"])
    snapshot = [
        count(owner_sql, f"SELECT count(*) FROM learning.{t}")
        for t in ("training_enrolments", "training_sessions", "training_attendance",
                  "training_completions")
    ]  # fmt: skip
    for method, request in [
        (stub.GetTrainingClass, pb.GetTrainingClassRequest(id=cls.id)),
        (stub.OpenTrainingClass, pb.OpenTrainingClassRequest(id=cls.id)),
        (stub.EnrolTrainee, pb.EnrolTraineeRequest(class_id=cls.id, member_id=str(uuid.uuid4()),
                                                   display_name="外人")),
        (stub.AddTrainingSession, pb.AddTrainingSessionRequest(
            class_id=cls.id, mode=pb.TRAINING_SESSION_MODE_OFFLINE, held_on=day(1),
            class_hours_hundredths=100)),
        (stub.ListTrainingSessions, pb.ListTrainingSessionsRequest(class_id=cls.id)),
        (stub.ListTrainingEnrolments, pb.ListTrainingEnrolmentsRequest(class_id=cls.id)),
        (stub.ListTrainingAttendance, pb.ListTrainingAttendanceRequest(class_id=cls.id)),
        (stub.EvaluateTrainingClass, pb.EvaluateTrainingClassRequest(id=cls.id)),
        (stub.CloseTrainingClass, pb.CloseTrainingClassRequest(id=cls.id)),
        (stub.GetTrainingCertificate, pb.GetTrainingCertificateRequest(
            class_id=cls.id, enrolment_id=str(uuid.uuid4()))),
    ]:  # fmt: skip
        err = await fails(method, request, other, grpc.StatusCode.NOT_FOUND)
        assert "不存在" in err.details()
    listed = await call(stub.ListTrainingClasses, pb.ListTrainingClassesRequest(), other)
    assert cls.id not in [c.id for c in listed.training_classes]
    assert snapshot == [
        count(owner_sql, f"SELECT count(*) FROM learning.{t}")
        for t in ("training_enrolments", "training_sessions", "training_attendance",
                  "training_completions")
    ]  # fmt: skip
    got = owner_sql(f"SELECT status FROM learning.training_classes WHERE id = '{cls.id}'")
    assert "planned" in got


async def test_a_secretary_acts_inside_their_subtree_only(stub, world, owner_sql):
    a = world["a"]
    sec1, sec2 = sec(a, world["br1"]), sec(a, world["br2"])
    mine = await new_class(stub, sec1, world["br1"], title="一支部积极分子培训",
                           kind=pb.TRAINING_CLASS_KIND_ACTIVIST)  # fmt: skip
    committee = await new_class(stub, admin(a), world["root"], title="党委书记培训",
                                kind=pb.TRAINING_CLASS_KIND_SECRETARY)  # fmt: skip
    before = count(owner_sql, "SELECT count(*) FROM learning.training_enrolments")
    for caller, class_id in ((sec2, mine.id), (sec1, committee.id)):
        await fails(stub.GetTrainingClass, pb.GetTrainingClassRequest(id=class_id), caller,
                    grpc.StatusCode.NOT_FOUND, "training_class_not_found")  # fmt: skip
        await fails(stub.EnrolTrainee, pb.EnrolTraineeRequest(class_id=class_id, member_id=str(
            uuid.uuid4()), display_name="某某"), caller, grpc.StatusCode.NOT_FOUND)  # fmt: skip
    assert count(owner_sql, "SELECT count(*) FROM learning.training_enrolments") == before
    # Not for a sibling's (or an unknown) organisation either.
    for org in (world["br2"], uuid.uuid4(), world["root"]):
        await fails(stub.CreateTrainingClass, pb.CreateTrainingClassRequest(
            title="班", kind=CANDIDATE, organizer_org_id=str(org), organizer_name="某",
            starts_on=day(0), ends_on=day(1)), sec1, grpc.StatusCode.NOT_FOUND,
            "organization_not_found")  # fmt: skip
    listed = await call(
        stub.ListTrainingClasses, pb.ListTrainingClassesRequest(page_size=200), sec1
    )
    ids = {c.id for c in listed.training_classes}
    assert mine.id in ids and committee.id not in ids
    assert all(c.organizer_org_id == str(world["br1"]) for c in listed.training_classes)
    # The committee admin sees the branch's class, filtered by subtree and kind.
    subtree = await call(stub.ListTrainingClasses, pb.ListTrainingClassesRequest(
        organizer_org_id=str(world["br1"]), kind=pb.TRAINING_CLASS_KIND_ACTIVIST,
        page_size=200), admin(a))  # fmt: skip
    assert [c.id for c in subtree.training_classes] == [mine.id]


# ---- online sessions ----


class FakeOnline:
    """The OnlineCompletion seam: (account, course) pairs completed un-flagged."""

    def __init__(self, done: set[tuple[str, uuid.UUID]]):
        self.done = done
        self.asked: list[set] = []

    async def completed(self, session, tenant_id, pairs):
        self.asked.append(set(pairs))
        return pairs & self.done


def course_row(owner_sql, tenant, status="published", hours=300) -> uuid.UUID:
    cid = uuid.uuid4()
    owner_sql(
        "INSERT INTO learning.courses (id, tenant_id, title, status, class_hours_hundredths) "
        f"VALUES ('{cid}', '{tenant}', '党章学习（线上）', '{status}', {hours})"
    )
    return cid


async def test_online_sessions_count_through_the_completion_seam(
    stub, world, owner_sql, learning_app
):
    a = world["a"]
    adm = admin(a)
    published = course_row(owner_sql, a, hours=1200)
    draft = course_row(owner_sql, a, status="draft")
    elsewhere = course_row(owner_sql, world["b"])
    cls = await new_class(stub, adm, world["root"], title="线上线下结合班")
    for course in (draft, elsewhere, uuid.uuid4()):
        await fails(stub.AddTrainingSession, pb.AddTrainingSessionRequest(
            class_id=cls.id, mode=pb.TRAINING_SESSION_MODE_ONLINE, course_id=str(course)),
            adm, grpc.StatusCode.NOT_FOUND, "course_not_found")  # fmt: skip
    await fails(stub.AddTrainingSession, pb.AddTrainingSessionRequest(
        class_id=cls.id, mode=pb.TRAINING_SESSION_MODE_ONLINE, course_id=str(published),
        held_on=day(1)), adm, grpc.StatusCode.INVALID_ARGUMENT, "training_session_mode")  # fmt: skip
    online = (await call(stub.AddTrainingSession, pb.AddTrainingSessionRequest(
        class_id=cls.id, mode=pb.TRAINING_SESSION_MODE_ONLINE, course_id=str(published)),
        adm)).session  # fmt: skip
    assert online.class_hours_hundredths == 1200 and online.course_title == "党章学习（线上）"
    await fails(stub.AddTrainingSession, pb.AddTrainingSessionRequest(
        class_id=cls.id, mode=pb.TRAINING_SESSION_MODE_ONLINE, course_id=str(published)),
        adm, grpc.StatusCode.ALREADY_EXISTS, "training_course_already_in_class")  # fmt: skip
    first = await offline(stub, adm, cls.id, 0, hours=1200)
    await call(stub.OpenTrainingClass, pb.OpenTrainingClassRequest(id=cls.id), adm)
    done = await enrol(stub, adm, cls.id, "线上已学", learner_account_id="acct-done")
    todo = await enrol(stub, adm, cls.id, "线上未学", learner_account_id="acct-todo")
    none = await enrol(stub, adm, cls.id, "无账号")
    await attend(stub, adm, cls.id, first.id, *[(e.id, PRESENT, "") for e in (done, todo, none)])
    await fails(stub.RecordTrainingAttendance, pb.RecordTrainingAttendanceRequest(
        class_id=cls.id, session_id=online.id, entries=[pb.TrainingAttendanceEntry(
            enrolment_id=done.id, status=PRESENT)]), adm,
        grpc.StatusCode.FAILED_PRECONDITION, "training_session_online")  # fmt: skip

    fake = FakeOnline({("acct-done", published)})
    training = Training(fake)
    async with learning_app.db.unit_of_work(a) as uow:
        result = await training.evaluate(uow, adm, cls.id)
    assert fake.asked == [{("acct-done", published), ("acct-todo", published)}]
    by_name = {x.enrolment.row.display_name: x.evaluation for x in result.trainees}
    assert by_name["线上已学"].completed and by_name["线上已学"].class_hours_hundredths == 2400
    for name in ("线上未学", "无账号"):  # 12 hours in one day, and the course not done
        missing = {m.code: m for m in by_name[name].missing}
        assert set(missing) == {"days", "class_hours", "online_courses"}
        assert missing["online_courses"].course_ids == (published,)
    # The running service's seam reads the progress area's completions: a flagged one (the
    # anti-gaming checks) does not count.
    owner_sql(
        "INSERT INTO learning.course_completions (tenant_id, learner_id, course_id, completed_at, "
        f"updated_at, flagged) VALUES ('{a}', 'acct-done', '{published}', now(), now(), false), "
        f"('{a}', 'acct-todo', '{published}', now(), now(), true)"
    )
    preview = (await call(stub.EvaluateTrainingClass, pb.EvaluateTrainingClassRequest(
        id=cls.id), adm)).evaluation  # fmt: skip
    got = {x.enrolment.display_name: x for x in preview.trainees}
    assert got["线上已学"].completed and got["线上已学"].class_hours_hundredths == 2400
    assert not got["线上未学"].completed and got["线上未学"].online_completed == 0


# ---- the auto-close job, append-only attendance ----


async def test_a_class_set_to_close_itself_closes_once(stub, world, owner_sql, learning_app):
    a = world["a"]
    adm = admin(a)
    # Ends tomorrow: the service's own job (real today) leaves it to this test's "today".
    ends = TODAY + timedelta(days=1)
    cls = await new_class(stub, adm, world["root"], title="自动结业班", ends_on=ends.isoformat(),
                          auto_close_after_days=3)  # fmt: skip
    s = [await offline(stub, adm, cls.id, i) for i in range(3)]
    person = await enrol(stub, adm, cls.id, "赵六")
    await call(stub.OpenTrainingClass, pb.OpenTrainingClassRequest(id=cls.id), adm)
    for x in s:
        await attend(stub, adm, cls.id, x.id, (person.id, PRESENT, ""))
    job = TrainingAutoClose(learning_app.db, Training(), interval_seconds=60)
    assert await job.run_once(today=ends + timedelta(days=3)) == 0  # not yet
    assert await job.run_once(today=ends + timedelta(days=4)) == 1
    assert await job.run_once(today=ends + timedelta(days=5)) == 0
    got = (await call(stub.GetTrainingClass, pb.GetTrainingClassRequest(id=cls.id),
                      adm)).training_class  # fmt: skip
    assert got.status == pb.TRAINING_CLASS_STATUS_CLOSED and got.closed_by == "system:auto-close"
    assert got.completions == 1
    events = [e for e in hours_events(owner_sql, a) if e.course_title == "自动结业班"]
    assert len(events) == 1 and events[0].days == 3


async def test_attendance_records_are_append_only(world, learning_app, owner_sql):
    a = world["a"]
    rows = count(owner_sql, "SELECT count(*) FROM learning.training_attendance")
    assert rows > 0
    for sql in ("UPDATE learning.training_attendance SET status = 'absent'",
                "DELETE FROM learning.training_attendance"):  # fmt: skip
        # The runtime role lacks UPDATE/DELETE (migrations env.py); the trigger backs it up.
        with pytest.raises(DBAPIError, match=r"append-only|permission denied"):
            async with learning_app.db.unit_of_work(a) as uow:
                await uow.session.execute(text(sql))
    assert count(owner_sql, "SELECT count(*) FROM learning.training_attendance") == rows


def test_training_tables_are_forced_under_row_level_security(learning_app, owner_sql):
    out = owner_sql(
        "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'learning' AND c.relforcerowsecurity AND relname LIKE 'training_%'"
    )
    assert set(out.split()) == {
        "training_classes", "training_enrolments", "training_sessions", "training_attendance",
        "training_completions",
    }  # fmt: skip
