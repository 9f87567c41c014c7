"""Which courses a learner may open (docs/adr/0018): published, and either for an audience the
learner is in (the whole tenant, an org subtree containing the learner's organisation, one of the
learner's roles, the learner by id), or shared down by an ancestor tenant. Authors and reviewers
(tenant admins, secretaries) also reach drafts of their own tenant through course_service.

Row-level security already hides other tenants' rows (and ancestors' unshared ones); this adds
the audience rule, so a learner of branch A cannot open a course published to branch B."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from learning_service.course_models import Course, CourseAudience
from learning_service.learner import Learner


@dataclass(frozen=True)
class CourseAccess:
    course: Course
    required: bool  # assigned (必学) rather than optional (选学)
    shared_from_ancestor: bool


def audience_matches(learner: Learner, audience: Any = CourseAudience) -> ColumnElement[bool]:
    """SQL condition on audience rows (CourseAudience, or any table with the same kind, org_id,
    role and learner_id columns, e.g. exam audiences) that include the learner."""
    return or_(
        audience.kind == "tenant",
        and_(audience.kind == "org_subtree", audience.org_id.in_(learner.org_path))
        if learner.org_path
        else false(),
        and_(audience.kind == "role", audience.role.in_(sorted(learner.roles))),
        and_(audience.kind == "learner", audience.learner_id == learner.learner_id),
    )


def visible_condition(learner: Learner) -> ColumnElement[bool]:
    """SQL condition on Course rows the learner may open."""
    own = and_(
        Course.tenant_id == learner.tenant_id,
        exists().where(CourseAudience.course_id == Course.id, audience_matches(learner)),
    )
    shared = (
        and_(
            Course.tenant_id.in_(learner.tenant_ancestors),
            Course.shared_down != "none",
        )
        if learner.tenant_ancestors
        else false()
    )
    return and_(Course.status == "published", or_(own, shared))


async def course_for_learner(
    session: AsyncSession, learner: Learner, course_id: uuid.UUID
) -> CourseAccess | None:
    """The course if the learner may open it, else None (callers answer 404: a course the
    learner may not see does not exist for them)."""
    course = (
        await session.execute(
            select(Course).where(Course.id == course_id, visible_condition(learner))
        )
    ).scalar_one_or_none()
    if course is None:
        return None
    if course.tenant_id != learner.tenant_id:
        return CourseAccess(course, course.shared_down == "required", True)
    required = (
        await session.execute(
            select(exists().where(
                CourseAudience.course_id == course.id, CourseAudience.required,
                audience_matches(learner),
            ))
        )
    ).scalar_one()  # fmt: skip
    return CourseAccess(course, bool(required), False)
