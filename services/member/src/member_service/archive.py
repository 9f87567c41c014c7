"""Use cases of the electronic member archive (docs/adr/0009). No transport imports; raises
DomainError; never commits (the caller's unit of work does, once).

Every use case first finds the member inside the caller's tenant and data scope through
MemberDirectory (so the archive follows the same scope rules as the member itself), then works
on that member's records only. Writes add field-history rows in the same transaction.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import IntEnum
from typing import Any

from hongyun_platform.db import UnitOfWork
from hongyun_platform.errors import (
    Conflict,
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from hongyun_platform.grpc.context import CallerContext
from hongyun_platform.ids import new_id
from hongyun_platform.storage import ObjectNotFound, ObjectStore
from sqlalchemy.exc import IntegrityError

from member_service import archive_rules, archive_status
from member_service.archive_history import FieldChangeView, FieldHistory
from member_service.archive_models import (
    Attachment,
    Award,
    FamilyMember,
    FlagChange,
    Hardship,
    MemberExtension,
    MemberTag,
    StatusChange,
    Travel,
)
from member_service.archive_repository import ArchiveRepositories
from member_service.domain import masking
from member_service.domain.archive import (
    AWARD_FIELDS,
    EXTENSION_FIELDS,
    FAMILY_FIELDS,
    HARDSHIP_FIELDS,
    SNIFF_BYTES,
    TRAVEL_FIELDS,
    AttachmentKind,
    AttachmentSpec,
    AttachmentStatus,
    AwardKind,
    FlagChangeInput,
    HardshipKind,
    MemberFlag,
    award_personal_fields,
    check_enum,
    check_flag_change,
    check_upload,
    clean_text,
    diff_values,
    normalize_tag,
    status_as_of,
    validate_attachment,
    validate_award,
    validate_extension,
    validate_family_member,
    validate_hardship,
    validate_travel,
)
from member_service.domain.profile import PartyStatus
from member_service.models import Member
from member_service.repository import Repositories
from member_service.service import MANAGERS, MAY_REVEAL, MemberDirectory, parse_uuid

MAX_TAGS_PER_MEMBER = 50


# ---- sub-record kinds ----------------------------------------------------------------------


@dataclass(frozen=True)
class RecordKind:
    source: str  # name in the field history ("family_member" → "family_member.phone")
    model: type
    fields: tuple[str, ...]
    validate: Callable[..., dict[str, Any]]
    encrypted: frozenset[str] = frozenset()  # stored as <field>_enc
    personal: Callable[[Mapping[str, Any]], frozenset[str]] = lambda _v: frozenset()
    hide: bool = False  # personal values hidden (redacted) rather than masked
    enums: Mapping[str, type[IntEnum]] = field(default_factory=dict)
    not_found: str = "记录不存在 (record not found)"


FAMILY = RecordKind(
    "family_member",
    FamilyMember,
    FAMILY_FIELDS,
    validate_family_member,
    encrypted=frozenset({"phone"}),
    personal=lambda _v: frozenset({"phone"}),
    not_found="家庭成员不存在 (family member not found)",
)
AWARDS = RecordKind(
    "award",
    Award,
    AWARD_FIELDS,
    validate_award,
    encrypted=frozenset({"title", "issuing_body", "document_number", "note"}),
    personal=award_personal_fields,
    hide=True,
    enums={"kind": AwardKind},
    not_found="奖惩记录不存在 (award or punishment not found)",
)
TRAVELS = RecordKind(
    "travel",
    Travel,
    TRAVEL_FIELDS,
    validate_travel,
    not_found="出国出境记录不存在 (travel record not found)",
)
HARDSHIPS = RecordKind(
    "hardship",
    Hardship,
    HARDSHIP_FIELDS,
    validate_hardship,
    encrypted=frozenset({"description", "assistance"}),
    personal=lambda _v: frozenset({"description", "assistance"}),
    hide=True,
    enums={"kind": HardshipKind},
    not_found="困难情况记录不存在 (hardship record not found)",
)
_MASKERS = {"phone": masking.mask_phone}


@dataclass(frozen=True)
class RecordView:
    record: Any  # the ORM row (ids, timestamps)
    values: dict[str, Any]  # as shown to this caller
    revealed: bool  # personal values shown in full
    redacted: bool  # personal values hidden


@dataclass(frozen=True)
class ExtensionView:
    member_id: uuid.UUID
    values: dict[str, Any]
    version: int
    updated_at: datetime | None
    updated_by: str


@dataclass(frozen=True)
class AttachmentLimits:
    max_bytes: int
    upload_url_seconds: int
    download_url_seconds: int

    @classmethod
    def from_settings(cls, s: Any) -> AttachmentLimits:
        """From MemberSettings (attachment_max_bytes, attachment_*_url_seconds)."""
        return cls(
            s.attachment_max_bytes, s.attachment_upload_url_seconds,
            s.attachment_download_url_seconds,
        )  # fmt: skip


@dataclass(frozen=True)
class UploadTicket:
    attachment: Attachment
    url: str
    headers: dict[str, str]
    expires_at: datetime


@dataclass(frozen=True)
class CompleteResult:
    attachment: Attachment
    refusal: DomainError | None  # raise after committing the rejection


@dataclass(frozen=True)
class DownloadTicket:
    attachment: Attachment
    url: str
    expires_at: datetime


@dataclass(frozen=True)
class StatusAsOf:
    status: PartyStatus
    effective_on: date | None
    change_id: uuid.UUID | None


class MemberArchive:
    def __init__(self, directory: MemberDirectory, store: ObjectStore, limits: AttachmentLimits):
        self.directory = directory
        self.cipher = directory.cipher
        self.store = store
        self.limits = limits
        self.history = FieldHistory(directory.cipher)

    @property
    def today(self) -> date:
        return self.directory.today()

    # ---- access ----

    async def _member(
        self, uow: UnitOfWork, caller: CallerContext, member_id: str, *, for_update: bool = False
    ) -> Member:
        caller.require_role(*MANAGERS)
        member, _ = await self.directory.member_in_scope(
            Repositories(uow.session), caller, member_id, for_update=for_update
        )
        return member

    @staticmethod
    def _may_reveal(caller: CallerContext) -> None:
        if not caller.has_role(*MAY_REVEAL):
            raise PermissionDenied(
                "无权查看完整个人信息 (your role may not see personal data in full)",
                code="reveal_not_allowed",
            )

    def _audit(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        member: Member,
        action: str,
        fields: list[str],
        reason: str,
    ) -> None:
        MemberDirectory._audit(
            Repositories(uow.session), caller, member.tenant_id, action, member.id, fields, reason
        )

    # ---- sub-records: family members, awards, travels, hardships ----

    def _aad(self, kind: RecordKind, record_id: uuid.UUID, name: str) -> bytes:
        return f"{kind.model.__tablename__}:{record_id}:{name}".encode()

    def read_record(self, kind: RecordKind, obj: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in kind.fields:
            if f in kind.encrypted:
                token = getattr(obj, f"{f}_enc")
                out[f] = self.cipher.decrypt(token, aad=self._aad(kind, obj.id, f)) if token else ""
            elif f in kind.enums:
                out[f] = kind.enums[f](getattr(obj, f))
            else:
                out[f] = getattr(obj, f)
        return out

    def _write(self, kind: RecordKind, obj: Any, values: Mapping[str, Any]) -> None:
        for f in kind.fields:
            v = values.get(f)
            if f in kind.encrypted:
                token = self.cipher.encrypt(v, aad=self._aad(kind, obj.id, f)) if v else None
                setattr(obj, f"{f}_enc", token)
            elif f in kind.enums:
                setattr(obj, f, int(v or 0))
            else:
                setattr(obj, f, v)
        if kind.encrypted:
            obj.key_id = self.cipher.active_key_id

    @staticmethod
    def shown_record(
        kind: RecordKind, obj: Any, values: dict[str, Any], reveal: bool
    ) -> RecordView:
        personal = kind.personal(values)
        if not personal:
            return RecordView(obj, values, revealed=False, redacted=False)
        if reveal:
            return RecordView(obj, values, revealed=True, redacted=False)
        if kind.hide:
            hidden = any(values.get(f) for f in personal)
            return RecordView(obj, {**values, **dict.fromkeys(personal, "")}, False, hidden)
        masked = {f: _MASKERS[f](values.get(f) or "") for f in personal}
        return RecordView(obj, {**values, **masked}, revealed=False, redacted=False)

    def _record_history(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        kind: RecordKind,
        member: Member,
        record_id: uuid.UUID,
        old: Mapping[str, Any],
        new: Mapping[str, Any],
    ) -> None:
        personal = kind.personal(old) | kind.personal(new)
        self.history.record(
            uow.session,
            caller,
            tenant_id=member.tenant_id,
            member_id=member.id,
            source=kind.source,
            record_id=record_id,
            diffs=diff_values(old, new, kind.fields, prefix=f"{kind.source}."),
            personal={f"{kind.source}.{f}" for f in personal},
        )

    async def list_records(
        self,
        kind: RecordKind,
        uow: UnitOfWork,
        caller: CallerContext,
        member_id: str,
        *,
        page_size: int,
        page_token: str,
        reveal: bool = False,
        reason: str = "",
        award_kind: int = 0,
    ) -> tuple[list[RecordView], str]:
        member = await self._member(uow, caller, member_id)
        if reveal:
            self._may_reveal(caller)
        where = ()
        if award_kind:
            check_enum(award_kind, AwardKind, "kind")
            where = (Award.kind == award_kind,)
        page = (
            await ArchiveRepositories(uow.session)
            .records(kind.model)
            .page_of(
                member.tenant_id, member.id, page_size=page_size, page_token=page_token, where=where
            )
        )
        values = [(obj, self.read_record(kind, obj)) for obj in page.items]
        if reveal:
            shown = sorted(
                {f"{kind.source}.{f}" for _, v in values for f in kind.personal(v) if v.get(f)}
            )
            if shown:
                self._audit(uow, caller, member, "reveal", shown, reason)
        return [self.shown_record(kind, obj, v, reveal) for obj, v in values], page.next_token

    async def create_record(
        self, kind: RecordKind, uow: UnitOfWork, caller: CallerContext, member_id: str,
        values: Mapping[str, Any],
    ) -> RecordView:  # fmt: skip
        member = await self._member(uow, caller, member_id)
        clean = kind.validate(values, today=self.today)
        obj = kind.model(
            id=new_id(),
            tenant_id=member.tenant_id,
            member_id=member.id,
            created_by=caller.user_id,
            updated_by=caller.user_id,
        )
        self._write(kind, obj, clean)
        uow.session.add(obj)
        await uow.session.flush()
        await uow.session.refresh(obj)
        self._record_history(uow, caller, kind, member, obj.id, {}, clean)
        return self.shown_record(kind, obj, clean, reveal=False)

    async def update_record(
        self, kind: RecordKind, uow: UnitOfWork, caller: CallerContext, member_id: str,
        record_id: str, values: Mapping[str, Any], mask: Sequence[str],
    ) -> RecordView:  # fmt: skip
        member = await self._member(uow, caller, member_id)
        unknown = set(mask) - set(kind.fields)
        if not mask or unknown:
            raise InvalidArgument(
                f"update_mask 无效 (unknown or empty update mask: {sorted(unknown)})",
                field="update_mask",
            )
        obj = await self._record(kind, uow, member, record_id, for_update=True)
        old = self.read_record(kind, obj)
        clean = kind.validate({**old, **{f: values.get(f) for f in mask}}, today=self.today)
        if diff_values(old, clean, kind.fields):
            self._write(kind, obj, clean)
            obj.updated_at = datetime.now(UTC)
            obj.updated_by = caller.user_id
            await uow.session.flush()
            self._record_history(uow, caller, kind, member, obj.id, old, clean)
        return self.shown_record(kind, obj, clean, reveal=False)

    async def delete_record(
        self, kind: RecordKind, uow: UnitOfWork, caller: CallerContext, member_id: str,
        record_id: str,
    ) -> None:  # fmt: skip
        member = await self._member(uow, caller, member_id)
        obj = await self._record(kind, uow, member, record_id, for_update=True)
        old = self.read_record(kind, obj)
        await ArchiveRepositories(uow.session).records(kind.model).remove(obj)
        self._record_history(uow, caller, kind, member, obj.id, old, {})

    async def _record(
        self, kind: RecordKind, uow: UnitOfWork, member: Member, record_id: str, *,
        for_update: bool = False,
    ) -> Any:  # fmt: skip
        obj = (
            await ArchiveRepositories(uow.session)
            .records(kind.model)
            .one_of(member.tenant_id, member.id, parse_uuid(record_id, "id"), for_update=for_update)
        )
        if obj is None:
            raise NotFound(kind.not_found, code="record_not_found")
        return obj

    # ---- extended fields ----

    async def get_extension(
        self, uow: UnitOfWork, caller: CallerContext, member_id: str
    ) -> ExtensionView:
        member = await self._member(uow, caller, member_id)
        ext = await ArchiveRepositories(uow.session).extensions.of(member.tenant_id, member.id)
        return self.extension_view(member, ext)

    async def update_extension(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        member_id: str,
        values: Mapping[str, Any],
        *,
        expected_version: int,
    ) -> ExtensionView:
        member = await self._member(uow, caller, member_id)
        repos = ArchiveRepositories(uow.session)
        ext = await repos.extensions.of(member.tenant_id, member.id, for_update=True)
        version = ext.version if ext else 0
        if expected_version and expected_version != version:
            raise Conflict(
                f"扩展信息已被他人修改 (the extended fields changed: version {version})",
                code="version_conflict",
            )
        clean = validate_extension(values)
        photo = clean["photo_attachment_id"]
        if photo:
            att = await repos.attachments.one_of(
                member.tenant_id, member.id, parse_uuid(photo, "photo_attachment_id")
            )
            if (
                att is None
                or att.kind != AttachmentKind.PHOTO
                or att.status != AttachmentStatus.AVAILABLE
            ):
                raise InvalidArgument(
                    "照片须为该党员已上传完成的照片附件 (photo: an available photo attachment "
                    "of this member)",
                    code="invalid_photo",
                    field="photo_attachment_id",
                )
            clean["photo_attachment_id"] = att.id
        diffs = diff_values(self.extension_view(member, ext).values, clean, EXTENSION_FIELDS)
        if not diffs:
            return self.extension_view(member, ext)
        if ext is None:
            ext = MemberExtension(
                member_id=member.id, tenant_id=member.tenant_id, version=0,
                created_by=caller.user_id,
            )  # fmt: skip
            repos.extensions.add(ext)
        for f in EXTENSION_FIELDS:
            setattr(ext, f, clean[f])
        ext.version += 1
        ext.updated_at = datetime.now(UTC)
        ext.updated_by = caller.user_id
        await uow.session.flush()
        self.history.record(
            uow.session,
            caller,
            tenant_id=member.tenant_id,
            member_id=member.id,
            source="extension",
            diffs=diffs,
        )
        return self.extension_view(member, ext)

    @staticmethod
    def extension_view(member: Member, ext: MemberExtension | None) -> ExtensionView:
        if ext is None:
            values = {f: "" for f in EXTENSION_FIELDS} | {"photo_attachment_id": None}
            return ExtensionView(member.id, values, 0, None, "")
        values = {f: getattr(ext, f) or "" for f in EXTENSION_FIELDS}
        values["photo_attachment_id"] = ext.photo_attachment_id
        return ExtensionView(member.id, values, ext.version, ext.updated_at, ext.updated_by)

    # ---- tags ----

    async def list_tags(self, uow: UnitOfWork, caller: CallerContext, member_id: str) -> list[str]:
        member = await self._member(uow, caller, member_id)
        return await ArchiveRepositories(uow.session).tags.of(member.tenant_id, member.id)

    async def add_tag(
        self, uow: UnitOfWork, caller: CallerContext, member_id: str, tag: str
    ) -> list[str]:
        member = await self._member(uow, caller, member_id)
        tag = normalize_tag(tag)
        repos = ArchiveRepositories(uow.session)
        tags = await repos.tags.of(member.tenant_id, member.id)
        if tag in tags:
            return tags
        if len(tags) >= MAX_TAGS_PER_MEMBER:
            raise FailedPrecondition(
                f"每名党员最多 {MAX_TAGS_PER_MEMBER} 个标签 (at most {MAX_TAGS_PER_MEMBER} tags)",
                code="too_many_tags",
                field="tag",
            )
        repos.tags.add(
            MemberTag(
                id=new_id(),
                tenant_id=member.tenant_id,
                member_id=member.id,
                tag=tag,
                created_by=caller.user_id,
            )
        )
        try:
            async with uow.session.begin_nested():
                await uow.session.flush()
        except IntegrityError:  # the same tag added concurrently: the outcome is the same
            return await repos.tags.of(member.tenant_id, member.id)
        self._tag_history(uow, caller, member, "", tag)
        return sorted([*tags, tag])

    async def remove_tag(
        self, uow: UnitOfWork, caller: CallerContext, member_id: str, tag: str
    ) -> list[str]:
        member = await self._member(uow, caller, member_id)
        tag = normalize_tag(tag)
        repos = ArchiveRepositories(uow.session)
        if not await repos.tags.remove(member.tenant_id, member.id, tag):
            raise NotFound("该党员没有这个标签 (the member has no such tag)", code="tag_not_found")
        self._tag_history(uow, caller, member, tag, "")
        return await repos.tags.of(member.tenant_id, member.id)

    def _tag_history(
        self, uow: UnitOfWork, caller: CallerContext, member: Member, old: str, new: str
    ) -> None:
        self.history.record(
            uow.session,
            caller,
            tenant_id=member.tenant_id,
            member_id=member.id,
            source="tag",
            diffs=diff_values({"tag": old}, {"tag": new}, ["tag"]),
        )

    async def tenant_tags(
        self, uow: UnitOfWork, caller: CallerContext, *, prefix: str, limit: int
    ) -> list[tuple[str, int]]:
        caller.require_role(*MANAGERS)
        tenant_id = caller.require_tenant()
        if limit < 0:
            raise InvalidArgument("limit 不能为负 (limit must not be negative)", field="limit")
        prefix = clean_text(prefix, "prefix", 20)
        scope = await self.directory.scope_root(Repositories(uow.session), caller)
        return await ArchiveRepositories(uow.session).tags.counts(
            tenant_id, scope.path if scope else None, prefix=prefix, limit=min(limit or 50, 200)
        )

    # ---- 党籍 status ----

    async def list_status_changes(
        self, uow: UnitOfWork, caller: CallerContext, member_id: str
    ) -> tuple[list[StatusChange], PartyStatus]:
        member = await self._member(uow, caller, member_id)
        rows = await ArchiveRepositories(uow.session).history.status_changes(
            member.tenant_id, member.id
        )
        newest_first = sorted(
            rows, key=lambda r: (r.effective_on, r.recorded_at, r.id), reverse=True
        )
        return newest_first, PartyStatus(member.party_status)

    async def record_status_change(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        member_id: str,
        *,
        status: int,
        effective_on: date | None,
        reason: str,
        document: str,
    ) -> tuple[StatusChange, PartyStatus]:
        member = await self._member(uow, caller, member_id, for_update=True)
        new = check_enum(status, PartyStatus, "status")
        if effective_on is None:
            raise InvalidArgument(
                "effective_on: 必填 (required)", code="required", field="effective_on"
            )
        return await archive_status.record_status_change(
            uow,
            ArchiveRepositories(uow.session),
            self.history,
            caller,
            member,
            status=PartyStatus(new),
            effective_on=effective_on,
            reason=clean_text(reason, "reason", 500, required=True, multiline=True),
            document=clean_text(document, "document", 200),
            today=self.today,
        )

    async def status_as_of(
        self, uow: UnitOfWork, caller: CallerContext, member_id: str, as_of: date | None
    ) -> StatusAsOf:
        member = await self._member(uow, caller, member_id)
        day = as_of or self.today
        rows = await ArchiveRepositories(uow.session).history.status_changes(
            member.tenant_id, member.id
        )
        if not rows:  # no change yet: the registered status, from joining (or registration)
            start = member.joined_on or member.created_at.date()
            if day < start:
                return StatusAsOf(PartyStatus.UNSPECIFIED, None, None)
            return StatusAsOf(PartyStatus(member.party_status), start, None)
        found = status_as_of([archive_status.entry(r) for r in rows], day)
        if found is None:
            return StatusAsOf(PartyStatus.UNSPECIFIED, None, None)
        return StatusAsOf(found.status, found.effective_on, found.id)

    # ---- 失联 / 流动 ----

    async def list_flag_changes(
        self, uow: UnitOfWork, caller: CallerContext, member_id: str, flag: int
    ) -> tuple[list[FlagChange], archive_status.FlagsView]:
        member = await self._member(uow, caller, member_id)
        if flag:
            check_enum(flag, MemberFlag, "flag")
        repos = ArchiveRepositories(uow.session)
        rows = await repos.history.flag_changes(member.tenant_id, member.id, flag)
        return rows, await archive_status.flags_view(repos, member)

    async def record_flag_change(
        self, uow: UnitOfWork, caller: CallerContext, member_id: str, change: FlagChangeInput
    ) -> tuple[FlagChange, archive_status.FlagsView]:
        member = await self._member(uow, caller, member_id, for_update=True)
        flag = check_enum(int(change.flag), MemberFlag, "flag")
        if change.effective_on is None:
            raise InvalidArgument(
                "effective_on: 必填 (required)", code="required", field="effective_on"
            )
        threshold = await archive_rules.lost_contact_min_months(
            uow.session, member.tenant_id, self.today
        )
        checked = check_flag_change(
            change,
            currently_active=member.lost_contact
            if flag == MemberFlag.LOST_CONTACT
            else member.floating,
            today=self.today,
            lost_contact_min_months=threshold.value,
        )
        repos = ArchiveRepositories(uow.session)
        row = await archive_status.record_flag_change(
            uow, repos, self.history, caller, member, checked
        )
        return row, await archive_status.flags_view(repos, member)

    # ---- attachments ----

    async def create_attachment(
        self, uow: UnitOfWork, caller: CallerContext, member_id: str, spec: AttachmentSpec
    ) -> UploadTicket:
        member = await self._member(uow, caller, member_id)
        clean = validate_attachment(spec, max_bytes=self.limits.max_bytes)
        aid = new_id()
        att = Attachment(
            id=aid,
            tenant_id=member.tenant_id,
            member_id=member.id,
            kind=int(clean.kind),
            file_name=clean.file_name,
            content_type=clean.content_type,
            size=clean.size,
            sha256=clean.sha256,
            object_key=f"{member.tenant_id}/{member.id}/{aid}",
            status=int(AttachmentStatus.PENDING),
            reject_reason="",
            created_by=caller.user_id,
        )
        uow.session.add(att)
        await uow.session.flush()
        await uow.session.refresh(att)
        seconds = self.limits.upload_url_seconds
        url = await self.store.presigned_put_url(att.object_key, expires=seconds)
        return UploadTicket(
            att,
            url,
            {"Content-Type": att.content_type},
            datetime.now(UTC) + timedelta(seconds=seconds),
        )

    async def complete_attachment(
        self, uow: UnitOfWork, caller: CallerContext, member_id: str, attachment_id: str
    ) -> CompleteResult:
        """Checks what was uploaded. A refusal deletes the object and marks the attachment
        rejected; the caller commits that and then raises `refusal`."""
        member = await self._member(uow, caller, member_id)
        att = await self._attachment(uow, member, attachment_id, for_update=True)
        if att.status == AttachmentStatus.AVAILABLE:
            return CompleteResult(att, None)
        if att.status == AttachmentStatus.REJECTED:
            raise FailedPrecondition(
                f"附件已被拒收 (the attachment was rejected: {att.reject_reason})",
                code="attachment_rejected",
            )
        try:
            info = await self.store.stat(att.object_key)
        except ObjectNotFound:
            raise FailedPrecondition(
                "文件尚未上传 (nothing was uploaded to the upload URL yet)", code="not_uploaded"
            ) from None
        spec = AttachmentSpec(
            AttachmentKind(att.kind), att.file_name, att.content_type, att.size, att.sha256
        )
        head = b""
        if 0 < info.size <= self.limits.max_bytes:
            head = await self.store.get_object(att.object_key, (0, SNIFF_BYTES - 1))
        sha256 = info.sha256
        if spec.sha256 and not sha256 and info.size == spec.size <= self.limits.max_bytes:
            # S3 objects uploaded through a presigned URL carry no checksum: compute it.
            data = await self.store.get_object(att.object_key)
            sha256 = hashlib.sha256(data).hexdigest()
        refusal = check_upload(
            spec,
            size=info.size,
            stored_content_type=info.content_type,
            head=head,
            sha256=sha256,
            max_bytes=self.limits.max_bytes,
        )
        if refusal is not None:
            await self.store.delete(att.object_key)
            att.status = int(AttachmentStatus.REJECTED)
            att.reject_reason = refusal.code
            att.completed_at = datetime.now(UTC)
            await uow.session.flush()
            error_cls = InvalidArgument if refusal.code != "sha256_mismatch" else FailedPrecondition
            return CompleteResult(att, error_cls(refusal.message, code=refusal.code, field="file"))
        att.status = int(AttachmentStatus.AVAILABLE)
        att.sha256 = sha256 or ""
        att.completed_at = datetime.now(UTC)
        await uow.session.flush()
        self.history.record(
            uow.session,
            caller,
            tenant_id=member.tenant_id,
            member_id=member.id,
            source="attachment",
            record_id=att.id,
            diffs=diff_values({}, {"attachment": _attachment_label(att)}, ["attachment"]),
        )
        return CompleteResult(att, None)

    async def download_attachment(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        member_id: str,
        attachment_id: str,
        *,
        reason: str,
    ) -> DownloadTicket:
        member = await self._member(uow, caller, member_id)
        self._may_reveal(caller)  # scans and photos are personal data in full
        att = await self._attachment(uow, member, attachment_id)
        if att.status != AttachmentStatus.AVAILABLE:
            raise FailedPrecondition(
                "附件尚不可下载 (the attachment is not available)", code="not_available"
            )
        seconds = self.limits.download_url_seconds
        url = await self.store.presigned_get_url(att.object_key, expires=seconds)
        self._audit(uow, caller, member, "download", [f"attachment:{att.id}"], reason)
        return DownloadTicket(att, url, datetime.now(UTC) + timedelta(seconds=seconds))

    async def list_attachments(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        member_id: str,
        *,
        kind: int,
        page_size: int,
        page_token: str,
    ) -> tuple[list[Attachment], str]:
        member = await self._member(uow, caller, member_id)
        where = ()
        if kind:
            check_enum(kind, AttachmentKind, "kind")
            where = (Attachment.kind == kind,)
        page = await ArchiveRepositories(uow.session).attachments.page_of(
            member.tenant_id, member.id, page_size=page_size, page_token=page_token, where=where
        )
        return list(page.items), page.next_token

    async def delete_attachment(
        self, uow: UnitOfWork, caller: CallerContext, member_id: str, attachment_id: str
    ) -> None:
        member = await self._member(uow, caller, member_id)
        repos = ArchiveRepositories(uow.session)
        att = await self._attachment(uow, member, attachment_id, for_update=True)
        ext = await repos.extensions.of(member.tenant_id, member.id, for_update=True)
        if ext is not None and ext.photo_attachment_id == att.id:
            ext.photo_attachment_id = None
            ext.version += 1
            ext.updated_at = datetime.now(UTC)
            ext.updated_by = caller.user_id
            self.history.record(
                uow.session,
                caller,
                tenant_id=member.tenant_id,
                member_id=member.id,
                source="extension",
                diffs=diff_values({"photo_attachment_id": att.id}, {}, ["photo_attachment_id"]),
            )
            await uow.session.flush()
        was_available = att.status == AttachmentStatus.AVAILABLE
        label = _attachment_label(att)
        await repos.attachments.remove(att)
        if was_available:
            self.history.record(
                uow.session,
                caller,
                tenant_id=member.tenant_id,
                member_id=member.id,
                source="attachment",
                record_id=att.id,
                diffs=diff_values({"attachment": label}, {}, ["attachment"]),
            )
        # Last, once the row is gone in this transaction (deleting a missing object is fine).
        await self.store.delete(att.object_key)

    async def _attachment(
        self, uow: UnitOfWork, member: Member, attachment_id: str, *, for_update: bool = False
    ) -> Attachment:
        att = await ArchiveRepositories(uow.session).attachments.one_of(
            member.tenant_id, member.id, parse_uuid(attachment_id, "id"), for_update=for_update
        )
        if att is None:
            raise NotFound("附件不存在 (attachment not found)", code="attachment_not_found")
        return att

    # ---- field history ----

    async def list_history(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        member_id: str,
        *,
        page_size: int,
        page_token: str,
        reveal: bool,
        reason: str,
    ) -> tuple[list[FieldChangeView], str]:
        member = await self._member(uow, caller, member_id)
        if reveal:
            self._may_reveal(caller)
        page = await ArchiveRepositories(uow.session).history.field_changes(
            member.tenant_id, member.id, page_size=page_size, page_token=page_token
        )
        views = [self.history.view(row, reveal=reveal) for row in page.items]
        if reveal:
            shown = sorted({v.row.field for v in views if v.revealed and (v.old or v.new)})
            if shown:
                self._audit(uow, caller, member, "reveal", [f"history:{f}" for f in shown], reason)
        return views, page.next_token


def _attachment_label(att: Attachment) -> str:
    return f"{AttachmentKind(att.kind).name.lower()}: {att.file_name}"
