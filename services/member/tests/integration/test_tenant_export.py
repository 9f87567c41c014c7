"""Tenant data export over gRPC (docs/adr/0012) against a real PostgreSQL and nats-server, with
the filesystem store behind its signed-URL app and moto's S3 API: the zip's contents, masked and
revealed values, watermark, audit, progress, and who is refused."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import io
import json
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import grpc
import httpx
import pytest
import python_calamine
from hongyun.member.v1 import member_archive_pb2 as apb
from hongyun.member.v1 import (
    member_archive_pb2_grpc,
    member_pb2_grpc,
    organization_admin_pb2_grpc,
    tenant_admin_pb2_grpc,
)
from hongyun.member.v1 import member_pb2 as pb
from hongyun.member.v1 import organization_admin_pb2 as opb
from hongyun.member.v1 import tenant_admin_pb2 as tpb
from hongyun_platform.storage import FilesystemObjectStore, S3ObjectStore, make_fs_download_app
from hongyun_platform.testing.s3 import TEST_SIGNING_KEY
from member_service.models import AuditEntry, Member
from member_service.org_models import CommitteeTerm, OrganizationHistory
from member_service.tenant_export_models import TenantExport
from member_service.transfer_models import MemberExport
from sqlalchemy import func, select, update

from ..conftest import PLATFORM_ADMIN, secretary, tenant_admin
from .test_member_api import call, id_number, profile

pytestmark = pytest.mark.integration
FILES_URL = "http://files.test/files"
S = tpb.TenantExportStatus
LABEL = "c1-admin 张三"


def files_client(store: FilesystemObjectStore) -> httpx.AsyncClient:
    """What the gateway mounts at /files, over the same directory."""
    view = FilesystemObjectStore(store.root, base_url=FILES_URL, signing_key=TEST_SIGNING_KEY)
    app = make_fs_download_app(view, max_upload_bytes=1024 * 1024)
    transport = httpx.ASGITransport(app=app, root_path="/files")
    return httpx.AsyncClient(transport=transport, base_url="http://files.test")


async def _started(settings, store):
    from member_service.app import build_app

    app = await build_app(settings, object_store=store)
    await app.start()
    # Tiny batches and workbook parts, so a handful of members crosses every boundary.
    app.tenant_exports.limits = dataclasses.replace(
        app.tenant_exports.limits, batch_rows=2, xlsx_rows_per_file=3, progress_every=0
    )
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{app.port}")
    stubs = SimpleNamespace(
        member=member_pb2_grpc.MemberServiceStub(channel),
        archive=member_archive_pb2_grpc.MemberArchiveServiceStub(channel),
        org=organization_admin_pb2_grpc.OrganizationAdminServiceStub(channel),
        admin=tenant_admin_pb2_grpc.TenantAdminServiceStub(channel),
    )
    return app, channel, stubs


@pytest.fixture(scope="module")
def fs_store(tmp_path_factory) -> FilesystemObjectStore:
    root = tmp_path_factory.mktemp("export-objects")
    return FilesystemObjectStore(root, base_url=FILES_URL, signing_key=TEST_SIGNING_KEY)


@pytest.fixture(scope="module")
async def svc(member_settings_fx, fs_store):
    app, channel, stubs = await _started(member_settings_fx, fs_store)
    stubs.app = app
    yield stubs
    await channel.close()
    await app.stop()


async def provision(s, caller, name, code, parent=""):
    return await call(s.admin.ProvisionTenant, tpb.ProvisionTenantRequest(
        name=name, code=code, parent_id=parent, root_organization_name=f"{name}委",
        root_organization_type=pb.ORGANIZATION_TYPE_COMMITTEE), caller)  # fmt: skip


@pytest.fixture(scope="module")
async def world(svc):
    """A province with two cities; the first city has a county, a branch, and four members with
    a full archive; every other tenant has one member."""
    s, code = svc, uuid.uuid4().hex[:6]
    p = await provision(s, PLATFORM_ADMIN, "导出省", f"xp-{code}")
    padm = tenant_admin(p.tenant.id)
    c1 = await provision(s, padm, "导出一市", f"xc1-{code}", p.tenant.id)
    c2 = await provision(s, padm, "导出二市", f"xc2-{code}", p.tenant.id)
    c1adm, c2adm = tenant_admin(c1.tenant.id), tenant_admin(c2.tenant.id)
    g = await provision(s, c1adm, "导出县", f"xg-{code}", c1.tenant.id)
    branch = (await call(s.member.CreateOrganization, pb.CreateOrganizationRequest(
        parent_id=c1.root_organization.id, name="第一支部", type=pb.ORGANIZATION_TYPE_BRANCH),
        c1adm)).organization  # fmt: skip
    await call(s.org.RenameOrganization, opb.RenameOrganizationRequest(
        id=branch.id, name="第一党支部"), c1adm)  # fmt: skip
    await call(s.org.RecordCommitteeTerm, opb.RecordCommitteeTermRequest(
        organization_id=branch.id, unit_kind=opb.COMMITTEE_UNIT_KIND_OTHER,
        started_on="2024-03-01", committee_members=3), c1adm)  # fmt: skip
    members = []
    for seq in (301, 302, 303, 304):
        org = branch.id if seq % 2 else c1.root_organization.id
        members.append((await call(s.member.CreateMember, pb.CreateMemberRequest(
            organization_id=org, profile=profile(seq)), c1adm)).member)  # fmt: skip
    m = members[0]
    await call(s.archive.UpdateMemberExtension, apb.UpdateMemberExtensionRequest(
        member_id=m.id, extension=apb.MemberExtension(native_place="江苏南京", degree="学士")),
        c1adm)  # fmt: skip
    await call(s.archive.CreateFamilyMember, apb.CreateFamilyMemberRequest(
        member_id=m.id, family_member=apb.FamilyMember(name="李四", relation="配偶",
                                                      phone="13900001111")), c1adm)  # fmt: skip
    await call(s.archive.CreateAward, apb.CreateAwardRequest(member_id=m.id, award=apb.Award(
        kind=apb.AWARD_KIND_PUNISHMENT, title="党内警告", decided_on="2020-05-01",
        issuing_body="某纪委")), c1adm)  # fmt: skip
    await call(s.archive.CreateTravel, apb.CreateTravelRequest(member_id=m.id, travel=apb.Travel(
        destination="新加坡", departed_on="2019-01-01", returned_on="2019-01-10")), c1adm)  # fmt: skip
    await call(s.archive.CreateHardship, apb.CreateHardshipRequest(
        member_id=m.id, hardship=apb.Hardship(kind=apb.HARDSHIP_KIND_ILLNESS,
                                              description="长期慢性病", since="2021-01-01")),
        c1adm)  # fmt: skip
    await call(s.archive.AddMemberTag, apb.AddMemberTagRequest(member_id=m.id, tag="老党员"), c1adm)
    await call(s.archive.RecordStatusChange, apb.RecordStatusChangeRequest(
        member_id=m.id, status=pb.PARTY_STATUS_RETAINED, effective_on="2022-01-01",
        reason="出国定居"), c1adm)  # fmt: skip
    await call(s.archive.RecordFlagChange, apb.RecordFlagChangeRequest(
        member_id=m.id, flag=apb.MEMBER_FLAG_FLOATING, active=True, effective_on="2023-01-01",
        destination="上海市浦东新区", reason="外出务工"), c1adm)  # fmt: skip
    await call(s.archive.CreateAttachment, apb.CreateAttachmentRequest(
        member_id=m.id, kind=apb.ATTACHMENT_KIND_SCAN, file_name="入党志愿书.pdf",
        content_type="application/pdf", size=1234), c1adm)  # fmt: skip
    others = {}
    for seq, (t, who) in zip((305, 306, 307), ((p, padm), (c2, c2adm), (g, tenant_admin(g.tenant.id))), strict=True):  # fmt: skip
        others[t.tenant.id] = (await call(s.member.CreateMember, pb.CreateMemberRequest(
            organization_id=t.root_organization.id, profile=profile(seq)), who)).member  # fmt: skip
    return dict(p=p, c1=c1, c2=c2, g=g, padm=padm, c1adm=c1adm, c2adm=c2adm, branch=branch,
                members=members, others=others, sec=secretary(c1.tenant.id, branch.id))  # fmt: skip


# ---- helpers ----


async def start(s, caller, tenant_id, **kw) -> tpb.TenantExport:
    kw.setdefault("exporter_label", LABEL)
    return (await call(s.admin.StartTenantExport, tpb.StartTenantExportRequest(
        tenant_id=tenant_id, **kw), caller)).export  # fmt: skip


async def get(s, caller, tenant_id, export_id) -> tpb.TenantExport:
    return (await call(s.admin.GetTenantExport, tpb.GetTenantExportRequest(
        tenant_id=tenant_id, id=export_id), caller)).export  # fmt: skip


async def finished(s, caller, tenant_id, export_id) -> tuple[tpb.TenantExport, list[int]]:
    seen = []
    for _ in range(600):
        e = await get(s, caller, tenant_id, export_id)
        seen.append(e.percent)
        if e.status not in (S.TENANT_EXPORT_STATUS_QUEUED, S.TENANT_EXPORT_STATUS_RUNNING):
            return e, seen
        await asyncio.sleep(0.02)
    raise AssertionError("export did not finish")


async def fails(coro, code: grpc.StatusCode, reason: str = "") -> None:
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await coro
    assert e.value.code() == code, e.value.details()
    if reason:
        assert dict(e.value.trailing_metadata() or ())["x-hongyun-error-code"] == reason


def jsonl(z: zipfile.ZipFile, path: str) -> list[dict]:
    return [json.loads(line) for line in z.read(path).decode().splitlines()]


def rows_of(data: bytes) -> list[list]:
    book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    return book.get_sheet_by_index(0).to_python()


async def download(fs_store, export: tpb.TenantExport) -> zipfile.ZipFile:
    assert export.download_url.startswith(f"{FILES_URL}/tenant-exports/{export.tenant_id}/")
    async with files_client(fs_store) as files:
        r = await files.get(export.download_url)
    assert r.status_code == 200, r.text
    assert hashlib.sha256(r.content).hexdigest() == export.sha256
    assert len(r.content) == export.size
    return zipfile.ZipFile(io.BytesIO(r.content))


async def audit_in(app, tenant_id, export_id) -> list[AuditEntry]:
    async with app.db.unit_of_work(uuid.UUID(tenant_id)) as uow:
        return list((await uow.session.execute(select(AuditEntry).where(
            AuditEntry.target_id == uuid.UUID(export_id)).order_by(AuditEntry.at))).scalars())  # fmt: skip


async def count(app, tenant_id, model) -> int:
    async with app.db.unit_of_work(uuid.UUID(tenant_id)) as uow:
        return (await uow.session.execute(select(func.count()).select_from(model))).scalar_one()


# ---- the archive ----


async def test_city_admin_exports_own_tenant_in_full(svc, world, fs_store):
    s, c1 = svc, world["c1"]
    t = c1.tenant.id
    job = await start(s, world["c1adm"], t, reveal=True, reveal_reason="移交档案馆")
    assert job.status == S.TENANT_EXPORT_STATUS_QUEUED and job.percent == 0 and job.revealed
    assert list(job.tenant_ids) == [t] and not job.download_url
    assert LABEL in job.watermark and "内部资料 注意保密" in job.watermark
    done, seen = await finished(s, world["c1adm"], t, job.id)
    assert done.status == S.TENANT_EXPORT_STATUS_SUCCEEDED, done.error_message
    assert seen == sorted(seen) and seen[-1] == 100  # progress only moves forward
    # organisations 2, history (rename), terms 1, members 4: every row counted and done
    history = await count(s.app, t, OrganizationHistory)
    assert history >= 1 and await count(s.app, t, CommitteeTerm) == 1
    assert done.total_rows == done.rows_done == 2 + history + 1 + 4
    assert done.file_name.startswith(f"tenant-{c1.tenant.code}-") and done.file_name.endswith(
        ".zip"
    )
    assert done.HasField("download_url_expires_at") and done.HasField("expires_at")
    assert done.expires_at.ToDatetime(tzinfo=UTC) > datetime.now(UTC) + timedelta(days=6)

    z = await download(fs_store, done)
    folder = f"tenants/{c1.tenant.code}/"
    manifest = json.loads(z.read("manifest.json"))
    assert manifest["format"] == "hongyun.tenant-export" and manifest["export_id"] == job.id
    assert manifest["tenant"] == {"id": t, "name": "导出一市", "code": c1.tenant.code}
    assert manifest["watermark"] == done.watermark and manifest["revealed"] is True
    assert manifest["reason"] == "移交档案馆"
    assert manifest["exporter"]["account_id"] == world["c1adm"].user_id
    assert z.comment.decode() == done.watermark
    # Every file's row count and sha256 in the manifest are the truth.
    by_path = {f["path"]: f for f in manifest["files"]}
    assert set(by_path) == {"README.txt", *(folder + n for n in (
        "organizations.jsonl", "organization_history.jsonl", "committee_terms.jsonl",
        "members.jsonl", "members-1.xlsx", "members-2.xlsx"))}  # fmt: skip
    for path, f in by_path.items():
        data = z.read(path)
        assert hashlib.sha256(data).hexdigest() == f["sha256"] and len(data) == f["size"]
    assert [f.path for f in done.files] == [f["path"] for f in manifest["files"]]
    assert by_path[folder + "members.jsonl"]["rows"] == 4
    assert (
        by_path[folder + "members-1.xlsx"]["rows"],
        by_path[folder + "members-2.xlsx"]["rows"],
    ) == (3, 1)
    assert manifest["counts"]["members"] == 4 and manifest["counts"]["family_members"] == 1
    assert done.watermark in z.read("README.txt").decode("utf-8-sig")

    orgs = {o["name"]: o for o in jsonl(z, folder + "organizations.jsonl")}
    assert orgs["第一党支部"]["name_path"] == "导出一市委/第一党支部"
    assert orgs["第一党支部"]["type"] == "branch" and "tenant_id" not in orgs["第一党支部"]
    assert any(h["name"] == "第一支部" for h in jsonl(z, folder + "organization_history.jsonl"))
    assert jsonl(z, folder + "committee_terms.jsonl")[0]["started_on"] == "2024-03-01"

    members = {m["id"]: m for m in jsonl(z, folder + "members.jsonl")}
    assert set(members) == {m.id for m in world["members"]}
    first = members[world["members"][0].id]
    assert first["id_number"] == id_number(301) and first["mobile_phone"] == "13812345678"
    assert first["home_address"] == "广东省深圳市南山区科技园路1号" and first["revealed"] is True
    assert first["gender"] == "male" and first["party_status"] == "retained"
    assert first["organization_path"] == "导出一市委/第一党支部"
    assert first["extension"]["native_place"] == "江苏南京" and first["extension"]["version"] == 1
    assert first["family_members"][0]["phone"] == "13900001111"
    (award,) = first["awards"]
    assert award["kind"] == "punishment" and award["title"] == "党内警告" and not award["redacted"]
    assert first["hardships"][0]["description"] == "长期慢性病"
    assert first["travels"][0]["destination"] == "新加坡" and first["tags"] == ["老党员"]
    assert [c["status"] for c in first["status_changes"]][-1] == "retained"
    assert first["flag_changes"][0]["flag"] == "floating"
    (att,) = first["attachments"]
    assert att["file_name"] == "入党志愿书.pdf" and att["status"] == "pending"
    assert "object_key" not in att

    sheet = (
        rows_of(z.read(folder + "members-1.xlsx")) + rows_of(z.read(folder + "members-2.xlsx"))[2:]
    )
    assert sheet[0][0] == done.watermark and sheet[1][0] == "姓名"
    names = {r[0]: r for r in sheet[2:]}
    assert set(names) == {"张301", "张302", "张303", "张304"}
    assert names["张301"][2] == id_number(301)  # the template's ID column, in full

    # Audited in the exported tenant, with the reason; the download URL was audited too.
    entries = await audit_in(s.app, t, job.id)
    actions = [e.action for e in entries]
    assert actions[0] == "tenant_export_reveal" and "tenant_export_download" in actions
    assert "移交档案馆" in entries[0].reason and "id_number" in entries[0].fields
    assert entries[0].actor == world["c1adm"].user_id
    async with s.app.db.unit_of_work(uuid.UUID(t)) as uow:
        log = (await uow.session.execute(select(MemberExport).where(
            MemberExport.kind == "tenant_data"))).scalars().all()  # fmt: skip
    assert [(x.row_count, x.revealed, x.watermark) for x in log] == [(4, True, done.watermark)]


async def test_parent_exports_the_subtree_masked(svc, world, fs_store):
    s, p = svc, world["p"]
    # A descendant's personal data never reaches the parent in full (ADR 0011/0012).
    for target, descendants in ((world["c1"].tenant.id, False), (p.tenant.id, True)):
        await fails(start(s, world["padm"], target, include_descendants=descendants, reveal=True,
                          reveal_reason="移交档案"),
                    grpc.StatusCode.PERMISSION_DENIED, "reveal_not_allowed")  # fmt: skip
    job = await start(s, world["padm"], p.tenant.id, include_descendants=True)
    expected = [p.tenant.id, world["c1"].tenant.id, world["g"].tenant.id, world["c2"].tenant.id]
    assert set(job.tenant_ids) == set(expected) and job.include_descendants
    done, _ = await finished(s, world["padm"], p.tenant.id, job.id)
    assert done.status == S.TENANT_EXPORT_STATUS_SUCCEEDED, done.error_message
    z = await download(fs_store, done)
    manifest = json.loads(z.read("manifest.json"))
    assert manifest["revealed"] is False and manifest["include_descendants"] is True
    assert manifest["tenants"][0]["id"] == p.tenant.id
    codes = {x["id"]: x["code"] for x in manifest["tenants"]}
    assert set(codes) == set(expected)
    c1_members = jsonl(z, f"tenants/{codes[world['c1'].tenant.id]}/members.jsonl")
    assert len(c1_members) == 4
    first = next(m for m in c1_members if m["id"] == world["members"][0].id)
    assert first["id_number"] != id_number(301) and "*" in first["id_number"]
    assert first["id_number"][-4:] == id_number(301)[-4:] and first["revealed"] is False
    assert first["home_address"].endswith("****") and first["mobile_phone"] == "138****5678"
    assert first["family_members"][0]["phone"] == "139****1111"
    assert first["awards"][0]["title"] == "" and first["awards"][0]["redacted"] is True
    assert first["hardships"][0]["description"] == "" and first["hardships"][0]["redacted"]
    for tid, m in world["others"].items():
        (only,) = jsonl(z, f"tenants/{codes[tid]}/members.jsonl")
        assert only["id"] == m.id and "*" in only["id_number"]
    xlsx = rows_of(z.read(f"tenants/{codes[world['g'].tenant.id]}/members.xlsx"))
    assert xlsx[0][0] == done.watermark and "*" in xlsx[2][2]
    # Each exported tenant's audit log shows the export.
    for tid in expected:
        (entry,) = [e for e in await audit_in(s.app, tid, job.id) if e.action == "tenant_export"]
        assert entry.actor == world["padm"].user_id and entry.fields == []


async def test_platform_admin_gets_masked_data_and_never_reveals(svc, world, fs_store):
    s, t = svc, world["c2"].tenant.id
    await fails(start(s, PLATFORM_ADMIN, t, reveal=True, reveal_reason="核查"),
                grpc.StatusCode.PERMISSION_DENIED, "reveal_not_allowed")  # fmt: skip
    job = await start(s, PLATFORM_ADMIN, t)
    done, _ = await finished(s, PLATFORM_ADMIN, t, job.id)
    z = await download(fs_store, done)
    (only,) = jsonl(z, f"tenants/{world['c2'].tenant.code}/members.jsonl")
    assert "*" in only["id_number"] and only["id_number"] != id_number(306)
    (entry, *_) = await audit_in(s.app, t, job.id)
    assert entry.action == "tenant_export" and entry.actor == PLATFORM_ADMIN.user_id


async def test_progress_is_readable_while_running(svc, world, monkeypatch):
    s, t, adm = svc, world["c1"].tenant.id, world["c1adm"]
    runner = s.app.tenant_exports
    real, gate, paused = runner._sub_records, asyncio.Event(), asyncio.Event()
    batches = 0

    async def slow_sub_records(*args):
        nonlocal batches
        batches += 1
        if batches == 2:  # after the first batch of two members
            paused.set()
            await gate.wait()
        return await real(*args)

    monkeypatch.setattr(runner, "_sub_records", slow_sub_records)
    job = await start(s, adm, t)
    await asyncio.wait_for(paused.wait(), 10)
    mid = await get(s, adm, t, job.id)
    assert mid.status == S.TENANT_EXPORT_STATUS_RUNNING and not mid.download_url
    assert 0 < mid.rows_done < mid.total_rows and 0 < mid.percent < 100
    assert mid.rows_done == mid.total_rows - 2  # two of the four members still to go
    gate.set()
    done, _ = await finished(s, adm, t, job.id)
    assert done.status == S.TENANT_EXPORT_STATUS_SUCCEEDED and done.rows_done == done.total_rows


async def test_who_is_refused(svc, world):
    s, c1, p = svc, world["c1"].tenant.id, world["p"].tenant.id
    # A sibling, or a child looking up: the tenant is not visible at all.
    await fails(start(s, world["c2adm"], c1), grpc.StatusCode.NOT_FOUND, "tenant_not_found")
    await fails(start(s, world["c1adm"], p), grpc.StatusCode.NOT_FOUND, "tenant_not_found")
    # Secretaries export member lists of their branch, never a tenant.
    await fails(start(s, world["sec"], c1), grpc.StatusCode.PERMISSION_DENIED)
    await fails(start(s, world["c1adm"], c1, reveal=True), grpc.StatusCode.INVALID_ARGUMENT,
                "required")  # fmt: skip
    await fails(start(s, world["c1adm"], "not-a-uuid"), grpc.StatusCode.INVALID_ARGUMENT)
    # An export is its creator's: the parent's admin (who may export the city) cannot open it.
    job = await start(s, world["c1adm"], c1)
    await fails(get(s, world["padm"], c1, job.id), grpc.StatusCode.NOT_FOUND,
                "tenant_export_not_found")  # fmt: skip
    await fails(get(s, world["c2adm"], c1, job.id), grpc.StatusCode.NOT_FOUND, "tenant_not_found")
    await fails(get(s, world["c1adm"], c1, str(uuid.uuid4())), grpc.StatusCode.NOT_FOUND)
    await finished(s, world["c1adm"], c1, job.id)


async def test_a_second_start_returns_the_running_export_and_stale_ones_fail(svc, world):
    s, t, adm = svc, world["g"].tenant.id, tenant_admin(world["g"].tenant.id)
    runner = s.app.tenant_exports
    async with runner._sem:  # the runner is busy: the export stays queued
        first = await start(s, adm, t)
        again = await start(s, adm, t)
        other = await start(s, adm, t, reveal=True, reveal_reason="另一次导出")
        assert again.id == first.id and other.id != first.id
        # A process that stopped beating: the export reads as interrupted, not forever queued.
        async with s.app.db.unit_of_work(uuid.UUID(t)) as uow:
            await uow.session.execute(update(TenantExport).where(
                TenantExport.id == uuid.UUID(other.id)).values(
                heartbeat_at=datetime.now(UTC) - timedelta(hours=1)))  # fmt: skip
        # Asking again starts afresh rather than handing back the dead one.
        fresh = await start(s, adm, t, reveal=True, reveal_reason="另一次导出")
        assert fresh.id != other.id
        got = await get(s, adm, t, other.id)
        assert got.status == S.TENANT_EXPORT_STATUS_FAILED and got.error_code == "interrupted"
    done, _ = await finished(s, adm, t, first.id)
    assert done.status == S.TENANT_EXPORT_STATUS_SUCCEEDED
    await runner.wait_idle()
    assert (await get(s, adm, t, other.id)).status == S.TENANT_EXPORT_STATUS_FAILED


async def test_expired_file_is_removed(svc, world, fs_store):
    s, t, adm = svc, world["c2"].tenant.id, world["c2adm"]
    done, _ = await finished(s, adm, t, (await start(s, adm, t)).id)
    async with s.app.db.unit_of_work(uuid.UUID(t)) as uow:
        key = (await uow.session.get(TenantExport, uuid.UUID(done.id))).object_key
        await uow.session.execute(update(TenantExport).where(
            TenantExport.id == uuid.UUID(done.id)).values(
            expires_at=datetime.now(UTC) - timedelta(seconds=1)))  # fmt: skip
    assert await fs_store.exists(key)
    gone = await get(s, adm, t, done.id)
    assert gone.status == S.TENANT_EXPORT_STATUS_EXPIRED and not gone.download_url
    assert not await fs_store.exists(key)
    # Files nobody asks for again are removed by the runner's sweep (every replica runs it).
    done, _ = await finished(s, adm, t, (await start(s, adm, t)).id)
    async with s.app.db.unit_of_work(uuid.UUID(t)) as uow:
        key = (await uow.session.get(TenantExport, uuid.UUID(done.id))).object_key
        await uow.session.execute(update(TenantExport).where(
            TenantExport.id == uuid.UUID(done.id)).values(
            expires_at=datetime.now(UTC) - timedelta(seconds=1)))  # fmt: skip
    assert await s.app.tenant_exports.sweep_expired() >= 1
    assert not await fs_store.exists(key)
    assert (await get(s, adm, t, done.id)).status == S.TENANT_EXPORT_STATUS_EXPIRED
    assert await s.app.tenant_exports.sweep_expired() == 0


async def test_export_round_trip_on_s3(member_settings_fx, s3_server, world):
    store = S3ObjectStore(s3_server.endpoint, s3_server.access_key, s3_server.secret_key,
                          f"export-{uuid.uuid4().hex[:12]}", secure=False, region=s3_server.region)  # fmt: skip
    store.client.make_bucket(store.bucket)
    app, channel, s = await _started(member_settings_fx, store)
    try:
        t, adm = world["c1"].tenant.id, world["c1adm"]
        done, _ = await finished(s, adm, t, (await start(s, adm, t)).id)
        assert done.status == S.TENANT_EXPORT_STATUS_SUCCEEDED, done.error_message
        async with httpx.AsyncClient() as http:
            r = await http.get(done.download_url)
        assert r.status_code == 200 and hashlib.sha256(r.content).hexdigest() == done.sha256
        z = zipfile.ZipFile(io.BytesIO(r.content))
        members = jsonl(z, f"tenants/{world['c1'].tenant.code}/members.jsonl")
        assert len(members) == await count(app, t, Member) == 4
    finally:
        await channel.close()
        await app.stop()
