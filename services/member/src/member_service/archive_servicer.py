"""gRPC transport of the member archive: proto in, use case in one unit of work, proto out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hongyun.member.v1 import member_archive_pb2 as pb
from hongyun.member.v1 import member_archive_pb2_grpc
from hongyun_platform.db import Database
from hongyun_platform.db.caller_uow import caller_unit_of_work
from hongyun_platform.grpc.context import CallerContext, current_caller

from member_service import archive_mappers as m
from member_service.archive import (
    AWARDS,
    FAMILY,
    HARDSHIPS,
    TRAVELS,
    MemberArchive,
    RecordKind,
    RecordView,
)
from member_service.domain.archive import (
    EXTENSION_FIELDS,
    AttachmentSpec,
    FlagChangeInput,
    MemberFlag,
)
from member_service.domain.profile import parse_date

# ---- the sub-records: one table entry each, one generic set of RPCs (docs/adr/0009) ----


@dataclass(frozen=True)
class _SubRecord:
    """A sub-record on the wire. Its RPCs are List<rpc>s, Create<rpc>, Update<rpc> and
    Delete<rpc>, each taking <RPC>Request and answering <RPC>Response."""

    kind: RecordKind  # fields, validation, encryption, masking, history: archive.py
    rpc: str
    item: str  # the record's field in the Create/Update requests and responses
    items: str  # the page's field in the List response
    to_pb: Callable[[RecordView], Any]
    reveal: bool = False  # the List request has reveal / reveal_reason (audited)
    award_kind: bool = False  # the List request filters by kind


_FAMILY = _SubRecord(
    FAMILY, "FamilyMember", "family_member", "family_members", m.family_member_to_pb, reveal=True
)
_AWARDS = _SubRecord(
    AWARDS, "Award", "award", "awards", m.award_to_pb, reveal=True, award_kind=True
)
_TRAVELS = _SubRecord(TRAVELS, "Travel", "travel", "travels", m.travel_to_pb)
_HARDSHIPS = _SubRecord(
    HARDSHIPS, "Hardship", "hardship", "hardships", m.hardship_to_pb, reveal=True
)


def _rpcs(r: _SubRecord) -> tuple[Callable[..., Any], ...]:
    """List, Create, Update and Delete of one sub-record, as servicer methods, in that order."""
    # looked up now, so a name that does not match the proto fails at import
    list_response = getattr(pb, f"List{r.rpc}sResponse")
    create_response = getattr(pb, f"Create{r.rpc}Response")
    update_response = getattr(pb, f"Update{r.rpc}Response")
    delete_response = getattr(pb, f"Delete{r.rpc}Response")

    async def list_records(self: MemberArchiveServicer, request: Any, context: Any) -> Any:
        caller = current_caller()
        options: dict[str, Any] = {}
        if r.reveal:
            options.update(reveal=request.reveal, reason=request.reveal_reason)
        if r.award_kind:
            options.update(award_kind=request.kind)
        # a reveal writes its audit entry
        async with self._uow(caller, writes=options.get("reveal", False)) as uow:
            views, token = await self.archive.list_records(
                r.kind, uow, caller, request.member_id, page_size=request.page_size,
                page_token=request.page_token, **options,
            )  # fmt: skip
        return list_response(**{r.items: [r.to_pb(v) for v in views]}, next_page_token=token)

    async def create_record(self: MemberArchiveServicer, request: Any, context: Any) -> Any:
        caller = current_caller()
        values = m.values_from_pb(getattr(request, r.item), r.kind.fields)
        async with self._uow(caller) as uow:
            view = await self.archive.create_record(r.kind, uow, caller, request.member_id, values)
        return create_response(**{r.item: r.to_pb(view)})

    async def update_record(self: MemberArchiveServicer, request: Any, context: Any) -> Any:
        caller = current_caller()
        values = m.values_from_pb(getattr(request, r.item), r.kind.fields)
        async with self._uow(caller) as uow:
            view = await self.archive.update_record(
                r.kind, uow, caller, request.member_id, request.id, values,
                list(request.update_mask),
            )  # fmt: skip
        return update_response(**{r.item: r.to_pb(view)})

    async def delete_record(self: MemberArchiveServicer, request: Any, context: Any) -> Any:
        caller = current_caller()
        async with self._uow(caller) as uow:
            await self.archive.delete_record(r.kind, uow, caller, request.member_id, request.id)
        return delete_response()

    return list_records, create_record, update_record, delete_record


class MemberArchiveServicer(member_archive_pb2_grpc.MemberArchiveServiceServicer):
    def __init__(
        self, db: Database, archive: MemberArchive, after_commit: Callable[[], None] = lambda: None
    ):
        self.db = db
        self.archive = archive
        self.after_commit = after_commit  # wakes the outbox relay

    def _uow(self, caller: CallerContext, *, writes: bool = True):
        return caller_unit_of_work(self.db, caller, self.after_commit, writes=writes)

    # ---- extended fields ----

    async def GetMemberExtension(self, request: pb.GetMemberExtensionRequest, context):
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            view = await self.archive.get_extension(uow, caller, request.member_id)
        return pb.GetMemberExtensionResponse(extension=m.extension_to_pb(view))

    async def UpdateMemberExtension(self, request: pb.UpdateMemberExtensionRequest, context):
        caller = current_caller()
        values = {f: getattr(request.extension, f) for f in EXTENSION_FIELDS}
        async with self._uow(caller) as uow:
            view = await self.archive.update_extension(
                uow, caller, request.member_id, values, expected_version=request.expected_version
            )
        return pb.UpdateMemberExtensionResponse(extension=m.extension_to_pb(view))

    # ---- family members, awards and punishments, travel abroad, hardship ----
    # The same four RPCs for each (the _SubRecord entries and _rpcs at the top of this file).

    ListFamilyMembers, CreateFamilyMember, UpdateFamilyMember, DeleteFamilyMember = _rpcs(_FAMILY)
    ListAwards, CreateAward, UpdateAward, DeleteAward = _rpcs(_AWARDS)
    ListTravels, CreateTravel, UpdateTravel, DeleteTravel = _rpcs(_TRAVELS)
    ListHardships, CreateHardship, UpdateHardship, DeleteHardship = _rpcs(_HARDSHIPS)

    # ---- tags ----

    async def ListMemberTags(self, request: pb.ListMemberTagsRequest, context):
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            tags = await self.archive.list_tags(uow, caller, request.member_id)
        return pb.ListMemberTagsResponse(tags=tags)

    async def AddMemberTag(self, request: pb.AddMemberTagRequest, context):
        caller = current_caller()
        async with self._uow(caller) as uow:
            tags = await self.archive.add_tag(uow, caller, request.member_id, request.tag)
        return pb.AddMemberTagResponse(tags=tags)

    async def RemoveMemberTag(self, request: pb.RemoveMemberTagRequest, context):
        caller = current_caller()
        async with self._uow(caller) as uow:
            tags = await self.archive.remove_tag(uow, caller, request.member_id, request.tag)
        return pb.RemoveMemberTagResponse(tags=tags)

    async def ListTenantTags(self, request: pb.ListTenantTagsRequest, context):
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            counts = await self.archive.tenant_tags(
                uow, caller, prefix=request.prefix, limit=request.limit
            )
        return pb.ListTenantTagsResponse(
            tags=[pb.TagCount(tag=t, member_count=n) for t, n in counts]
        )

    # ---- 党籍 status ----

    async def ListStatusChanges(self, request: pb.ListStatusChangesRequest, context):
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            rows, current = await self.archive.list_status_changes(uow, caller, request.member_id)
        return pb.ListStatusChangesResponse(
            changes=[m.status_change_to_pb(r) for r in rows],
            current_status=int(current),  # type: ignore[arg-type]
        )

    async def RecordStatusChange(self, request: pb.RecordStatusChangeRequest, context):
        caller = current_caller()
        effective_on = parse_date(request.effective_on, "effective_on")
        async with self._uow(caller) as uow:
            change, current = await self.archive.record_status_change(
                uow, caller, request.member_id, status=request.status,
                effective_on=effective_on, reason=request.reason, document=request.document,
            )  # fmt: skip
        return pb.RecordStatusChangeResponse(
            change=m.status_change_to_pb(change),
            current_status=int(current),  # type: ignore[arg-type]
        )

    async def GetStatusAsOf(self, request: pb.GetStatusAsOfRequest, context):
        caller = current_caller()
        as_of = parse_date(request.as_of, "as_of")
        async with self._uow(caller, writes=False) as uow:
            found = await self.archive.status_as_of(uow, caller, request.member_id, as_of)
        return pb.GetStatusAsOfResponse(
            status=int(found.status),  # type: ignore[arg-type]
            effective_on=found.effective_on.isoformat() if found.effective_on else "",
            change_id=str(found.change_id or ""),
        )

    # ---- 失联 / 流动 ----

    async def ListFlagChanges(self, request: pb.ListFlagChangesRequest, context):
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            rows, flags = await self.archive.list_flag_changes(
                uow, caller, request.member_id, request.flag
            )
        return pb.ListFlagChangesResponse(
            changes=[m.flag_change_to_pb(r) for r in rows], flags=m.flags_to_pb(flags)
        )

    async def RecordFlagChange(self, request: pb.RecordFlagChangeRequest, context):
        caller = current_caller()
        change = FlagChangeInput(
            flag=MemberFlag(request.flag) if request.flag in MemberFlag._value2member_map_
            else MemberFlag.UNSPECIFIED,
            active=request.active,
            effective_on=parse_date(request.effective_on, "effective_on"),  # type: ignore[arg-type]
            destination=request.destination,
            reason=request.reason,
        )  # fmt: skip
        async with self._uow(caller) as uow:
            row, flags = await self.archive.record_flag_change(
                uow, caller, request.member_id, change
            )
        return pb.RecordFlagChangeResponse(
            change=m.flag_change_to_pb(row), flags=m.flags_to_pb(flags)
        )

    # ---- attachments ----

    async def CreateAttachment(self, request: pb.CreateAttachmentRequest, context):
        caller = current_caller()
        spec = AttachmentSpec(
            kind=request.kind,  # type: ignore[arg-type]
            file_name=request.file_name,
            content_type=request.content_type,
            size=request.size,
            sha256=request.sha256,
        )
        async with self._uow(caller) as uow:
            ticket = await self.archive.create_attachment(uow, caller, request.member_id, spec)
        return pb.CreateAttachmentResponse(
            attachment=m.attachment_to_pb(ticket.attachment),
            upload_url=ticket.url,
            upload_headers=ticket.headers,
            upload_expires_at=m.timestamp(ticket.expires_at),
        )

    async def CompleteAttachment(self, request: pb.CompleteAttachmentRequest, context):
        caller = current_caller()
        async with self._uow(caller) as uow:
            result = await self.archive.complete_attachment(
                uow, caller, request.member_id, request.id
            )
        if result.refusal is not None:  # the rejection is committed; now tell the caller
            raise result.refusal
        return pb.CompleteAttachmentResponse(attachment=m.attachment_to_pb(result.attachment))

    async def GetAttachmentDownload(self, request: pb.GetAttachmentDownloadRequest, context):
        caller = current_caller()
        async with self._uow(caller) as uow:  # writes the audit entry
            ticket = await self.archive.download_attachment(
                uow, caller, request.member_id, request.id, reason=request.reason
            )
        return pb.GetAttachmentDownloadResponse(
            url=ticket.url,
            expires_at=m.timestamp(ticket.expires_at),
            attachment=m.attachment_to_pb(ticket.attachment),
        )

    async def ListAttachments(self, request: pb.ListAttachmentsRequest, context):
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            items, token = await self.archive.list_attachments(
                uow, caller, request.member_id, kind=request.kind,
                page_size=request.page_size, page_token=request.page_token,
            )  # fmt: skip
        return pb.ListAttachmentsResponse(
            attachments=[m.attachment_to_pb(a) for a in items], next_page_token=token
        )

    async def DeleteAttachment(self, request: pb.DeleteAttachmentRequest, context):
        caller = current_caller()
        async with self._uow(caller) as uow:
            await self.archive.delete_attachment(uow, caller, request.member_id, request.id)
        return pb.DeleteAttachmentResponse()

    # ---- field history ----

    async def ListMemberHistory(self, request: pb.ListMemberHistoryRequest, context):
        caller = current_caller()
        async with self._uow(caller, writes=request.reveal) as uow:
            views, token = await self.archive.list_history(
                uow, caller, request.member_id, page_size=request.page_size,
                page_token=request.page_token, reveal=request.reveal,
                reason=request.reveal_reason,
            )  # fmt: skip
        return pb.ListMemberHistoryResponse(
            changes=[m.field_change_to_pb(v) for v in views], next_page_token=token
        )
