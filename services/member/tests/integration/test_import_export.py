"""Member import and export over gRPC against a real PostgreSQL and nats-server (docs/adr/0010)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import re
import uuid
import zlib
from datetime import date

import grpc
import pytest
import python_calamine
from hongyun.member.v1 import events_pb2, member_stats_pb2_grpc, member_transfer_files_pb2_grpc
from hongyun.member.v1 import member_pb2 as mpb
from hongyun.member.v1 import member_stats_pb2 as spb
from hongyun.member.v1 import member_transfer_files_pb2 as pb
from hongyun_platform.validation import check_character
from member_service.domain.member_template import HEADERS
from member_service.models import AuditEntry, messaging
from member_service.transfer_models import MemberExport
from openpyxl import Workbook
from sqlalchemy import select, text

from ..conftest import PLATFORM_ADMIN, secretary, tenant_admin

pytestmark = pytest.mark.integration
FINISHED = (
    pb.IMPORT_JOB_STATUS_SUCCEEDED,
    pb.IMPORT_JOB_STATUS_REJECTED,
    pb.IMPORT_JOB_STATUS_FAILED,
)


def id_number(seq: int, birth: str = "19800101", region: str = "320102") -> str:
    first17 = f"{region}{birth}{seq:03d}"
    return first17 + check_character(first17)


def row(seq: int, org: str, **kw) -> list:
    """One template row (HEADERS order) of a valid member."""
    values = {
        "姓名": f"导入{seq}", "性别": "男" if seq % 2 else "女", "公民身份号码": id_number(seq % 1000),
        "民族": "汉族", "出生日期": date(1980, 1, 1), "学历": "大学本科", "人员类别": "正式党员",
        "入党日期": date(2005, 7, 1), "转正日期": date(2006, 7, 1), "工作岗位": "职员",
        "手机号码": "13812345678", "固定电话": "025-84561234", "家庭住址": "江苏省南京市玄武区北京东路41号",
        "党籍状态": "正常", "是否失联": "否", "失联日期": None, "是否流动": "否", "外出流向": None,
        "所在党组织": org,
    }  # fmt: skip
    values.update(kw)
    return [values[h] for h in HEADERS]


def xlsx(rows: list[list], headers=HEADERS) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(list(headers))
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def csv_bytes(rows: list[list], encoding: str) -> bytes:
    lines = [",".join(HEADERS)]
    for r in rows:
        lines.append(",".join("" if v is None else str(v) for v in r))
    return "\r\n".join(lines).encode(encoding)


async def start(stub, caller, data: bytes, *, name="members.xlsx", mode=pb.IMPORT_MODE_VALID_ROWS_ONLY,
                default_path="", chunk=64 * 1024) -> pb.ImportJob:  # fmt: skip
    async def messages():
        yield pb.StartImportRequest(header=pb.ImportUploadHeader(
            file_name=name, mode=mode, default_organization_path=default_path))  # fmt: skip
        for i in range(0, len(data), chunk):
            yield pb.StartImportRequest(chunk=data[i : i + chunk])

    resp = await stub.StartImport(messages(), metadata=caller.to_metadata(), timeout=30)
    return resp.job


async def wait(stub, caller, job_id: str) -> tuple[pb.ImportJob, list[int]]:
    """Polls until the job finishes; returns it and the percentages seen on the way."""
    seen = []
    for _ in range(2400):
        job = (await stub.GetImportJob(pb.GetImportJobRequest(id=job_id),
                                       metadata=caller.to_metadata(), timeout=10)).job  # fmt: skip
        seen.append(job.percent)
        if job.status in FINISHED:
            return job, seen
        await asyncio.sleep(0.05)
    raise AssertionError("import job did not finish")


async def run_import(stub, caller, data: bytes, **kw) -> pb.ImportJob:
    job = await start(stub, caller, data, **kw)
    assert job.status == pb.IMPORT_JOB_STATUS_QUEUED
    return (await wait(stub, caller, job.id))[0]


async def download(method, request, caller) -> tuple[pb.TransferFileHeader, bytes]:
    header, body = None, bytearray()
    async for part in method(request, metadata=caller.to_metadata(), timeout=60):
        if part.WhichOneof("part") == "header":
            header = part.header
        else:
            body += part.chunk
    return header, bytes(body)


def sheet(data: bytes, index: int = 0) -> list[list]:
    return (
        python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        .get_sheet_by_index(index)
        .to_python()
    )


async def rpc_error(coro) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await coro
    return e.value


async def stream_error(method, request, caller) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await download(method, request, caller)
    return e.value


def code_of(err: grpc.aio.AioRpcError) -> str:
    return dict(err.trailing_metadata() or ()).get("x-hongyun-error-code", "")


@pytest.fixture(scope="module")
async def stub(member_app):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{member_app.port}") as channel:
        yield member_transfer_files_pb2_grpc.MemberImportExportServiceStub(channel)


async def _tree(member_stub, tenant_name: str) -> dict:
    code = uuid.uuid4().hex[:8]
    t = (await member_stub.CreateTenant(mpb.CreateTenantRequest(name=tenant_name, code=f"t-{code}"),
                                        metadata=PLATFORM_ADMIN.to_metadata())).tenant  # fmt: skip
    adm = tenant_admin(t.id)

    async def org(name, parent=""):
        return (await member_stub.CreateOrganization(mpb.CreateOrganizationRequest(
            parent_id=parent, name=name,
            type=mpb.ORGANIZATION_TYPE_BRANCH if parent else mpb.ORGANIZATION_TYPE_COMMITTEE),
            metadata=adm.to_metadata())).organization  # fmt: skip

    root = await org("示范党委")
    br1 = await org("第一党支部", root.id)
    br2 = await org("第二党支部", root.id)
    return dict(t=t, adm=adm, root=root, br1=br1, br2=br2,
                p1="示范党委/第一党支部", p2="示范党委/第二党支部")  # fmt: skip


@pytest.fixture(scope="module")
async def world(member_stub):
    return dict(a=await _tree(member_stub, "甲"), b=await _tree(member_stub, "乙"))


async def members_of(member_stub, caller, org_id="") -> list:
    out, token = [], ""
    while True:
        resp = await member_stub.ListMembers(mpb.ListMembersRequest(
            organization_id=org_id, page_size=200, page_token=token),
            metadata=caller.to_metadata())  # fmt: skip
        out += resp.members
        token = resp.next_page_token
        if not token:
            return out


async def registered_events(member_app, tenant_id: str) -> list[str]:
    ob = messaging.outbox
    async with member_app.db.unit_of_work(None) as uow:
        rows = (await uow.session.execute(
            select(ob.c.payload).where(ob.c.subject == f"member.{tenant_id}.member.registered")
        )).scalars().all()  # fmt: skip
    return [events_pb2.MemberRegistered.FromString(p).member_id for p in rows]


# ---- template ----


async def test_template_has_the_16_items_and_drop_downs(stub, world):
    adm = world["a"]["adm"]
    resp = await stub.GetImportTemplate(pb.GetImportTemplateRequest(), metadata=adm.to_metadata())
    assert resp.header.file_name.endswith(".xlsx")
    assert sheet(resp.content)[0] == list(HEADERS)
    assert b"dataValidation" in zlib.decompress(
        _zip_member(resp.content, "xl/worksheets/sheet1.xml"), -15
    )
    resp = await stub.GetImportTemplate(
        pb.GetImportTemplateRequest(format=pb.TRANSFER_FILE_FORMAT_CSV), metadata=adm.to_metadata()
    )
    assert resp.content.decode("utf-8-sig").strip() == ",".join(HEADERS)


def _zip_member(data: bytes, name: str) -> bytes:
    """Raw (deflated) bytes of one member of a zip, without zipfile's conveniences."""
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        info = z.getinfo(name)
    start = info.header_offset
    name_len = int.from_bytes(data[start + 26 : start + 28], "little")
    extra_len = int.from_bytes(data[start + 28 : start + 30], "little")
    body = start + 30 + name_len + extra_len
    return data[body : body + info.compress_size]


# ---- import ----


def mixed_rows(base: int, world_a: dict) -> tuple[list[list], dict[int, list[str]]]:
    """Two good rows and one row per rejection reason; {sheet row: expected codes}."""
    p1 = world_a["p1"]
    bad_check = id_number(base + 3)[:-1] + ("0" if id_number(base + 3)[-1] != "0" else "1")
    rows = [
        row(base + 1, p1),
        row(base + 2, p1, 手机号码=13900001111),
        row(base + 3, p1, 公民身份号码=bad_check),
        row(base + 4, p1, 入党日期="2005-13-45", 人员类别="群众"),
        row(base + 5, "示范党委/不存在的支部"),
        row(base + 6, p1, 性别="女" if (base + 6) % 2 else "男"),
        row(base + 7, p1, 姓名=""),
        row(base + 8, p1, 手机号码="12345", 是否失联="也许"),
        row(base + 1, p1, 姓名="重复"),
    ]
    expected = {
        4: ["id_number.check_digit"],
        5: ["category.invalid_enum", "joined_on.invalid_date"],
        6: ["organization_path.not_found"],
        7: ["gender.gender_mismatch"],
        8: ["name.required"],
        9: ["mobile_phone.format", "lost_contact.invalid_bool"],
        10: ["id_number.duplicate_in_file"],
    }
    return rows, expected


def error_rows(data: bytes) -> dict[int, tuple[list, str, str]]:
    rows = sheet(data)
    assert rows[1][0] == "行号" and rows[1][-2:] == ["错误原因", "错误代码"]
    return {int(r[0]): (r[1:-2], r[-2], r[-1]) for r in rows[2:]}


async def test_all_or_nothing_writes_nothing_and_lists_every_bad_row(
    stub, member_stub, world, member_app
):
    a = world["a"]
    before = await members_of(member_stub, a["adm"])
    rows, expected = mixed_rows(100, a)
    job = await run_import(stub, a["adm"], xlsx(rows), mode=pb.IMPORT_MODE_ALL_OR_NOTHING)
    assert job.status == pb.IMPORT_JOB_STATUS_REJECTED and job.error_code == "rows_rejected"
    assert (job.total_rows, job.rows_done, job.percent) == (9, 9, 100)
    assert (job.accepted, job.rejected, job.skipped) == (0, 7, 0)
    assert len(await members_of(member_stub, a["adm"])) == len(before)

    header, data = await download(
        stub.DownloadImportErrors, pb.DownloadImportErrorsRequest(id=job.id), a["adm"]
    )
    assert header.content_type.startswith("application/vnd.openxmlformats")
    errors = error_rows(data)
    assert set(errors) == set(expected)
    for n, codes in expected.items():
        cells, reasons, got = errors[n]
        assert got.split("; ") == codes, (n, got)
        assert reasons  # Chinese reasons, one per code
        assert cells[2] == rows[n - 2][2] or n == 4  # the original cells come back
    assert "公民身份号码：公民身份号码校验位错误" in errors[4][1]
    assert {r.code for r in job.reasons} == {c for cs in expected.values() for c in cs}


async def test_valid_rows_only_writes_exactly_the_good_rows_once(
    stub, member_stub, world, member_app
):
    a = world["a"]
    rows, expected = mixed_rows(200, a)
    job = await run_import(stub, a["adm"], xlsx(rows), name="混合.xlsx")
    assert job.status == pb.IMPORT_JOB_STATUS_SUCCEEDED
    assert (job.accepted, job.rejected, job.skipped, job.percent) == (2, 7, 0, 100)
    listed = {m.profile.name: m for m in await members_of(member_stub, a["adm"], a["br1"].id)}
    assert {"导入201", "导入202"} <= set(listed) and "重复" not in listed
    assert listed["导入202"].profile.mobile_phone == "139****1111"  # number cell → text
    m = listed["导入201"]
    assert m.profile.category == mpb.MEMBER_CATEGORY_FULL and m.profile.gender == mpb.GENDER_MALE
    assert m.profile.joined_on == "2005-07-01" and m.organization_id == a["br1"].id
    full = (await member_stub.GetMember(mpb.GetMemberRequest(id=m.id, reveal=True, reveal_reason="核对"),
                                        metadata=a["adm"].to_metadata())).member  # fmt: skip
    assert full.profile.id_number == id_number(201)
    assert full.profile.home_address == "江苏省南京市玄武区北京东路41号"

    events = await registered_events(member_app, a["t"].id)
    assert events.count(listed["导入201"].id) == 1 and events.count(listed["导入202"].id) == 1

    _, data = await download(
        stub.DownloadImportErrors, pb.DownloadImportErrorsRequest(id=job.id), a["adm"]
    )
    assert set(error_rows(data)) == set(expected)
    async with member_app.db.unit_of_work(uuid.UUID(a["t"].id)) as uow:
        audit = (await uow.session.execute(select(AuditEntry).where(
            AuditEntry.target_id == uuid.UUID(job.id)))).scalars().all()  # fmt: skip
    actions = {e.action: e for e in audit}
    assert "混合.xlsx" in actions["import"].reason and "accepted=2" in actions["import"].reason
    assert actions["import_errors_download"].actor == a["adm"].user_id

    # The same file again: nothing new, the known people are reported as skipped.
    again = await run_import(stub, a["adm"], xlsx(rows), name="混合.xlsx")
    assert (again.accepted, again.rejected, again.skipped) == (0, 7, 2)
    assert (
        len(
            [
                n
                for n in (await members_of(member_stub, a["adm"]))
                if n.profile.name.startswith("导入20")
            ]
        )
        == 2
    )
    assert len(await registered_events(member_app, a["t"].id)) == len(events)
    _, data = await download(
        stub.DownloadImportErrors, pb.DownloadImportErrorsRequest(id=again.id), a["adm"]
    )
    skipped = sheet(data, 1)
    assert [r[0] for r in skipped[1:]] == [2, 3] and skipped[1][3] == "exists"


async def test_progress_reaches_100_for_a_larger_file(stub, member_stub, world, member_app):
    a = world["a"]
    rows = [row(i, a["p2"], 性别="", 出生日期=None,
                公民身份号码=id_number(i % 1000, birth=f"197001{1 + i // 1000:02d}"))
            for i in range(5000)]  # fmt: skip
    job = await start(stub, a["adm"], csv_bytes(rows, "utf-8"), name="5000.csv")
    done, seen = await wait(stub, a["adm"], job.id)
    assert done.status == pb.IMPORT_JOB_STATUS_SUCCEEDED, done.error_message
    assert (done.accepted, done.rejected, done.total_rows, done.rows_done) == (5000, 0, 5000, 5000)
    assert seen[-1] == 100 and seen == sorted(seen)
    listed = len(await members_of(member_stub, a["adm"], a["br2"].id))
    assert listed >= 5000
    # The bulk COPY kept the rolled-up counts (docs/adr/0013) in step with the members.
    async with grpc.aio.insecure_channel(f"127.0.0.1:{member_app.port}") as channel:
        counts = await member_stats_pb2_grpc.MemberStatsServiceStub(channel).CountMembers(
            spb.CountMembersRequest(organization_id=a["br2"].id), metadata=a["adm"].to_metadata()
        )
    assert counts.total == listed


async def test_csv_in_utf8_bom_utf8_and_gb18030(stub, member_stub, world):
    a = world["a"]
    for i, enc in enumerate(("utf-8-sig", "utf-8", "gb18030")):
        rows = [row(300 + i, a["p1"], 出生日期="1980/1/1", 入党日期="2005年7月1日")]
        job = await run_import(stub, a["adm"], csv_bytes(rows, enc), name=f"m-{enc}.csv")
        assert job.status == pb.IMPORT_JOB_STATUS_SUCCEEDED, (enc, job.error_message, job.reasons)
        assert job.format == pb.TRANSFER_FILE_FORMAT_CSV and job.accepted == 1
    names = {m.profile.name for m in await members_of(member_stub, a["adm"], a["br1"].id)}
    assert {"导入300", "导入301", "导入302"} <= names


async def test_secretary_may_import_only_into_their_subtree(stub, member_stub, world):
    a = world["a"]
    sec = secretary(a["t"].id, a["br1"].id)
    rows = [row(400, a["p1"]), row(401, a["p2"]), row(402, "")]
    job = await run_import(stub, sec, xlsx(rows), default_path=a["p1"])
    assert (job.accepted, job.rejected) == (2, 1)
    assert [r.code for r in job.reasons] == ["organization_path.not_found"]
    names = {m.profile.name for m in await members_of(member_stub, a["adm"], a["br1"].id)}
    assert {"导入400", "导入402"} <= names
    # Another secretary (or another tenant) cannot see the job; the tenant admin can.
    other = secretary(a["t"].id, a["br2"].id)
    err = await rpc_error(
        stub.GetImportJob(pb.GetImportJobRequest(id=job.id), metadata=other.to_metadata())
    )
    assert err.code() == grpc.StatusCode.NOT_FOUND
    err = await rpc_error(stub.GetImportJob(pb.GetImportJobRequest(id=job.id),
                                            metadata=world["b"]["adm"].to_metadata()))  # fmt: skip
    assert err.code() == grpc.StatusCode.NOT_FOUND
    err = await stream_error(
        stub.DownloadImportErrors, pb.DownloadImportErrorsRequest(id=job.id), other
    )
    assert err.code() == grpc.StatusCode.NOT_FOUND
    assert (await stub.GetImportJob(pb.GetImportJobRequest(id=job.id),
                                    metadata=a["adm"].to_metadata())).job.accepted == 2  # fmt: skip


async def test_bad_files_and_callers_are_refused(stub, world):
    a = world["a"]
    job = await run_import(stub, a["adm"], xlsx([["张三", "x"]], headers=["名字", "号码"]))
    assert job.status == pb.IMPORT_JOB_STATUS_FAILED and job.error_code == "bad_header"
    job = await run_import(stub, a["adm"], xlsx([row(1, "")])[:300])
    assert job.status == pb.IMPORT_JOB_STATUS_FAILED and job.error_code == "bad_file"
    job = await run_import(stub, a["adm"], xlsx([]))
    assert job.status == pb.IMPORT_JOB_STATUS_FAILED and job.error_code == "empty_file"
    rows = [r[:-1] for r in [row(500, a["p1"])]]
    job = await run_import(stub, a["adm"], xlsx(rows, headers=HEADERS[:-1]))
    assert job.error_code == "bad_header" and "所在党组织" in job.error_message
    err = await stream_error(
        stub.DownloadImportErrors, pb.DownloadImportErrorsRequest(id=job.id), a["adm"]
    )
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION

    err = await rpc_error(start(stub, a["adm"], b"\xd0\xcf\x11\xe0old", name="old.xls"))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and code_of(err) == "bad_file"
    err = await rpc_error(start(stub, a["adm"], xlsx([]), mode=pb.IMPORT_MODE_UNSPECIFIED))
    assert code_of(err) == "invalid_mode"
    for caller in (PLATFORM_ADMIN, tenant_admin(a["t"].id).__class__(
            user_id="m", tenant_id=uuid.UUID(a["t"].id), roles=frozenset({"member"}))):  # fmt: skip
        err = await rpc_error(start(stub, caller, xlsx([row(1, a["p1"])])))
        assert err.code() in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.INVALID_ARGUMENT)
    err = await rpc_error(stub.GetImportJob(pb.GetImportJobRequest(id=str(uuid.uuid4())),
                                            metadata=a["adm"].to_metadata()))  # fmt: skip
    assert err.code() == grpc.StatusCode.NOT_FOUND


async def test_a_job_whose_process_stopped_is_reported_interrupted(
    stub, world, member_app, module_database
):
    a = world["a"]
    job_id = uuid.uuid4()
    module_database.pg.psql(
        "INSERT INTO member.member_import_jobs (id, tenant_id, created_by, created_by_roles, "
        "file_name, file_format, file_size, file_sha256, mode, status, heartbeat_at) VALUES "
        f"('{job_id}', '{a['t'].id}', '{a['adm'].user_id}', '{{tenant_admin}}', 'x.xlsx', 'xlsx', 1, "
        "'', 'all_or_nothing', 'running', now() - interval '1 hour')",
        module_database.name,
    )
    job = (await stub.GetImportJob(pb.GetImportJobRequest(id=str(job_id)),
                                   metadata=a["adm"].to_metadata())).job  # fmt: skip
    assert job.status == pb.IMPORT_JOB_STATUS_FAILED and job.error_code == "interrupted"


# ---- export ----


def _export_req(**kw) -> pb.ExportMembersRequest:
    return pb.ExportMembersRequest(**kw)


async def test_export_round_trip_into_another_tenant(stub, member_stub, world):
    a, b = world["a"], world["b"]
    src = [m for m in await members_of(member_stub, a["adm"], a["br1"].id)]
    header, data = await download(stub.ExportMembers, _export_req(
        organization_id=a["br1"].id, reveal=True, reveal_reason="迁移", exporter_label="张书记"), a["adm"])  # fmt: skip
    assert header.row_count == len(src) and header.file_name.endswith(".xlsx")
    rows = sheet(data)
    assert rows[0][0].startswith("导出人：张书记") and rows[1] == list(HEADERS)

    job = await run_import(
        stub, b["adm"], data, name=header.file_name, mode=pb.IMPORT_MODE_ALL_OR_NOTHING
    )
    assert job.status == pb.IMPORT_JOB_STATUS_SUCCEEDED, list(job.reasons)
    assert job.accepted == len(src)

    async def full(caller, members):
        out = {}
        for m in members:
            got = (await member_stub.GetMember(mpb.GetMemberRequest(id=m.id, reveal=True, reveal_reason="核对"),
                                               metadata=caller.to_metadata())).member  # fmt: skip
            out[got.profile.id_number] = got.profile
        return out

    assert await full(b["adm"], await members_of(member_stub, b["adm"], b["br1"].id)) == await full(
        a["adm"], src
    )

    # CSV the same way.
    header, data = await download(stub.ExportMembers, _export_req(
        format=pb.TRANSFER_FILE_FORMAT_CSV, organization_id=a["br1"].id, reveal=True, reveal_reason="迁移"), a["adm"])  # fmt: skip
    assert data.startswith(b"\xef\xbb\xbf") and header.file_name.endswith(".csv")
    job = await run_import(stub, b["adm"], data, name="again.csv")
    assert (job.accepted, job.rejected, job.skipped) == (0, 0, len(src))


async def test_export_masked_by_default_revealed_only_when_allowed_and_always_audited(
    stub, member_stub, world, member_app
):
    a = world["a"]
    _, masked = await download(
        stub.ExportMembers, _export_req(organization_id=a["br1"].id), a["adm"]
    )
    rows = sheet(masked)
    ids = [r[2] for r in rows[2:]]
    assert ids and all("*" in i for i in ids)
    assert "导出人：" in rows[0][0] and a["adm"].user_id in rows[0][0]

    err = await stream_error(stub.ExportMembers, _export_req(reveal=True), a["adm"])
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT  # a reason is required
    err = await stream_error(stub.ExportMembers, _export_req(reveal=True, reveal_reason="看看"),
                             PLATFORM_ADMIN.__class__(user_id="root", tenant_id=uuid.UUID(a["t"].id),
                                                      roles=frozenset({"platform_admin"})))  # fmt: skip
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED

    sec = secretary(a["t"].id, a["br1"].id)
    header, data = await download(
        stub.ExportMembers, _export_req(reveal=True, reveal_reason="换届"), sec
    )
    names = [r[0] for r in sheet(data)[2:]]
    paths = {r[-1] for r in sheet(data)[2:]}
    assert paths == {a["p1"]} and header.row_count == len(names)
    err = await stream_error(stub.ExportMembers, _export_req(organization_id=a["br2"].id), sec)
    assert err.code() == grpc.StatusCode.NOT_FOUND
    err = await stream_error(
        stub.ExportMembers, _export_req(organization_id=a["br1"].id), world["b"]["adm"]
    )
    assert err.code() == grpc.StatusCode.NOT_FOUND

    async with member_app.db.unit_of_work(uuid.UUID(a["t"].id)) as uow:
        exports = (
            (await uow.session.execute(select(MemberExport).order_by(MemberExport.at)))
            .scalars()
            .all()
        )
        audit = (await uow.session.execute(select(AuditEntry).where(
            AuditEntry.target_type == "member_export"))).scalars().all()  # fmt: skip
    by_actor = [e for e in exports if e.actor == sec.user_id]
    assert by_actor[-1].revealed and by_actor[-1].row_count == len(names)
    assert by_actor[-1].reason == "换届" and "导出人" in by_actor[-1].watermark
    masked_exp = [
        e for e in exports if not e.revealed and e.filters["organization_id"] == a["br1"].id
    ]
    assert masked_exp
    actions = {(e.actor, e.action) for e in audit}
    assert (sec.user_id, "export_reveal") in actions and (a["adm"].user_id, "export") in actions


async def test_export_filters_by_category_and_party_status(stub, world):
    a = world["a"]
    await run_import(stub, a["adm"], xlsx([
        row(600, a["p2"], 人员类别="预备党员", 转正日期=None),
        row(601, a["p2"], 党籍状态="保留"),
    ]))  # fmt: skip
    _, data = await download(stub.ExportMembers, _export_req(
        category=mpb.MEMBER_CATEGORY_PROBATIONARY, organization_id=a["br2"].id), a["adm"])  # fmt: skip
    assert [r[0] for r in sheet(data)[2:]] == ["导入600"]
    _, data = await download(
        stub.ExportMembers, _export_req(party_status=mpb.PARTY_STATUS_RETAINED), a["adm"]
    )
    assert [(r[0], r[13]) for r in sheet(data)[2:]] == [("导入601", "保留")]


def pdf_texts(data: bytes) -> str:
    """Text shown by the PDF's content streams: literal strings, decoded as UTF-16BE (the CID
    font's encoding) or Latin-1, after inflating compressed streams."""
    out = []
    for m in re.finditer(rb"stream\r?\n(.*?)\s*endstream", data, re.S):
        body = m.group(1).strip()
        if body.endswith(b"~>"):  # reportlab's default: ASCII85, then Flate
            body = base64.a85decode(body.removeprefix(b"<~")[:-2])
        with contextlib.suppress(zlib.error):
            body = zlib.decompress(body)
        for lit in re.finditer(rb"\(((?:\\.|[^\\)])*)\)\s*Tj", body, re.S):
            raw = re.sub(rb"\\([0-7]{1,3}|.)", lambda e: bytes([int(e.group(1), 8)]) if e.group(1)[:1].isdigit()
                         else {b"n": b"\n", b"r": b"\r", b"t": b"\t"}.get(e.group(1), e.group(1)), lit.group(1))  # fmt: skip
            out.append(raw.decode("utf-16-be", errors="ignore") if len(raw) % 2 == 0 and b"\x00" in raw
                       else raw.decode("latin-1"))  # fmt: skip
    return "\n".join(out)


async def test_archive_as_pdf_and_xlsx_with_watermark(stub, member_stub, world, member_app):
    a = world["a"]
    job = await run_import(stub, a["adm"], xlsx([row(701, a["p1"])]))
    assert job.accepted == 1
    m = next(
        x
        for x in await members_of(member_stub, a["adm"], a["br1"].id)
        if x.profile.name == "导入701"
    )
    header, data = await download(stub.ExportMemberArchive, pb.ExportMemberArchiveRequest(
        member_id=m.id, exporter_label="demo-admin"), a["adm"])  # fmt: skip
    assert data.startswith(b"%PDF-") and header.content_type == "application/pdf"
    assert len(re.findall(rb"/Type\s*/Page\b", data)) >= 1
    shown = pdf_texts(data)
    assert "党员档案：导入701" in shown and "导出人：demo-admin" in shown
    assert id_number(701) not in shown and id_number(701)[:4] in shown  # masked

    _, data = await download(stub.ExportMemberArchive, pb.ExportMemberArchiveRequest(
        member_id=m.id, reveal=True, reveal_reason="政审", format=pb.TRANSFER_FILE_FORMAT_PDF), a["adm"])  # fmt: skip
    assert id_number(701) in pdf_texts(data)

    header, data = await download(stub.ExportMemberArchive, pb.ExportMemberArchiveRequest(
        member_id=m.id, format=pb.TRANSFER_FILE_FORMAT_XLSX), a["adm"])  # fmt: skip
    cells = sheet(data)
    assert cells[0][0].startswith("导出人：") and ["姓名", "导入701"] in [r[:2] for r in cells]

    sec2 = secretary(a["t"].id, a["br2"].id)
    err = await stream_error(
        stub.ExportMemberArchive, pb.ExportMemberArchiveRequest(member_id=m.id), sec2
    )
    assert err.code() == grpc.StatusCode.NOT_FOUND
    async with member_app.db.unit_of_work(uuid.UUID(a["t"].id)) as uow:
        audit = (await uow.session.execute(select(AuditEntry).where(
            AuditEntry.target_id == uuid.UUID(m.id), AuditEntry.action.like("export%")))).scalars().all()  # fmt: skip
    assert sorted(e.action for e in audit) == ["export", "export", "export_reveal"]
    assert [e.reason.split(" (")[0] for e in audit if e.action == "export_reveal"] == ["政审"]


async def test_exports_table_is_append_only_for_the_runtime_role(member_app, world):
    async with member_app.db.unit_of_work(uuid.UUID(world["a"]["t"].id)) as uow:
        with pytest.raises(Exception, match="permission denied"):
            await uow.session.execute(text("UPDATE member.member_exports SET row_count = 0"))
