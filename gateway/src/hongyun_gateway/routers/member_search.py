"""GET /api/v1/members/search — 检索党员 (docs/adr/0008).

One search box: Chinese name (any part of it, 2+ characters), full pinyin or initials ("zs"
finds 张三), the last 4 characters of an ID number or mobile number, or a whole ID number.
Always inside the caller's data scope; personal data masked; cursor-paged, best match first.
Registered before the members router: "/search" is not a member id.
"""

from __future__ import annotations

import uuid
from typing import Annotated

import grpc
from fastapi import APIRouter, Query, Response
from hongyun.member.v1 import member_search_pb2 as spb

from hongyun_gateway.auth import TenantCaller
from hongyun_gateway.enums import MemberCategory, PartyStatus
from hongyun_gateway.enums import to_proto as enum_to_proto
from hongyun_gateway.pagination import decode_cursor, encode_cursor
from hongyun_gateway.private_responses import NO_STORE
from hongyun_gateway.problems import problem_from_rpc_error, problem_responses, validation_problem
from hongyun_gateway.schemas.member_search import MemberSearchPage
from hongyun_gateway.state import Members

router = APIRouter(prefix="/api/v1/members", tags=["members 党员"])

MAX_QUERY_LENGTH = 50
DEFAULT_LIMIT, MAX_LIMIT = 20, 100
# Service field names → this route's parameter names, for problem+json errors[].field.
_PARAMS = {"query": "q", "page_token": "cursor"}


@router.get(
    "/search",
    response_model=MemberSearchPage,
    summary="检索党员 Search members by name, pinyin, initials, or the last 4 of an ID or "
    "mobile number",
    description=(
        "`q` is read as one of: **number_suffix** — 4 characters of digits (the last may be X):"
        " the last 4 of an ID number or of a mobile number (both are searched; `matched` says "
        "which); **id_number** — a whole 18-character ID number; **pinyin** — letters, case "
        "and spaces ignored: the start of the full pinyin or of the initials (`zs`, `zhangsan`,"
        " `Zhang San`; polyphonic surnames such as 曾 zeng/ceng and 单 shan/dan are found by "
        "every reading); **name** — anything else: any part of the name of 2 or more "
        "characters, literally (no wildcards). 2–50 characters. Results are masked, limited "
        "to your data scope, exact matches first, then prefixes, then other substrings."
    ),
    responses=problem_responses(400, 401, 403, 404, 422, 503),
)
async def search_members(
    caller: TenantCaller,
    members: Members,
    response: Response,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=MAX_QUERY_LENGTH,
            description="检索内容 name, pinyin, initials, last 4 of an ID/mobile number",
            examples=["张三", "zs", "1234"],
        ),
    ],
    organization_id: Annotated[
        uuid.UUID | None, Query(description="Subtree root 组织（含下级）")
    ] = None,
    category: Annotated[MemberCategory | None, Query(description="人员类别")] = None,
    party_status: Annotated[PartyStatus | None, Query(description="党籍状态")] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description="Page size 每页条数 (1–100)")
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(max_length=2048, description="next_cursor of the previous page")
    ] = None,
) -> MemberSearchPage:
    query = q.strip()
    if not query or any(ord(c) < 0x20 or ord(c) == 0x7F for c in query):
        raise validation_problem(
            [
                {
                    "field": "q",
                    "message": "请输入检索内容，不含控制字符 (a non-empty query without control "
                    "characters)",
                    "reason": "invalid_query",
                }
            ]
        )
    request = spb.SearchMembersRequest(
        query=query,
        organization_id=str(organization_id or ""),
        category=enum_to_proto(category, MemberCategory),  # type: ignore[arg-type]
        party_status=enum_to_proto(party_status, PartyStatus),  # type: ignore[arg-type]
        page_size=limit,
        page_token=decode_cursor(cursor),
    )
    try:
        resp = await members.search_members(caller, request)
    except grpc.aio.AioRpcError as exc:
        problem = problem_from_rpc_error(exc)
        for error in problem.errors or ():
            error["field"] = _PARAMS.get(error["field"], error["field"])
        raise problem from exc
    response.headers.update(NO_STORE)
    return MemberSearchPage.from_proto(resp, encode_cursor(resp.next_page_token))
