"""The transfer invariant under concurrency, against real PostgreSQL: a member always belongs to
exactly one organisation and is never lost or counted twice, whatever order the steps arrive in.

Each round races steps of one letter on separate connections (concurrent gRPC calls, each its
own transaction): receive against revoke, two receives, a receive against the expiry job, a
receive arriving with its issue, two letters created at once — within a tenant and between
sibling tenants (there and back, so the return reuses the departed record). After every round:
exactly one active record of the person, in one of the two organisations; the rolled-up counts
equal a direct count; exactly one MemberTransferred per completed letter, none otherwise; every
loser got a clear FAILED_PRECONDITION or ABORTED.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from types import SimpleNamespace

import grpc
import pytest
from hongyun.member.v1 import member_letters_pb2 as lpb
from hongyun.member.v1 import member_letters_pb2_grpc, member_pb2_grpc
from hongyun.member.v1 import member_pb2 as pb
from hongyun_platform.validation import check_character
from member_service.domain.dates import china_today
from member_service.letter_jobs import LetterJob
from member_service.models import messaging
from member_service.rules import RuleBook
from sqlalchemy import select

from ..conftest import PLATFORM_ADMIN, tenant_admin

pytestmark = pytest.mark.integration
ROUNDS = 10
LOSERS = {grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.ABORTED}

DIRECT = """
SELECT o.id, m.party_status, m.category, m.lost_contact, m.floating, count(*)
FROM member.organizations o
JOIN member.organizations d ON d.path <@ o.path
JOIN member.members m ON m.organization_id = d.id AND m.departed_on IS NULL
WHERE o.tenant_id = '{t}' GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
"""
ROLLED_UP = """
SELECT organization_id, party_status, category, lost_contact, floating, n
FROM member.org_member_counts WHERE tenant_id = '{t}' AND n <> 0 ORDER BY 1, 2, 3, 4, 5
"""


def id_number(seq: int) -> str:
    first17 = f"31010419850601{seq:03d}"
    return first17 + check_character(first17)


async def call(method, request, caller):
    return await method(request, metadata=caller.to_metadata(), timeout=30)


async def attempt(method, request, caller, also: frozenset = frozenset()):
    """The response, or the error a loser gets (which must be a clear refusal)."""
    try:
        return await call(method, request, caller)
    except grpc.aio.AioRpcError as err:
        assert err.code() in LOSERS | also, (err.code(), err.details())
        return err


def won(results) -> list:
    return [r for r in results if not isinstance(r, grpc.aio.AioRpcError)]


@pytest.fixture(scope="module")
async def stubs(member_app):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{member_app.port}") as channel:
        yield SimpleNamespace(
            member=member_pb2_grpc.MemberServiceStub(channel),
            letters=member_letters_pb2_grpc.RelationshipTransferServiceStub(channel),
        )


@pytest.fixture(scope="module")
async def world(stubs):
    s, code = stubs, uuid.uuid4().hex[:6]

    async def tenant(name, parent=""):
        return (await call(s.member.CreateTenant, pb.CreateTenantRequest(
            name=name, code=f"race-{name}-{code}", parent_id=parent), PLATFORM_ADMIN)).tenant  # fmt: skip

    async def org(caller, name, type_, parent=""):
        return (await call(s.member.CreateOrganization, pb.CreateOrganizationRequest(
            parent_id=parent, name=name, type=type_), caller)).organization  # fmt: skip

    p = await tenant("p")
    a, b = await tenant("a", p.id), await tenant("b", p.id)
    adm_a, adm_b = tenant_admin(a.id), tenant_admin(b.id)
    root_a = await org(adm_a, "甲", pb.ORGANIZATION_TYPE_COMMITTEE)
    a1 = await org(adm_a, "甲一", pb.ORGANIZATION_TYPE_BRANCH, root_a.id)
    a2 = await org(adm_a, "甲二", pb.ORGANIZATION_TYPE_BRANCH, root_a.id)
    root_b = await org(adm_b, "乙", pb.ORGANIZATION_TYPE_COMMITTEE)
    b1 = await org(adm_b, "乙一", pb.ORGANIZATION_TYPE_BRANCH, root_b.id)
    b2 = await org(adm_b, "乙二", pb.ORGANIZATION_TYPE_BRANCH, root_b.id)
    # Bystanders, so that counts are not trivially zero.
    for i, where in enumerate((a1, a2, a1, b1)):
        caller = adm_b if where is b1 else adm_a
        await call(s.member.CreateMember, pb.CreateMemberRequest(
            organization_id=where.id, profile=_profile(90 + i)), caller)  # fmt: skip
    return SimpleNamespace(a=a, b=b, adm_a=adm_a, adm_b=adm_b, a1=a1, a2=a2, b1=b1, b2=b2,
                           admins={a.id: adm_a, b.id: adm_b},
                           branches={a.id: (a1.id, a2.id), b.id: (b1.id, b2.id)})  # fmt: skip


def _profile(seq: int) -> pb.MemberProfile:
    return pb.MemberProfile(
        name=f"竞{seq}", id_number=id_number(seq), category=pb.MEMBER_CATEGORY_FULL,
        joined_on="2010-07-01", converted_on="2011-07-01", ethnicity="汉族",
    )  # fmt: skip


class Person:
    """One person moving around; `where` reads the truth as the superuser."""

    def __init__(self, owner_sql, member_id: str):
        self.owner_sql = owner_sql
        self.index = owner_sql(
            f"SELECT id_number_index FROM member.members WHERE id = '{member_id}'"
        ).strip()
        self.letters: list[str] = []

    def where(self) -> tuple[str, str, str]:
        """(tenant, member id, organisation) of the one active record, asserting it is one."""
        rows = self.owner_sql(
            "SELECT tenant_id, id, organization_id FROM member.members "
            f"WHERE id_number_index = '{self.index}' AND departed_on IS NULL"
        ).strip().splitlines()  # fmt: skip
        assert len(rows) == 1, f"the person has {len(rows)} active records: {rows}"
        tenant_id, member_id, org_id = rows[0].split("|")
        return tenant_id, member_id, org_id


async def check_invariant(app, owner_sql, world, person: Person, allowed_orgs: set[str]) -> None:
    _, _, org_id = person.where()
    assert org_id in allowed_orgs
    for t in (world.a.id, world.b.id):
        assert owner_sql(ROLLED_UP.format(t=t)) == owner_sql(DIRECT.format(t=t))
    o = messaging.outbox
    async with app.db.unit_of_work(None) as uow:
        payloads = (
            await uow.session.execute(
                select(o.c.payload).where(o.c.event_type == "hongyun.member.v1.MemberTransferred")
            )
        ).scalars()
        per_letter: dict[str, int] = {}
        for raw in payloads:
            ev = lpb.MemberTransferred.FromString(raw)
            per_letter[ev.letter_id] = per_letter.get(ev.letter_id, 0) + 1
    ids = ", ".join(f"'{i}'" for i in person.letters)
    states = dict(
        line.split("|")
        for line in owner_sql(
            f"SELECT id, state FROM member.letters WHERE id IN ({ids})"
        ).split()
    )  # fmt: skip
    for letter_id in person.letters:
        completed = states[letter_id] in ("received", "receipt_returned")
        assert per_letter.get(letter_id, 0) == (1 if completed else 0), (letter_id, states)
    open_letters = [i for i in person.letters if states[i] in ("draft", "approved", "issued")]
    assert len(open_letters) <= 1


async def issued_letter(s, world, person: Person, *, cross: bool, issue: bool = True):
    """A letter moving the person from where they are now: to the other branch of A, or to
    the sibling tenant."""
    tenant_id, member_id, org_id = person.where()
    caller = world.admins[tenant_id]
    if cross:
        other = world.b.id if tenant_id == world.a.id else world.a.id
        target = world.branches[other][0]
        kw = dict(scope=lpb.LETTER_SCOPE_CROSS_TENANT, receiving_tenant_id=other)
        receiver = world.admins[other]
    else:
        first, second = world.branches[tenant_id]
        target = second if org_id == first else first
        kw = dict(scope=lpb.LETTER_SCOPE_WITHIN_TENANT, to_organization_id=target)
        receiver = caller
    letter = (await call(s.letters.CreateLetter, lpb.CreateLetterRequest(
        member_id=member_id, dues_paid_until="2026-11", reason="调动", **kw), caller)).letter  # fmt: skip
    person.letters.append(letter.id)
    await call(s.letters.ApproveLetter, lpb.ApproveLetterRequest(id=letter.id), caller)
    if issue:
        await call(s.letters.IssueLetter, lpb.IssueLetterRequest(id=letter.id), caller)
    return letter, caller, receiver, target


@pytest.fixture
async def person(stubs, world, owner_sql):
    m = (await call(stubs.member.CreateMember, pb.CreateMemberRequest(
        organization_id=world.a1.id, profile=_profile(next(_seq))), world.adm_a)).member  # fmt: skip
    return Person(owner_sql, m.id)


_seq = iter(range(10, 89))


@pytest.mark.parametrize("cross", [False, True], ids=["within", "sibling"])
async def test_receive_races_revoke(stubs, world, person, member_app, owner_sql, cross):
    s, allowed = stubs, {*world.branches[world.a.id], *world.branches[world.b.id]}
    for i in range(ROUNDS):
        letter, sender, receiver, target = await issued_letter(s, world, person, cross=cross)
        steps = [
            attempt(s.letters.ReceiveLetter, lpb.ReceiveLetterRequest(
                id=letter.id, organization_id=target), receiver),
            attempt(s.letters.RevokeLetter, lpb.RevokeLetterRequest(
                id=letter.id, reason="撤回"), sender),
        ]  # fmt: skip
        results = await asyncio.gather(*(steps if i % 2 else steps[::-1]))  # either goes first
        assert len(won(results)) == 1
        await check_invariant(member_app, owner_sql, world, person, allowed)


@pytest.mark.parametrize("cross", [False, True], ids=["within", "sibling"])
async def test_two_receives_race(stubs, world, person, member_app, owner_sql, cross):
    s, allowed = stubs, {*world.branches[world.a.id], *world.branches[world.b.id]}
    for _ in range(ROUNDS):
        letter, _, receiver, target = await issued_letter(s, world, person, cross=cross)
        results = await asyncio.gather(*[
            attempt(s.letters.ReceiveLetter, lpb.ReceiveLetterRequest(
                id=letter.id, organization_id=target), receiver)
            for _ in range(3)
        ])  # fmt: skip
        assert len(won(results)) == 1
        assert person.where()[2] == target
        await check_invariant(member_app, owner_sql, world, person, allowed)


async def test_receive_after_expiry_races_the_job(stubs, world, person, member_app, owner_sql):
    s, allowed = stubs, {*world.branches[world.a.id], *world.branches[world.b.id]}
    job = LetterJob(member_app.db, RuleBook(), interval_seconds=3600)
    for i in range(ROUNDS):
        letter, _, receiver, target = await issued_letter(s, world, person, cross=i % 2 == 1)
        owner_sql(f"UPDATE member.letters SET issued_on = issued_on - 200, "
                  f"valid_until = valid_until - 200 WHERE id = '{letter.id}'")  # fmt: skip
        before = person.where()
        results = await asyncio.gather(
            attempt(s.letters.ReceiveLetter, lpb.ReceiveLetterRequest(
                id=letter.id, organization_id=target), receiver),
            job.run_once(china_today()),
        )  # fmt: skip
        assert isinstance(results[0], grpc.aio.AioRpcError)  # expired: never received
        assert person.where() == before
        state = owner_sql(f"SELECT state FROM member.letters WHERE id = '{letter.id}'").strip()
        assert state == "expired"
        await check_invariant(member_app, owner_sql, world, person, allowed)
        # A later run does not expire (or announce) it again.
        await job.run_once(china_today() + timedelta(days=1))
        events = owner_sql(
            "SELECT count(*) FROM member.outbox WHERE event_type = "
            f"'hongyun.member.v1.LetterExpired' AND position('{letter.id}' in "
            "encode(payload, 'escape')) > 0"
        ).strip()  # fmt: skip
        assert events == "1"


@pytest.mark.parametrize("cross", [False, True], ids=["within", "sibling"])
async def test_receive_arriving_with_its_issue(stubs, world, person, member_app, owner_sql, cross):
    s, allowed = stubs, {*world.branches[world.a.id], *world.branches[world.b.id]}
    for i in range(ROUNDS):
        letter, sender, receiver, target = await issued_letter(
            s, world, person, cross=cross, issue=False
        )
        before = person.where()
        # A sibling tenant does not see a letter before it is issued: NOT_FOUND for it.
        hidden = frozenset({grpc.StatusCode.NOT_FOUND}) if cross else frozenset()
        steps = [
            attempt(s.letters.ReceiveLetter, lpb.ReceiveLetterRequest(
                id=letter.id, organization_id=target), receiver, hidden),
            attempt(s.letters.IssueLetter, lpb.IssueLetterRequest(id=letter.id), sender),
        ]  # fmt: skip
        if i % 2:
            receive, issue = await asyncio.gather(*steps)
        else:
            issue, receive = await asyncio.gather(*steps[::-1])
        assert not isinstance(issue, grpc.aio.AioRpcError)
        if isinstance(receive, grpc.aio.AioRpcError):  # it came first: nothing moved yet
            assert person.where() == before
            await call(s.letters.ReceiveLetter, lpb.ReceiveLetterRequest(
                id=letter.id, organization_id=target), receiver)  # fmt: skip
        assert person.where()[2] == target
        await check_invariant(member_app, owner_sql, world, person, allowed)


@pytest.mark.parametrize("cross", [False, True], ids=["within", "sibling"])
async def test_letters_created_at_once(stubs, world, person, member_app, owner_sql, cross):
    s, allowed = stubs, {*world.branches[world.a.id], *world.branches[world.b.id]}
    for _ in range(ROUNDS):
        tenant_id, member_id, _org_id = person.where()
        caller = world.admins[tenant_id]
        other = world.b.id if tenant_id == world.a.id else world.a.id
        kw = (dict(scope=lpb.LETTER_SCOPE_CROSS_TENANT, receiving_tenant_id=other) if cross
              else dict(scope=lpb.LETTER_SCOPE_OUT_OF_PLATFORM, destination="外地"))  # fmt: skip
        results = await asyncio.gather(*[
            attempt(s.letters.CreateLetter, lpb.CreateLetterRequest(
                member_id=member_id, dues_paid_until="2026-11", reason=f"调动{i}", **kw), caller)
            for i in range(3)
        ])  # fmt: skip
        [winner] = won(results)
        for r in results:
            if isinstance(r, grpc.aio.AioRpcError):
                assert dict(r.trailing_metadata())["x-hongyun-error-code"] == "open_letter_exists"
        person.letters.append(winner.letter.id)
        await check_invariant(member_app, owner_sql, world, person, allowed)
        await call(s.letters.RevokeLetter, lpb.RevokeLetterRequest(
            id=winner.letter.id, reason="重填"), caller)  # fmt: skip


async def test_everything_at_once(stubs, world, person, member_app, owner_sql):
    """Two receives, a revoke, a receipt and a second letter, all on one letter at once."""
    s, allowed = stubs, {*world.branches[world.a.id], *world.branches[world.b.id]}
    for i in range(ROUNDS):
        letter, sender, receiver, target = await issued_letter(s, world, person, cross=i % 2 == 0)
        _tenant_id, member_id, _ = person.where()
        results = await asyncio.gather(
            attempt(s.letters.ReceiveLetter, lpb.ReceiveLetterRequest(
                id=letter.id, organization_id=target), receiver),
            attempt(s.letters.RevokeLetter, lpb.RevokeLetterRequest(
                id=letter.id, reason="撤回"), sender),
            attempt(s.letters.ReceiveLetter, lpb.ReceiveLetterRequest(
                id=letter.id, organization_id=target), receiver),
            attempt(s.letters.ConfirmReceipt, lpb.ConfirmReceiptRequest(id=letter.id), sender),
            attempt(s.letters.CreateLetter, lpb.CreateLetterRequest(
                member_id=member_id, scope=lpb.LETTER_SCOPE_OUT_OF_PLATFORM, destination="外地",
                dues_paid_until="2026-11", reason="另开"), sender,
                also=frozenset({grpc.StatusCode.NOT_FOUND})),  # gone to the sibling already
        )  # fmt: skip
        receives = won([results[0], results[2]])
        assert len(receives) + len(won([results[1]])) == 1
        extra = results[4]
        if not isinstance(extra, grpc.aio.AioRpcError):
            person.letters.append(extra.letter.id)
            await call(s.letters.RevokeLetter, lpb.RevokeLetterRequest(
                id=extra.letter.id, reason="重填"), sender)  # fmt: skip
        await check_invariant(member_app, owner_sql, world, person, allowed)
