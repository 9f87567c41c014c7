"""The member search index table (docs/adr/0008).

One row per searchable term of a member: the name, each proper suffix of the name (so that
any substring is a prefix of some term), each pinyin reading and each initials reading. Kept
by statement-level triggers on member.members (migration 20261128_0003), so every write
path (create, update, bulk import, re-index, delete) keeps it right; the code never writes it. The term column sorts bytewise (COLLATE "C"): exact and prefix
lookups are plain equality and range comparisons, which PostgreSQL may use in an index under
row-level security (they are leakproof; LIKE and trigram operators are not).
"""

from __future__ import annotations

import uuid
from enum import IntEnum

from sqlalchemy import SmallInteger, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from member_service.models import Base


class TermKind(IntEnum):
    NAME = 1  # the whole name
    NAME_SUFFIX = 2  # a proper suffix of the name, 2 characters or more
    PINYIN = 3  # one reading of the name, e.g. "zengxiaoming"
    INITIALS = 4  # the initials of one reading, e.g. "zxm"


class MemberSearchTerm(Base):
    __tablename__ = "member_search_terms"

    # No foreign keys: the triggers own every row (per-row foreign-key checks doubled the cost
    # of a bulk import), and deleting a member deletes its terms by trigger too.
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    term: Mapped[str] = mapped_column(Text(collation="C"), primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
