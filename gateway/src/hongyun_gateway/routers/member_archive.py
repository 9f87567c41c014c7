"""/api/v1/members/{member_id}/… — 党员电子档案 (the electronic member archive).

Extended fields, family members, awards and punishments, travel abroad, hardship, tags, 党籍
status history, 失联/流动 flags, attachments (bytes through presigned URLs, never through the
API) and the field history. Sensitive values come back masked or redacted; ``?reveal=true&
reason=…`` shows them in full to tenant admins and secretaries and writes an audit entry.
A member outside your tenant or data scope is 404, as are records of another member.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import grpc
from fastapi import APIRouter, Depends, Header, Query, Response, status
from hongyun.member.v1 import member_archive_pb2 as apb

from hongyun_gateway import enums
from hongyun_gateway.auth import TenantCaller
from hongyun_gateway.enums import PartyStatus
from hongyun_gateway.pagination import PageParams, encode_cursor, page_params
from hongyun_gateway.problems import (
    ERROR_CODE_METADATA,
    ProblemError,
    metadata_value,
    problem_from_rpc_error,
    problem_responses,
    validation_problem,
)
from hongyun_gateway.routers.members import parse_if_match
from hongyun_gateway.schemas import member_archive as s
from hongyun_gateway.schemas.common import IsoDate, timestamp
from hongyun_gateway.state import Members

router = APIRouter(prefix="/api/v1/members/{member_id}", tags=["member archive 党员电子档案"])
tags_router = APIRouter(prefix="/api/v1/member-tags", tags=["member archive 党员电子档案"])

_PRIVATE = {"Cache-Control": "no-store, private"}
_READ = problem_responses(400, 401, 403, 404, 422, 503)
_WRITE = problem_responses(400, 401, 403, 404, 409, 422, 503)

Reveal = Annotated[bool, Query(description="显示完整信息 show sensitive values (audited)")]
Reason = Annotated[
    str | None, Query(max_length=200, description="查看理由 why (required with reveal)")
]


def _reveal_reason(reveal: bool, reason: str | None) -> str:
    reason = (reason or "").strip()
    if reveal and len(reason) < 2:
        raise validation_problem(
            [
                {
                    "field": "reason",
                    "message": "查看完整信息需填写理由 (reveal needs a reason)",
                    "reason": "required",
                }
            ]
        )
    return reason if reveal else ""


async def _rpc(members: Members, caller: Any, rpc: str, req: Any) -> Any:
    return await members.archive(caller, rpc, req)


def _private(response: Response) -> None:
    response.headers.update(_PRIVATE)


# ---- extended fields ----


@router.get(
    "/ext",
    response_model=s.ExtensionRead,
    summary="扩展信息 Get the extended fields (籍贯, 学位, 工作单位, 职务, 党内职务, 照片 …)",
    responses=_READ,
)
async def get_extension(
    member_id: uuid.UUID, caller: TenantCaller, members: Members, response: Response
) -> s.ExtensionRead:
    resp = await _rpc(
        members,
        caller,
        "GetMemberExtension",
        apb.GetMemberExtensionRequest(member_id=str(member_id)),
    )
    response.headers["ETag"] = f'"{resp.extension.version}"'
    _private(response)
    return s.ExtensionRead.from_proto(resp.extension)


@router.put(
    "/ext",
    response_model=s.ExtensionRead,
    summary="保存扩展信息 Replace the extended fields (optional If-Match: the ETag you read)",
    responses=problem_responses(400, 401, 403, 404, 409, 412, 422, 503),
)
async def put_extension(
    member_id: uuid.UUID,
    body: s.ExtensionWrite,
    caller: TenantCaller,
    members: Members,
    response: Response,
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
) -> s.ExtensionRead:
    expected = parse_if_match(if_match) if if_match is not None else 0
    try:
        resp = await _rpc(
            members, caller, "UpdateMemberExtension", body.to_proto(member_id, expected)
        )
    except grpc.aio.AioRpcError as exc:
        code = metadata_value(exc.trailing_metadata(), ERROR_CODE_METADATA)
        if code == "version_conflict":
            raise ProblemError(
                412,
                "version_conflict",
                "扩展信息已被他人修改，请刷新后重试 (changed since you read it; reload and retry)",
            ) from exc
        raise problem_from_rpc_error(exc) from exc
    response.headers["ETag"] = f'"{resp.extension.version}"'
    _private(response)
    return s.ExtensionRead.from_proto(resp.extension)


# ---- family members, awards, travels, hardships (one pattern) ----


@router.get(
    "/family-members",
    response_model=s.FamilyMemberPage,
    summary="家庭成员列表 List family members (phones masked unless revealed)",
    responses=_READ,
)
async def list_family_members(
    member_id: uuid.UUID,
    caller: TenantCaller,
    members: Members,
    response: Response,
    page: Annotated[PageParams, Depends(page_params)],
    reveal: Reveal = False,
    reason: Reason = None,
) -> s.FamilyMemberPage:
    why = _reveal_reason(reveal, reason)
    resp = await _rpc(members, caller, "ListFamilyMembers", apb.ListFamilyMembersRequest(
        member_id=str(member_id), page_size=page.limit, page_token=page.page_token,
        reveal=reveal, reveal_reason=why))  # fmt: skip
    _private(response)
    return s.FamilyMemberPage(
        items=[s.FamilyMemberRead.from_proto(f) for f in resp.family_members],
        next_cursor=encode_cursor(resp.next_page_token),
    )


@router.post(
    "/family-members",
    status_code=status.HTTP_201_CREATED,
    response_model=s.FamilyMemberRead,
    summary="新增家庭成员 Add a family member",
    responses=_WRITE,
)
async def create_family_member(
    member_id: uuid.UUID, body: s.FamilyMemberCreate, caller: TenantCaller, members: Members,
    response: Response,
) -> s.FamilyMemberRead:  # fmt: skip
    resp = await _rpc(members, caller, "CreateFamilyMember", body.to_proto(member_id))
    response.headers["Location"] = (
        f"/api/v1/members/{member_id}/family-members/{resp.family_member.id}"
    )
    _private(response)
    return s.FamilyMemberRead.from_proto(resp.family_member)


@router.patch(
    "/family-members/{record_id}",
    response_model=s.FamilyMemberRead,
    summary="修改家庭成员 Update a family member (fields present change; null clears)",
    responses=_WRITE,
)
async def update_family_member(
    member_id: uuid.UUID, record_id: uuid.UUID, body: s.FamilyMemberUpdate,
    caller: TenantCaller, members: Members, response: Response,
) -> s.FamilyMemberRead:  # fmt: skip
    _nonempty(body)
    resp = await _rpc(members, caller, "UpdateFamilyMember", body.to_proto(member_id, record_id))
    _private(response)
    return s.FamilyMemberRead.from_proto(resp.family_member)


@router.delete(
    "/family-members/{record_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="删除家庭成员 Delete a family member",
    responses=_READ,
)
async def delete_family_member(
    member_id: uuid.UUID, record_id: uuid.UUID, caller: TenantCaller, members: Members
) -> Response:
    await _rpc(members, caller, "DeleteFamilyMember", apb.DeleteFamilyMemberRequest(
        member_id=str(member_id), id=str(record_id)))  # fmt: skip
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/awards",
    response_model=s.AwardPage,
    summary="奖惩列表 List awards and punishments (punishments redacted unless revealed)",
    responses=_READ,
)
async def list_awards(
    member_id: uuid.UUID,
    caller: TenantCaller,
    members: Members,
    response: Response,
    page: Annotated[PageParams, Depends(page_params)],
    kind: Annotated[s.AwardKind | None, Query(description="award 奖励 | punishment 惩处")] = None,
    reveal: Reveal = False,
    reason: Reason = None,
) -> s.AwardPage:
    why = _reveal_reason(reveal, reason)
    resp = await _rpc(members, caller, "ListAwards", apb.ListAwardsRequest(
        member_id=str(member_id), page_size=page.limit, page_token=page.page_token,
        kind=s.to_proto(kind), reveal=reveal, reveal_reason=why))  # fmt: skip
    _private(response)
    return s.AwardPage(
        items=[s.AwardRead.from_proto(a) for a in resp.awards],
        next_cursor=encode_cursor(resp.next_page_token),
    )


@router.post(
    "/awards",
    status_code=status.HTTP_201_CREATED,
    response_model=s.AwardRead,
    summary="新增奖惩 Add an award or a punishment",
    responses=_WRITE,
)
async def create_award(
    member_id: uuid.UUID, body: s.AwardCreate, caller: TenantCaller, members: Members,
    response: Response,
) -> s.AwardRead:  # fmt: skip
    resp = await _rpc(members, caller, "CreateAward", body.to_proto(member_id))
    response.headers["Location"] = f"/api/v1/members/{member_id}/awards/{resp.award.id}"
    _private(response)
    return s.AwardRead.from_proto(resp.award)


@router.patch(
    "/awards/{record_id}",
    response_model=s.AwardRead,
    summary="修改奖惩 Update an award or a punishment",
    responses=_WRITE,
)
async def update_award(
    member_id: uuid.UUID, record_id: uuid.UUID, body: s.AwardUpdate, caller: TenantCaller,
    members: Members, response: Response,
) -> s.AwardRead:  # fmt: skip
    _nonempty(body)
    resp = await _rpc(members, caller, "UpdateAward", body.to_proto(member_id, record_id))
    _private(response)
    return s.AwardRead.from_proto(resp.award)


@router.delete(
    "/awards/{record_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="删除奖惩 Delete an award or a punishment",
    responses=_READ,
)
async def delete_award(
    member_id: uuid.UUID, record_id: uuid.UUID, caller: TenantCaller, members: Members
) -> Response:
    await _rpc(members, caller, "DeleteAward", apb.DeleteAwardRequest(
        member_id=str(member_id), id=str(record_id)))  # fmt: skip
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/travels",
    response_model=s.TravelPage,
    summary="出国出境记录 List travel abroad",
    responses=_READ,
)
async def list_travels(
    member_id: uuid.UUID,
    caller: TenantCaller,
    members: Members,
    response: Response,
    page: Annotated[PageParams, Depends(page_params)],
) -> s.TravelPage:
    resp = await _rpc(members, caller, "ListTravels", apb.ListTravelsRequest(
        member_id=str(member_id), page_size=page.limit, page_token=page.page_token))  # fmt: skip
    _private(response)
    return s.TravelPage(
        items=[s.TravelRead.from_proto(t) for t in resp.travels],
        next_cursor=encode_cursor(resp.next_page_token),
    )


@router.post(
    "/travels",
    status_code=status.HTTP_201_CREATED,
    response_model=s.TravelRead,
    summary="新增出国出境记录 Add a travel abroad",
    responses=_WRITE,
)
async def create_travel(
    member_id: uuid.UUID, body: s.TravelCreate, caller: TenantCaller, members: Members,
    response: Response,
) -> s.TravelRead:  # fmt: skip
    resp = await _rpc(members, caller, "CreateTravel", body.to_proto(member_id))
    response.headers["Location"] = f"/api/v1/members/{member_id}/travels/{resp.travel.id}"
    _private(response)
    return s.TravelRead.from_proto(resp.travel)


@router.patch(
    "/travels/{record_id}",
    response_model=s.TravelRead,
    summary="修改出国出境记录 Update a travel abroad",
    responses=_WRITE,
)
async def update_travel(
    member_id: uuid.UUID, record_id: uuid.UUID, body: s.TravelUpdate, caller: TenantCaller,
    members: Members, response: Response,
) -> s.TravelRead:  # fmt: skip
    _nonempty(body)
    resp = await _rpc(members, caller, "UpdateTravel", body.to_proto(member_id, record_id))
    _private(response)
    return s.TravelRead.from_proto(resp.travel)


@router.delete(
    "/travels/{record_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="删除出国出境记录 Delete a travel abroad",
    responses=_READ,
)
async def delete_travel(
    member_id: uuid.UUID, record_id: uuid.UUID, caller: TenantCaller, members: Members
) -> Response:
    await _rpc(members, caller, "DeleteTravel", apb.DeleteTravelRequest(
        member_id=str(member_id), id=str(record_id)))  # fmt: skip
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/hardships",
    response_model=s.HardshipPage,
    summary="困难情况 List hardship (details redacted unless revealed)",
    responses=_READ,
)
async def list_hardships(
    member_id: uuid.UUID,
    caller: TenantCaller,
    members: Members,
    response: Response,
    page: Annotated[PageParams, Depends(page_params)],
    reveal: Reveal = False,
    reason: Reason = None,
) -> s.HardshipPage:
    why = _reveal_reason(reveal, reason)
    resp = await _rpc(members, caller, "ListHardships", apb.ListHardshipsRequest(
        member_id=str(member_id), page_size=page.limit, page_token=page.page_token,
        reveal=reveal, reveal_reason=why))  # fmt: skip
    _private(response)
    return s.HardshipPage(
        items=[s.HardshipRead.from_proto(h) for h in resp.hardships],
        next_cursor=encode_cursor(resp.next_page_token),
    )


@router.post(
    "/hardships",
    status_code=status.HTTP_201_CREATED,
    response_model=s.HardshipRead,
    summary="新增困难情况 Add a hardship",
    responses=_WRITE,
)
async def create_hardship(
    member_id: uuid.UUID, body: s.HardshipCreate, caller: TenantCaller, members: Members,
    response: Response,
) -> s.HardshipRead:  # fmt: skip
    resp = await _rpc(members, caller, "CreateHardship", body.to_proto(member_id))
    response.headers["Location"] = f"/api/v1/members/{member_id}/hardships/{resp.hardship.id}"
    _private(response)
    return s.HardshipRead.from_proto(resp.hardship)


@router.patch(
    "/hardships/{record_id}",
    response_model=s.HardshipRead,
    summary="修改困难情况 Update a hardship",
    responses=_WRITE,
)
async def update_hardship(
    member_id: uuid.UUID, record_id: uuid.UUID, body: s.HardshipUpdate, caller: TenantCaller,
    members: Members, response: Response,
) -> s.HardshipRead:  # fmt: skip
    _nonempty(body)
    resp = await _rpc(members, caller, "UpdateHardship", body.to_proto(member_id, record_id))
    _private(response)
    return s.HardshipRead.from_proto(resp.hardship)


@router.delete(
    "/hardships/{record_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="删除困难情况 Delete a hardship",
    responses=_READ,
)
async def delete_hardship(
    member_id: uuid.UUID, record_id: uuid.UUID, caller: TenantCaller, members: Members
) -> Response:
    await _rpc(members, caller, "DeleteHardship", apb.DeleteHardshipRequest(
        member_id=str(member_id), id=str(record_id)))  # fmt: skip
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _nonempty(body: Any) -> None:
    if not body.changed_fields():
        raise validation_problem(
            [{"field": "body", "message": "没有要修改的字段 (no fields to change)",
              "reason": "empty"}]
        )  # fmt: skip


# ---- tags ----


@router.get("/tags", response_model=s.TagList, summary="标签 The member's tags", responses=_READ)
async def list_tags(member_id: uuid.UUID, caller: TenantCaller, members: Members) -> s.TagList:
    resp = await _rpc(
        members, caller, "ListMemberTags", apb.ListMemberTagsRequest(member_id=str(member_id))
    )
    return s.TagList(tags=list(resp.tags))


@router.post(
    "/tags",
    response_model=s.TagList,
    summary="添加标签 Tag the member (a present tag is a no-op)",
    responses=_WRITE,
)
async def add_tag(
    member_id: uuid.UUID, body: s.TagAdd, caller: TenantCaller, members: Members
) -> s.TagList:
    resp = await _rpc(members, caller, "AddMemberTag", apb.AddMemberTagRequest(
        member_id=str(member_id), tag=body.tag))  # fmt: skip
    return s.TagList(tags=list(resp.tags))


@router.delete(
    "/tags/{tag}",
    response_model=s.TagList,
    summary="移除标签 Remove a tag from the member",
    responses=_READ,
)
async def remove_tag(
    member_id: uuid.UUID, tag: str, caller: TenantCaller, members: Members
) -> s.TagList:
    resp = await _rpc(members, caller, "RemoveMemberTag", apb.RemoveMemberTagRequest(
        member_id=str(member_id), tag=tag))  # fmt: skip
    return s.TagList(tags=list(resp.tags))


@tags_router.get(
    "",
    response_model=s.TagCountList,
    summary="标签统计 Tags in use in your data scope, most used first",
    responses=_READ,
)
async def tenant_tags(
    caller: TenantCaller,
    members: Members,
    prefix: Annotated[str | None, Query(max_length=20, description="开头 starts with")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> s.TagCountList:
    resp = await _rpc(
        members,
        caller,
        "ListTenantTags",
        apb.ListTenantTagsRequest(prefix=prefix or "", limit=limit),
    )
    return s.TagCountList(
        items=[s.TagCount(tag=t.tag, member_count=t.member_count) for t in resp.tags]
    )


# ---- 党籍 status ----


@router.get(
    "/status-history",
    response_model=s.StatusHistory,
    summary="党籍变更记录 The 党籍 status history and the current status",
    responses=_READ,
)
async def status_history(
    member_id: uuid.UUID, caller: TenantCaller, members: Members
) -> s.StatusHistory:
    resp = await _rpc(members, caller, "ListStatusChanges", apb.ListStatusChangesRequest(
        member_id=str(member_id)))  # fmt: skip
    return s.StatusHistory(
        current_status=enums.from_proto(PartyStatus, resp.current_status),
        items=[s.StatusChangeRead.from_proto(c) for c in resp.changes],
    )


@router.post(
    "/status-history",
    status_code=status.HTTP_201_CREATED,
    response_model=s.StatusChangeRecorded,
    summary="党籍变更 Record a 党籍 status change (保留/恢复/停止/开除/死亡)",
    responses=_WRITE,
)
async def record_status_change(
    member_id: uuid.UUID, body: s.StatusChangeCreate, caller: TenantCaller, members: Members
) -> s.StatusChangeRecorded:
    resp = await _rpc(members, caller, "RecordStatusChange", body.to_proto(member_id))
    return s.StatusChangeRecorded(
        change=s.StatusChangeRead.from_proto(resp.change),
        current_status=enums.from_proto(PartyStatus, resp.current_status),
    )


@router.get(
    "/status",
    response_model=s.StatusAsOfRead,
    summary="某日党籍状态 The 党籍 status in effect on a date (default today)",
    responses=_READ,
)
async def status_as_of(
    member_id: uuid.UUID,
    caller: TenantCaller,
    members: Members,
    as_of: Annotated[IsoDate | None, Query(description="YYYY-MM-DD")] = None,
) -> s.StatusAsOfRead:
    resp = await _rpc(members, caller, "GetStatusAsOf", apb.GetStatusAsOfRequest(
        member_id=str(member_id), as_of=as_of.isoformat() if as_of else ""))  # fmt: skip
    return s.StatusAsOfRead.from_proto(resp)


# ---- 失联 / 流动 ----


@router.get(
    "/flags",
    response_model=s.FlagHistory,
    summary="失联/流动 The flags and their history",
    responses=_READ,
)
async def flag_history(
    member_id: uuid.UUID,
    caller: TenantCaller,
    members: Members,
    flag: Annotated[s.MemberFlag | None, Query()] = None,
) -> s.FlagHistory:
    resp = await _rpc(members, caller, "ListFlagChanges", apb.ListFlagChangesRequest(
        member_id=str(member_id), flag=s.to_proto(flag)))  # fmt: skip
    return s.FlagHistory(
        flags=s.FlagsRead.from_proto(resp.flags),
        items=[s.FlagChangeRead.from_proto(c) for c in resp.changes],
    )


@router.post(
    "/flags",
    status_code=status.HTTP_201_CREATED,
    response_model=s.FlagChangeRecorded,
    summary="标记失联/流动 Set or clear 失联 (lost contact) or 流动 (floating)",
    responses=_WRITE,
)
async def record_flag_change(
    member_id: uuid.UUID, body: s.FlagChangeCreate, caller: TenantCaller, members: Members
) -> s.FlagChangeRecorded:
    resp = await _rpc(members, caller, "RecordFlagChange", body.to_proto(member_id))
    return s.FlagChangeRecorded(
        change=s.FlagChangeRead.from_proto(resp.change), flags=s.FlagsRead.from_proto(resp.flags)
    )


# ---- attachments ----


@router.get(
    "/attachments",
    response_model=s.AttachmentPage,
    summary="附件列表 List attachments",
    responses=_READ,
)
async def list_attachments(
    member_id: uuid.UUID,
    caller: TenantCaller,
    members: Members,
    page: Annotated[PageParams, Depends(page_params)],
    kind: Annotated[s.AttachmentKind | None, Query()] = None,
) -> s.AttachmentPage:
    resp = await _rpc(members, caller, "ListAttachments", apb.ListAttachmentsRequest(
        member_id=str(member_id), kind=s.to_proto(kind), page_size=page.limit,
        page_token=page.page_token))  # fmt: skip
    return s.AttachmentPage(
        items=[s.AttachmentRead.from_proto(a) for a in resp.attachments],
        next_cursor=encode_cursor(resp.next_page_token),
    )


@router.post(
    "/attachments",
    status_code=status.HTTP_201_CREATED,
    response_model=s.UploadTicket,
    summary="上传附件 Declare an attachment: returns a presigned upload URL (PUT the bytes there)",
    responses=_WRITE,
)
async def create_attachment(
    member_id: uuid.UUID, body: s.AttachmentCreate, caller: TenantCaller, members: Members,
    response: Response,
) -> s.UploadTicket:  # fmt: skip
    resp = await _rpc(members, caller, "CreateAttachment", body.to_proto(member_id))
    _private(response)
    return s.UploadTicket(
        attachment_id=resp.attachment.id,
        upload_url=resp.upload_url,
        upload_headers=dict(resp.upload_headers),
        upload_expires_at=timestamp(resp, "upload_expires_at"),
        attachment=s.AttachmentRead.from_proto(resp.attachment),
    )


@router.post(
    "/attachments/{attachment_id}:complete",
    response_model=s.AttachmentRead,
    summary="完成上传 Complete an upload: checks size and type (a refused file is deleted)",
    responses=_WRITE,
)
async def complete_attachment(
    member_id: uuid.UUID, attachment_id: uuid.UUID, caller: TenantCaller, members: Members
) -> s.AttachmentRead:
    resp = await _rpc(members, caller, "CompleteAttachment", apb.CompleteAttachmentRequest(
        member_id=str(member_id), id=str(attachment_id)))  # fmt: skip
    return s.AttachmentRead.from_proto(resp.attachment)


@router.get(
    "/attachments/{attachment_id}/download",
    response_model=s.DownloadTicket,
    summary="下载附件 A short-lived download URL (audited)",
    responses=problem_responses(400, 401, 403, 404, 409, 422, 503),
)
async def download_attachment(
    member_id: uuid.UUID,
    attachment_id: uuid.UUID,
    caller: TenantCaller,
    members: Members,
    response: Response,
    reason: Annotated[str | None, Query(max_length=200, description="下载理由 why")] = None,
) -> s.DownloadTicket:
    resp = await _rpc(members, caller, "GetAttachmentDownload", apb.GetAttachmentDownloadRequest(
        member_id=str(member_id), id=str(attachment_id), reason=(reason or "").strip()))  # fmt: skip
    _private(response)
    return s.DownloadTicket(url=resp.url, expires_at=timestamp(resp, "expires_at"))


@router.delete(
    "/attachments/{attachment_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="删除附件 Delete an attachment and its file",
    responses=_READ,
)
async def delete_attachment(
    member_id: uuid.UUID, attachment_id: uuid.UUID, caller: TenantCaller, members: Members
) -> Response:
    await _rpc(members, caller, "DeleteAttachment", apb.DeleteAttachmentRequest(
        member_id=str(member_id), id=str(attachment_id)))  # fmt: skip
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ---- field history ----


@router.get(
    "/history",
    response_model=s.FieldChangePage,
    summary="变更记录 Field-level history, newest first (personal values masked unless revealed)",
    responses=_READ,
)
async def member_history(
    member_id: uuid.UUID,
    caller: TenantCaller,
    members: Members,
    response: Response,
    page: Annotated[PageParams, Depends(page_params)],
    reveal: Reveal = False,
    reason: Reason = None,
) -> s.FieldChangePage:
    why = _reveal_reason(reveal, reason)
    resp = await _rpc(members, caller, "ListMemberHistory", apb.ListMemberHistoryRequest(
        member_id=str(member_id), page_size=page.limit, page_token=page.page_token,
        reveal=reveal, reveal_reason=why))  # fmt: skip
    _private(response)
    return s.FieldChangePage(
        items=[s.FieldChangeRead.from_proto(c) for c in resp.changes],
        next_cursor=encode_cursor(resp.next_page_token),
    )
