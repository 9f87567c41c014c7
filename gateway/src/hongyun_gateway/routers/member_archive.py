"""/api/v1/members/{member_id}/… — 党员电子档案 (the electronic member archive).

Extended fields, family members, awards and punishments, travel abroad, hardship, tags, 党籍
status history, 失联/流动 flags, attachments (bytes through presigned URLs, never through the
API) and the field history. Sensitive values come back masked or redacted; ``?reveal=true&
reason=…`` shows them in full to tenant admins and secretaries and writes an audit entry.
A member outside your tenant or data scope is 404, as are records of another member.
"""

# No `from __future__ import annotations` here: the sub-record routes are built in a loop, and
# FastAPI reads their annotations (which name each record's own schemas) as objects.

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import grpc
from fastapi import APIRouter, Depends, Header, Query, Response, status
from google.protobuf.message import Message
from hongyun.member.v1 import member_archive_pb2 as apb
from pydantic import BaseModel

from hongyun_gateway import enums
from hongyun_gateway.auth import TenantCaller
from hongyun_gateway.enums import PartyStatus
from hongyun_gateway.pagination import PageParams, encode_cursor, page_params
from hongyun_gateway.private_responses import NO_STORE
from hongyun_gateway.problems import (
    ERROR_CODE_METADATA,
    ProblemError,
    metadata_value,
    problem_from_rpc_error,
    problem_responses,
    validation_problem,
)
from hongyun_gateway.reveal import reveal_reason
from hongyun_gateway.routers.members import parse_if_match
from hongyun_gateway.schemas import member_archive as s
from hongyun_gateway.schemas.common import IsoDate, timestamp
from hongyun_gateway.state import Members

router = APIRouter(prefix="/api/v1/members/{member_id}", tags=["member archive 党员电子档案"])
tags_router = APIRouter(prefix="/api/v1/member-tags", tags=["member archive 党员电子档案"])

_READ = problem_responses(400, 401, 403, 404, 422, 503)
_WRITE = problem_responses(400, 401, 403, 404, 409, 422, 503)

Reveal = Annotated[bool, Query(description="显示完整信息 show sensitive values (audited)")]
Reason = Annotated[
    str | None, Query(max_length=200, description="查看理由 why (required with reveal)")
]


async def _rpc(members: Members, caller: Any, rpc: str, req: Any) -> Any:
    return await members.archive(caller, rpc, req)


def _private(response: Response) -> None:
    response.headers.update(NO_STORE)


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


# ---- family members, awards and punishments, travel abroad, hardship (one pattern) ----
#
# The four sub-records of ADR 0009 share one REST shape, built from the table below:
#   GET    /api/v1/members/{member_id}/<path>              list (paged; reveal where sensitive)
#   POST   /api/v1/members/{member_id}/<path>              create → 201 + Location
#   PATCH  /api/v1/members/{member_id}/<path>/{record_id}  merge-patch (fields present change)
#   DELETE /api/v1/members/{member_id}/<path>/{record_id}  → 204


@dataclass(frozen=True)
class _ListQuery:
    """A sub-record list's query string: the page, and reveal/reason where the list has them."""

    page: PageParams
    reveal: bool | None = None  # None: this list has no reveal
    reason: str | None = None
    filters: dict[str, Any] = field(default_factory=dict)  # further fields of the list request


# The page is a sub-dependency of each of these, so the query parameters (in OpenAPI, and their
# validation errors) come in the order they had when they were the route's own parameters.
def _paged(page: Annotated[PageParams, Depends(page_params)]) -> _ListQuery:
    return _ListQuery(page)


def _paged_reveal(
    page: Annotated[PageParams, Depends(page_params)], reveal: Reveal = False, reason: Reason = None
) -> _ListQuery:
    return _ListQuery(page, reveal, reason)


def _paged_reveal_awards(
    page: Annotated[PageParams, Depends(page_params)],
    kind: Annotated[s.AwardKind | None, Query(description="award 奖励 | punishment 惩处")] = None,
    reveal: Reveal = False,
    reason: Reason = None,
) -> _ListQuery:
    return _ListQuery(page, reveal, reason, {"kind": s.to_proto(kind)})


@dataclass(frozen=True)
class _SubRecord:
    path: str  # under /api/v1/members/{member_id}; one record at <path>/{record_id}
    item: str  # proto field of one record; routes create_<item>, update_<item>, delete_<item>
    items: str  # proto field of a page; route list_<items>
    create: type[BaseModel]  # its to_proto() builds the Create…Request
    update: type[BaseModel]  # its to_proto() builds the Update…Request (with the update mask)
    read: type[BaseModel]  # from_proto() maps one proto record
    page: type[BaseModel]
    list_request: type[Message]
    delete_request: type[Message]
    list_query: Callable[..., _ListQuery]
    summaries: tuple[str, str, str, str]  # list, create, update, delete


_SUB_RECORDS = (
    _SubRecord(
        "/family-members", "family_member", "family_members",
        s.FamilyMemberCreate, s.FamilyMemberUpdate, s.FamilyMemberRead, s.FamilyMemberPage,
        apb.ListFamilyMembersRequest, apb.DeleteFamilyMemberRequest, _paged_reveal,
        ("家庭成员列表 List family members (phones masked unless revealed)",
         "新增家庭成员 Add a family member",
         "修改家庭成员 Update a family member (fields present change; null clears)",
         "删除家庭成员 Delete a family member"),
    ),
    _SubRecord(
        "/awards", "award", "awards",
        s.AwardCreate, s.AwardUpdate, s.AwardRead, s.AwardPage,
        apb.ListAwardsRequest, apb.DeleteAwardRequest, _paged_reveal_awards,
        ("奖惩列表 List awards and punishments (punishments redacted unless revealed)",
         "新增奖惩 Add an award or a punishment",
         "修改奖惩 Update an award or a punishment",
         "删除奖惩 Delete an award or a punishment"),
    ),
    _SubRecord(
        "/travels", "travel", "travels",
        s.TravelCreate, s.TravelUpdate, s.TravelRead, s.TravelPage,
        apb.ListTravelsRequest, apb.DeleteTravelRequest, _paged,
        ("出国出境记录 List travel abroad",
         "新增出国出境记录 Add a travel abroad",
         "修改出国出境记录 Update a travel abroad",
         "删除出国出境记录 Delete a travel abroad"),
    ),
    _SubRecord(
        "/hardships", "hardship", "hardships",
        s.HardshipCreate, s.HardshipUpdate, s.HardshipRead, s.HardshipPage,
        apb.ListHardshipsRequest, apb.DeleteHardshipRequest, _paged_reveal,
        ("困难情况 List hardship (details redacted unless revealed)",
         "新增困难情况 Add a hardship",
         "修改困难情况 Update a hardship",
         "删除困难情况 Delete a hardship"),
    ),
)  # fmt: skip


async def _send(members: Members, caller: Any, req: Message) -> Any:
    """The archive RPC that takes ``req`` (every RPC Foo takes a FooRequest)."""
    return await members.archive(caller, req.DESCRIPTOR.name.removesuffix("Request"), req)


def _add_sub_record_routes(r: _SubRecord) -> None:
    # No docstrings on these handlers: FastAPI would publish them as operation descriptions.
    list_summary, create_summary, update_summary, delete_summary = r.summaries
    one = f"{r.path}/{{record_id}}"

    @router.get(
        r.path, name=f"list_{r.items}", response_model=r.page, summary=list_summary,
        responses=_READ,
    )  # fmt: skip
    async def list_records(
        member_id: uuid.UUID,
        caller: TenantCaller,
        members: Members,
        response: Response,
        query: Annotated[_ListQuery, Depends(r.list_query)],
    ) -> Any:
        fields = dict(query.filters)
        if query.reveal is not None:
            why = reveal_reason(query.reveal, query.reason)
            fields.update(reveal=query.reveal, reveal_reason=why)
        resp = await _send(members, caller, r.list_request(
            member_id=str(member_id), page_size=query.page.limit,
            page_token=query.page.page_token, **fields))  # fmt: skip
        _private(response)
        return r.page(
            items=[r.read.from_proto(x) for x in getattr(resp, r.items)],
            next_cursor=encode_cursor(resp.next_page_token),
        )

    @router.post(
        r.path, name=f"create_{r.item}", status_code=status.HTTP_201_CREATED,
        response_model=r.read, summary=create_summary, responses=_WRITE,
    )  # fmt: skip
    async def create_record(
        member_id: uuid.UUID, body: r.create, caller: TenantCaller, members: Members,
        response: Response,
    ) -> Any:  # fmt: skip
        resp = await _send(members, caller, body.to_proto(member_id))
        record = getattr(resp, r.item)
        response.headers["Location"] = f"/api/v1/members/{member_id}{r.path}/{record.id}"
        _private(response)
        return r.read.from_proto(record)

    @router.patch(
        one, name=f"update_{r.item}", response_model=r.read, summary=update_summary,
        responses=_WRITE,
    )  # fmt: skip
    async def update_record(
        member_id: uuid.UUID, record_id: uuid.UUID, body: r.update, caller: TenantCaller,
        members: Members, response: Response,
    ) -> Any:  # fmt: skip
        _nonempty(body)
        resp = await _send(members, caller, body.to_proto(member_id, record_id))
        _private(response)
        return r.read.from_proto(getattr(resp, r.item))

    @router.delete(
        one, name=f"delete_{r.item}", status_code=status.HTTP_204_NO_CONTENT,
        summary=delete_summary, responses=_READ,
    )  # fmt: skip
    async def delete_record(
        member_id: uuid.UUID, record_id: uuid.UUID, caller: TenantCaller, members: Members
    ) -> Response:
        await _send(members, caller, r.delete_request(member_id=str(member_id), id=str(record_id)))
        return Response(status_code=status.HTTP_204_NO_CONTENT)


for _spec in _SUB_RECORDS:
    _add_sub_record_routes(_spec)


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
    why = reveal_reason(reveal, reason)
    resp = await _rpc(members, caller, "ListMemberHistory", apb.ListMemberHistoryRequest(
        member_id=str(member_id), page_size=page.limit, page_token=page.page_token,
        reveal=reveal, reveal_reason=why))  # fmt: skip
    _private(response)
    return s.FieldChangePage(
        items=[s.FieldChangeRead.from_proto(c) for c in resp.changes],
        next_cursor=encode_cursor(resp.next_page_token),
    )
