"""Relationship transfers (组织关系转接) through the gRPC API against real PostgreSQL and NATS:
within a tenant, to a sibling tenant (and back), out of the platform with the printed letter;
refused transitions; who may act; cross-tenant and cross-scope isolation; events in the outbox;
departed members no longer listed, searched or counted, their archive kept."""

from __future__ import annotations

import base64
import contextlib
import re
import uuid
import zlib
from datetime import date, timedelta
from types import SimpleNamespace

import grpc
import pytest
from hongyun.member.v1 import events_pb2 as epb
from hongyun.member.v1 import member_archive_pb2 as apb
from hongyun.member.v1 import (
    member_archive_pb2_grpc,
    member_dues_pb2_grpc,
    member_letters_pb2_grpc,
    member_pb2_grpc,
    member_search_pb2_grpc,
    member_stats_pb2_grpc,
)
from hongyun.member.v1 import member_dues_pb2 as duespb
from hongyun.member.v1 import member_letters_pb2 as lpb
from hongyun.member.v1 import member_pb2 as pb
from hongyun.member.v1 import member_search_pb2 as spb
from hongyun.member.v1 import member_stats_pb2 as cpb
from hongyun_platform.storage import FilesystemObjectStore
from hongyun_platform.testing.s3 import TEST_SIGNING_KEY
from hongyun_platform.validation import check_character
from member_service.domain.dates import china_today
from member_service.models import messaging
from sqlalchemy import select

from ..conftest import PLATFORM_ADMIN, secretary, tenant_admin

pytestmark = pytest.mark.integration
FILES_URL = "http://files.test/files"
PDF_BYTES = b"%PDF-1.4\n% scanned archive page\n%%EOF\n"


def id_number(seq: int, birth: str = "19900101", region: str = "110105") -> str:
    first17 = f"{region}{birth}{seq:03d}"
    return first17 + check_character(first17)


def profile(seq: int, **kw) -> pb.MemberProfile:
    values = dict(
        name=f"李{seq}", id_number=id_number(seq), category=pb.MEMBER_CATEGORY_FULL,
        joined_on="2012-07-01", converted_on="2013-07-01", mobile_phone="13912345678",
        ethnicity="汉族", education="本科",
    )  # fmt: skip
    values.update(kw)
    return pb.MemberProfile(**values)


async def call(method, request, caller):
    return await method(request, metadata=caller.to_metadata(), timeout=15)


def reason_code(err: grpc.aio.AioRpcError) -> str:
    return dict(err.trailing_metadata() or ()).get("x-hongyun-error-code", "")


async def refused(method, request, caller, status: grpc.StatusCode, code: str) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call(method, request, caller)
    assert err.value.code() == status, err.value.details()
    assert reason_code(err.value) == code, err.value.details()
    return err.value.details() or ""


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> FilesystemObjectStore:
    root = tmp_path_factory.mktemp("letter-objects")
    return FilesystemObjectStore(root, base_url=FILES_URL, signing_key=TEST_SIGNING_KEY)


@pytest.fixture(scope="module")
async def app(member_settings_fx, store):
    from member_service.app import build_app

    app = await build_app(member_settings_fx, object_store=store)
    await app.start()
    yield app
    await app.stop()


@pytest.fixture(scope="module")
async def s(app):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
        yield SimpleNamespace(
            member=member_pb2_grpc.MemberServiceStub(channel),
            archive=member_archive_pb2_grpc.MemberArchiveServiceStub(channel),
            letters=member_letters_pb2_grpc.RelationshipTransferServiceStub(channel),
            stats=member_stats_pb2_grpc.MemberStatsServiceStub(channel),
            search=member_search_pb2_grpc.MemberSearchServiceStub(channel),
        )


@pytest.fixture(scope="module")
async def world(s):
    """Province P with two cities A and B (siblings); U, an unrelated tenant.
    A: root → 总支 X → 支部 a1, a2; 支部 a3 under the root. B: root → 支部 b1."""
    code = uuid.uuid4().hex[:6]

    async def tenant(name, parent=""):
        return (await call(s.member.CreateTenant, pb.CreateTenantRequest(
            name=name, code=f"lt-{name}-{code}".lower(), parent_id=parent), PLATFORM_ADMIN)).tenant  # fmt: skip

    async def org(caller, name, type_, parent=""):
        return (await call(s.member.CreateOrganization, pb.CreateOrganizationRequest(
            parent_id=parent, name=name, type=type_), caller)).organization  # fmt: skip

    p = await tenant("p")
    a, b = await tenant("a", p.id), await tenant("b", p.id)
    u = await tenant("u")
    adm_a, adm_b, adm_u = tenant_admin(a.id), tenant_admin(b.id), tenant_admin(u.id)
    root_a = await org(adm_a, "甲市委", pb.ORGANIZATION_TYPE_COMMITTEE)
    x = await org(adm_a, "机关总支", pb.ORGANIZATION_TYPE_GENERAL_BRANCH, root_a.id)
    a1 = await org(adm_a, "第一支部", pb.ORGANIZATION_TYPE_BRANCH, x.id)
    a2 = await org(adm_a, "第二支部", pb.ORGANIZATION_TYPE_BRANCH, x.id)
    a3 = await org(adm_a, "第三支部", pb.ORGANIZATION_TYPE_BRANCH, root_a.id)
    root_b = await org(adm_b, "乙市委", pb.ORGANIZATION_TYPE_COMMITTEE)
    b1 = await org(adm_b, "乙第一支部", pb.ORGANIZATION_TYPE_BRANCH, root_b.id)
    root_u = await org(adm_u, "无关党委", pb.ORGANIZATION_TYPE_COMMITTEE)
    return SimpleNamespace(
        p=p, a=a, b=b, u=u, adm_a=adm_a, adm_b=adm_b, adm_u=adm_u, root_a=root_a, x=x, a1=a1,
        a2=a2, a3=a3, root_b=root_b, b1=b1, root_u=root_u,
        sec_x=secretary(a.id, x.id), sec_a1=secretary(a.id, a1.id),
        sec_a2=secretary(a.id, a2.id), sec_a3=secretary(a.id, a3.id),
        sec_b1=secretary(b.id, b1.id),
    )  # fmt: skip


_seq = iter(range(1, 900))


async def new_member(s, caller, org, **kw) -> pb.Member:
    return (await call(s.member.CreateMember, pb.CreateMemberRequest(
        organization_id=org.id, profile=profile(next(_seq), **kw)), caller)).member  # fmt: skip


async def create(s, caller, member, **kw) -> lpb.Letter:
    values = dict(member_id=member.id, dues_paid_until="2026-11", reason="工作调动")
    values.update(kw)
    return (await call(s.letters.CreateLetter, lpb.CreateLetterRequest(**values), caller)).letter


async def approve_issue(s, caller, letter) -> lpb.Letter:
    await call(s.letters.ApproveLetter, lpb.ApproveLetterRequest(id=letter.id), caller)
    return (await call(s.letters.IssueLetter, lpb.IssueLetterRequest(id=letter.id), caller)).letter


async def total(s, caller, org_id="") -> int:
    return (await call(s.stats.CountMembers, cpb.CountMembersRequest(organization_id=org_id),
                       caller)).total  # fmt: skip


async def outbox(app, type_name: str, cls):
    o = messaging.outbox
    async with app.db.unit_of_work(None) as uow:
        rows = await uow.session.execute(
            select(o.c.subject, o.c.payload).where(
                o.c.event_type == f"hongyun.member.v1.{type_name}"
            )
        )
        return [(subject, cls.FromString(payload)) for subject, payload in rows]


def transferred(events, letter_id):
    return [e for _, e in events if e.letter_id == letter_id]


# ---- within a tenant ----


async def test_within_tenant_workflow(s, world, app, owner_sql):
    w = world
    m = await new_member(s, w.sec_a1, w.a1)
    before = (await total(s, w.adm_a, w.a1.id), await total(s, w.adm_a, w.a2.id))
    draft = await create(s, w.sec_a1, m, scope=lpb.LETTER_SCOPE_WITHIN_TENANT,
                         to_organization_id=w.a2.id)  # fmt: skip
    assert draft.state == lpb.LETTER_STATE_DRAFT and draft.destination == "第二支部"
    assert draft.member_name == m.profile.name and "*" in draft.member_id_number
    assert draft.from_organization_name == "第一支部" and draft.dues_paid_until == "2026-11"
    assert draft.direction == lpb.LETTER_DIRECTION_OUTGOING and draft.letter_number == ""

    # The branch itself does not approve; its superior (总支 X) does.
    await refused(s.letters.ApproveLetter, lpb.ApproveLetterRequest(id=draft.id), w.sec_a1,
                  grpc.StatusCode.PERMISSION_DENIED, "superior_required")  # fmt: skip
    # Another branch's secretary cannot even see it.
    await refused(s.letters.ApproveLetter, lpb.ApproveLetterRequest(id=draft.id), w.sec_a3,
                  grpc.StatusCode.NOT_FOUND, "letter_not_found")  # fmt: skip
    # Received before it was issued: refused, and nothing moved.
    await refused(s.letters.ReceiveLetter, lpb.ReceiveLetterRequest(
        id=draft.id, organization_id=w.a2.id), w.sec_a2, grpc.StatusCode.FAILED_PRECONDITION,
        "letter_state")  # fmt: skip
    await refused(s.letters.ApproveLetter, lpb.ApproveLetterRequest(
        id=draft.id, expected_version=7), w.sec_x, grpc.StatusCode.ABORTED, "version_conflict")  # fmt: skip
    approved = (await call(s.letters.ApproveLetter, lpb.ApproveLetterRequest(
        id=draft.id, expected_version=draft.version), w.sec_x)).letter  # fmt: skip
    assert approved.state == lpb.LETTER_STATE_APPROVED and approved.approved_by == w.sec_x.user_id
    issued = (
        await call(s.letters.IssueLetter, lpb.IssueLetterRequest(id=draft.id), w.sec_x)
    ).letter
    today = china_today()
    assert issued.state == lpb.LETTER_STATE_ISSUED and issued.issued_on == today.isoformat()
    # National default: 30 days within a tenant, counted from the day after issue.
    assert issued.valid_days == 30
    assert issued.valid_until == (today + timedelta(days=30)).isoformat()
    assert re.fullmatch(r"〔\d{4}〕第\d{5}号", issued.letter_number)
    assert "各地规定不一" in issued.validity_citation

    # Receiving side: the addressee's secretary, into the addressee (not elsewhere).
    await refused(s.letters.ReceiveLetter, lpb.ReceiveLetterRequest(
        id=draft.id, organization_id=w.a3.id), w.adm_a, grpc.StatusCode.INVALID_ARGUMENT,
        "outside_addressee")  # fmt: skip
    await refused(s.letters.ReceiveLetter, lpb.ReceiveLetterRequest(
        id=draft.id, organization_id=w.a2.id), w.sec_a3, grpc.StatusCode.NOT_FOUND,
        "letter_not_found")  # fmt: skip
    got = await call(s.letters.GetLetter, lpb.GetLetterRequest(id=draft.id), w.sec_a2)
    assert got.letter.direction == lpb.LETTER_DIRECTION_INCOMING
    resp = await call(s.letters.ReceiveLetter, lpb.ReceiveLetterRequest(
        id=draft.id, organization_id=w.a2.id), w.sec_a2)  # fmt: skip
    assert resp.letter.state == lpb.LETTER_STATE_RECEIVED and resp.member_id == m.id
    assert resp.letter.placed_organization_id == w.a2.id and resp.letter.reported_on

    # The member is in 第二支部 now: the old branch's secretary no longer sees them.
    moved = (await call(s.member.GetMember, pb.GetMemberRequest(id=m.id), w.sec_a2)).member
    assert moved.organization_id == w.a2.id
    await refused(s.member.GetMember, pb.GetMemberRequest(id=m.id), w.sec_a1,
                  grpc.StatusCode.NOT_FOUND, "member_not_found")  # fmt: skip
    after = (await total(s, w.adm_a, w.a1.id), await total(s, w.adm_a, w.a2.id))
    assert after == (before[0] - 1, before[1] + 1)

    # The sending branch files the receipt.
    done = (await call(s.letters.ConfirmReceipt, lpb.ConfirmReceiptRequest(id=draft.id),
                       w.sec_a1)).letter  # fmt: skip
    assert done.state == lpb.LETTER_STATE_RECEIPT_RETURNED and done.receipt_by == w.sec_a1.user_id

    events = await outbox(app, "MemberTransferred", lpb.MemberTransferred)
    [(subject, ev)] = [(sub, e) for sub, e in events if e.letter_id == draft.id]
    assert subject == f"member.{w.a.id}.member.transferred"
    assert (ev.from_member_id, ev.to_member_id, ev.from_organization_id, ev.to_organization_id) \
        == (m.id, m.id, w.a1.id, w.a2.id)  # fmt: skip
    assert ev.scope == lpb.LETTER_SCOPE_WITHIN_TENANT and ev.to_tenant_id == w.a.id
    assert transferred(await outbox(app, "LetterIssued", lpb.LetterIssued), draft.id)
    assert transferred(await outbox(app, "LetterReceived", lpb.LetterReceived), draft.id)
    assert transferred(await outbox(app, "LetterReceiptReturned", lpb.LetterReceiptReturned),
                       draft.id)  # fmt: skip
    updated = await outbox(app, "MemberUpdated", epb.MemberUpdated)
    assert any(e.member_id == m.id and list(e.changed_fields) == ["organization_id"]
               and e.organization_id == w.a2.id for _, e in updated)  # fmt: skip
    # Who did each step is in the audit log, and the move is in the member's field history.
    audit = owner_sql(f"SELECT action FROM member.audit_log WHERE target_id = '{draft.id}' "
                      "ORDER BY at")  # fmt: skip
    assert audit.split() == ["letter_create", "letter_approve", "letter_issue", "letter_receive",
                             "letter_receipt"]  # fmt: skip
    history = owner_sql(f"SELECT source, field FROM member.member_field_changes "
                        f"WHERE record_id = '{draft.id}'")  # fmt: skip
    assert "letter|organization_id" in history


async def test_refused_transitions_and_one_open_letter(s, world, owner_sql):
    w = world
    m = await new_member(s, w.adm_a, w.a1)
    first = await create(s, w.adm_a, m, scope=lpb.LETTER_SCOPE_WITHIN_TENANT,
                         to_organization_id=w.a3.id)  # fmt: skip
    # A second open letter for the same member is refused.
    await refused(s.letters.CreateLetter, lpb.CreateLetterRequest(
        member_id=m.id, scope=lpb.LETTER_SCOPE_OUT_OF_PLATFORM, destination="北京某单位",
        dues_paid_until="2026-11", reason="x"), w.adm_a, grpc.StatusCode.FAILED_PRECONDITION,
        "open_letter_exists")  # fmt: skip
    # Invalid input.
    for req, field_code in [
        (dict(scope=lpb.LETTER_SCOPE_WITHIN_TENANT, to_organization_id=w.a1.id), "same_organization"),
        (dict(scope=lpb.LETTER_SCOPE_OUT_OF_PLATFORM, destination=""), "required"),
        (dict(scope=lpb.LETTER_SCOPE_UNSPECIFIED), "required"),
        (dict(scope=lpb.LETTER_SCOPE_OUT_OF_PLATFORM, destination="某地", dues_paid_until="2026-13"),
         "invalid_month"),
    ]:  # fmt: skip
        other = await new_member(s, w.adm_a, w.a1)
        body = {"member_id": other.id, "dues_paid_until": "2026-10", "reason": "调动", **req}
        await refused(s.letters.CreateLetter, lpb.CreateLetterRequest(**body), w.adm_a,
                      grpc.StatusCode.INVALID_ARGUMENT, field_code)  # fmt: skip

    issued = await approve_issue(s, w.adm_a, first)
    revoked = (await call(s.letters.RevokeLetter, lpb.RevokeLetterRequest(
        id=first.id, reason="本人放弃"), w.adm_a)).letter  # fmt: skip
    assert revoked.state == lpb.LETTER_STATE_REVOKED and revoked.revoke_reason == "本人放弃"
    assert revoked.version > issued.version
    # Receiving a revoked letter is refused; the member stays where they were.
    details = await refused(s.letters.ReceiveLetter, lpb.ReceiveLetterRequest(
        id=first.id, organization_id=w.a3.id), w.adm_a, grpc.StatusCode.FAILED_PRECONDITION,
        "letter_state")  # fmt: skip
    assert "已撤销" in details and "revoked" in details
    assert (await call(s.member.GetMember, pb.GetMemberRequest(id=m.id), w.adm_a)).member \
        .organization_id == w.a1.id  # fmt: skip
    await refused(s.letters.RevokeLetter, lpb.RevokeLetterRequest(id=first.id, reason="再撤"),
                  w.adm_a, grpc.StatusCode.FAILED_PRECONDITION, "letter_state")  # fmt: skip
    await refused(s.letters.RevokeLetter, lpb.RevokeLetterRequest(id=first.id, reason=""),
                  w.adm_a, grpc.StatusCode.INVALID_ARGUMENT, "required")  # fmt: skip

    # After revoking, a new letter may be filled in; issued, then past its validity.
    second = await approve_issue(s, w.adm_a, await create(
        s, w.adm_a, m, scope=lpb.LETTER_SCOPE_WITHIN_TENANT, to_organization_id=w.a3.id))  # fmt: skip
    owner_sql(f"UPDATE member.letters SET issued_on = issued_on - 31, "
              f"valid_until = valid_until - 31 WHERE id = '{second.id}'")  # fmt: skip
    details = await refused(s.letters.ReceiveLetter, lpb.ReceiveLetterRequest(
        id=second.id, organization_id=w.a3.id), w.adm_a, grpc.StatusCode.FAILED_PRECONDITION,
        "letter_expired")  # fmt: skip
    assert "transfer.letter.valid_days" in details and "各地规定不一" in details
    # A receipt is for letters out of the platform, or after the member reported in.
    await refused(s.letters.ConfirmReceipt, lpb.ConfirmReceiptRequest(id=second.id), w.adm_a,
                  grpc.StatusCode.FAILED_PRECONDITION, "letter_scope")  # fmt: skip


async def test_dues_paid_until_defaults_to_the_dues_records(s, world, app):
    w = world
    m = await new_member(s, w.adm_a, w.a1)
    out = dict(member_id=m.id, scope=lpb.LETTER_SCOPE_WITHIN_TENANT, to_organization_id=w.a3.id,
               dues_paid_until="", reason="工作调动")  # fmt: skip
    # No dues records and nothing typed: the secretary is asked for the month.
    assert await refused(s.letters.CreateLetter, lpb.CreateLetterRequest(**out), w.adm_a,
                         grpc.StatusCode.INVALID_ARGUMENT, "dues_paid_until_unknown")  # fmt: skip
    async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
        dues = member_dues_pb2_grpc.DuesServiceStub(channel)
        await call(dues.SetStandard, duespb.SetStandardRequest(
            member_id=m.id, group=duespb.DUES_GROUP_EMPLOYED, declared_base_fen=300000), w.adm_a)  # fmt: skip
        this_month = china_today().strftime("%Y-%m")
        await call(dues.RecordPayment, duespb.RecordPaymentRequest(
            member_id=m.id, first_month=this_month, amount_fen=1500), w.adm_a)  # fmt: skip
    letter = (await call(s.letters.CreateLetter, lpb.CreateLetterRequest(**out), w.adm_a)).letter
    assert letter.dues_paid_until == this_month  # from the records, as printed on the letter


async def test_secretary_scope_and_other_tenants(s, world):
    w = world
    m = await new_member(s, w.adm_a, w.a1)
    letter = await approve_issue(s, w.sec_x, await create(
        s, w.sec_a1, m, scope=lpb.LETTER_SCOPE_WITHIN_TENANT, to_organization_id=w.a2.id))  # fmt: skip
    for caller in (w.sec_a3, w.adm_b, w.adm_u, w.sec_b1):
        await refused(s.letters.GetLetter, lpb.GetLetterRequest(id=letter.id), caller,
                      grpc.StatusCode.NOT_FOUND, "letter_not_found")  # fmt: skip

    # Lists: the sender's branch sees it outgoing, the addressee incoming, others nothing.
    def ids(resp):
        return {x.id for x in resp.letters}

    out = await call(s.letters.ListLetters, lpb.ListLettersRequest(
        direction=lpb.LETTER_DIRECTION_OUTGOING), w.sec_a1)  # fmt: skip
    assert letter.id in ids(out)
    inc = await call(s.letters.ListLetters, lpb.ListLettersRequest(
        direction=lpb.LETTER_DIRECTION_INCOMING), w.sec_a2)  # fmt: skip
    assert letter.id in ids(inc)
    assert letter.id not in ids(await call(s.letters.ListLetters, lpb.ListLettersRequest(
        direction=lpb.LETTER_DIRECTION_OUTGOING), w.sec_a2))  # fmt: skip
    for caller in (w.sec_a3, w.adm_b, w.adm_u):
        assert letter.id not in ids(await call(s.letters.ListLetters, lpb.ListLettersRequest(),
                                               caller))  # fmt: skip
    filtered = await call(s.letters.ListLetters, lpb.ListLettersRequest(
        state=lpb.LETTER_STATE_ISSUED, scope=lpb.LETTER_SCOPE_WITHIN_TENANT,
        organization_id=w.x.id), w.adm_a)  # fmt: skip
    assert letter.id in ids(filtered)
    assert all(x.state == lpb.LETTER_STATE_ISSUED for x in filtered.letters)
    # Pages, oldest first.
    first = await call(s.letters.ListLetters, lpb.ListLettersRequest(page_size=1), w.adm_a)
    assert len(first.letters) == 1 and first.next_page_token
    second = await call(s.letters.ListLetters, lpb.ListLettersRequest(
        page_size=1, page_token=first.next_page_token), w.adm_a)  # fmt: skip
    assert second.letters[0].id > first.letters[0].id
    # Members (no personal-data role) and platform operators do not handle letters.
    await refused(s.letters.GetLetter, lpb.GetLetterRequest(id=letter.id), PLATFORM_ADMIN,
                  grpc.StatusCode.PERMISSION_DENIED, "permission_denied")  # fmt: skip
    # The sender's branch cannot print: the superior organisation issued it, but a branch
    # inside the scope may print its own members' letters.
    printed = await call(s.letters.PrintLetter, lpb.PrintLetterRequest(id=letter.id), w.sec_a1)
    assert printed.content.startswith(b"%PDF")
    await refused(s.letters.PrintLetter, lpb.PrintLetterRequest(id=letter.id), w.sec_a2,
                  grpc.StatusCode.NOT_FOUND, "letter_not_found")  # fmt: skip


# ---- between sibling tenants ----


async def test_sibling_tenant_transfer_moves_record_and_archive(s, world, app, store, owner_sql):
    w = world
    m = await new_member(s, w.adm_a, w.a1, name="王转移")
    full_id = (await call(s.member.GetMember, pb.GetMemberRequest(
        id=m.id, reveal=True, reveal_reason="核对"), w.adm_a)).member.profile.id_number  # fmt: skip
    await call(s.archive.CreateFamilyMember, apb.CreateFamilyMemberRequest(
        member_id=m.id, family_member=apb.FamilyMember(name="王父", relation="父亲",
                                                       phone="13800001111")), w.adm_a)  # fmt: skip
    await call(s.archive.AddMemberTag, apb.AddMemberTagRequest(member_id=m.id, tag="技术骨干"),
               w.adm_a)  # fmt: skip
    ticket = await call(s.archive.CreateAttachment, apb.CreateAttachmentRequest(
        member_id=m.id, kind=apb.ATTACHMENT_KIND_SCAN, file_name="档案.pdf",
        content_type="application/pdf", size=len(PDF_BYTES)), w.adm_a)  # fmt: skip
    await store.put_object(f"{w.a.id}/{m.id}/{ticket.attachment.id}", PDF_BYTES,
                           "application/pdf")  # fmt: skip
    await call(s.archive.CompleteAttachment, apb.CompleteAttachmentRequest(
        member_id=m.id, id=ticket.attachment.id), w.adm_a)  # fmt: skip
    a_before, b_before = await total(s, w.adm_a), await total(s, w.adm_b)

    dests = await call(s.letters.ListLetterDestinations, lpb.ListLetterDestinationsRequest(),
                       w.adm_a)  # fmt: skip
    assert [d.tenant_id for d in dests.destinations] == [w.b.id]  # a sibling; not U, not itself
    # U is not a sibling: refused, as if absent.
    await refused(s.letters.CreateLetter, lpb.CreateLetterRequest(
        member_id=m.id, scope=lpb.LETTER_SCOPE_CROSS_TENANT, receiving_tenant_id=w.u.id,
        dues_paid_until="2026-11", reason="调动"), w.adm_a, grpc.StatusCode.NOT_FOUND,
        "receiving_tenant_not_found")  # fmt: skip
    draft = await create(s, w.adm_a, m, scope=lpb.LETTER_SCOPE_CROSS_TENANT,
                         receiving_tenant_id=w.b.id)  # fmt: skip
    assert draft.destination == w.b.name
    # Before it is issued the receiving tenant does not see it at all.
    await refused(s.letters.GetLetter, lpb.GetLetterRequest(id=draft.id), w.adm_b,
                  grpc.StatusCode.NOT_FOUND, "letter_not_found")  # fmt: skip
    await call(s.letters.ApproveLetter, lpb.ApproveLetterRequest(id=draft.id), w.adm_a)
    await refused(s.letters.ReceiveLetter, lpb.ReceiveLetterRequest(
        id=draft.id, organization_id=w.b1.id), w.adm_b, grpc.StatusCode.NOT_FOUND,
        "letter_not_found")  # fmt: skip
    issued = (
        await call(s.letters.IssueLetter, lpb.IssueLetterRequest(id=draft.id), w.adm_a)
    ).letter
    assert issued.valid_days == 90  # national default to a sibling tenant

    got = (await call(s.letters.GetLetter, lpb.GetLetterRequest(id=draft.id), w.adm_b)).letter
    assert got.direction == lpb.LETTER_DIRECTION_INCOMING and got.member_name == "王转移"
    incoming = await call(s.letters.ListLetters, lpb.ListLettersRequest(
        direction=lpb.LETTER_DIRECTION_INCOMING), w.adm_b)  # fmt: skip
    assert draft.id in {x.id for x in incoming.letters}
    for caller in (w.adm_u, w.sec_b1):  # unrelated tenant; a secretary of the receiver
        await refused(s.letters.GetLetter, lpb.GetLetterRequest(id=draft.id), caller,
                      grpc.StatusCode.NOT_FOUND, "letter_not_found")  # fmt: skip
    # Only the sender prints or revokes; the receiver cannot.
    await refused(s.letters.PrintLetter, lpb.PrintLetterRequest(id=draft.id), w.adm_b,
                  grpc.StatusCode.NOT_FOUND, "letter_not_found")  # fmt: skip
    await refused(s.letters.RevokeLetter, lpb.RevokeLetterRequest(id=draft.id, reason="x"),
                  w.adm_b, grpc.StatusCode.NOT_FOUND, "letter_not_found")  # fmt: skip
    # The sender cannot receive it on the receiver's behalf.
    await refused(s.letters.ReceiveLetter, lpb.ReceiveLetterRequest(
        id=draft.id, organization_id=w.a2.id), w.adm_a, grpc.StatusCode.FAILED_PRECONDITION,
        "letter_scope")  # fmt: skip

    resp = await call(s.letters.ReceiveLetter, lpb.ReceiveLetterRequest(
        id=draft.id, organization_id=w.b1.id), w.adm_b)  # fmt: skip
    new_id = resp.member_id
    assert new_id != m.id and resp.letter.received_member_id == new_id
    # B has the member, with the personal data and the archive copied.
    there = (await call(s.member.GetMember, pb.GetMemberRequest(
        id=new_id, reveal=True, reveal_reason="核对转入"), w.adm_b)).member  # fmt: skip
    assert there.tenant_id == w.b.id and there.organization_id == w.b1.id
    assert there.profile.name == "王转移" and there.profile.id_number == full_id
    fam = (await call(s.archive.ListFamilyMembers, apb.ListFamilyMembersRequest(
        member_id=new_id, reveal=True, reveal_reason="核对"), w.adm_b)).family_members  # fmt: skip
    assert [(f.name, f.phone) for f in fam] == [("王父", "13800001111")]
    tags = (await call(s.archive.ListMemberTags, apb.ListMemberTagsRequest(member_id=new_id),
                       w.adm_b)).tags  # fmt: skip
    assert list(tags) == ["技术骨干"]
    [att] = (await call(s.archive.ListAttachments, apb.ListAttachmentsRequest(member_id=new_id),
                        w.adm_b)).attachments  # fmt: skip
    assert att.file_name == "档案.pdf" and att.id != ticket.attachment.id
    assert await store.get_object(f"{w.b.id}/{new_id}/{att.id}") == PDF_BYTES

    # Once placed in 乙第一支部, that branch's secretary sees the letter too.
    seen = await call(s.letters.GetLetter, lpb.GetLetterRequest(id=draft.id), w.sec_b1)
    assert seen.letter.direction == lpb.LETTER_DIRECTION_INCOMING
    listed_b1 = await call(s.letters.ListLetters, lpb.ListLettersRequest(), w.sec_b1)
    assert draft.id in {x.id for x in listed_b1.letters}
    # A keeps the record as archive, but no longer lists, searches or counts it.
    await refused(s.member.GetMember, pb.GetMemberRequest(id=m.id), w.adm_a,
                  grpc.StatusCode.NOT_FOUND, "member_not_found")  # fmt: skip
    listed = await call(s.member.ListMembers, pb.ListMembersRequest(page_size=200), w.adm_a)
    assert m.id not in {x.id for x in listed.members}
    found = await call(s.search.SearchMembers, spb.SearchMembersRequest(query="王转移"), w.adm_a)
    assert m.id not in {x.member.id for x in found.hits}
    found_b = await call(s.search.SearchMembers, spb.SearchMembersRequest(query="王转移"), w.adm_b)
    assert [x.member.id for x in found_b.hits] == [new_id]
    assert (await total(s, w.adm_a), await total(s, w.adm_b)) == (a_before - 1, b_before + 1)
    kept = owner_sql(f"SELECT departed_reason, departed_letter_id FROM member.members "
                     f"WHERE id = '{m.id}'")  # fmt: skip
    assert kept.strip() == f"transferred_to_tenant|{draft.id}"
    assert owner_sql(f"SELECT count(*) FROM member.member_family_members "
                     f"WHERE member_id = '{m.id}'").strip() == "1"  # fmt: skip

    [ev] = transferred(await outbox(app, "MemberTransferred", lpb.MemberTransferred), draft.id)
    assert (ev.from_tenant_id, ev.to_tenant_id, ev.to_member_id, ev.to_organization_id) == (
        w.a.id, w.b.id, new_id, w.b1.id)  # fmt: skip
    registered = await outbox(app, "MemberRegistered", epb.MemberRegistered)
    assert [sub for sub, e in registered if e.member_id == new_id] == [
        f"member.{w.b.id}.member.registered"]  # fmt: skip
    # The receiving side's audit is in its own tenant; the departure in the sender's.
    assert "letter_receive" in owner_sql(
        f"SELECT action FROM member.audit_log WHERE tenant_id = '{w.b.id}' "
        f"AND target_id = '{draft.id}'")  # fmt: skip
    assert "member_departed" in owner_sql(
        f"SELECT action FROM member.audit_log WHERE tenant_id = '{w.a.id}' "
        f"AND target_id = '{m.id}'")  # fmt: skip
    # A second receive of the same letter is refused.
    await refused(s.letters.ReceiveLetter, lpb.ReceiveLetterRequest(
        id=draft.id, organization_id=w.b1.id), w.adm_b, grpc.StatusCode.FAILED_PRECONDITION,
        "letter_state")  # fmt: skip
    receipt = (await call(s.letters.ConfirmReceipt, lpb.ConfirmReceiptRequest(id=draft.id),
                          w.adm_a)).letter  # fmt: skip
    assert receipt.state == lpb.LETTER_STATE_RECEIPT_RETURNED

    # And back again: A gets its departed record back (same id), not a second one.
    back = await approve_issue(s, w.adm_b, await create(
        s, w.adm_b, there, scope=lpb.LETTER_SCOPE_CROSS_TENANT, receiving_tenant_id=w.a.id))  # fmt: skip
    home = await call(s.letters.ReceiveLetter, lpb.ReceiveLetterRequest(
        id=back.id, organization_id=w.a3.id), w.adm_a)  # fmt: skip
    assert home.member_id == m.id
    again = (await call(s.member.GetMember, pb.GetMemberRequest(id=m.id), w.adm_a)).member
    assert again.organization_id == w.a3.id
    assert (await total(s, w.adm_a), await total(s, w.adm_b)) == (a_before, b_before)
    assert owner_sql(
        f"SELECT count(*) FROM member.members WHERE id_number_index = "
        f"(SELECT id_number_index FROM member.members WHERE id = '{m.id}') "
        "AND departed_on IS NULL").strip() == "1"  # fmt: skip


# ---- out of the platform ----


def pdf_texts(data: bytes) -> str:
    """The PDF's drawn strings (CID font text decoded as UTF-16BE), one per line."""
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
            raw = re.sub(rb"\\([0-7]{1,3}|.)", lambda e: bytes([int(e.group(1), 8)]) if e.group(1)[:1].isdigit()
                         else {b"n": b"\n", b"r": b"\r", b"t": b"\t"}.get(e.group(1), e.group(1)), op.group(2))  # fmt: skip
            out.append(raw.decode("utf-16-be") if font in cid_fonts else raw.decode("latin-1"))
    return "\n".join(out)


async def test_out_of_platform_with_printed_letter(s, world, app, owner_sql):
    w = world
    m = await new_member(s, w.adm_a, w.a3, name="赵出省", ethnicity="回族")
    full_id = (await call(s.member.GetMember, pb.GetMemberRequest(
        id=m.id, reveal=True, reveal_reason="开具介绍信"), w.adm_a)).member.profile.id_number  # fmt: skip
    count_before = await total(s, w.adm_a, w.a3.id)
    draft = await create(s, w.adm_a, m, scope=lpb.LETTER_SCOPE_OUT_OF_PLATFORM,
                         destination="中共北京市海淀区委组织部", dues_paid_until="2026-10")  # fmt: skip
    await refused(s.letters.PrintLetter, lpb.PrintLetterRequest(id=draft.id), w.adm_a,
                  grpc.StatusCode.FAILED_PRECONDITION, "letter_state")  # fmt: skip
    issued = await approve_issue(s, w.adm_a, draft)
    assert issued.valid_days == 90
    printed = await call(s.letters.PrintLetter, lpb.PrintLetterRequest(id=draft.id), w.adm_a)
    assert printed.content_type == "application/pdf" and issued.letter_number in printed.file_name
    text = pdf_texts(printed.content)
    joined = text.replace("\n", "")
    for part in ("（存根）", "中国共产党党员组织关系介绍信", "（回执）", issued.letter_number,
                 "中共北京市海淀区委组织部", "赵出省", "回族", "第三支部", "2026年10月",
                 f"身份证号码{full_id}"):  # fmt: skip
        assert part in joined, part
    # The full ID number is printed (the member carries it); the print is audited.
    assert "letter_print|{id_number}" in owner_sql(
        f"SELECT action, fields FROM member.audit_log WHERE target_id = '{draft.id}'")  # fmt: skip

    # No receiver inside the platform.
    await refused(s.letters.ReceiveLetter, lpb.ReceiveLetterRequest(
        id=draft.id, organization_id=w.a2.id), w.adm_a, grpc.StatusCode.FAILED_PRECONDITION,
        "letter_scope")  # fmt: skip
    await refused(s.letters.ConfirmReceipt, lpb.ConfirmReceiptRequest(id=draft.id), w.adm_a,
                  grpc.StatusCode.INVALID_ARGUMENT, "required")  # fmt: skip
    day = china_today().isoformat()
    done = (await call(s.letters.ConfirmReceipt, lpb.ConfirmReceiptRequest(
        id=draft.id, reported_on=day), w.adm_a)).letter  # fmt: skip
    assert done.state == lpb.LETTER_STATE_RECEIPT_RETURNED and done.reported_on == day
    assert await total(s, w.adm_a, w.a3.id) == count_before - 1
    await refused(s.member.GetMember, pb.GetMemberRequest(id=m.id), w.adm_a,
                  grpc.StatusCode.NOT_FOUND, "member_not_found")  # fmt: skip
    [ev] = transferred(await outbox(app, "MemberTransferred", lpb.MemberTransferred), draft.id)
    assert ev.scope == lpb.LETTER_SCOPE_OUT_OF_PLATFORM and ev.to_tenant_id == ""
    assert ev.effective_on == day
    assert owner_sql(f"SELECT departed_reason FROM member.members WHERE id = '{m.id}'").strip() \
        == "transferred_out_of_platform"  # fmt: skip


async def test_out_of_platform_late_receipt(s, world, owner_sql):
    """The paper came back after the letter expired; it shows the member reported in on time."""
    w = world
    m = await new_member(s, w.adm_a, w.a3)
    letter = await approve_issue(s, w.adm_a, await create(
        s, w.adm_a, m, scope=lpb.LETTER_SCOPE_OUT_OF_PLATFORM, destination="外省某党委"))  # fmt: skip
    owner_sql(f"UPDATE member.letters SET state = 'expired', issued_on = issued_on - 100, "
              f"valid_until = valid_until - 100 WHERE id = '{letter.id}'")  # fmt: skip
    row = owner_sql(f"SELECT issued_on, valid_until FROM member.letters WHERE id = '{letter.id}'")
    issued_on, valid_until = row.strip().split("|")
    late = (date.fromisoformat(valid_until) + timedelta(days=1)).isoformat()
    details = await refused(s.letters.ConfirmReceipt, lpb.ConfirmReceiptRequest(
        id=letter.id, reported_on=late), w.adm_a, grpc.StatusCode.FAILED_PRECONDITION,
        "letter_expired")  # fmt: skip
    assert "transfer.letter.valid_days" in details
    done = (await call(s.letters.ConfirmReceipt, lpb.ConfirmReceiptRequest(
        id=letter.id, reported_on=valid_until), w.adm_a)).letter  # fmt: skip
    assert done.state == lpb.LETTER_STATE_RECEIPT_RETURNED and issued_on < valid_until
