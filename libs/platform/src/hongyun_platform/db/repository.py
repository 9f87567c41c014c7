"""Typed repository base: the only place that builds queries. Keyset pagination on UUIDv7 ids."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from hongyun_platform.errors import InvalidArgument

M = TypeVar("M")

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50


@dataclass(frozen=True)
class Page(Generic[M]):
    items: Sequence[M]
    next_token: str  # "" when there is no next page


def encode_token(last_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(last_id.bytes).decode().rstrip("=")


def decode_token(token: str) -> uuid.UUID | None:
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        return uuid.UUID(bytes=raw)
    except (ValueError, TypeError) as exc:
        raise InvalidArgument("page token is not valid", code="invalid_page_token") from exc


def clamp_page_size(size: int) -> int:
    if size < 0:
        raise InvalidArgument("page size must not be negative", code="invalid_page_size")
    return min(size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


class Repository(Generic[M]):
    model: type[M]

    def __init__(self, session: AsyncSession):
        self.session = session

    async def get(self, id_: uuid.UUID, *, for_update: bool = False) -> M | None:
        stmt = select(self.model).where(self.model.id == id_)  # type: ignore[attr-defined]
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    def add(self, obj: M) -> M:
        self.session.add(obj)
        return obj

    async def page(self, stmt: Select[Any], *, page_size: int, page_token: str) -> Page[M]:
        size = clamp_page_size(page_size)
        id_col = self.model.id  # type: ignore[attr-defined]
        after = decode_token(page_token)
        if after is not None:
            stmt = stmt.where(id_col > after)
        rows = (await self.session.execute(stmt.order_by(id_col).limit(size + 1))).scalars().all()
        more = len(rows) > size
        items = rows[:size]
        return Page(items=items, next_token=encode_token(items[-1].id) if more else "")
