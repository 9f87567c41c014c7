"""The member search queries (docs/adr/0008). Row-level security scopes them to the
transaction's tenant; they filter by tenant and data scope as well, like every repository here.

Under row-level security PostgreSQL evaluates a condition inside an index scan only if its
operator is leakproof: = and range comparisons on text are, LIKE and the pg_trgm operators are
not (they would leave a sequential scan of the province). So names and pinyin are looked up in
member_search_terms (search_models) with = and >= / < only, and the suffix hashes with =.

Relevance comes in tiers: 0 exact, 1 prefix, 2 substring (names only). Each tier is one query,
ORDER BY id LIMIT n, excluding the members of the tiers before it. The page token is
(tier, last id).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Select,
    Uuid,
    and_,
    any_,
    false,
    literal,
    or_,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession

from member_service.domain.search import SearchMode
from member_service.models import Member, Organization
from member_service.repository import SCOPE_LIST_MAX
from member_service.search_keys import SearchKeys
from member_service.search_models import MemberSearchTerm, TermKind


@dataclass(frozen=True)
class SearchCriteria:
    mode: SearchMode
    text: str
    id_number_suffix_index: str | None = None
    mobile_phone_suffix_index: str | None = None
    id_number_index: str | None = None


@dataclass(frozen=True)
class SearchFilter:
    """Where a search may look: tenant, data scope (an org subtree path), enum filters."""

    tenant_id: uuid.UUID
    scope_path: str | None  # None = the whole tenant
    category: int = 0
    party_status: int = 0


def prefix_upper_bound(prefix: str) -> str:
    """The least string greater than every string starting with `prefix`, in code point
    (= UTF-8 byte, COLLATE "C") order."""
    for i in range(len(prefix) - 1, -1, -1):
        if ord(prefix[i]) < 0x10FFFF:
            return prefix[:i] + chr(ord(prefix[i]) + 1)
    raise ValueError("no upper bound")  # a prefix of U+10FFFF only; queries never are


def _terms(
    tenant_id: uuid.UUID, kinds: tuple[TermKind, ...], text_: str, *, prefix: bool
) -> Select:
    """Member ids with a term of these kinds equal to (or starting with) `text_`."""
    t = MemberSearchTerm
    match = and_(t.term >= text_, t.term < prefix_upper_bound(text_)) if prefix else t.term == text_
    kind = t.kind == kinds[0] if len(kinds) == 1 else t.kind.in_([int(k) for k in kinds])
    return select(t.member_id).where(t.tenant_id == tenant_id, kind, match)


def _name_terms(tenant_id: uuid.UUID, q: str) -> tuple[Select, Select, Select]:
    """(exact name, name prefix, any substring: a prefix of one of the name's suffixes)."""
    return (
        _terms(tenant_id, (TermKind.NAME,), q, prefix=False),
        _terms(tenant_id, (TermKind.NAME,), q, prefix=True),
        _terms(tenant_id, (TermKind.NAME_SUFFIX,), q, prefix=True),
    )


def _pinyin_terms(tenant_id: uuid.UUID, q: str) -> tuple[Select, Select]:
    kinds = (TermKind.PINYIN, TermKind.INITIALS)
    return (
        _terms(tenant_id, kinds, q, prefix=False),
        _terms(tenant_id, kinds, q, prefix=True),
    )


def _number_conditions(c: SearchCriteria) -> list[ColumnElement[bool]]:
    if c.mode is SearchMode.ID_NUMBER:
        return [Member.id_number_index == c.id_number_index]
    found = []
    if c.id_number_suffix_index:
        found.append(Member.id_number_suffix_index == c.id_number_suffix_index)
    if c.mobile_phone_suffix_index:
        found.append(Member.mobile_phone_suffix_index == c.mobile_phone_suffix_index)
    return found


def tiers(criteria: SearchCriteria, tenant_id: uuid.UUID) -> list[list[ColumnElement[bool]]]:
    """The member conditions of each relevance tier, best first. A tier with several
    conditions is their union, each looked up on its own index in id order and merged here:
    as one OR the planner fetched and sorted every match of a common suffix (ADR 0008)."""
    q = criteria.text
    if criteria.mode is SearchMode.NAME:
        exact, prefix, within = _name_terms(tenant_id, q)
        return [
            [Member.id.in_(exact)],
            [and_(Member.id.in_(prefix), Member.id.not_in(exact))],
            [and_(Member.id.in_(within), Member.id.not_in(prefix))],
        ]
    if criteria.mode is SearchMode.PINYIN:
        exact, prefix = _pinyin_terms(tenant_id, q)
        return [[Member.id.in_(exact)], [and_(Member.id.in_(prefix), Member.id.not_in(exact))]]
    return [_number_conditions(criteria) or [false()]]


def index_lookups(criteria: SearchCriteria, tenant_id: uuid.UUID) -> list[Select]:
    """Every lookup the tiers are made of, on its own (a test explains each of them)."""
    if criteria.mode is SearchMode.NAME:
        return list(_name_terms(tenant_id, criteria.text))
    if criteria.mode is SearchMode.PINYIN:
        return list(_pinyin_terms(tenant_id, criteria.text))
    return [
        select(Member.id).where(Member.tenant_id == tenant_id, condition)
        for condition in _number_conditions(criteria)
    ]


def subtree_ids(f: SearchFilter) -> Select:
    return select(Organization.id).where(
        Organization.tenant_id == f.tenant_id,
        Organization.in_subtree(f.scope_path),
    )


def tier_statement(
    f: SearchFilter,
    condition: ColumnElement[bool],
    *,
    after_id: uuid.UUID | None,
    limit: int,
    scope_ids: list[uuid.UUID] | None = None,
) -> Select:
    """One tier's member ids in id order, inside the caller's subtree (`f.scope_path`; None
    for the whole tenant). `scope_ids`, when given, are that subtree's organisations."""
    stmt = select(Member.id).where(
        Member.tenant_id == f.tenant_id, condition, Member.departed_on.is_(None)
    )
    if scope_ids is not None:
        stmt = stmt.where(Member.organization_id == any_(literal(scope_ids, ARRAY(Uuid))))
    elif f.scope_path:  # tenant-wide callers skip this entirely
        stmt = stmt.where(Member.organization_id.in_(subtree_ids(f)))
    if f.category:
        stmt = stmt.where(Member.category == f.category)
    if f.party_status:
        stmt = stmt.where(Member.party_status == f.party_status)
    if after_id is not None:
        stmt = stmt.where(Member.id > after_id)
    return stmt.order_by(Member.id).limit(limit)


class MemberSearchRepository:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def search(
        self,
        criteria: SearchCriteria,
        f: SearchFilter,
        *,
        after: tuple[int, uuid.UUID] | None,
        limit: int,
    ) -> list[tuple[int, Member]]:
        """Up to `limit` (tier, member) after the keyset position (tier, id), best first."""
        # Plans for the actual values: the tier sizes differ by orders of magnitude ("zhang"
        # is a tenth of a province, "zhangjianguo" a few people).
        await self.session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
        start, after_id = after if after else (0, None)
        chosen: list[tuple[int, uuid.UUID]] = []
        # A small subtree (a branch) goes in as a list of organisation ids; a large one (a
        # city: thousands) as a subquery on the path_key range, which PostgreSQL hashes once —
        # binding and planning thousands of ids per tier cost more than the search itself.
        scope_ids = None
        if f.scope_path:
            found = list(
                (await self.session.execute(subtree_ids(f).limit(SCOPE_LIST_MAX + 1))).scalars()
            )
            scope_ids = found if len(found) <= SCOPE_LIST_MAX else None
        for rank, conditions in enumerate(tiers(criteria, f.tenant_id)):
            if rank < start:
                continue
            wanted = limit - len(chosen)
            ids: set[uuid.UUID] = set()
            for condition in conditions:
                stmt = tier_statement(
                    f,
                    condition,
                    after_id=after_id if rank == start else None,
                    limit=wanted,
                    scope_ids=scope_ids,
                )
                ids.update((await self.session.execute(stmt)).scalars())
            chosen += [(rank, i) for i in sorted(ids)[:wanted]]
            if len(chosen) >= limit:
                break
        await self.session.execute(text("SET LOCAL plan_cache_mode = auto"))
        if not chosen:
            return []
        rows = await self.session.execute(
            select(Member).where(
                Member.tenant_id == f.tenant_id, Member.id.in_([i for _, i in chosen])
            )
        )
        found = {m.id: m for m in rows.scalars()}
        return [(rank, found[i]) for rank, i in chosen if i in found]

    async def write_search_keys(
        self, tenant_id: uuid.UUID, keys: list[tuple[uuid.UUID, SearchKeys]]
    ) -> None:
        """Set the search columns of many members in one statement (rows already locked)."""
        if not keys:
            return
        await self.session.execute(
            text(
                "UPDATE member.members m SET name_pinyin = v.p, name_initials = v.i, "
                "id_number_suffix_index = v.s, mobile_phone_suffix_index = v.ph "
                "FROM unnest(CAST(:ids AS uuid[]), CAST(:p AS text[]), CAST(:i AS text[]), "
                "CAST(:s AS text[]), CAST(:ph AS text[])) AS v(id, p, i, s, ph) "
                "WHERE m.tenant_id = :tenant AND m.id = v.id"
            ),
            {
                "tenant": tenant_id,
                "ids": [i for i, _ in keys],
                "p": [k.name_pinyin for _, k in keys],
                "i": [k.name_initials for _, k in keys],
                "s": [k.id_number_suffix_index for _, k in keys],
                "ph": [k.mobile_phone_suffix_index for _, k in keys],
            },
        )

    async def page_for_reindex(
        self, tenant_id: uuid.UUID, *, after: uuid.UUID | None, limit: int, everything: bool
    ) -> list[Member]:
        """Members whose search columns are missing (or all of them), locked, in id order."""
        stmt = select(Member).where(Member.tenant_id == tenant_id)
        if after is not None:
            stmt = stmt.where(Member.id > after)
        if not everything:
            stmt = stmt.where(
                or_(Member.name_pinyin.is_(None), Member.id_number_suffix_index.is_(None))
            )
        stmt = stmt.order_by(Member.id).limit(limit).with_for_update()
        return list((await self.session.execute(stmt)).scalars())
