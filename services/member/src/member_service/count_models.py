"""Member counts rolled up the organisation tree (docs/adr/0013).

One row per (organisation, 党籍 status, category, 失联, 流动) holding how many members of the
organisation's whole subtree have those values. Kept by statement-level triggers on
member.members and member.organizations (migration 20261203_0007), so every write path (API,
bulk import, merge, move) keeps it right; the code only reads it. A subtree's counts are then a
primary-key lookup of a few rows instead of a scan of its members: ltree's `<@` is not
leakproof, so under row-level security it cannot use an index (ADR 0008).
"""

from __future__ import annotations

import uuid

from sqlalchemy import BigInteger, Boolean, SmallInteger, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from member_service.models import Base


class OrgMemberCount(Base):
    __tablename__ = "org_member_counts"

    # No foreign keys: the triggers own every row (as member_search_terms).
    organization_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    party_status: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    category: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    lost_contact: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    floating: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    n: Mapped[int] = mapped_column(BigInteger)
