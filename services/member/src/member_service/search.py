"""Member search use cases (docs/adr/0008): search inside the caller's data scope, and the
re-index job for rows written before the search columns existed. No transport imports; never
commits (the caller's unit of work does)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from dataclasses import dataclass

from hongyun_platform.db import Database, UnitOfWork
from hongyun_platform.errors import InvalidArgument
from hongyun_platform.grpc.context import CallerContext
from sqlalchemy import select

from member_service.domain.profile import Category, PartyStatus
from member_service.domain.search import SearchMatch, SearchMode, SearchQuery, parse_query
from member_service.models import Member, Tenant
from member_service.repository import Repositories
from member_service.search_keys import (
    SearchKeys,
    id_number_suffix_index,
    mobile_phone_suffix_index,
    search_keys,
)
from member_service.search_repository import MemberSearchRepository, SearchCriteria, SearchFilter
from member_service.service import MANAGERS, MemberDirectory, MemberView

_TOKEN_VERSION = 1
_FINGERPRINT_SIZE = 8
DEFAULT_PAGE_SIZE = 20  # a search box shows a screenful; lists page by 50
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class SearchHit:
    view: MemberView  # masked
    matched: list[SearchMatch]


@dataclass(frozen=True)
class SearchResult:
    mode: SearchMode
    hits: list[SearchHit]
    next_token: str


class MemberSearch:
    """Uses the directory's scope rules and masking, so search can never see more than list."""

    def __init__(self, directory: MemberDirectory):
        self.directory = directory
        self.cipher = directory.cipher

    async def search(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        *,
        query: str,
        organization_id: str,
        category: int,
        party_status: int,
        page_size: int,
        page_token: str,
    ) -> SearchResult:
        caller.require_role(*MANAGERS)
        tenant_id = caller.require_tenant()
        q = parse_query(query, today=self.directory.today())
        _check_enum(category, Category, "category")
        _check_enum(party_status, PartyStatus, "party_status")
        size = _page_size(page_size)
        repos = Repositories(uow.session)
        # None = the whole tenant (admins without an organisation filter); NOT_FOUND outside.
        scope_path = await self.directory.subtree_path(repos, caller, organization_id)
        fingerprint = _fingerprint(q, scope_path, category, party_status)
        after = _decode_token(page_token, fingerprint)
        criteria = self._criteria(tenant_id, q)
        rows = await MemberSearchRepository(uow.session).search(
            criteria,
            SearchFilter(tenant_id, scope_path, category, party_status),
            after=after,
            limit=size + 1,
        )
        more = len(rows) > size
        rows = rows[:size]
        hits = [
            SearchHit(
                MemberView(
                    m, self.directory.masked_profile(self.directory.read_profile(m)), revealed=False
                ),
                _matched(criteria, m),
            )
            for _, m in rows
        ]
        token = _encode_token(rows[-1][0], rows[-1][1].id, fingerprint) if more else ""
        return SearchResult(mode=q.mode, hits=hits, next_token=token)

    def _criteria(self, tenant_id: uuid.UUID, q: SearchQuery) -> SearchCriteria:
        if q.mode is SearchMode.NUMBER_SUFFIX:
            return SearchCriteria(
                q.mode,
                q.text,
                id_number_suffix_index=id_number_suffix_index(self.cipher, tenant_id, q.text),
                mobile_phone_suffix_index=(
                    mobile_phone_suffix_index(self.cipher, tenant_id, q.text)
                    if q.may_be_phone
                    else None
                ),
            )
        if q.mode is SearchMode.ID_NUMBER:
            return SearchCriteria(q.mode, q.text, id_number_index=self.directory.id_index(q.text))
        return SearchCriteria(q.mode, q.text)


def _matched(c: SearchCriteria, m: Member) -> list[SearchMatch]:
    """Why `m` is in the result (for the UI: "matched by mobile number", say)."""
    if c.mode is SearchMode.PINYIN:
        found = []
        for match, column in (
            (SearchMatch.PINYIN, m.name_pinyin),
            (SearchMatch.INITIALS, m.name_initials),
        ):
            if any(v.startswith(c.text) for v in (column or "").split()):
                found.append(match)
        return found
    if c.mode is SearchMode.NUMBER_SUFFIX:
        return [
            match
            for match, mine, wanted in (
                (SearchMatch.ID_NUMBER_SUFFIX, m.id_number_suffix_index, c.id_number_suffix_index),
                (
                    SearchMatch.MOBILE_PHONE_SUFFIX,
                    m.mobile_phone_suffix_index,
                    c.mobile_phone_suffix_index,
                ),
            )
            if wanted and mine == wanted
        ]
    return [SearchMatch.ID_NUMBER if c.mode is SearchMode.ID_NUMBER else SearchMatch.NAME]


async def reindex_search(
    db: Database, directory: MemberDirectory, *, everything: bool = False, batch_size: int = 500
) -> int:
    """Fill the search columns of rows that lack them (or of all rows, after the blind-index
    key changed). Tenant by tenant, in id order, one short transaction per batch; rows are
    locked while rewritten so a concurrent update is never overwritten with stale keys.
    Returns the number of rows written."""
    async with db.unit_of_work(None, platform_admin=True, read_only=True) as uow:
        tenant_ids = list((await uow.session.execute(select(Tenant.id))).scalars())
    written = 0
    for tenant_id in tenant_ids:
        after: uuid.UUID | None = None
        while True:
            async with db.unit_of_work(tenant_id) as uow:
                repo = MemberSearchRepository(uow.session)
                batch = await repo.page_for_reindex(
                    tenant_id, after=after, limit=batch_size, everything=everything
                )
                # One set-based UPDATE per batch: the statement triggers rewrite the terms of
                # the whole batch at once (a row-by-row flush fired them once per member).
                await repo.write_search_keys(
                    tenant_id, [(m.id, _keys_of(directory, m)) for m in batch]
                )
            written += len(batch)
            if len(batch) < batch_size:
                break
            after = batch[-1].id
    return written


def _keys_of(directory: MemberDirectory, m: Member) -> SearchKeys:
    profile = directory.read_profile(m)
    return search_keys(
        directory.cipher,
        m.tenant_id,
        name=m.name,
        id_number=profile.id_number,
        mobile_phone=profile.mobile_phone,
    )


def _page_size(size: int) -> int:
    if size < 0:
        raise InvalidArgument("page size must not be negative", code="invalid_page_size")
    return min(size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def _check_enum(value: int, enum_cls: type, field: str) -> None:
    if value and value not in enum_cls._value2member_map_:
        raise InvalidArgument(
            f"{field}: 取值无效 (unknown value)", code="invalid_enum", field=field
        )


def _fingerprint(q: SearchQuery, scope_path: str | None, category: int, status: int) -> bytes:
    """Binds a page token to the search it came from: reusing it elsewhere is an error."""
    key = f"{q.mode.value}|{q.text}|{scope_path or ''}|{category}|{status}".encode()
    return hashlib.sha256(key).digest()[:_FINGERPRINT_SIZE]


def _encode_token(rank: int, last_id: uuid.UUID, fingerprint: bytes) -> str:
    raw = bytes((_TOKEN_VERSION, rank)) + last_id.bytes + fingerprint
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str, fingerprint: bytes) -> tuple[int, uuid.UUID] | None:
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 2 + 16 + _FINGERPRINT_SIZE or raw[0] != _TOKEN_VERSION:
        raise InvalidArgument("page token is not valid", code="invalid_page_token")
    if raw[18:] != fingerprint:
        raise InvalidArgument(
            "分页标记属于另一次检索 (the page token belongs to another search)",
            code="invalid_page_token",
        )
    return raw[1], uuid.UUID(bytes=raw[2:18])
