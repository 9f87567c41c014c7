"""Member counts by status and category for a subtree, inside the caller's data scope."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field

from hongyun_platform.db import UnitOfWork
from hongyun_platform.grpc.context import CallerContext
from sqlalchemy import select

from member_service.count_models import OrgMemberCount
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
        if root_path is None:  # the caller's whole tenant: its root organisation's subtree
            root = await repos.organizations.root_of(tenant_id)
            if root is None:
                return MemberCounts()
            root_id = root.id
        else:
            root_id = uuid.UUID(root_path.rsplit(".", 1)[-1])
        # The subtree's counts, rolled up by triggers (count_models): a primary-key lookup.
        c = OrgMemberCount
        cols = (c.party_status, c.category, c.lost_contact, c.floating, c.n)
        stmt = select(*cols).where(c.tenant_id == tenant_id, c.organization_id == root_id, c.n != 0)
        out = MemberCounts()
        for status, category, lost, floating, n in (await uow.session.execute(stmt)).all():
            out.total += n
            out.by_status[status] += n
            out.by_category[category] += n
            out.lost_contact += n if lost else 0
            out.floating += n if floating else 0
        return out
