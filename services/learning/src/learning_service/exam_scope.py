"""Who may author, grade and see what in the exam area (issue 5).

- Authors are tenant admins (every bank and exam of the tenant) and secretaries (banks and exams
  of organisations inside their subtree; they may also read and draw from tenant-wide banks, and
  include tenant-wide exams' answers of their own learners in grading).
- Graders are tenant admins (any attempt) and secretaries (attempts of learners whose
  organisation, recorded on the attempt, is inside their subtree) — never of their own attempt.
- Learners are any caller of the tenant (their account id), limited by each exam's audience.

Anything out of scope is NOT_FOUND, like something that does not exist.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from hongyun_platform.errors import NotFound, PermissionDenied
from hongyun_platform.grpc.context import ROLE_SECRETARY, ROLE_TENANT_ADMIN, CallerContext
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from learning_service.models import OrgPath

AUTHORS = (ROLE_TENANT_ADMIN, ROLE_SECRETARY)


@dataclass(frozen=True)
class AuthorScope:
    tenant_id: uuid.UUID
    user_id: str
    admin: bool
    org_id: uuid.UUID | None  # a secretary's organisation

    def may_manage(self, org_path: Sequence[uuid.UUID]) -> bool:
        return self.admin or (self.org_id is not None and self.org_id in org_path)

    def may_read(self, org_path: Sequence[uuid.UUID]) -> bool:
        return self.may_manage(org_path) or not org_path

    def may_grade(self, learner_org_path: Sequence[uuid.UUID]) -> bool:
        return self.admin or (self.org_id is not None and self.org_id in learner_org_path)


def author_scope(caller: CallerContext) -> AuthorScope:
    tenant_id = caller.require_tenant()
    if caller.has_role(ROLE_TENANT_ADMIN):
        return AuthorScope(tenant_id, caller.user_id, True, None)
    if caller.has_role(ROLE_SECRETARY) and caller.scope_org_id is not None:
        return AuthorScope(tenant_id, caller.user_id, False, caller.scope_org_id)
    raise PermissionDenied(
        "仅租户管理员和书记可管理题库、考试和阅卷 (only tenant admins and secretaries manage "
        "question banks, exams and grading)",
        code="exam_author_required",
    )


async def org_path_of(
    session: AsyncSession, scope: AuthorScope, org_id: uuid.UUID | None
) -> tuple[uuid.UUID | None, tuple[uuid.UUID, ...]]:
    """The owning organisation of a new bank or exam and its path (root first). Empty `org_id`:
    the whole tenant for admins, the secretary's own organisation for secretaries. An
    organisation outside a secretary's subtree is NOT_FOUND."""
    if org_id is None:
        if scope.admin:
            return None, ()
        org_id = scope.org_id
    assert org_id is not None
    path = (
        await session.execute(
            select(OrgPath.path).where(
                OrgPath.org_id == org_id, OrgPath.tenant_id == scope.tenant_id
            )
        )
    ).scalar_one_or_none()
    # An organisation the directory projection has not seen yet is its own one-element path.
    full = tuple(path) if path else (org_id,)
    if not scope.may_manage(full):
        raise NotFound(
            "组织不存在 (organization not found)", code="organization_not_found", field="org_id"
        )
    return org_id, full
