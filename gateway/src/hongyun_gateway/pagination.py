"""Cursor pagination: ``?limit=1..200&cursor=<opaque>`` → ``{items, next_cursor}``.

The cursor wraps the service's page token so clients never depend on its format.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

from hongyun_gateway.problems import ProblemError

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
_CURSOR_VERSION = 1

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        default=None, description="Pass as ?cursor= to get the next page; null on the last page"
    )


def encode_cursor(page_token: str) -> str | None:
    """Service page token → opaque cursor; an empty token (last page) → None."""
    if not page_token:
        return None
    raw = json.dumps({"v": _CURSOR_VERSION, "t": page_token}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str | None) -> str:
    """Opaque cursor → service page token ('' for the first page). Bad cursors → 422."""
    if not cursor:
        return ""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if data.get("v") != _CURSOR_VERSION or not isinstance(data.get("t"), str):
            raise ValueError("unknown cursor version")
        return str(data["t"])
    except (ValueError, binascii.Error, AttributeError, UnicodeDecodeError) as exc:
        raise ProblemError(
            422,
            "validation_failed",
            "请求参数校验失败 (request validation failed)",
            errors=[
                {
                    "field": "cursor",
                    "message": "无效的分页游标 (invalid cursor; use next_cursor as returned)",
                    "reason": "invalid_cursor",
                }
            ],
        ) from exc


class PageParams(BaseModel):
    limit: int
    page_token: str


def page_params(
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description="Page size 每页条数 (1–200)")
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(max_length=2048, description="next_cursor of the previous page")
    ] = None,
) -> PageParams:
    return PageParams(limit=limit, page_token=decode_cursor(cursor))
