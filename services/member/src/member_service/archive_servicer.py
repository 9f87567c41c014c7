"""gRPC transport of the member archive: proto in, use case in one unit of work, proto out."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import asynccontextmanager

from hongyun.member.v1 import member_archive_pb2 as pb
from hongyun.member.v1 import member_archive_pb2_grpc
from hongyun_platform.db import Database
from hongyun_platform.grpc.context import ROLE_PLATFORM_ADMIN, CallerContext, current_caller

from member_service import archive_mappers as m
from member_service.archive import AWARDS, FAMILY, HARDSHIPS, TRAVELS, MemberArchive
from member_service.domain.archive import (
    AWARD_FIELDS,
    EXTENSION_FIELDS,
    FAMILY_FIELDS,
    HARDSHIP_FIELDS,
    TRAVEL_FIELDS,
    AttachmentSpec,
    FlagChangeInput,
    MemberFlag,
)
from member_service.domain.profile import parse_date


class MemberArchiveServicer(member_archive_pb2_grpc.MemberArchiveServiceServicer):
    def __init__(
        self, db: Database, archive: MemberArchive, after_commit: Callable[[], None] = lambda: None
    ):
        self.db = db
        self.archive = archive
        self.after_commit = after_commit  # wakes the outbox relay

    @asynccontextmanager
    async def _uow(self, caller: CallerContext, *, writes: bool = True):
        async with self.db.unit_of_work(
            caller.tenant_id, platform_admin=caller.has_role(ROLE_PLATFORM_ADMIN)
        ) as uow:
            yield uow
        if writes:
            self.after_commit()

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

    # ---- family members ----

    async def ListFamilyMembers(self, request: pb.ListFamilyMembersRequest, context):
        caller = current_caller()
        async with self._uow(caller, writes=request.reveal) as uow:
            views, token = await self.archive.list_records(
                FAMILY, uow, caller, request.member_id, page_size=request.page_size,
                page_token=request.page_token, reveal=request.reveal,
                reason=request.reveal_reason,
            )  # fmt: skip
        return pb.ListFamilyMembersResponse(
            family_members=[m.family_member_to_pb(v) for v in views], next_page_token=token
        )

    async def CreateFamilyMember(self, request: pb.CreateFamilyMemberRequest, context):
        caller = current_caller()
        values = m.values_from_pb(request.family_member, FAMILY_FIELDS)
        async with self._uow(caller) as uow:
            view = await self.archive.create_record(FAMILY, uow, caller, request.member_id, values)
        return pb.CreateFamilyMemberResponse(family_member=m.family_member_to_pb(view))

    async def UpdateFamilyMember(self, request: pb.UpdateFamilyMemberRequest, context):
        caller = current_caller()
        values = m.values_from_pb(request.family_member, FAMILY_FIELDS)
        async with self._uow(caller) as uow:
            view = await self.archive.update_record(
                FAMILY, uow, caller, request.member_id, request.id, values,
                list(request.update_mask),
            )  # fmt: skip
        return pb.UpdateFamilyMemberResponse(family_member=m.family_member_to_pb(view))

    async def DeleteFamilyMember(self, request: pb.DeleteFamilyMemberRequest, context):
        caller = current_caller()
        async with self._uow(caller) as uow:
            await self.archive.delete_record(FAMILY, uow, caller, request.member_id, request.id)
        return pb.DeleteFamilyMemberResponse()

    # ---- awards and punishments ----

    async def ListAwards(self, request: pb.ListAwardsRequest, context):
        caller = current_caller()
        async with self._uow(caller, writes=request.reveal) as uow:
            views, token = await self.archive.list_records(
                AWARDS, uow, caller, request.member_id, page_size=request.page_size,
                page_token=request.page_token, reveal=request.reveal,
                reason=request.reveal_reason, award_kind=request.kind,
            )  # fmt: skip
        return pb.ListAwardsResponse(
            awards=[m.award_to_pb(v) for v in views], next_page_token=token
        )

    async def CreateAward(self, request: pb.CreateAwardRequest, context):
        caller = current_caller()
        values = m.values_from_pb(request.award, AWARD_FIELDS)
        async with self._uow(caller) as uow:
            view = await self.archive.create_record(AWARDS, uow, caller, request.member_id, values)
        return pb.CreateAwardResponse(award=m.award_to_pb(view))

    async def UpdateAward(self, request: pb.UpdateAwardRequest, context):
        caller = current_caller()
        values = m.values_from_pb(request.award, AWARD_FIELDS)
        async with self._uow(caller) as uow:
            view = await self.archive.update_record(
                AWARDS, uow, caller, request.member_id, request.id, values,
                list(request.update_mask),
            )  # fmt: skip
        return pb.UpdateAwardResponse(award=m.award_to_pb(view))

    async def DeleteAward(self, request: pb.DeleteAwardRequest, context):
        caller = current_caller()
        async with self._uow(caller) as uow:
            await self.archive.delete_record(AWARDS, uow, caller, request.member_id, request.id)
        return pb.DeleteAwardResponse()

    # ---- travel abroad ----

    async def ListTravels(self, request: pb.ListTravelsRequest, context):
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            views, token = await self.archive.list_records(
                TRAVELS, uow, caller, request.member_id, page_size=request.page_size,
                page_token=request.page_token,
            )  # fmt: skip
        return pb.ListTravelsResponse(
            travels=[m.travel_to_pb(v) for v in views], next_page_token=token
        )

    async def CreateTravel(self, request: pb.CreateTravelRequest, context):
        caller = current_caller()
        values = m.values_from_pb(request.travel, TRAVEL_FIELDS)
        async with self._uow(caller) as uow:
            view = await self.archive.create_record(TRAVELS, uow, caller, request.member_id, values)
        return pb.CreateTravelResponse(travel=m.travel_to_pb(view))

    async def UpdateTravel(self, request: pb.UpdateTravelRequest, context):
        caller = current_caller()
        values = m.values_from_pb(request.travel, TRAVEL_FIELDS)
        async with self._uow(caller) as uow:
            view = await self.archive.update_record(
                TRAVELS, uow, caller, request.member_id, request.id, values,
                list(request.update_mask),
            )  # fmt: skip
        return pb.UpdateTravelResponse(travel=m.travel_to_pb(view))

    async def DeleteTravel(self, request: pb.DeleteTravelRequest, context):
        caller = current_caller()
        async with self._uow(caller) as uow:
            await self.archive.delete_record(TRAVELS, uow, caller, request.member_id, request.id)
        return pb.DeleteTravelResponse()

    # ---- hardship ----

    async def ListHardships(self, request: pb.ListHardshipsRequest, context):
        caller = current_caller()
        async with self._uow(caller, writes=request.reveal) as uow:
            views, token = await self.archive.list_records(
                HARDSHIPS, uow, caller, request.member_id, page_size=request.page_size,
                page_token=request.page_token, reveal=request.reveal,
                reason=request.reveal_reason,
            )  # fmt: skip
        return pb.ListHardshipsResponse(
            hardships=[m.hardship_to_pb(v) for v in views], next_page_token=token
        )

    async def CreateHardship(self, request: pb.CreateHardshipRequest, context):
        caller = current_caller()
        values = m.values_from_pb(request.hardship, HARDSHIP_FIELDS)
        async with self._uow(caller) as uow:
            view = await self.archive.create_record(
                HARDSHIPS, uow, caller, request.member_id, values
            )
        return pb.CreateHardshipResponse(hardship=m.hardship_to_pb(view))

    async def UpdateHardship(self, request: pb.UpdateHardshipRequest, context):
        caller = current_caller()
        values = m.values_from_pb(request.hardship, HARDSHIP_FIELDS)
        async with self._uow(caller) as uow:
            view = await self.archive.update_record(
                HARDSHIPS, uow, caller, request.member_id, request.id, values,
                list(request.update_mask),
            )  # fmt: skip
        return pb.UpdateHardshipResponse(hardship=m.hardship_to_pb(view))

    async def DeleteHardship(self, request: pb.DeleteHardshipRequest, context):
        caller = current_caller()
        async with self._uow(caller) as uow:
            await self.archive.delete_record(HARDSHIPS, uow, caller, request.member_id, request.id)
        return pb.DeleteHardshipResponse()

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
