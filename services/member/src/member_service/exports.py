"""Exports of personal data (docs/adr/0010): a filtered member list in the template's columns
(.xlsx / .csv) and one member's archive (.pdf / .xlsx).

Masked by default; full values only for roles that may reveal (tenant admins, secretaries inside
their scope) when asked, with a reason. Every export — masked or not — is recorded in
`member_exports` (who, filter, row count) and in the audit log, and every file carries a
watermark naming the exporter and the time. Use cases in the caller's unit of work; never commit.
"""

from __future__ import annotations

import asyncio
import io
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import IO, Any

from hongyun_platform.db import UnitOfWork
from hongyun_platform.errors import InvalidArgument, PermissionDenied
from hongyun_platform.grpc.context import CallerContext
from hongyun_platform.ids import new_id

from member_service import transfer_files
from member_service.archive import (
    AWARDS,
    FAMILY,
    HARDSHIPS,
    TRAVELS,
    AttachmentLimits,
    ExtensionView,
    MemberArchive,
    RecordKind,
    RecordView,
)
from member_service.archive_models import Attachment, FlagChange, StatusChange
from member_service.archive_repository import ArchiveRepositories
from member_service.domain import member_template as tpl
from member_service.domain.archive import (
    AttachmentKind,
    AttachmentStatus,
    AwardKind,
    HardshipKind,
    MemberFlag,
)
from member_service.domain.profile import PERSONAL_FIELDS, PartyStatus, Profile
from member_service.imports import OrgPaths
from member_service.models import AuditEntry, Member
from member_service.repository import Repositories
from member_service.service import MANAGERS, MAY_REVEAL, MemberDirectory
from member_service.transfer_models import MemberExport
from member_service.transfer_repository import TransferRepository

CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
LIST_FORMATS = ("xlsx", "csv")
ARCHIVE_FORMATS = ("pdf", "xlsx")
CONTENT_TYPES = {
    "xlsx": transfer_files.XLSX_TYPE,
    "csv": transfer_files.CSV_TYPE,
    "pdf": transfer_files.PDF_TYPE,
}


@dataclass(frozen=True)
class ArchiveRecords:
    """The archive beyond the 16 items (docs/adr/0009), as one export shows it: sub-records
    already masked or redacted unless revealed; attachments as metadata only."""

    extension: ExtensionView
    family: list[RecordView]
    awards: list[RecordView]
    travels: list[RecordView]
    hardships: list[RecordView]
    status_changes: list[StatusChange]  # oldest first; empty = never changed
    flag_changes: list[FlagChange]  # oldest first
    tags: list[str]
    attachments: list[Attachment]  # available ones
    revealed_fields: list[str]  # sub-record personal fields shown in full ("family_member.phone")


@dataclass
class ExportFile:
    file_name: str
    content_type: str
    row_count: int
    body: IO[bytes]  # positioned at the start; the caller closes it
    export_id: uuid.UUID


def watermark_text(caller: CallerContext, label: str, at: datetime) -> str:
    who = label.strip()[:60] if label and label.strip() else caller.user_id
    ident = f"{who}（{caller.user_id}）" if who != caller.user_id else who
    local = at.astimezone(CHINA_TZ)
    return f"导出人：{ident} 导出时间：{local:%Y-%m-%d %H:%M:%S} 内部资料 注意保密"


class MemberExports:
    def __init__(self, directory: MemberDirectory):
        self.directory = directory
        # The archive's own decryption, masking and redaction of sub-records, so an export
        # shows exactly what the archive API shows. Exports never touch object storage.
        self._archive = MemberArchive(directory, None, AttachmentLimits(0, 0, 0))  # type: ignore[arg-type]

    def check_reveal(self, caller: CallerContext, reveal: bool, reason: str) -> str:
        reason = (reason or "").strip()
        if not reveal:
            return reason
        if not caller.has_role(*MAY_REVEAL):
            raise PermissionDenied(
                "无权导出完整个人信息 (your role may not export personal data in full)",
                code="reveal_not_allowed",
            )
        if len(reason) < 2:
            raise InvalidArgument(
                "导出完整信息需填写理由 (a reason is required to export personal data in full)",
                code="required",
                field="reveal_reason",
            )
        return reason[:500]

    def _profile(self, member: Any, reveal: bool) -> Profile:
        profile = self.directory.read_profile(member)
        return profile if reveal else self.directory.masked_profile(profile)

    async def export_members(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        *,
        fmt: str,
        organization_id: str,
        category: int,
        party_status: int,
        reveal: bool,
        reason: str,
        exporter_label: str,
    ) -> ExportFile:
        caller.require_role(*MANAGERS)
        tenant_id = caller.require_tenant()
        fmt = fmt or "xlsx"
        if fmt not in LIST_FORMATS:
            raise InvalidArgument("导出格式应为 xlsx 或 csv (format: xlsx | csv)", field="format")
        reason = self.check_reveal(caller, reveal, reason)
        repos = Repositories(uow.session)
        transfer = TransferRepository(uow.session)
        root_path = await self.directory.subtree_path(repos, caller, organization_id)
        if root_path is None:
            root = await repos.organizations.root_of(tenant_id)
            root_path = root.path if root else None
        now = datetime.now(UTC)
        mark = watermark_text(caller, exporter_label, now)
        writer = transfer_files.MemberListWriter(fmt, mark)
        if root_path is not None:
            orgs = OrgPaths(await transfer.org_nodes(tenant_id), None)
            async for batch in transfer.members_in_subtree(
                tenant_id, root_path, category=category, party_status=party_status
            ):
                await asyncio.to_thread(self._write_batch, writer, batch, orgs, reveal)
        body = await asyncio.to_thread(writer.finish)
        filters = {
            "organization_id": organization_id or "",
            "category": category,
            "party_status": party_status,
        }
        export_id = self._record(
            uow, caller, "member_list", fmt, filters, writer.rows, reveal, reason, mark, now
        )
        self._audit(
            repos, caller, "export", "member_export", export_id, reveal, reason, writer.rows
        )
        stamp = now.astimezone(CHINA_TZ).strftime("%Y%m%d-%H%M%S")
        return ExportFile(
            f"党员名册-{stamp}.{fmt}", CONTENT_TYPES[fmt], writer.rows, body, export_id
        )

    def _write_batch(
        self,
        writer: transfer_files.MemberListWriter,
        batch: list[Any],
        orgs: OrgPaths,
        reveal: bool,
    ) -> None:
        for m in batch:
            writer.add(tpl.profile_cells(self._profile(m, reveal), orgs.name_of(m.organization_id)))

    async def export_archive(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        *,
        member_id: str,
        fmt: str,
        reveal: bool,
        reason: str,
        exporter_label: str,
    ) -> ExportFile:
        caller.require_role(*MANAGERS)
        tenant_id = caller.require_tenant()
        fmt = fmt or "pdf"
        if fmt not in ARCHIVE_FORMATS:
            raise InvalidArgument("导出格式应为 pdf 或 xlsx (format: pdf | xlsx)", field="format")
        reason = self.check_reveal(caller, reveal, reason)
        repos = Repositories(uow.session)
        member, _org = await self.directory.member_in_scope(repos, caller, member_id)
        profile = self._profile(member, reveal)
        records = await self._archive_records(uow, member, reveal)
        orgs = OrgPaths(await TransferRepository(uow.session).org_nodes(tenant_id), None)
        now = datetime.now(UTC)
        mark = watermark_text(caller, exporter_label, now)
        sections = archive_sections(
            profile, orgs.name_of(member.organization_id), records, revealed=reveal
        )
        if fmt == "pdf":
            content = await asyncio.to_thread(
                transfer_files.archive_pdf, profile.name, sections, mark
            )
        else:
            content = await asyncio.to_thread(
                transfer_files.archive_xlsx, profile.name, sections, mark
            )
        filters = {"member_id": str(member.id)}
        export_id = self._record(uow, caller, "archive", fmt, filters, 1, reveal, reason, mark, now)
        # Audited on the member itself, so the member's audit trail shows the export.
        self._audit(
            repos, caller, "export", "member", member.id, reveal, reason, 1, export_id,
            fields=[*PERSONAL_FIELDS, *records.revealed_fields],
        )  # fmt: skip
        stamp = now.astimezone(CHINA_TZ).strftime("%Y%m%d-%H%M%S")
        return ExportFile(
            f"党员档案-{profile.name}-{stamp}.{fmt}",
            CONTENT_TYPES[fmt],
            1,
            io.BytesIO(content),
            export_id,
        )

    async def _archive_records(
        self, uow: UnitOfWork, member: Member, reveal: bool
    ) -> ArchiveRecords:
        repos = ArchiveRepositories(uow.session)
        tenant_id, member_id = member.tenant_id, member.id
        revealed: set[str] = set()

        async def shown(kind: RecordKind, order: str = "") -> list[RecordView]:
            rows = await repos.records(kind.model).all_of(tenant_id, member_id)
            values = [(obj, self._archive.read_record(kind, obj)) for obj in rows]
            if reveal:
                revealed.update(
                    f"{kind.source}.{f}" for _, v in values for f in kind.personal(v) if v.get(f)
                )
            if order:  # by date, then as entered
                values.sort(key=lambda ov: (ov[1][order], ov[0].id))
            return [MemberArchive.shown_record(kind, obj, v, reveal) for obj, v in values]

        ext = await repos.extensions.of(tenant_id, member_id)
        flags = await repos.history.flag_changes(tenant_id, member_id)
        attachments = await repos.attachments.all_of(tenant_id, member_id)
        return ArchiveRecords(
            extension=MemberArchive.extension_view(member, ext),
            family=await shown(FAMILY),
            awards=await shown(AWARDS, "decided_on"),
            travels=await shown(TRAVELS, "departed_on"),
            hardships=await shown(HARDSHIPS, "since"),
            status_changes=await repos.history.status_changes(tenant_id, member_id),
            flag_changes=sorted(flags, key=lambda r: (r.effective_on, r.recorded_at, r.id)),
            tags=await repos.tags.of(tenant_id, member_id),
            attachments=[a for a in attachments if a.status == AttachmentStatus.AVAILABLE],
            revealed_fields=sorted(revealed),
        )

    @staticmethod
    def _record(
        uow: UnitOfWork,
        caller: CallerContext,
        kind: str,
        fmt: str,
        filters: dict[str, Any],
        rows: int,
        reveal: bool,
        reason: str,
        mark: str,
        at: datetime,
    ) -> uuid.UUID:
        export = MemberExport(
            id=new_id(),
            tenant_id=caller.require_tenant(),
            actor=caller.user_id,
            actor_roles=sorted(caller.roles),
            kind=kind,
            file_format=fmt,
            filters=filters,
            row_count=rows,
            revealed=reveal,
            reason=reason,
            watermark=mark,
            at=at,
        )
        TransferRepository(uow.session).add_export(export)
        return export.id

    @staticmethod
    def _audit(
        repos: Repositories,
        caller: CallerContext,
        action: str,
        target_type: str,
        target_id: uuid.UUID,
        reveal: bool,
        reason: str,
        rows: int,
        export_id: uuid.UUID | None = None,
        *,
        fields: list[str] | None = None,
    ) -> None:
        note = f"rows={rows}" + (f"; export={export_id}" if export_id else "")
        repos.audit.add(
            AuditEntry(
                id=new_id(),
                tenant_id=caller.require_tenant(),
                actor=caller.user_id,
                actor_roles=sorted(caller.roles),
                action=f"{action}_reveal" if reveal else action,
                target_type=target_type,
                target_id=target_id,
                fields=(fields or list(PERSONAL_FIELDS)) if reveal else [],
                reason=f"{reason} ({note})" if reason else note,
            )
        )


# ---- the archive's sections ----

HIDDEN_TEXT = "（已隐藏）"  # a redacted value: punishment content, hardship details
AWARD_KINDS = {AwardKind.AWARD: "奖励", AwardKind.PUNISHMENT: "惩处"}
HARDSHIP_KINDS = {
    HardshipKind.LIVING: "生活困难", HardshipKind.ILLNESS: "疾病", HardshipKind.DISABILITY: "残疾",
    HardshipKind.UNEMPLOYMENT: "失业", HardshipKind.DISASTER: "受灾", HardshipKind.OTHER: "其他",
}  # fmt: skip
ATTACHMENT_KINDS = {AttachmentKind.PHOTO: "照片", AttachmentKind.SCAN: "扫描件"}
FLAG_NAMES = {MemberFlag.LOST_CONTACT: "失联", MemberFlag.FLOATING: "流动"}
EXTENSION_LABELS = {
    "native_place": "籍贯", "degree": "学位", "school": "毕业院校", "major": "专业",
    "work_unit": "工作单位", "position": "职务", "professional_title": "职称",
    "party_post": "党内职务",
}  # fmt: skip
# (field, column header) of each record kind, in the order of the national system's tabs.
FAMILY_COLUMNS = (
    ("name", "姓名"), ("relation", "称谓"), ("work_unit", "工作单位及职务"),
    ("political_status", "政治面貌"), ("phone", "联系电话"),
)  # fmt: skip
AWARD_COLUMNS = (
    ("kind", "类别"), ("decided_on", "决定日期"), ("title", "奖惩名称"),
    ("issuing_body", "批准机关"), ("document_number", "文号"), ("note", "备注"),
)  # fmt: skip
TRAVEL_COLUMNS = (
    ("destination", "前往国家（地区）"), ("departed_on", "出境日期"),
    ("returned_on", "回国（入境）日期"), ("purpose", "事由"), ("approval", "审批情况"),
)  # fmt: skip
HARDSHIP_COLUMNS = (
    ("kind", "困难类型"), ("since", "开始日期"), ("resolved_on", "解决日期"),
    ("description", "困难情况"), ("assistance", "帮扶情况"),
)  # fmt: skip
STATUS_COLUMNS = ("生效日期", "党籍状态", "原因", "依据文件", "登记人")
FLAG_COLUMNS = ("类型", "变更", "生效日期", "外出流向", "原因", "登记人")
ATTACHMENT_COLUMNS = ("类型", "文件名", "文件格式", "大小", "上传完成时间")
BASELINE_TEXT = "党籍记录起点：登记时的状态"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return f"{value.astimezone(CHINA_TZ):%Y-%m-%d %H:%M}"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _record_cells(
    kind: RecordKind, view: RecordView, columns: tuple[tuple[str, str], ...],
    labels: dict[str, dict[Any, str]],
) -> list[str]:  # fmt: skip
    """One record's cells as the archive API shows them: masked values as they are, redacted
    ones marked hidden (the record's kind and dates stay visible)."""
    hidden = kind.personal(view.values) if view.redacted else frozenset()
    cells = []
    for f, _ in columns:
        value = view.values.get(f)
        if f in hidden:
            cells.append(HIDDEN_TEXT)
        elif f in labels:
            cells.append(labels[f].get(value, ""))
        else:
            cells.append(_text(value))
    return cells


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / 1024 / 1024:.1f} MB"


def _table(
    title: str, kind: RecordKind, views: list[RecordView], columns: tuple[tuple[str, str], ...],
    *, labels: dict[str, dict[Any, str]] | None = None, note: str = "",
) -> transfer_files.ArchiveSection:  # fmt: skip
    return transfer_files.ArchiveSection(
        title,
        columns=[header for _, header in columns],
        records=[_record_cells(kind, v, columns, labels or {}) for v in views],
        note=note,
    )


def archive_sections(
    p: Profile, organization_path: str, records: ArchiveRecords, *, revealed: bool
) -> list[transfer_files.ArchiveSection]:
    """The archive as titled sections: the 16 national items and the organisation, then the
    tabs of the national system (扩展信息, 家庭成员, 奖惩, 出国出境, 困难情况), the 党籍 and
    失联/流动 histories, tags and the list of attachments (metadata only)."""
    cells = tpl.profile_cells(p, organization_path)
    values = {
        col.key: (v.isoformat() if hasattr(v, "isoformat") else str(v or ""))
        for col, v in zip(tpl.COLUMNS, cells, strict=True)
    }

    def rows(*keys: str) -> list[tuple[str, str]]:
        return [(tpl.BY_KEY[k].header, values[k]) for k in keys]

    ext = records.extension.values
    photo = next(
        (a.file_name for a in records.attachments if a.id == ext.get("photo_attachment_id")), ""
    )
    status_rows = [
        [_text(r.effective_on), tpl.PARTY_STATUS_LABELS.get(PartyStatus(r.status), ""),
         r.reason, r.document, r.recorded_by]
        for r in records.status_changes
    ] or [  # never changed: the status as registered, from joining
        [values["joined_on"], values["party_status"], BASELINE_TEXT, "", ""]
    ]  # fmt: skip
    flag_rows = [
        [FLAG_NAMES.get(MemberFlag(r.flag), ""), "标记" if r.active else "解除",
         _text(r.effective_on), r.destination, r.reason, r.recorded_by]
        for r in records.flag_changes
    ]  # fmt: skip
    attachment_rows = [
        [ATTACHMENT_KINDS.get(AttachmentKind(a.kind), ""), a.file_name, a.content_type,
         _size(a.size), _text(a.completed_at)]
        for a in records.attachments
    ]  # fmt: skip
    masked_note = "" if revealed else "联系电话已脱敏"
    hidden_note = "" if revealed else "惩处内容已隐藏，完整导出可见"
    hardship_note = "" if revealed else "困难情况与帮扶情况已隐藏，完整导出可见"
    if revealed:
        note = "完整信息（已审计）"
    else:
        note = "已脱敏：身份证号、电话、住址、家庭成员电话；已隐藏：惩处内容、困难情况"
    S = transfer_files.ArchiveSection
    return [
        S("基本信息", rows("name", "gender", "id_number", "ethnicity", "birth_date", "education")),
        S("党籍信息", rows("category", "joined_on", "converted_on", "party_status",
                           "organization_path")),
        S("联系方式", rows("job_post", "mobile_phone", "landline", "home_address")),
        S("失联与流动", rows("lost_contact", "lost_contact_since", "floating",
                             "floating_destination")),
        S("扩展信息", [*((label, str(ext.get(f) or "")) for f, label in EXTENSION_LABELS.items()),
                       ("照片", photo)]),
        _table("家庭成员", FAMILY, records.family, FAMILY_COLUMNS,
               note=masked_note if records.family else ""),
        _table("奖惩", AWARDS, records.awards, AWARD_COLUMNS, labels={"kind": AWARD_KINDS},
               note=hidden_note if any(v.redacted for v in records.awards) else ""),
        _table("出国出境", TRAVELS, records.travels, TRAVEL_COLUMNS),
        _table("困难情况", HARDSHIPS, records.hardships, HARDSHIP_COLUMNS,
               labels={"kind": HARDSHIP_KINDS},
               note=hardship_note if any(v.redacted for v in records.hardships) else ""),
        S("党籍状态记录", columns=STATUS_COLUMNS, records=status_rows),
        S("失联与流动记录", columns=FLAG_COLUMNS, records=flag_rows),
        S("标签", [("标签", "、".join(records.tags) or "无")]),
        S("附件", columns=ATTACHMENT_COLUMNS, records=attachment_rows,
          note="仅列出已上传的文件信息，文件本身不随档案导出，请在系统中查看（下载留痕）"),
        S("说明", [("个人信息", note)]),
    ]  # fmt: skip
