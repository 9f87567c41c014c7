"""The electronic member archive (MemberArchiveService) against a real PostgreSQL, nats-server
and object storage: the filesystem backend through its signed-URL app, and moto's S3 API."""

from __future__ import annotations

import hashlib
import time
import uuid
from datetime import date, timedelta
from types import SimpleNamespace

import grpc
import httpx
import pytest
from hongyun.member.v1 import member_archive_pb2 as apb
from hongyun.member.v1 import member_archive_pb2_grpc, member_pb2_grpc
from hongyun.member.v1 import member_pb2 as pb
from hongyun_platform.grpc.context import ROLE_PLATFORM_ADMIN, CallerContext
from hongyun_platform.storage import FilesystemObjectStore, S3ObjectStore, make_fs_download_app
from hongyun_platform.testing.s3 import TEST_SIGNING_KEY
from hongyun_platform.validation import check_character
from member_service.domain.archive import add_months
from sqlalchemy import select

from ..conftest import PLATFORM_ADMIN, secretary, tenant_admin

pytestmark = pytest.mark.integration

MAX_BYTES = 4096  # the attachment limit these apps run with
FILES_URL = "http://files.test/files"
PDF = b"%PDF-1.7\n" + b"0" * 200
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


def id_number(seq: int) -> str:
    first17 = f"44030519750315{seq:03d}"
    return first17 + check_character(first17)


def profile(seq: int, **kw) -> pb.MemberProfile:
    values = dict(
        name=f"王{seq}", id_number=id_number(seq), category=pb.MEMBER_CATEGORY_FULL,
        joined_on="2005-07-01", converted_on="2006-07-01", mobile_phone="13812345678",
    )  # fmt: skip
    values.update(kw)
    return pb.MemberProfile(**values)


async def call(method, request, caller):
    return await method(request, metadata=caller.to_metadata(), timeout=10)


async def fails(method, request, caller, code: grpc.StatusCode) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await call(method, request, caller)
    assert e.value.code() == code, e.value.details()
    return e.value


def reason_code(err: grpc.aio.AioRpcError) -> str:
    return dict(err.trailing_metadata() or ()).get("x-hongyun-error-code", "")


def platform_admin_in(tenant_id: str) -> CallerContext:
    return CallerContext("root", uuid.UUID(tenant_id), frozenset({ROLE_PLATFORM_ADMIN}))


# ---- the service, with a filesystem store; and one with moto S3 ----


@pytest.fixture(scope="module")
def fs_store(tmp_path_factory) -> FilesystemObjectStore:
    root = tmp_path_factory.mktemp("archive-objects")
    return FilesystemObjectStore(root, base_url=FILES_URL, signing_key=TEST_SIGNING_KEY)


def files_client(store: FilesystemObjectStore, **store_kw) -> httpx.AsyncClient:
    """What the gateway mounts at /files, over the same directory (optionally another clock)."""
    view = FilesystemObjectStore(store.root, base_url=FILES_URL, signing_key=TEST_SIGNING_KEY,
                                 **store_kw)  # fmt: skip
    app = make_fs_download_app(view, max_upload_bytes=1024 * 1024)
    transport = httpx.ASGITransport(app=app, root_path="/files")  # mounted at /files
    return httpx.AsyncClient(transport=transport, base_url="http://files.test")


async def _started(settings, store):
    from member_service.app import build_app

    app = await build_app(
        settings.model_copy(update={"attachment_max_bytes": MAX_BYTES}), object_store=store
    )
    await app.start()
    return app


async def _stubs(app):
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{app.port}")
    return channel, SimpleNamespace(
        member=member_pb2_grpc.MemberServiceStub(channel),
        archive=member_archive_pb2_grpc.MemberArchiveServiceStub(channel),
    )


@pytest.fixture(scope="module")
async def archive_app(member_settings_fx, fs_store):
    app = await _started(member_settings_fx, fs_store)
    yield app
    await app.stop()


@pytest.fixture(scope="module")
async def s(archive_app):
    channel, stubs = await _stubs(archive_app)
    yield stubs
    await channel.close()


@pytest.fixture(scope="module")
async def world(s):
    code = uuid.uuid4().hex[:8]
    a = (await call(s.member.CreateTenant, pb.CreateTenantRequest(name="甲", code=f"arc-a-{code}"),
                    PLATFORM_ADMIN)).tenant  # fmt: skip
    b = (await call(s.member.CreateTenant, pb.CreateTenantRequest(name="乙", code=f"arc-b-{code}"),
                    PLATFORM_ADMIN)).tenant  # fmt: skip
    adm_a, adm_b = tenant_admin(a.id), tenant_admin(b.id)

    async def org(caller, name, type_, parent=""):
        return (await call(s.member.CreateOrganization, pb.CreateOrganizationRequest(
            parent_id=parent, name=name, type=type_), caller)).organization  # fmt: skip

    root = await org(adm_a, "甲党委", pb.ORGANIZATION_TYPE_COMMITTEE)
    br1 = await org(adm_a, "第一支部", pb.ORGANIZATION_TYPE_BRANCH, root.id)
    br2 = await org(adm_a, "第二支部", pb.ORGANIZATION_TYPE_BRANCH, root.id)
    root_b = await org(adm_b, "乙党委", pb.ORGANIZATION_TYPE_COMMITTEE)
    return dict(a=a, b=b, adm_a=adm_a, adm_b=adm_b, root=root, br1=br1, br2=br2, root_b=root_b,
                sec1=secretary(a.id, br1.id), sec2=secretary(a.id, br2.id))  # fmt: skip


_seq = iter(range(100, 999))


async def new_member(s, world, org="br1", **kw) -> pb.Member:
    return (await call(s.member.CreateMember, pb.CreateMemberRequest(
        organization_id=world[org].id, profile=profile(next(_seq), **kw)), world["adm_a"])).member  # fmt: skip


async def audit_rows(app, tenant_id: str, member_id: str):
    from member_service.repository import Repositories

    async with app.db.unit_of_work(uuid.UUID(tenant_id)) as uow:
        return await Repositories(uow.session).audit.for_target(
            uuid.UUID(tenant_id), uuid.UUID(member_id)
        )


async def history(s, caller, member_id, **kw) -> list[apb.FieldChange]:
    return list((await call(s.archive.ListMemberHistory, apb.ListMemberHistoryRequest(
        member_id=member_id, page_size=200, **kw), caller)).changes)  # fmt: skip


# ---- family members ----


async def test_family_members_crud_masked_revealed_and_audited(
    s, world, archive_app, module_database
):
    adm, m = world["adm_a"], await new_member(s, world)
    created = (await call(s.archive.CreateFamilyMember, apb.CreateFamilyMemberRequest(
        member_id=m.id, family_member=apb.FamilyMember(
            name="李梅", relation="配偶", work_unit="市第一中学 教师", political_status="群众",
            phone="139 0000 1111")), adm)).family_member  # fmt: skip
    assert created.phone == "139****1111" and not created.revealed and created.name == "李梅"

    listed = (await call(s.archive.ListFamilyMembers, apb.ListFamilyMembersRequest(
        member_id=m.id), adm)).family_members  # fmt: skip
    assert [f.phone for f in listed] == ["139****1111"]

    upd = (await call(s.archive.UpdateFamilyMember, apb.UpdateFamilyMemberRequest(
        member_id=m.id, id=created.id, family_member=apb.FamilyMember(relation="妻子", phone="x"),
        update_mask=["relation"]), adm)).family_member  # fmt: skip
    assert upd.relation == "妻子" and upd.phone == "139****1111"  # phone not in the mask: kept

    full = (await call(s.archive.ListFamilyMembers, apb.ListFamilyMembersRequest(
        member_id=m.id, reveal=True, reveal_reason="困难帮扶联系"), adm)).family_members  # fmt: skip
    assert full[0].phone == "13900001111" and full[0].revealed
    reveals = [
        e for e in await audit_rows(archive_app, world["a"].id, m.id) if e.action == "reveal"
    ]
    assert len(reveals) == 1 and reveals[0].fields == ["family_member.phone"]
    assert reveals[0].reason == "困难帮扶联系"

    # Platform operators never see personal data in full.
    await fails(s.archive.ListFamilyMembers, apb.ListFamilyMembersRequest(
        member_id=m.id, reveal=True), platform_admin_in(world["a"].id), grpc.StatusCode.PERMISSION_DENIED)  # fmt: skip

    raw = module_database.pg.psql(
        f"SELECT encode(phone_enc, 'escape') FROM member.member_family_members "
        f"WHERE id = '{created.id}'", module_database.name)  # fmt: skip
    assert raw.strip() and "13900001111" not in raw

    await call(s.archive.DeleteFamilyMember, apb.DeleteFamilyMemberRequest(
        member_id=m.id, id=created.id), adm)  # fmt: skip
    assert not (await call(s.archive.ListFamilyMembers, apb.ListFamilyMembersRequest(
        member_id=m.id), adm)).family_members  # fmt: skip
    await fails(s.archive.DeleteFamilyMember, apb.DeleteFamilyMemberRequest(
        member_id=m.id, id=created.id), adm, grpc.StatusCode.NOT_FOUND)  # fmt: skip

    # The history has the create, the update and the delete, the phone encrypted and masked.
    changes = await history(s, adm, m.id)
    phone = [c for c in changes if c.field == "family_member.phone"]
    assert [(c.old_value, c.new_value) for c in phone] == [("139****1111", ""), ("", "139****1111")]
    assert all(c.personal and c.record_id == created.id for c in phone)
    rel = [c for c in changes if c.field == "family_member.relation"]
    assert [(c.old_value, c.new_value) for c in rel] == [
        ("妻子", ""),
        ("配偶", "妻子"),
        ("", "配偶"),
    ]


async def test_bad_family_member_is_refused_and_nothing_written(s, world):
    adm, m = world["adm_a"], await new_member(s, world)
    for bad, field in [
        (apb.FamilyMember(name="", relation="父亲"), "name"),
        (apb.FamilyMember(name="王大", relation="父亲", phone="12345"), "phone"),
        (apb.FamilyMember(name="王大" * 30, relation="父亲"), "name"),
    ]:
        err = await fails(s.archive.CreateFamilyMember, apb.CreateFamilyMemberRequest(
            member_id=m.id, family_member=bad), adm, grpc.StatusCode.INVALID_ARGUMENT)  # fmt: skip
        assert dict(err.trailing_metadata())["x-hongyun-error-field"] == field
    assert not (await call(s.archive.ListFamilyMembers, apb.ListFamilyMembersRequest(
        member_id=m.id), adm)).family_members  # fmt: skip
    assert not await history(s, adm, m.id)


# ---- awards and punishments, travels, hardships ----


async def test_punishments_are_redacted_unless_revealed(s, world, archive_app):
    adm, m = world["adm_a"], await new_member(s, world)
    award = (await call(s.archive.CreateAward, apb.CreateAwardRequest(member_id=m.id, award=apb.Award(
        kind=apb.AWARD_KIND_AWARD, title="优秀共产党员", decided_on="2021-07-01",
        issuing_body="市委", document_number="市委〔2021〕12号")), adm)).award  # fmt: skip
    assert award.title == "优秀共产党员" and not award.redacted
    punish = (await call(s.archive.CreateAward, apb.CreateAwardRequest(member_id=m.id, award=apb.Award(
        kind=apb.AWARD_KIND_PUNISHMENT, title="党内警告", decided_on="2023-03-01",
        issuing_body="区纪委", document_number="区纪〔2023〕3号", note="违反工作纪律")), adm)).award  # fmt: skip
    assert punish.redacted and punish.title == punish.note == punish.document_number == ""
    assert punish.kind == apb.AWARD_KIND_PUNISHMENT and punish.decided_on == "2023-03-01"

    only = (await call(s.archive.ListAwards, apb.ListAwardsRequest(
        member_id=m.id, kind=apb.AWARD_KIND_PUNISHMENT), adm)).awards  # fmt: skip
    assert [a.id for a in only] == [punish.id] and only[0].redacted
    full = (await call(s.archive.ListAwards, apb.ListAwardsRequest(
        member_id=m.id, reveal=True, reveal_reason="民主评议"), adm)).awards  # fmt: skip
    shown = {a.id: a for a in full}
    assert shown[punish.id].title == "党内警告" and shown[punish.id].note == "违反工作纪律"
    reveal = [e for e in await audit_rows(archive_app, world["a"].id, m.id) if e.action == "reveal"]
    assert reveal[-1].fields == ["award.document_number", "award.issuing_body", "award.note",
                                 "award.title"]  # fmt: skip

    # In the history the punishment's content is personal (masked); the award's is not.
    changes = {(c.field, c.record_id): c for c in await history(s, adm, m.id)}
    assert changes[("award.title", punish.id)].new_value == "****"
    assert changes[("award.title", award.id)].new_value == "优秀共产党员"
    sec = world["sec1"]
    revealed = {(c.field, c.record_id): c for c in await history(
        s, sec, m.id, reveal=True, reveal_reason="复核")}  # fmt: skip
    assert revealed[("award.title", punish.id)].new_value == "党内警告"


async def test_travels_and_hardships(s, world):
    adm, m = world["adm_a"], await new_member(s, world)
    trip = (await call(s.archive.CreateTravel, apb.CreateTravelRequest(member_id=m.id, travel=apb.Travel(
        destination="新加坡", departed_on="2025-05-01", purpose="商务考察",
        approval="集团党委 批准")), adm)).travel  # fmt: skip
    assert trip.returned_on == ""
    back = (await call(s.archive.UpdateTravel, apb.UpdateTravelRequest(
        member_id=m.id, id=trip.id, travel=apb.Travel(returned_on="2025-05-10"),
        update_mask=["returned_on"]), adm)).travel  # fmt: skip
    assert back.returned_on == "2025-05-10" and back.destination == "新加坡"
    err = await fails(s.archive.UpdateTravel, apb.UpdateTravelRequest(
        member_id=m.id, id=trip.id, travel=apb.Travel(returned_on="2025-04-01"),
        update_mask=["returned_on"]), adm, grpc.StatusCode.INVALID_ARGUMENT)  # fmt: skip
    assert reason_code(err) == "invalid_date_range"
    await fails(s.archive.UpdateTravel, apb.UpdateTravelRequest(
        member_id=m.id, id=trip.id, travel=apb.Travel(), update_mask=["nope"]), adm,
        grpc.StatusCode.INVALID_ARGUMENT)  # fmt: skip
    await fails(s.archive.CreateTravel, apb.CreateTravelRequest(member_id=m.id, travel=apb.Travel(
        destination="日本", departed_on="2025/05/01")), adm, grpc.StatusCode.INVALID_ARGUMENT)  # fmt: skip
    travels = (
        await call(s.archive.ListTravels, apb.ListTravelsRequest(member_id=m.id), adm)
    ).travels
    assert [t.returned_on for t in travels] == ["2025-05-10"]

    hard = (await call(s.archive.CreateHardship, apb.CreateHardshipRequest(member_id=m.id, hardship=apb.Hardship(
        kind=apb.HARDSHIP_KIND_ILLNESS, description="慢性肾病，需长期透析", assistance="支部每月走访",
        since="2024-01-01")), adm)).hardship  # fmt: skip
    assert hard.redacted and hard.description == "" and hard.kind == apb.HARDSHIP_KIND_ILLNESS
    await call(s.archive.UpdateHardship, apb.UpdateHardshipRequest(
        member_id=m.id, id=hard.id, hardship=apb.Hardship(resolved_on="2025-01-01"),
        update_mask=["resolved_on"]), adm)  # fmt: skip
    full = (await call(s.archive.ListHardships, apb.ListHardshipsRequest(
        member_id=m.id, reveal=True, reveal_reason="帮扶"), adm)).hardships  # fmt: skip
    assert full[0].description == "慢性肾病，需长期透析" and full[0].resolved_on == "2025-01-01"
    await call(s.archive.DeleteHardship, apb.DeleteHardshipRequest(member_id=m.id, id=hard.id), adm)
    assert not (await call(s.archive.ListHardships, apb.ListHardshipsRequest(
        member_id=m.id), adm)).hardships  # fmt: skip


async def test_sub_records_outside_tenant_or_scope_are_not_found(s, world):
    adm = world["adm_a"]
    m1, m2 = await new_member(s, world, "br1"), await new_member(s, world, "br2")
    fam = (await call(s.archive.CreateFamilyMember, apb.CreateFamilyMemberRequest(
        member_id=m1.id, family_member=apb.FamilyMember(name="王父", relation="父亲")), adm)).family_member  # fmt: skip
    att = (await call(s.archive.CreateAttachment, apb.CreateAttachmentRequest(
        member_id=m1.id, kind=apb.ATTACHMENT_KIND_SCAN, file_name="a.pdf",
        content_type="application/pdf", size=len(PDF)), adm)).attachment  # fmt: skip
    fm = apb.FamilyMember(name="x", relation="y")
    on_m1 = [
        (s.archive.ListFamilyMembers, apb.ListFamilyMembersRequest(member_id=m1.id)),
        (s.archive.CreateFamilyMember, apb.CreateFamilyMemberRequest(member_id=m1.id, family_member=fm)),
        (s.archive.UpdateFamilyMember, apb.UpdateFamilyMemberRequest(member_id=m1.id, id=fam.id, family_member=fm, update_mask=["name"])),
        (s.archive.DeleteFamilyMember, apb.DeleteFamilyMemberRequest(member_id=m1.id, id=fam.id)),
        (s.archive.ListAwards, apb.ListAwardsRequest(member_id=m1.id)),
        (s.archive.CreateAward, apb.CreateAwardRequest(member_id=m1.id, award=apb.Award(kind=1, title="t", decided_on="2020-01-01"))),
        (s.archive.ListTravels, apb.ListTravelsRequest(member_id=m1.id)),
        (s.archive.CreateTravel, apb.CreateTravelRequest(member_id=m1.id, travel=apb.Travel(destination="d", departed_on="2020-01-01"))),
        (s.archive.ListHardships, apb.ListHardshipsRequest(member_id=m1.id)),
        (s.archive.CreateHardship, apb.CreateHardshipRequest(member_id=m1.id, hardship=apb.Hardship(kind=1, description="d", since="2020-01-01"))),
        (s.archive.GetMemberExtension, apb.GetMemberExtensionRequest(member_id=m1.id)),
        (s.archive.UpdateMemberExtension, apb.UpdateMemberExtensionRequest(member_id=m1.id, extension=apb.MemberExtension(native_place="x"))),
        (s.archive.ListMemberTags, apb.ListMemberTagsRequest(member_id=m1.id)),
        (s.archive.AddMemberTag, apb.AddMemberTagRequest(member_id=m1.id, tag="x")),
        (s.archive.ListStatusChanges, apb.ListStatusChangesRequest(member_id=m1.id)),
        (s.archive.RecordStatusChange, apb.RecordStatusChangeRequest(member_id=m1.id, status=pb.PARTY_STATUS_RETAINED, effective_on="2020-01-01", reason="r")),
        (s.archive.GetStatusAsOf, apb.GetStatusAsOfRequest(member_id=m1.id)),
        (s.archive.ListFlagChanges, apb.ListFlagChangesRequest(member_id=m1.id)),
        (s.archive.RecordFlagChange, apb.RecordFlagChangeRequest(member_id=m1.id, flag=2, active=True, effective_on="2020-01-01", destination="d")),
        (s.archive.CreateAttachment, apb.CreateAttachmentRequest(member_id=m1.id, kind=2, file_name="a.pdf", content_type="application/pdf", size=10)),
        (s.archive.CompleteAttachment, apb.CompleteAttachmentRequest(member_id=m1.id, id=att.id)),
        (s.archive.GetAttachmentDownload, apb.GetAttachmentDownloadRequest(member_id=m1.id, id=att.id)),
        (s.archive.ListAttachments, apb.ListAttachmentsRequest(member_id=m1.id)),
        (s.archive.DeleteAttachment, apb.DeleteAttachmentRequest(member_id=m1.id, id=att.id)),
        (s.archive.ListMemberHistory, apb.ListMemberHistoryRequest(member_id=m1.id)),
    ]  # fmt: skip
    for method, req in on_m1:
        for caller in (world["adm_b"], world["sec2"]):  # another tenant; another branch
            await fails(method, req, caller, grpc.StatusCode.NOT_FOUND)
    # A record id of one member under another member's id is not found either.
    await fails(s.archive.UpdateFamilyMember, apb.UpdateFamilyMemberRequest(
        member_id=m2.id, id=fam.id, family_member=fm, update_mask=["name"]), adm, grpc.StatusCode.NOT_FOUND)  # fmt: skip
    await fails(s.archive.DeleteAttachment, apb.DeleteAttachmentRequest(
        member_id=m2.id, id=att.id), adm, grpc.StatusCode.NOT_FOUND)  # fmt: skip
    # Nothing changed for m1.
    assert [f.name for f in (await call(s.archive.ListFamilyMembers, apb.ListFamilyMembersRequest(
        member_id=m1.id), world["sec1"])).family_members] == ["王父"]  # fmt: skip
    assert not (
        await call(s.archive.ListMemberTags, apb.ListMemberTagsRequest(member_id=m1.id), adm)
    ).tags


async def test_archive_tables_are_row_level_secured(module_database):
    forced = module_database.pg.psql(
        "SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'member' "
        "AND c.relname LIKE 'member\\_%' AND c.relforcerowsecurity AND c.relkind = 'r'",
        module_database.name,
    ).strip().split(",")  # fmt: skip
    assert {"member_profiles_ext", "member_family_members", "member_awards", "member_travels",
            "member_hardships", "member_tags", "member_status_changes", "member_flag_changes",
            "member_attachments", "member_field_changes"} <= set(forced)  # fmt: skip


# ---- extended fields, tags ----


async def test_extension_get_put_version_and_photo(s, world, fs_store):
    adm, m = world["adm_a"], await new_member(s, world)
    empty = (await call(s.archive.GetMemberExtension, apb.GetMemberExtensionRequest(
        member_id=m.id), adm)).extension  # fmt: skip
    assert empty.version == 0 and empty.native_place == ""
    ext = apb.MemberExtension(native_place="广东梅州", degree="硕士", school="中山大学", major="法学",
                              work_unit="市人民医院", position="科长", professional_title="主治医师",
                              party_post="支部委员")  # fmt: skip
    saved = (await call(s.archive.UpdateMemberExtension, apb.UpdateMemberExtensionRequest(
        member_id=m.id, extension=ext), adm)).extension  # fmt: skip
    assert saved.version == 1 and saved.school == "中山大学" and saved.updated_by == adm.user_id
    err = await fails(s.archive.UpdateMemberExtension, apb.UpdateMemberExtensionRequest(
        member_id=m.id, extension=ext, expected_version=7), adm, grpc.StatusCode.ABORTED)  # fmt: skip
    assert reason_code(err) == "version_conflict"

    # A photo must be an available photo attachment of this member.
    pending = (await call(s.archive.CreateAttachment, apb.CreateAttachmentRequest(
        member_id=m.id, kind=apb.ATTACHMENT_KIND_PHOTO, file_name="p.png",
        content_type="image/png", size=len(PNG)), adm))  # fmt: skip
    with_photo = apb.MemberExtension(native_place="广东梅州",
                                     photo_attachment_id=pending.attachment.id)  # fmt: skip
    await fails(s.archive.UpdateMemberExtension, apb.UpdateMemberExtensionRequest(
        member_id=m.id, extension=with_photo), adm, grpc.StatusCode.INVALID_ARGUMENT)  # fmt: skip
    async with files_client(fs_store) as files:
        r = await files.put(pending.upload_url, content=PNG, headers=dict(pending.upload_headers))
        assert r.status_code == 200, r.text
    await call(s.archive.CompleteAttachment, apb.CompleteAttachmentRequest(
        member_id=m.id, id=pending.attachment.id), adm)  # fmt: skip
    saved = (await call(s.archive.UpdateMemberExtension, apb.UpdateMemberExtensionRequest(
        member_id=m.id, extension=with_photo, expected_version=1), adm)).extension  # fmt: skip
    assert saved.version == 2 and saved.photo_attachment_id == pending.attachment.id
    assert saved.school == ""  # PUT semantics: what is not sent is cleared

    # Deleting the photo attachment clears the reference.
    await call(s.archive.DeleteAttachment, apb.DeleteAttachmentRequest(
        member_id=m.id, id=pending.attachment.id), adm)  # fmt: skip
    after = (await call(s.archive.GetMemberExtension, apb.GetMemberExtensionRequest(
        member_id=m.id), adm)).extension  # fmt: skip
    assert after.photo_attachment_id == "" and after.version == 3
    fields = {c.field for c in await history(s, adm, m.id) if c.source == "extension"}
    assert {"native_place", "school", "photo_attachment_id"} <= fields


async def test_tags(s, world):
    adm = world["adm_a"]
    m1, m2, m3 = (await new_member(s, world, "br1"), await new_member(s, world, "br1"),
                  await new_member(s, world, "br2"))  # fmt: skip
    add = s.archive.AddMemberTag
    assert list(
        (await call(add, apb.AddMemberTagRequest(member_id=m1.id, tag=" 退役军人 "), adm)).tags
    ) == ["退役军人"]
    assert list(
        (await call(add, apb.AddMemberTagRequest(member_id=m1.id, tag="退役军人"), adm)).tags
    ) == ["退役军人"]
    await call(add, apb.AddMemberTagRequest(member_id=m1.id, tag="ＶＩＰ"), adm)
    await call(add, apb.AddMemberTagRequest(member_id=m2.id, tag="退役军人"), adm)
    await call(add, apb.AddMemberTagRequest(member_id=m3.id, tag="退役军人"), adm)
    assert list((await call(s.archive.ListMemberTags, apb.ListMemberTagsRequest(member_id=m1.id), adm)).tags) == ["VIP", "退役军人"]  # fmt: skip
    await fails(
        add,
        apb.AddMemberTagRequest(member_id=m1.id, tag="a,b"),
        adm,
        grpc.StatusCode.INVALID_ARGUMENT,
    )

    counts = {t.tag: t.member_count for t in (await call(s.archive.ListTenantTags, apb.ListTenantTagsRequest(), adm)).tags}  # fmt: skip
    assert counts["退役军人"] >= 3 and counts["VIP"] >= 1
    in_branch = {t.tag: t.member_count for t in (await call(
        s.archive.ListTenantTags, apb.ListTenantTagsRequest(prefix="退"), world["sec2"])).tags}  # fmt: skip
    assert in_branch == {"退役军人": 1}  # only m3 is in the second branch
    assert not (
        await call(s.archive.ListTenantTags, apb.ListTenantTagsRequest(), world["adm_b"])
    ).tags

    left = (
        await call(
            s.archive.RemoveMemberTag, apb.RemoveMemberTagRequest(member_id=m1.id, tag="VIP"), adm
        )
    ).tags
    assert list(left) == ["退役军人"]
    await fails(s.archive.RemoveMemberTag, apb.RemoveMemberTagRequest(member_id=m1.id, tag="VIP"), adm,
                grpc.StatusCode.NOT_FOUND)  # fmt: skip
    assert [(c.old_value, c.new_value) for c in await history(s, adm, m1.id) if c.field == "tag"] == [
        ("VIP", ""), ("", "VIP"), ("", "退役军人")]  # fmt: skip


# ---- 党籍 status and flags ----


async def test_status_history_drives_the_current_status(s, world, archive_app):
    from hongyun.member.v1 import member_archive_pb2
    from member_service.models import messaging

    adm, m = world["adm_a"], await new_member(s, world)
    as_of = s.archive.GetStatusAsOf
    now = await call(as_of, apb.GetStatusAsOfRequest(member_id=m.id), adm)
    assert now.status == pb.PARTY_STATUS_NORMAL and now.effective_on == "2005-07-01"
    before = await call(as_of, apb.GetStatusAsOfRequest(member_id=m.id, as_of="2000-01-01"), adm)
    assert before.status == pb.PARTY_STATUS_UNSPECIFIED

    rec = s.archive.RecordStatusChange
    r1 = await call(rec, apb.RecordStatusChangeRequest(
        member_id=m.id, status=pb.PARTY_STATUS_RETAINED, effective_on="2020-03-01",
        reason="出国定居，保留党籍", document="组〔2020〕5号"), adm)  # fmt: skip
    assert r1.current_status == pb.PARTY_STATUS_RETAINED
    got = (await call(s.member.GetMember, pb.GetMemberRequest(id=m.id), adm)).member
    assert got.profile.party_status == pb.PARTY_STATUS_RETAINED and got.version == m.version + 1

    await call(rec, apb.RecordStatusChangeRequest(
        member_id=m.id, status=pb.PARTY_STATUS_RESTORED, effective_on="2022-01-01",
        reason="回国，恢复党籍"), adm)  # fmt: skip
    # Back-dated into the middle: the current status stays, the past changes.
    mid = await call(rec, apb.RecordStatusChangeRequest(
        member_id=m.id, status=pb.PARTY_STATUS_SUSPENDED, effective_on="2021-01-01",
        reason="补录"), adm)  # fmt: skip
    assert mid.current_status == pb.PARTY_STATUS_RESTORED

    def on(day):
        return call(as_of, apb.GetStatusAsOfRequest(member_id=m.id, as_of=day), adm)

    assert (await on("2019-12-31")).status == pb.PARTY_STATUS_NORMAL
    assert (await on("2020-06-01")).status == pb.PARTY_STATUS_RETAINED
    got = await on("2021-06-01")
    assert got.status == pb.PARTY_STATUS_SUSPENDED and got.change_id == mid.change.id
    assert (await on("2023-01-01")).status == pb.PARTY_STATUS_RESTORED

    listed = await call(
        s.archive.ListStatusChanges, apb.ListStatusChangesRequest(member_id=m.id), adm
    )
    assert [c.effective_on for c in listed.changes] == ["2022-01-01", "2021-01-01", "2020-03-01",
                                                       "2005-07-01"]  # fmt: skip
    assert listed.current_status == pb.PARTY_STATUS_RESTORED
    assert listed.changes[-1].status == pb.PARTY_STATUS_NORMAL  # the baseline

    # Refused: not allowed after restored; future; before the history starts; no reason.
    for req, code, reason in [
        (apb.RecordStatusChangeRequest(member_id=m.id, status=pb.PARTY_STATUS_RESTORED, effective_on="2023-01-01", reason="x"),
         grpc.StatusCode.FAILED_PRECONDITION, "invalid_status_transition"),
        (apb.RecordStatusChangeRequest(member_id=m.id, status=pb.PARTY_STATUS_RETAINED, effective_on=(date.today() + timedelta(days=2)).isoformat(), reason="x"),
         grpc.StatusCode.INVALID_ARGUMENT, "future_date"),
        (apb.RecordStatusChangeRequest(member_id=m.id, status=pb.PARTY_STATUS_RETAINED, effective_on="2001-01-01", reason="x"),
         grpc.StatusCode.INVALID_ARGUMENT, "before_history"),
        (apb.RecordStatusChangeRequest(member_id=m.id, status=pb.PARTY_STATUS_RETAINED, effective_on="2023-01-01"),
         grpc.StatusCode.INVALID_ARGUMENT, "required"),
    ]:  # fmt: skip
        assert reason_code(await fails(rec, req, adm, code)) == reason
    assert len((await call(s.archive.ListStatusChanges, apb.ListStatusChangesRequest(
        member_id=m.id), adm)).changes) == 4  # fmt: skip

    # Events: one per change of the current status (not for the back-dated one), no reasons.
    o = messaging.outbox
    async with archive_app.db.unit_of_work(None) as uow:
        rows = (await uow.session.execute(select(o).where(
            o.c.event_type == "hongyun.member.v1.MemberStatusChanged").order_by(o.c.id))).all()  # fmt: skip
    mine = [(r, member_archive_pb2.MemberStatusChanged.FromString(r.payload)) for r in rows]
    mine = [(r, e) for r, e in mine if e.member_id == m.id]
    assert [(e.previous_status, e.status) for _, e in mine] == [
        (pb.PARTY_STATUS_NORMAL, pb.PARTY_STATUS_RETAINED),
        (pb.PARTY_STATUS_RETAINED, pb.PARTY_STATUS_RESTORED)]  # fmt: skip
    for r, e in mine:
        assert r.subject == f"member.{world['a'].id}.member.status_changed"
        assert "保留党籍".encode() not in r.payload and e.organization_id == world["br1"].id

    # The field history shows the member's status changing.
    statuses = [(c.old_value, c.new_value) for c in await history(s, adm, m.id)
                if c.field == "party_status"]  # fmt: skip
    assert statuses == [("retained", "restored"), ("normal", "retained")]


async def test_flags_lost_contact_rule_and_floating(s, world, archive_app, module_database):
    from hongyun.member.v1 import member_archive_pb2
    from member_service.models import messaging

    adm, m = world["adm_a"], await new_member(s, world)
    today = date.today()
    rec = s.archive.RecordFlagChange
    recent = add_months(today, -3).isoformat()
    err = await fails(rec, apb.RecordFlagChangeRequest(
        member_id=m.id, flag=apb.MEMBER_FLAG_LOST_CONTACT, active=True, effective_on=recent,
        reason="电话停机"), adm, grpc.StatusCode.FAILED_PRECONDITION)  # fmt: skip
    assert reason_code(err) == "lost_contact_too_recent" and "6" in err.details()

    since = add_months(today, -7).isoformat()
    got = await call(rec, apb.RecordFlagChangeRequest(
        member_id=m.id, flag=apb.MEMBER_FLAG_LOST_CONTACT, active=True, effective_on=since,
        reason="多次联系未果"), adm)  # fmt: skip
    assert got.flags.lost_contact and got.flags.lost_contact_since == since
    member = (await call(s.member.GetMember, pb.GetMemberRequest(id=m.id), adm)).member
    assert member.profile.lost_contact and member.profile.lost_contact_since == since

    await fails(rec, apb.RecordFlagChangeRequest(member_id=m.id, flag=apb.MEMBER_FLAG_FLOATING,
        active=True, effective_on=today.isoformat()), adm, grpc.StatusCode.INVALID_ARGUMENT)  # fmt: skip
    fl = await call(rec, apb.RecordFlagChangeRequest(member_id=m.id, flag=apb.MEMBER_FLAG_FLOATING,
        active=True, effective_on=today.isoformat(), destination="广东省深圳市南山区"), adm)  # fmt: skip
    assert fl.flags.floating and fl.flags.floating_since == today.isoformat()
    cleared = await call(rec, apb.RecordFlagChangeRequest(member_id=m.id,
        flag=apb.MEMBER_FLAG_LOST_CONTACT, active=False, effective_on=today.isoformat(),
        reason="已取得联系"), adm)  # fmt: skip
    assert not cleared.flags.lost_contact and cleared.flags.floating

    listed = await call(s.archive.ListFlagChanges, apb.ListFlagChangesRequest(member_id=m.id), adm)
    assert [(c.flag, c.active) for c in listed.changes] == [
        (apb.MEMBER_FLAG_LOST_CONTACT, False), (apb.MEMBER_FLAG_FLOATING, True),
        (apb.MEMBER_FLAG_LOST_CONTACT, True)]  # fmt: skip
    only = await call(s.archive.ListFlagChanges, apb.ListFlagChangesRequest(
        member_id=m.id, flag=apb.MEMBER_FLAG_FLOATING), adm)  # fmt: skip
    assert [c.destination for c in only.changes] == ["广东省深圳市南山区"]

    o = messaging.outbox
    async with archive_app.db.unit_of_work(None) as uow:
        rows = (await uow.session.execute(select(o).where(
            o.c.event_type == "hongyun.member.v1.MemberFlagged").order_by(o.c.id))).all()  # fmt: skip
    mine = [(r, member_archive_pb2.MemberFlagged.FromString(r.payload)) for r in rows]
    mine = [(r, e) for r, e in mine if e.member_id == m.id]
    assert [(e.flag, e.active) for _, e in mine] == [(1, True), (2, True), (1, False)]
    assert all("深圳".encode() not in r.payload for r, _ in mine)

    # The threshold is data: a tenant override of 2 months lets a 3-month absence be recorded.
    m2 = await new_member(s, world)
    module_database.pg.psql(
        "INSERT INTO member.rules (id, key, tenant_id, value, citation, effective_from) VALUES "
        f"('{uuid.uuid4()}', 'member.lost_contact.min_months', '{world['a'].id}', '2', "
        "'本省规定（测试）', '2020-01-01')",
        module_database.name,
    )
    ok = await call(rec, apb.RecordFlagChangeRequest(member_id=m2.id,
        flag=apb.MEMBER_FLAG_LOST_CONTACT, active=True, effective_on=recent), adm)  # fmt: skip
    assert ok.flags.lost_contact_since == recent


async def test_profile_status_changes_follow_the_transition_table(s, world):
    adm, m = world["adm_a"], await new_member(s, world)
    ended = (await call(s.member.UpdateMember, pb.UpdateMemberRequest(
        id=m.id, profile=pb.MemberProfile(party_status=pb.PARTY_STATUS_DECEASED),
        update_mask=["party_status"]), adm)).member  # fmt: skip
    assert ended.profile.party_status == pb.PARTY_STATUS_DECEASED
    err = await fails(s.member.UpdateMember, pb.UpdateMemberRequest(
        id=m.id, profile=pb.MemberProfile(party_status=pb.PARTY_STATUS_RETAINED, job_post="改"),
        update_mask=["party_status", "job_post"]), adm,
        grpc.StatusCode.FAILED_PRECONDITION)  # fmt: skip
    assert dict(err.trailing_metadata())["x-hongyun-error-code"] == "invalid_status_transition"
    # Nothing of the refused update was written: status, other fields, version, history.
    now = (await call(s.member.GetMember, pb.GetMemberRequest(id=m.id), adm)).member
    assert (now.profile.party_status, now.profile.job_post, now.version) == (
        pb.PARTY_STATUS_DECEASED, ended.profile.job_post, ended.version)  # fmt: skip
    assert [c.new_value for c in await history(s, adm, m.id) if c.field == "party_status"] == [
        "deceased"
    ]


async def test_profile_updates_write_masked_field_history_and_status_rows(
    s, world, archive_app, module_database
):
    adm, m = world["adm_a"], await new_member(s, world)
    await call(s.member.UpdateMember, pb.UpdateMemberRequest(
        id=m.id, profile=pb.MemberProfile(job_post="教师", mobile_phone="13900001111",
        party_status=pb.PARTY_STATUS_RETAINED, floating=True, floating_destination="上海"),
        update_mask=["job_post", "mobile_phone", "party_status", "floating",
                     "floating_destination"], organization_id=world["br2"].id), adm)  # fmt: skip
    await call(s.member.UpdateMember, pb.UpdateMemberRequest(
        id=m.id, organization_id=world["br2"].id, update_mask=["organization_id"]), adm)  # fmt: skip

    changes = await history(s, adm, m.id)
    by = {c.field: c for c in changes}
    assert set(by) == {"job_post", "mobile_phone", "party_status", "floating",
                       "floating_destination", "organization_id"}  # fmt: skip
    assert (by["job_post"].old_value, by["job_post"].new_value) == ("", "教师")
    phone = by["mobile_phone"]
    assert phone.personal and not phone.revealed
    assert (phone.old_value, phone.new_value) == ("138****5678", "139****1111")
    assert (by["party_status"].old_value, by["party_status"].new_value) == ("normal", "retained")
    assert by["organization_id"].old_value == world["br1"].id
    assert by["organization_id"].new_value == world["br2"].id
    assert all(c.changed_by == adm.user_id and c.source == "member" for c in changes)

    full = {c.field: c for c in await history(s, adm, m.id, reveal=True, reveal_reason="核对")}
    assert (full["mobile_phone"].old_value, full["mobile_phone"].new_value) == (
        "13812345678", "13900001111")  # fmt: skip
    reveal = [e for e in await audit_rows(archive_app, world["a"].id, m.id) if e.action == "reveal"]
    assert reveal[-1].fields == ["history:mobile_phone"] and reveal[-1].reason == "核对"
    await fails(s.archive.ListMemberHistory, apb.ListMemberHistoryRequest(member_id=m.id,
        reveal=True), platform_admin_in(world["a"].id), grpc.StatusCode.PERMISSION_DENIED)  # fmt: skip
    # The secretary of the member's old branch no longer sees it; the new branch's does.
    await fails(s.archive.ListMemberHistory, apb.ListMemberHistoryRequest(member_id=m.id),
                world["sec1"], grpc.StatusCode.NOT_FOUND)  # fmt: skip
    assert await history(s, world["sec2"], m.id)

    raw = module_database.pg.psql(
        "SELECT old_value || new_value || coalesce(encode(old_enc, 'escape'), '') || "
        "coalesce(encode(new_enc, 'escape'), '') FROM member.member_field_changes "
        f"WHERE member_id = '{m.id}' AND field = 'mobile_phone'", module_database.name)  # fmt: skip
    assert raw.strip() and "13900001111" not in raw and "13812345678" not in raw

    # The status and flag changed through the profile are in their histories too.
    st = await call(s.archive.ListStatusChanges, apb.ListStatusChangesRequest(member_id=m.id), adm)
    assert [c.status for c in st.changes] == [pb.PARTY_STATUS_RETAINED, pb.PARTY_STATUS_NORMAL]
    assert st.current_status == pb.PARTY_STATUS_RETAINED
    fl = await call(s.archive.ListFlagChanges, apb.ListFlagChangesRequest(member_id=m.id), adm)
    assert [(c.flag, c.active, c.destination) for c in fl.changes] == [
        (apb.MEMBER_FLAG_FLOATING, True, "上海")]  # fmt: skip


async def test_history_pages_newest_first(s, world):
    adm, m = world["adm_a"], await new_member(s, world)
    for i in range(5):
        await call(s.member.UpdateMember, pb.UpdateMemberRequest(
            id=m.id, profile=pb.MemberProfile(job_post=f"岗位{i}"), update_mask=["job_post"]), adm)  # fmt: skip
    seen, token = [], ""
    while True:
        page = await call(s.archive.ListMemberHistory, apb.ListMemberHistoryRequest(
            member_id=m.id, page_size=2, page_token=token), adm)  # fmt: skip
        seen += [c.new_value for c in page.changes]
        token = page.next_page_token
        if not token:
            break
    assert seen == ["岗位4", "岗位3", "岗位2", "岗位1", "岗位0"]


# ---- attachments ----


async def upload_ticket(s, caller, member_id, data: bytes, **kw) -> apb.CreateAttachmentResponse:
    values = dict(member_id=member_id, kind=apb.ATTACHMENT_KIND_SCAN, file_name="入党志愿书.pdf",
                  content_type="application/pdf", size=len(data))  # fmt: skip
    values.update(kw)
    return await call(s.archive.CreateAttachment, apb.CreateAttachmentRequest(**values), caller)


async def test_attachment_upload_complete_download_on_the_filesystem(
    s, world, archive_app, fs_store
):
    adm, m = world["adm_a"], await new_member(s, world)
    ticket = await upload_ticket(s, adm, m.id, PDF, sha256=hashlib.sha256(PDF).hexdigest())
    att = ticket.attachment
    assert att.status == apb.ATTACHMENT_STATUS_PENDING
    assert ticket.upload_url.startswith(f"{FILES_URL}/{world['a'].id}/{m.id}/{att.id}?")
    assert dict(ticket.upload_headers) == {"Content-Type": "application/pdf"}

    err = await fails(s.archive.CompleteAttachment, apb.CompleteAttachmentRequest(
        member_id=m.id, id=att.id), adm, grpc.StatusCode.FAILED_PRECONDITION)  # fmt: skip
    assert reason_code(err) == "not_uploaded"
    async with files_client(fs_store) as files:
        r = await files.put(ticket.upload_url, content=PDF, headers=dict(ticket.upload_headers))
        assert r.status_code == 200, r.text
        done = (await call(s.archive.CompleteAttachment, apb.CompleteAttachmentRequest(
            member_id=m.id, id=att.id), adm)).attachment  # fmt: skip
        assert done.status == apb.ATTACHMENT_STATUS_AVAILABLE
        assert done.sha256 == hashlib.sha256(PDF).hexdigest()
        again = (await call(s.archive.CompleteAttachment, apb.CompleteAttachmentRequest(
            member_id=m.id, id=att.id), adm)).attachment  # fmt: skip
        assert again.status == apb.ATTACHMENT_STATUS_AVAILABLE  # idempotent

        dl = await call(s.archive.GetAttachmentDownload, apb.GetAttachmentDownloadRequest(
            member_id=m.id, id=att.id, reason="审核入党材料"), world["sec1"])  # fmt: skip
        got = await files.get(dl.url)
        assert got.status_code == 200 and got.content == PDF
        assert got.headers["content-type"] == "application/pdf"

        # Expired (seen from a clock an hour ahead), tampered, or used for PUT: refused.
        async with files_client(fs_store, clock=lambda: time.time() + 3600) as later:
            assert (await later.get(dl.url)).status_code == 403
        assert (await files.get(dl.url.replace("sig=", "sig=0"))).status_code == 403
        assert (await files.put(dl.url, content=b"%PDF-evil")).status_code == 403
    assert await fs_store.get_object(f"{world['a'].id}/{m.id}/{att.id}") == PDF

    downloads = [e for e in await audit_rows(archive_app, world["a"].id, m.id)
                 if e.action == "download"]  # fmt: skip
    assert len(downloads) == 1 and downloads[0].fields == [f"attachment:{att.id}"]
    assert downloads[0].reason == "审核入党材料"
    await fails(s.archive.GetAttachmentDownload, apb.GetAttachmentDownloadRequest(
        member_id=m.id, id=att.id), platform_admin_in(world["a"].id), grpc.StatusCode.PERMISSION_DENIED)  # fmt: skip

    listed = (
        await call(s.archive.ListAttachments, apb.ListAttachmentsRequest(member_id=m.id), adm)
    ).attachments
    assert [(a.id, a.file_name) for a in listed] == [(att.id, "入党志愿书.pdf")]
    assert any(c.source == "attachment" and c.new_value == "scan: 入党志愿书.pdf"
               for c in await history(s, adm, m.id))  # fmt: skip

    await call(
        s.archive.DeleteAttachment, apb.DeleteAttachmentRequest(member_id=m.id, id=att.id), adm
    )
    assert not await fs_store.exists(f"{world['a'].id}/{m.id}/{att.id}")
    assert not (
        await call(s.archive.ListAttachments, apb.ListAttachmentsRequest(member_id=m.id), adm)
    ).attachments


async def test_oversize_and_wrong_type_are_refused_at_completion_and_deleted(s, world, fs_store):
    adm, m = world["adm_a"], await new_member(s, world)
    cases = [
        (b"%PDF-1.7\n" + b"0" * MAX_BYTES, {"size": 100}, "too_large"),  # lied about the size
        (PDF, {"content_type": "image/png", "file_name": "a.png"}, "content_type_mismatch"),
        (b"<html><script>alert(1)</script>", {}, "unsupported_type"),
        (PDF, {"sha256": "ab" * 32}, "sha256_mismatch"),
    ]
    async with files_client(fs_store) as files:
        for data, kw, code in cases:
            ticket = await upload_ticket(s, adm, m.id, data, **kw)
            r = await files.put(
                ticket.upload_url, content=data, headers=dict(ticket.upload_headers)
            )
            assert r.status_code == 200, r.text
            key = f"{world['a'].id}/{m.id}/{ticket.attachment.id}"
            assert await fs_store.exists(key)
            complete = apb.CompleteAttachmentRequest(member_id=m.id, id=ticket.attachment.id)
            expected = (grpc.StatusCode.FAILED_PRECONDITION if code == "sha256_mismatch"
                        else grpc.StatusCode.INVALID_ARGUMENT)  # fmt: skip
            assert (
                reason_code(await fails(s.archive.CompleteAttachment, complete, adm, expected))
                == code
            )
            assert not await fs_store.exists(key)
            err = await fails(
                s.archive.CompleteAttachment, complete, adm, grpc.StatusCode.FAILED_PRECONDITION
            )
            assert reason_code(err) == "attachment_rejected"
            await fails(s.archive.GetAttachmentDownload, apb.GetAttachmentDownloadRequest(
                member_id=m.id, id=ticket.attachment.id), adm, grpc.StatusCode.FAILED_PRECONDITION)  # fmt: skip
    listed = (
        await call(s.archive.ListAttachments, apb.ListAttachmentsRequest(member_id=m.id), adm)
    ).attachments
    assert {a.reject_reason for a in listed} == {c for *_, c in cases}
    assert {a.status for a in listed} == {apb.ATTACHMENT_STATUS_REJECTED}

    # Refused before any URL is handed out: nothing is written.
    for kw, field in [({"content_type": "image/gif"}, "content_type"), ({"size": MAX_BYTES + 1}, "size"),
                      ({"kind": apb.ATTACHMENT_KIND_PHOTO}, "content_type")]:  # fmt: skip
        err = await fails(s.archive.CreateAttachment, apb.CreateAttachmentRequest(**{
            **dict(member_id=m.id, kind=apb.ATTACHMENT_KIND_SCAN, file_name="x.pdf",
                   content_type="application/pdf", size=10), **kw}), adm, grpc.StatusCode.INVALID_ARGUMENT)  # fmt: skip
        assert dict(err.trailing_metadata())["x-hongyun-error-field"] == field
    assert len((await call(s.archive.ListAttachments, apb.ListAttachmentsRequest(
        member_id=m.id), adm)).attachments) == len(cases)  # fmt: skip


@pytest.fixture(scope="module")
async def s3_archive(member_settings_fx, s3_server):
    store = S3ObjectStore(s3_server.endpoint, s3_server.access_key, s3_server.secret_key,
                          f"archive-{uuid.uuid4().hex[:12]}", secure=False, region=s3_server.region)  # fmt: skip
    store.client.make_bucket(store.bucket)
    app = await _started(member_settings_fx, store)
    channel, stubs = await _stubs(app)
    yield stubs, store
    await channel.close()
    await app.stop()


async def test_attachment_round_trip_on_s3(s3_archive, world):
    s3, store = s3_archive
    adm = world["adm_a"]
    m = (await call(s3.member.CreateMember, pb.CreateMemberRequest(
        organization_id=world["br1"].id, profile=profile(next(_seq))), adm)).member  # fmt: skip
    ticket = await upload_ticket(s3, adm, m.id, PNG, kind=apb.ATTACHMENT_KIND_PHOTO,
                                 file_name="证件照.png", content_type="image/png",
                                 sha256=hashlib.sha256(PNG).hexdigest())  # fmt: skip
    async with httpx.AsyncClient() as http:
        r = await http.put(ticket.upload_url, content=PNG, headers=dict(ticket.upload_headers))
        assert r.status_code == 200, r.text
        done = (await call(s3.archive.CompleteAttachment, apb.CompleteAttachmentRequest(
            member_id=m.id, id=ticket.attachment.id), adm)).attachment  # fmt: skip
        assert done.status == apb.ATTACHMENT_STATUS_AVAILABLE
        assert done.sha256 == hashlib.sha256(PNG).hexdigest()  # computed: S3 stored none
        dl = await call(s3.archive.GetAttachmentDownload, apb.GetAttachmentDownloadRequest(
            member_id=m.id, id=done.id), adm)  # fmt: skip
        got = await http.get(dl.url)
        assert got.status_code == 200 and got.content == PNG

        bad = await upload_ticket(s3, adm, m.id, PDF, content_type="image/png", file_name="b.png")
        r = await http.put(bad.upload_url, content=PDF, headers=dict(bad.upload_headers))
        assert r.status_code == 200
    err = await fails(s3.archive.CompleteAttachment, apb.CompleteAttachmentRequest(
        member_id=m.id, id=bad.attachment.id), adm, grpc.StatusCode.INVALID_ARGUMENT)  # fmt: skip
    assert reason_code(err) == "content_type_mismatch"
    keys = {o.key for o in await store.list(f"{world['a'].id}/{m.id}/")}
    assert keys == {f"{world['a'].id}/{m.id}/{done.id}"}  # the refused object is gone
