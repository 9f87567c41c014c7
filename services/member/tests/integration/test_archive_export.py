"""One member's archive exported as .xlsx and .pdf with every tab of the archive (docs/adr/0009,
0010): extended fields, family, awards and punishments, travel, hardship, the 党籍 and 失联/流动
histories, tags and the list of attachments — masked unless revealed, watermarked, audited.
Against a real PostgreSQL, nats-server and the filesystem object store; the files are opened
as a user would (openpyxl; the PDF's drawn text)."""

from __future__ import annotations

import base64
import contextlib
import io
import re
import uuid
import zlib
from datetime import date
from types import SimpleNamespace

import grpc
import httpx
import pytest
from hongyun.member.v1 import member_archive_pb2 as apb
from hongyun.member.v1 import (
    member_archive_pb2_grpc,
    member_pb2_grpc,
    member_transfer_files_pb2_grpc,
)
from hongyun.member.v1 import member_pb2 as pb
from hongyun.member.v1 import member_transfer_files_pb2 as tpb
from hongyun_platform.grpc.context import ROLE_PLATFORM_ADMIN, CallerContext
from hongyun_platform.storage import FilesystemObjectStore, make_fs_download_app
from hongyun_platform.testing.s3 import TEST_SIGNING_KEY
from hongyun_platform.validation import check_character
from member_service.archive_status import BASELINE_REASON
from member_service.domain.archive import add_months
from member_service.models import AuditEntry
from openpyxl import load_workbook
from sqlalchemy import select

from ..conftest import PLATFORM_ADMIN, secretary, tenant_admin

pytestmark = pytest.mark.integration

FILES_URL = "http://files.test/files"
PDF = b"%PDF-1.7\n" + b"0" * 200
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
SECTIONS = [
    "基本信息", "党籍信息", "联系方式", "失联与流动", "扩展信息", "家庭成员", "奖惩", "出国出境",
    "困难情况", "党籍状态记录", "失联与流动记录", "标签", "附件", "说明",
]  # fmt: skip
SECRETS = [
    "13900001111",
    "玄武区北京东路41号",
    "党内警告",
    "违反工作纪律",
    "区纪〔2023〕3号",
    "慢性肾病",
    "每月走访",
]
TODAY = date.today()


def id_number(seq: int) -> str:
    first17 = f"32010219800101{seq:03d}"
    return first17 + check_character(first17)


def profile(seq: int, **kw) -> pb.MemberProfile:
    values = dict(
        name=f"张{seq}", id_number=id_number(seq), category=pb.MEMBER_CATEGORY_FULL,
        joined_on="2005-07-01", converted_on="2006-07-01", mobile_phone="13812345678",
        home_address="江苏省南京市玄武区北京东路41号", ethnicity="汉族", education="本科",
    )  # fmt: skip
    values.update(kw)
    return pb.MemberProfile(**values)


async def call(method, request, caller):
    return await method(request, metadata=caller.to_metadata(), timeout=10)


async def download(method, request, caller) -> tuple[tpb.TransferFileHeader, bytes]:
    header, body = None, bytearray()
    async for part in method(request, metadata=caller.to_metadata(), timeout=60):
        if part.WhichOneof("part") == "header":
            header = part.header
        else:
            body += part.chunk
    return header, bytes(body)


async def stream_error(method, request, caller) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await download(method, request, caller)
    return e.value


@pytest.fixture(scope="module")
def fs_store(tmp_path_factory) -> FilesystemObjectStore:
    root = tmp_path_factory.mktemp("export-objects")
    return FilesystemObjectStore(root, base_url=FILES_URL, signing_key=TEST_SIGNING_KEY)


@pytest.fixture(scope="module")
async def app(member_settings_fx, fs_store):
    from member_service.app import build_app

    app = await build_app(member_settings_fx, object_store=fs_store)
    await app.start()
    yield app
    await app.stop()


@pytest.fixture(scope="module")
async def s(app):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
        yield SimpleNamespace(
            member=member_pb2_grpc.MemberServiceStub(channel),
            archive=member_archive_pb2_grpc.MemberArchiveServiceStub(channel),
            files=member_transfer_files_pb2_grpc.MemberImportExportServiceStub(channel),
        )


@pytest.fixture(scope="module")
async def world(s):
    code = uuid.uuid4().hex[:8]
    a = (await call(s.member.CreateTenant, pb.CreateTenantRequest(name="甲", code=f"ax-a-{code}"),
                    PLATFORM_ADMIN)).tenant  # fmt: skip
    adm = tenant_admin(a.id)

    async def org(name, type_, parent=""):
        return (await call(s.member.CreateOrganization, pb.CreateOrganizationRequest(
            parent_id=parent, name=name, type=type_), adm)).organization  # fmt: skip

    root = await org("甲党委", pb.ORGANIZATION_TYPE_COMMITTEE)
    br1 = await org("第一支部", pb.ORGANIZATION_TYPE_BRANCH, root.id)
    br2 = await org("第二支部", pb.ORGANIZATION_TYPE_BRANCH, root.id)
    return dict(a=a, adm=adm, root=root, br1=br1, br2=br2, sec1=secretary(a.id, br1.id),
                sec2=secretary(a.id, br2.id))  # fmt: skip


async def upload(s, fs_store, caller, member_id, data: bytes, **kw) -> apb.Attachment:
    ticket = await call(s.archive.CreateAttachment, apb.CreateAttachmentRequest(
        member_id=member_id, size=len(data), **kw), caller)  # fmt: skip
    app = make_fs_download_app(fs_store, max_upload_bytes=1024 * 1024)
    transport = httpx.ASGITransport(app=app, root_path="/files")
    async with httpx.AsyncClient(transport=transport, base_url="http://files.test") as client:
        r = await client.put(ticket.upload_url, content=data, headers=dict(ticket.upload_headers))
        assert r.status_code == 200, r.text
    return (await call(s.archive.CompleteAttachment, apb.CompleteAttachmentRequest(
        member_id=member_id, id=ticket.attachment.id), caller)).attachment  # fmt: skip


@pytest.fixture(scope="module")
async def full(s, world, fs_store):
    """A member of 第一支部 with a record in every tab of the archive."""
    adm, ar = world["adm"], s.archive
    m = (await call(s.member.CreateMember, pb.CreateMemberRequest(
        organization_id=world["br1"].id, profile=profile(11, name="周档案")), adm)).member  # fmt: skip
    photo = await upload(s, fs_store, adm, m.id, PNG, kind=apb.ATTACHMENT_KIND_PHOTO,
                         file_name="证件照.png", content_type="image/png")  # fmt: skip
    await upload(s, fs_store, adm, m.id, PDF, kind=apb.ATTACHMENT_KIND_SCAN,
                 file_name="入党志愿书.pdf", content_type="application/pdf")  # fmt: skip
    await call(ar.CreateAttachment, apb.CreateAttachmentRequest(  # never uploaded: not listed
        member_id=m.id, kind=apb.ATTACHMENT_KIND_SCAN, file_name="未上传.pdf",
        content_type="application/pdf", size=10), adm)  # fmt: skip
    await call(ar.UpdateMemberExtension, apb.UpdateMemberExtensionRequest(
        member_id=m.id, extension=apb.MemberExtension(
            native_place="江苏南京", degree="学士", school="南京大学", major="计算机科学与技术",
            work_unit="市发展和改革委员会", position="科长", professional_title="工程师",
            party_post="支部组织委员", photo_attachment_id=photo.id)), adm)  # fmt: skip
    for fm in (
        apb.FamilyMember(name="李梅", relation="配偶", work_unit="市第一中学 教师",
                         political_status="群众", phone="13900001111"),
        apb.FamilyMember(name="周小明", relation="儿子", political_status="共青团员"),
    ):  # fmt: skip
        await call(ar.CreateFamilyMember, apb.CreateFamilyMemberRequest(
            member_id=m.id, family_member=fm), adm)  # fmt: skip
    await call(ar.CreateAward, apb.CreateAwardRequest(member_id=m.id, award=apb.Award(
        kind=apb.AWARD_KIND_PUNISHMENT, title="党内警告", decided_on="2023-03-01",
        issuing_body="区纪委", document_number="区纪〔2023〕3号", note="违反工作纪律")), adm)  # fmt: skip
    await call(ar.CreateAward, apb.CreateAwardRequest(member_id=m.id, award=apb.Award(
        kind=apb.AWARD_KIND_AWARD, title="优秀共产党员", decided_on="2021-07-01",
        issuing_body="市委", document_number="市委〔2021〕12号")), adm)  # fmt: skip
    await call(ar.CreateTravel, apb.CreateTravelRequest(member_id=m.id, travel=apb.Travel(
        destination="新加坡", departed_on="2025-05-01", returned_on="2025-05-10",
        purpose="商务考察", approval="集团党委批准")), adm)  # fmt: skip
    await call(ar.CreateHardship, apb.CreateHardshipRequest(member_id=m.id, hardship=apb.Hardship(
        kind=apb.HARDSHIP_KIND_ILLNESS, description="慢性肾病，需长期透析",
        assistance="支部每月走访", since="2024-01-01")), adm)  # fmt: skip
    for status, on, why, doc in (
        (pb.PARTY_STATUS_RETAINED, "2023-01-01", "出国学习", "党组〔2023〕1号"),
        (pb.PARTY_STATUS_RESTORED, "2024-01-01", "学成回国", ""),
    ):
        await call(ar.RecordStatusChange, apb.RecordStatusChangeRequest(
            member_id=m.id, status=status, effective_on=on, reason=why, document=doc), adm)  # fmt: skip
    lost_on = add_months(TODAY, -7).isoformat()
    for flag, active, on, dest, why in (
        (apb.MEMBER_FLAG_LOST_CONTACT, True, lost_on, "", "多次联系未果"),
        (apb.MEMBER_FLAG_LOST_CONTACT, False, TODAY.isoformat(), "", "已取得联系"),
        (apb.MEMBER_FLAG_FLOATING, True, TODAY.isoformat(), "广东省深圳市南山区", "外出务工"),
    ):
        await call(ar.RecordFlagChange, apb.RecordFlagChangeRequest(
            member_id=m.id, flag=flag, active=active, effective_on=on, destination=dest,
            reason=why), adm)  # fmt: skip
    for tag in ("退役军人", "老党员"):
        await call(ar.AddMemberTag, apb.AddMemberTagRequest(member_id=m.id, tag=tag), adm)
    return SimpleNamespace(member=m, lost_on=lost_on)


async def export(s, caller, member_id, fmt, **kw) -> tuple[tpb.TransferFileHeader, bytes]:
    return await download(s.files.ExportMemberArchive, tpb.ExportMemberArchiveRequest(
        member_id=member_id, format=fmt, exporter_label="档案员", **kw), caller)  # fmt: skip


def workbook(data: bytes) -> dict[str, list[list[str]]]:
    """{sheet title: rows of cell texts, trailing empty cells dropped}."""
    wb = load_workbook(io.BytesIO(data), read_only=True)
    out = {}
    for ws in wb.worksheets:
        rows = []
        for r in ws.iter_rows(values_only=True):
            cells = ["" if v is None else str(v) for v in r]
            while cells and cells[-1] == "":
                cells.pop()
            rows.append(cells)
        out[ws.title] = rows
    return out


def pdf_texts(data: bytes) -> str:
    """The PDF's drawn strings, one per line, in drawing order: the literal strings of the
    content streams (inflated), decoded as UTF-16BE under a CID font (reportlab's UniGB-UCS2-H
    encoding) and as Latin-1 otherwise."""
    cid_fonts = set(re.findall(rb"/Encoding /UniGB-UCS2-H /Name /(F\d+)", data))
    out, font = [], b""
    for m in re.finditer(rb"stream\r?\n(.*?)\s*endstream", data, re.S):
        body = m.group(1).strip()
        if body.endswith(b"~>"):  # reportlab's default: ASCII85, then Flate
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


def table(rows: list[list[str]], header_first: str) -> list[list[str]]:
    """The records under a sheet's header row (the one starting with `header_first`)."""
    start = next(i for i, r in enumerate(rows) if r[:1] == [header_first])
    return rows[start + 1 :]


async def test_xlsx_has_one_sheet_per_section_with_masked_contents(s, world, full, app):
    header, data = await export(s, world["adm"], full.member.id, tpb.TRANSFER_FILE_FORMAT_XLSX)
    assert header.file_name.endswith(".xlsx")
    wb = workbook(data)
    assert list(wb) == SECTIONS
    for title, rows in wb.items():  # the watermark and the member on every sheet
        assert rows[0][0].startswith("导出人：档案员（admin-") and "注意保密" in rows[0][0], title
        assert rows[1] == [f"党员档案：周档案 · {title}"]

    assert ["公民身份号码", id_number(11)[:4] + "*" * 10 + id_number(11)[-4:]] in wb["基本信息"]
    ext = {r[0]: r[1] for r in wb["扩展信息"][2:] if len(r) == 2}
    assert ext["籍贯"] == "江苏南京" and ext["毕业院校"] == "南京大学"
    assert ext["党内职务"] == "支部组织委员" and ext["照片"] == "证件照.png"

    family = wb["家庭成员"]
    assert ["姓名", "称谓", "工作单位及职务", "政治面貌", "联系电话"] in family
    assert table(family, "姓名") == [
        ["李梅", "配偶", "市第一中学 教师", "群众", "139****1111"], ["周小明", "儿子", "", "共青团员"]]  # fmt: skip
    assert table(wb["奖惩"], "类别") == [
        ["奖励", "2021-07-01", "优秀共产党员", "市委", "市委〔2021〕12号"],
        ["惩处", "2023-03-01", "（已隐藏）", "（已隐藏）", "（已隐藏）", "（已隐藏）"],
    ]  # fmt: skip
    assert ["惩处内容已隐藏，完整导出可见"] in wb["奖惩"]
    assert table(wb["出国出境"], "前往国家（地区）") == [
        ["新加坡", "2025-05-01", "2025-05-10", "商务考察", "集团党委批准"]]  # fmt: skip
    assert table(wb["困难情况"], "困难类型") == [
        ["疾病", "2024-01-01", "", "（已隐藏）", "（已隐藏）"]]  # fmt: skip
    adm = world["adm"].user_id
    assert table(wb["党籍状态记录"], "生效日期") == [
        ["2005-07-01", "正常", BASELINE_REASON, "", adm],
        ["2023-01-01", "保留", "出国学习", "党组〔2023〕1号", adm],
        ["2024-01-01", "恢复", "学成回国", "", adm],
    ]  # fmt: skip
    assert table(wb["失联与流动记录"], "类型") == [
        ["失联", "标记", full.lost_on, "", "多次联系未果", adm],
        ["失联", "解除", TODAY.isoformat(), "", "已取得联系", adm],
        ["流动", "标记", TODAY.isoformat(), "广东省深圳市南山区", "外出务工", adm],
    ]  # fmt: skip
    (tags,) = [r[1] for r in wb["标签"] if r[:1] == ["标签"]]
    assert sorted(tags.split("、")) == sorted(["老党员", "退役军人"])
    files = table(wb["附件"], "类型")
    assert [r[:4] for r in files] == [
        ["照片", "证件照.png", "image/png", f"{len(PNG)} B"],
        ["扫描件", "入党志愿书.pdf", "application/pdf", f"{len(PDF)} B"],
    ]  # fmt: skip
    everything = "\n".join("\t".join(r) for rows in wb.values() for r in rows)
    assert "未上传.pdf" not in everything and id_number(11) not in everything
    for secret in SECRETS:
        assert secret not in everything, secret

    async with app.db.unit_of_work(uuid.UUID(world["a"].id)) as uow:
        audit = (await uow.session.execute(select(AuditEntry).where(
            AuditEntry.target_id == uuid.UUID(full.member.id),
            AuditEntry.action.like("export%")))).scalars().all()  # fmt: skip
    assert [(e.action, e.fields) for e in audit] == [("export", [])]


async def test_xlsx_revealed_shows_everything_and_audits_the_fields(s, world, full, app):
    _, data = await export(s, world["sec1"], full.member.id, tpb.TRANSFER_FILE_FORMAT_XLSX,
                           reveal=True, reveal_reason="政审")  # fmt: skip
    wb = workbook(data)
    assert ["公民身份号码", id_number(11)] in wb["基本信息"]
    assert table(wb["家庭成员"], "姓名")[0][-1] == "13900001111"
    assert table(wb["奖惩"], "类别")[1] == [
        "惩处", "2023-03-01", "党内警告", "区纪委", "区纪〔2023〕3号", "违反工作纪律"]  # fmt: skip
    assert table(wb["困难情况"], "困难类型") == [
        ["疾病", "2024-01-01", "", "慢性肾病，需长期透析", "支部每月走访"]]  # fmt: skip
    assert ["个人信息", "完整信息（已审计）"] in wb["说明"]
    async with app.db.unit_of_work(uuid.UUID(world["a"].id)) as uow:
        audit = (await uow.session.execute(select(AuditEntry).where(
            AuditEntry.target_id == uuid.UUID(full.member.id),
            AuditEntry.action == "export_reveal"))).scalars().all()  # fmt: skip
    (entry,) = audit
    assert entry.actor == world["sec1"].user_id and entry.reason.startswith("政审 (")
    assert {"id_number", "mobile_phone", "family_member.phone", "award.title", "award.note",
            "hardship.description", "hardship.assistance"} <= set(entry.fields)  # fmt: skip


async def test_pdf_has_a_titled_section_each_masked_unless_revealed(s, world, full):
    header, data = await export(s, world["adm"], full.member.id, tpb.TRANSFER_FILE_FORMAT_PDF)
    assert header.content_type == "application/pdf" and data.startswith(b"%PDF-")
    lines = pdf_texts(data).splitlines()
    at = [lines.index(title) for title in SECTIONS]  # each section's title line
    assert at == sorted(at)
    shown = "\n".join(lines)
    for text in ("党员档案：周档案", "导出人：档案员", "江苏南京", "证件照.png", "李梅",
                 "139****1111", "优秀共产党员", "惩处", "（已隐藏）", "新加坡", "疾病",
                 "出国学习", "党组〔2023〕1号", "广东省深圳市南山区", "退役军人",
                 "入党志愿书.pdf"):  # fmt: skip
        assert text in shown, text
    for secret in SECRETS:
        assert secret not in shown, secret
    assert "未上传.pdf" not in shown

    _, data = await export(s, world["adm"], full.member.id, tpb.TRANSFER_FILE_FORMAT_PDF,
                           reveal=True, reveal_reason="组织审查")  # fmt: skip
    shown = pdf_texts(data)
    for secret in SECRETS:
        assert secret in shown, secret
    assert id_number(11) in shown and "（已隐藏）" not in shown


async def test_an_archive_without_records_says_so(s, world):
    adm = world["adm"]
    m = (await call(s.member.CreateMember, pb.CreateMemberRequest(
        organization_id=world["br2"].id, profile=profile(12, name="吴空白")), adm)).member  # fmt: skip
    _, data = await export(s, adm, m.id, tpb.TRANSFER_FILE_FORMAT_XLSX)
    wb = workbook(data)
    for title, header in (("家庭成员", "姓名"), ("奖惩", "类别"), ("出国出境", "前往国家（地区）"),
                          ("困难情况", "困难类型"), ("失联与流动记录", "类型"), ("附件", "类型")):  # fmt: skip
        assert table(wb[title], header) == [["无记录"]], title
    # The 党籍 history starts with the status as registered, from joining.
    assert table(wb["党籍状态记录"], "生效日期") == [
        ["2005-07-01", "正常", "党籍记录起点：登记时的状态"]
    ]
    assert ["标签", "无"] in wb["标签"]
    _, data = await export(s, adm, m.id, tpb.TRANSFER_FILE_FORMAT_PDF)
    assert pdf_texts(data).count("无记录") == 6


async def test_who_may_export_the_archive(s, world, full):
    mid = full.member.id
    err = await stream_error(s.files.ExportMemberArchive, tpb.ExportMemberArchiveRequest(
        member_id=mid), world["sec2"])  # fmt: skip
    assert err.code() == grpc.StatusCode.NOT_FOUND  # another branch's secretary
    operator = CallerContext("root", uuid.UUID(world["a"].id), frozenset({ROLE_PLATFORM_ADMIN}))
    err = await stream_error(s.files.ExportMemberArchive, tpb.ExportMemberArchiveRequest(
        member_id=mid, reveal=True, reveal_reason="核查"), operator)  # fmt: skip
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    _, data = await export(s, operator, mid, tpb.TRANSFER_FILE_FORMAT_XLSX)  # masked is fine
    assert table(workbook(data)["家庭成员"], "姓名")[0][-1] == "139****1111"
