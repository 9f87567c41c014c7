"""Letters in the "what is due" view (letter_due.list_due) and the letter job (expiry and
reminders), against real PostgreSQL: scope, ordering, counts, the reminder lead from rule data
(a tenant override applies at once), the day before / on / after the last valid day, and each
reminder or expiry sent once."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from types import SimpleNamespace

import grpc
import pytest
from hongyun.member.v1 import member_letters_pb2 as lpb
from hongyun.member.v1 import member_letters_pb2_grpc, member_pb2_grpc
from hongyun.member.v1 import member_pb2 as pb
from hongyun_platform.validation import check_character
from member_service import letter_due
from member_service.domain.dates import china_today
from member_service.domain.due_items import DueKind
from member_service.letter_jobs import LetterJob
from member_service.models import messaging
from member_service.rules import RuleBook
from sqlalchemy import select, text

from ..conftest import PLATFORM_ADMIN, tenant_admin

pytestmark = pytest.mark.integration


def id_number(seq: int) -> str:
    first17 = f"44030519880808{seq:03d}"
    return first17 + check_character(first17)


async def call(method, request, caller):
    return await method(request, metadata=caller.to_metadata(), timeout=15)


@pytest.fixture(scope="module")
async def s(member_app):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{member_app.port}") as channel:
        yield SimpleNamespace(
            member=member_pb2_grpc.MemberServiceStub(channel),
            letters=member_letters_pb2_grpc.RelationshipTransferServiceStub(channel),
        )


_seq = iter(range(1, 999))


async def make_tenant(s, label: str):
    code = uuid.uuid4().hex[:6]
    t = (await call(s.member.CreateTenant, pb.CreateTenantRequest(
        name=label, code=f"due-{code}"), PLATFORM_ADMIN)).tenant  # fmt: skip
    adm = tenant_admin(t.id)

    async def org(name, type_, parent=""):
        return (await call(s.member.CreateOrganization, pb.CreateOrganizationRequest(
            parent_id=parent, name=name, type=type_), adm)).organization  # fmt: skip

    root = await org(f"{label}党委", pb.ORGANIZATION_TYPE_COMMITTEE)
    x = await org("总支", pb.ORGANIZATION_TYPE_GENERAL_BRANCH, root.id)
    a1 = await org("一支部", pb.ORGANIZATION_TYPE_BRANCH, x.id)
    a2 = await org("二支部", pb.ORGANIZATION_TYPE_BRANCH, x.id)
    a3 = await org("三支部", pb.ORGANIZATION_TYPE_BRANCH, root.id)
    return SimpleNamespace(t=t, adm=adm, root=root, x=x, a1=a1, a2=a2, a3=a3)


async def letter(s, w, where, *, issue=True, name=None) -> lpb.Letter:
    seq = next(_seq)
    m = (await call(s.member.CreateMember, pb.CreateMemberRequest(
        organization_id=where.id, profile=pb.MemberProfile(
            name=name or f"周{seq}", id_number=id_number(seq), category=pb.MEMBER_CATEGORY_FULL,
            joined_on="2015-07-01", converted_on="2016-07-01")), w.adm)).member  # fmt: skip
    x = (await call(s.letters.CreateLetter, lpb.CreateLetterRequest(
        member_id=m.id, scope=lpb.LETTER_SCOPE_OUT_OF_PLATFORM, destination="外省某党委",
        dues_paid_until="2026-11", reason="调动"), w.adm)).letter  # fmt: skip
    if issue:
        await call(s.letters.ApproveLetter, lpb.ApproveLetterRequest(id=x.id), w.adm)
        x = (await call(s.letters.IssueLetter, lpb.IssueLetterRequest(id=x.id), w.adm)).letter
    return x


def set_dates(owner_sql, letter_id: str, valid_until: date, state: str = "issued") -> None:
    owner_sql(
        f"UPDATE member.letters SET state = '{state}', issued_on = DATE '{valid_until}' - 90, "
        f"valid_until = DATE '{valid_until}' WHERE id = '{letter_id}'"
    )


async def due(app, w, *, root_path=None, limit=20, today=None):
    async with app.db.unit_of_work(uuid.UUID(w.t.id)) as uow:
        return await letter_due.list_due(
            uow.session, uuid.UUID(w.t.id), root_path, today or china_today(), limit, RuleBook()
        )


async def path_of(app, w, org_id: str) -> str:
    from member_service.models import Organization

    async with app.db.unit_of_work(uuid.UUID(w.t.id)) as uow:
        return (await uow.session.get(Organization, uuid.UUID(org_id))).path


async def test_list_due_scope_order_and_counts(s, member_app, owner_sql):
    w = await make_tenant(s, "待办")
    other = await make_tenant(s, "别处")
    today = china_today()
    soon = await letter(s, w, w.a1, name="周将到")  # within the 7-day lead
    set_dates(owner_sql, soon.id, today + timedelta(days=3))
    late = await letter(s, w, w.a3)  # past its last day, the job has not run yet
    set_dates(owner_sql, late.id, today - timedelta(days=2))
    far = await letter(s, w, w.a1)  # beyond the lead
    set_dates(owner_sql, far.id, today + timedelta(days=20))
    expired = await letter(s, w, w.a2)
    set_dates(owner_sql, expired.id, today - timedelta(days=10), "expired")
    on_day = await letter(s, w, w.a2)  # the last valid day itself
    set_dates(owner_sql, on_day.id, today)
    settled = await letter(s, w, w.a2)  # expired, then a newer letter for the member
    set_dates(owner_sql, settled.id, today - timedelta(days=5), "expired")
    await call(s.letters.RevokeLetter, lpb.RevokeLetterRequest(id=(await call(
        s.letters.CreateLetter, lpb.CreateLetterRequest(
            member_id=settled.member_id, scope=lpb.LETTER_SCOPE_OUT_OF_PLATFORM,
            destination="别处", dues_paid_until="2026-11", reason="重开"), w.adm)).letter.id,
        reason="不去了"), w.adm)  # fmt: skip
    for state in ("received", "revoked", "receipt_returned"):
        done = await letter(s, w, w.a1)
        set_dates(owner_sql, done.id, today - timedelta(days=1), state)
    draft = await letter(s, w, w.a1, issue=False)  # no validity yet
    elsewhere = await letter(s, other, other.a1)
    set_dates(owner_sql, elsewhere.id, today)

    page = await due(member_app, w)
    assert [i.subject_id for i in page.items] == [
        uuid.UUID(x.id) for x in (expired, late, on_day, soon)
    ]
    assert (page.total, page.overdue) == (4, 2)
    first = page.items[-1]
    assert first.kind is DueKind.LETTER_EXPIRING and first.subject_label == "周将到"
    assert first.organization_id == uuid.UUID(w.a1.id) and first.due_on == today + timedelta(3)
    assert first.rule_key == "transfer.letter.valid_days" and "各地规定不一" in first.rule_citation
    assert first.rule_source == "national" and "即将到期" in first.title
    assert not first.overdue(today) and first.days_left(today) == 3
    assert page.items[0].overdue(today) and "已过期" in page.items[0].title
    assert "transfer.letter.expiry_reminder_days" in first.detail
    assert uuid.UUID(draft.id) not in {i.subject_id for i in page.items}

    # The subtree of 总支 X (一支部 and 二支部): 三支部's letter is outside.
    x_path = await path_of(member_app, w, w.x.id)
    sub = await due(member_app, w, root_path=x_path)
    assert [i.subject_id for i in sub.items] == [uuid.UUID(x.id) for x in (expired, on_day, soon)]
    assert (sub.total, sub.overdue) == (3, 1)
    a3 = await due(member_app, w, root_path=await path_of(member_app, w, w.a3.id))
    assert [i.subject_id for i in a3.items] == [uuid.UUID(late.id)]
    # The limit cuts the page, never the counts.
    one = await due(member_app, w, limit=1)
    assert len(one.items) == 1 and (one.total, one.overdue) == (4, 2)

    # A tenant override of the reminder lead applies at once.
    async with member_app.db.unit_of_work(uuid.UUID(w.t.id)) as uow:
        await RuleBook().set_override(
            uow, w.adm, key="transfer.letter.expiry_reminder_days", value_json="30",
            citation="本市组织部规定提前30天提醒", effective_from="", note="",
        )  # fmt: skip
    wider = await due(member_app, w)
    assert uuid.UUID(far.id) in {i.subject_id for i in wider.items} and wider.total == 5
    # Another tenant's letters never appear.
    assert uuid.UUID(elsewhere.id) not in {i.subject_id for i in wider.items}


async def test_due_letters_are_an_index_range_under_row_level_security(s, member_app):
    """The page is one range of ix_letters_due, usable under RLS (its comparisons are
    leakproof), in due order: no sort, no scan of the tenant's letters."""
    w = await make_tenant(s, "索引")
    async with member_app.db.unit_of_work(uuid.UUID(w.t.id)) as uow:
        await uow.session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(
            (
                await uow.session.execute(
                    text(
                        "EXPLAIN SELECT id FROM member.letters WHERE tenant_id = :t "
                        "AND state IN ('issued', 'expired') AND valid_until <= :d "
                        "ORDER BY valid_until, id LIMIT 20"
                    ),
                    {"t": uuid.UUID(w.t.id), "d": china_today()},
                )
            ).scalars()
        )
    assert "ix_letters_due" in plan and "Sort" not in plan, plan


async def events_of(app, type_name: str, cls, letter_id: str) -> list:
    o = messaging.outbox
    async with app.db.unit_of_work(None) as uow:
        rows = await uow.session.execute(
            select(o.c.payload).where(o.c.event_type == f"hongyun.member.v1.{type_name}")
        )
        found = [cls.FromString(p) for p in rows.scalars()]
    return [e for e in found if e.letter_id == letter_id]


async def test_job_reminds_once_and_expires_after_the_last_day(s, member_app, owner_sql):
    w = await make_tenant(s, "提醒")
    x = await letter(s, w, w.a1)
    until = date.fromisoformat(x.valid_until)
    job = LetterJob(member_app.db, RuleBook(), interval_seconds=3600)

    async def run(day: date):
        await job.run_once(day)
        return (
            await events_of(member_app, "LetterExpiring", lpb.LetterExpiring, x.id),
            await events_of(member_app, "LetterExpired", lpb.LetterExpired, x.id),
        )

    assert await run(until - timedelta(days=8)) == ([], [])  # the day before the lead
    reminded, gone = await run(until - timedelta(days=7))  # national lead: 7 days
    assert len(reminded) == 1 and gone == []
    assert (reminded[0].days_before, reminded[0].days_remaining) == (7, 7)
    assert reminded[0].valid_until == until.isoformat()
    reminded, gone = await run(until)  # the last valid day: no second reminder, not expired
    assert len(reminded) == 1 and gone == []
    state = owner_sql(f"SELECT state FROM member.letters WHERE id = '{x.id}'").strip()
    assert state == "issued"
    reminded, gone = await run(until + timedelta(days=1))  # the day after: expired, once
    assert len(gone) == 1 and gone[0].valid_until == until.isoformat()
    state = owner_sql(f"SELECT state FROM member.letters WHERE id = '{x.id}'").strip()
    assert state == "expired"
    reminded, gone = await run(until + timedelta(days=2))
    assert (len(reminded), len(gone)) == (1, 1)
    # The expired letter is still due (overdue) until it is revoked.
    page = await due(member_app, w, today=until + timedelta(days=2))
    assert [i.subject_id for i in page.items] == [uuid.UUID(x.id)] and page.overdue == 1
    revoked = await call(s.letters.RevokeLetter, lpb.RevokeLetterRequest(
        id=x.id, reason="未报到，作废"), w.adm)  # fmt: skip
    assert revoked.letter.state == lpb.LETTER_STATE_REVOKED
    page = await due(member_app, w, today=until + timedelta(days=2))
    assert page.total == 0


async def test_leap_year_validity_on_a_fixed_day(s, member_app, owner_sql):
    """Issued on 1 February 2028 (a leap year) for 30 days: valid through 2 March."""
    from member_service.letters import RelationshipTransfers

    w = await make_tenant(s, "闰年")
    x = await letter(s, w, w.a1, issue=False)
    await call(s.letters.ApproveLetter, lpb.ApproveLetterRequest(id=x.id), w.adm)
    # 30 days for this scope, from the tenant's rule.
    async with member_app.db.unit_of_work(uuid.UUID(w.t.id)) as uow:
        await RuleBook(today=lambda: date(2028, 2, 1)).set_override(
            uow, w.adm, key="transfer.letter.valid_days",
            value_json='{"within_tenant": 30, "cross_tenant": 60, "out_of_platform": 30}',
            citation="本市规定", effective_from="2028-02-01", note="",
        )  # fmt: skip
    transfers = RelationshipTransfers(
        member_app_directory(member_app), RuleBook(), store=None, today=lambda: date(2028, 2, 1)
    )
    async with member_app.db.unit_of_work(uuid.UUID(w.t.id)) as uow:
        view = await transfers.issue(uow, w.adm, x.id, expected_version=0)
    assert (view.letter.issued_on, view.letter.valid_until) == (date(2028, 2, 1), date(2028, 3, 2))
    assert view.letter.valid_days == 30 and view.letter.validity_source == "tenant"
    assert view.letter.validity_citation == "本市规定"
    assert view.letter.letter_number.startswith("〔2028〕第")


def member_app_directory(app):
    """The service's MemberDirectory (same cipher as the running service)."""
    from member_service.app import cipher_from_settings
    from member_service.service import MemberDirectory

    return MemberDirectory(cipher_from_settings(app.settings))
