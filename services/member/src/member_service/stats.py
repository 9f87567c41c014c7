"""Member counts by status and category for a subtree, inside the caller's data scope."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from hongyun_platform.db import UnitOfWork
from hongyun_platform.grpc.context import CallerContext
from sqlalchemy import cast, func, literal, select

from member_service.models import Ltree, Member, Organization
from member_service.repository import Repositories
from member_service.service import MANAGERS, MemberDirectory


@dataclass
class MemberCounts:
    total: int = 0
    by_status: Counter = field(default_factory=Counter)
    by_category: Counter = field(default_factory=Counter)
    lost_contact: int = 0
    floating: int = 0


class MemberStats:
    def __init__(self, directory: MemberDirectory):
        self.directory = directory

    async def count(
        self, uow: UnitOfWork, caller: CallerContext, organization_id: str
    ) -> MemberCounts:
        caller.require_role(*MANAGERS)
        tenant_id = caller.require_tenant()
        repos = Repositories(uow.session)
        root_path = await self.directory.subtree_path(repos, caller, organization_id)
        cols = (Member.party_status, Member.category, Member.lost_contact, Member.floating)
        stmt = select(*cols, func.count()).where(Member.tenant_id == tenant_id).group_by(*cols)
        if root_path is not None and "." in root_path:
            # Below the root: join the tree; at the root, every member of the tenant counts.
            stmt = stmt.join(Organization, Organization.id == Member.organization_id).where(
                Organization.path.op("<@")(cast(literal(root_path), Ltree()))
            )
        out = MemberCounts()
        for status, category, lost, floating, n in (await uow.session.execute(stmt)).all():
            out.total += n
            out.by_status[status] += n
            out.by_category[category] += n
            out.lost_contact += n if lost else 0
            out.floating += n if floating else 0
        return out
