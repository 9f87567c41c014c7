"""The evaluation use case with online sessions, without I/O: repositories replaced by in-memory
fakes and the OnlineCompletion seam by a fake. It asks the seam once for every (learner account,
course) pair of the class, counts only the pairs the seam says are completed, treats an
enrolment without an account as not having done its online courses, and counts only `present`
as attended (the latest record per session)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from hongyun_platform.errors import NotFound, PermissionDenied
from hongyun_platform.grpc.context import ROLE_MEMBER, ROLE_TENANT_ADMIN, CallerContext
from learning_service import training as uc
from learning_service.training_repository import ClassCounts

TENANT = uuid.uuid4()
ADMIN = CallerContext(user_id="admin", tenant_id=TENANT, roles=frozenset({ROLE_TENANT_ADMIN}))
D = date(2026, 5, 4)
AT = datetime(2026, 5, 4, 18, tzinfo=UTC)


def row(**kw) -> SimpleNamespace:
    return SimpleNamespace(id=uuid.uuid4(), **kw)


class FakeOnline:
    def __init__(self, done):
        self.done = set(done)
        self.asked: list[set] = []

    async def completed(self, session, tenant_id, pairs):
        assert tenant_id == TENANT
        self.asked.append(set(pairs))
        return pairs & self.done


@pytest.fixture
def world(monkeypatch):
    course_a, course_b = uuid.uuid4(), uuid.uuid4()
    cls = row(tenant_id=TENANT, title="冬训班", kind="member_winter", status="open",
              ends_on=D + timedelta(days=5), min_attendance_percent=100,
              min_class_hours_hundredths=None, min_days=None, duration_mode="any",
              require_online_courses=True, rule_citation="", rule_note="")  # fmt: skip
    sessions = [
        row(class_id=cls.id, mode="offline", held_on=D, class_hours_hundredths=300,
            course_id=None),
        row(class_id=cls.id, mode="offline", held_on=D + timedelta(days=1),
            class_hours_hundredths=300, course_id=None),
        row(class_id=cls.id, mode="online", held_on=None, class_hours_hundredths=200,
            course_id=course_a),
        row(class_id=cls.id, mode="online", held_on=None, class_hours_hundredths=100,
            course_id=course_b),
    ]  # fmt: skip
    both = row(class_id=cls.id, learner_account_id="acct-1", display_name="都学完")
    one = row(class_id=cls.id, learner_account_id="acct-2", display_name="学了一门")
    none = row(class_id=cls.id, learner_account_id=None, display_name="无账号")
    enrolments = [both, one, none]

    def mark(session, enrolment, status, minutes=0):
        return row(session_id=session.id, enrolment_id=enrolment.id, status=status,
                   recorded_at=AT + timedelta(minutes=minutes))  # fmt: skip

    attendance = [mark(s, e, "present") for s in sessions[:2] for e in enrolments]
    # 无账号 was present on day 2, then corrected to leave: not attended.
    attendance.append(mark(sessions[1], none, "leave", minutes=5))

    class Classes:
        def __init__(self, session):
            pass

        async def in_scope(self, tenant_id, class_id, scope, *, for_update=False):
            return cls if (tenant_id, class_id) == (TENANT, cls.id) else None

        async def counts(self, ids):
            return {i: ClassCounts(enrolments=3, sessions=4) for i in ids}

    def repo(**methods):
        return type("Fake", (), {"__init__": lambda self, s: None, **methods})

    async def sessions_of(self, class_id):
        return sessions

    async def enrolments_of(self, class_id):
        return enrolments

    async def attendance_of(self, class_id, session_id=None):
        return attendance

    async def completions_of(self, class_id):
        return {}

    monkeypatch.setattr(uc, "TrainingClassRepository", Classes)
    monkeypatch.setattr(uc, "SessionRepository", repo(of_class=sessions_of))
    monkeypatch.setattr(uc, "EnrolmentRepository", repo(of_class=enrolments_of))
    monkeypatch.setattr(uc, "AttendanceRepository", repo(of_class=attendance_of))
    monkeypatch.setattr(uc, "CompletionRepository", repo(of_class=completions_of))
    return SimpleNamespace(cls=cls, a=course_a, b=course_b, uow=SimpleNamespace(session=None))


async def test_online_courses_count_only_when_the_seam_says_completed(world):
    fake = FakeOnline({("acct-1", world.a), ("acct-1", world.b), ("acct-2", world.a)})
    result = await uc.Training(fake).evaluate(world.uow, ADMIN, str(world.cls.id))
    assert fake.asked == [{("acct-1", world.a), ("acct-1", world.b), ("acct-2", world.a),
                           ("acct-2", world.b)}]  # fmt: skip
    got = {x.enrolment.row.display_name: x.evaluation for x in result.trainees}
    assert got["都学完"].completed and got["都学完"].class_hours_hundredths == 900
    one = got["学了一门"]
    assert not one.completed and one.class_hours_hundredths == 800
    assert [(m.code, m.course_ids) for m in one.missing] == [("online_courses", (world.b,))]
    nobody = got["无账号"]
    assert (nobody.offline_attended, nobody.attendance_percent, nobody.online_completed) == (
        1,
        50,
        0,
    )
    assert [m.code for m in nobody.missing] == ["attendance", "online_courses"]
    assert result.completed == 1


async def test_the_default_seam_completes_nothing(world):
    result = await uc.Training().evaluate(world.uow, ADMIN, str(world.cls.id))
    assert all(x.evaluation.online_completed == 0 for x in result.trainees)
    assert result.completed == 0


async def test_callers_outside_the_class_get_nothing(world):
    with pytest.raises(NotFound):
        await uc.Training().evaluate(world.uow, ADMIN, str(uuid.uuid4()))
    stranger = CallerContext(user_id="m", tenant_id=TENANT, roles=frozenset({ROLE_MEMBER}))
    with pytest.raises(PermissionDenied):
        await uc.Training().evaluate(world.uow, stranger, str(world.cls.id))
