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
from member_service.domain import member_template as tpl
from member_service.domain.profile import PERSONAL_FIELDS, Profile
from member_service.imports import OrgPaths
from member_service.models import AuditEntry
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

    def _check_reveal(self, caller: CallerContext, reveal: bool, reason: str) -> str:
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
        profile = self.directory._read_profile(member)
        return profile if reveal else self.directory._masked(profile)

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
        reason = self._check_reveal(caller, reveal, reason)
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
        reason = self._check_reveal(caller, reveal, reason)
        repos = Repositories(uow.session)
        member, _org = await self.directory._member_in_scope(repos, caller, member_id)
        profile = self._profile(member, reveal)
        orgs = OrgPaths(await TransferRepository(uow.session).org_nodes(tenant_id), None)
        now = datetime.now(UTC)
        mark = watermark_text(caller, exporter_label, now)
        sections = archive_sections(profile, orgs.name_of(member.organization_id), revealed=reveal)
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
        self._audit(repos, caller, "export", "member", member.id, reveal, reason, 1, export_id)
        stamp = now.astimezone(CHINA_TZ).strftime("%Y%m%d-%H%M%S")
        return ExportFile(
            f"党员档案-{profile.name}-{stamp}.{fmt}",
            CONTENT_TYPES[fmt],
            1,
            io.BytesIO(content),
            export_id,
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
                fields=list(PERSONAL_FIELDS) if reveal else [],
                reason=f"{reason} ({note})" if reason else note,
            )
        )


def archive_sections(
    p: Profile, organization_path: str, *, revealed: bool
) -> list[transfer_files.ArchiveSection]:
    """The archive as label/value sections: the 16 national items and the organisation."""
    cells = tpl.profile_cells(p, organization_path)
    values = {
        col.key: (v.isoformat() if hasattr(v, "isoformat") else str(v or ""))
        for col, v in zip(tpl.COLUMNS, cells, strict=True)
    }

    def rows(*keys: str) -> list[tuple[str, str]]:
        return [(tpl.BY_KEY[k].header, values[k]) for k in keys]

    note = "完整信息（已审计）" if revealed else "已脱敏"
    return [
        transfer_files.ArchiveSection(
            "基本信息",
            rows("name", "gender", "id_number", "ethnicity", "birth_date", "education"),
        ),
        transfer_files.ArchiveSection(
            "党籍信息",
            rows("category", "joined_on", "converted_on", "party_status", "organization_path"),
        ),
        transfer_files.ArchiveSection(
            "联系方式", [*rows("job_post", "mobile_phone", "landline", "home_address")]
        ),
        transfer_files.ArchiveSection(
            "失联与流动",
            rows("lost_contact", "lost_contact_since", "floating", "floating_destination"),
        ),
        transfer_files.ArchiveSection("说明", [("个人信息", note)]),
    ]
