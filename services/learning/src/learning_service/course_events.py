"""Outbox payloads of courses (docs/adr/0018), written in the caller's transaction on subjects
learning.<tenant>.course.<event>: CoursePublished when a course is approved, CourseAssigned (the
full list of audiences and the sharing mode) on publication and whenever either changes on a
published course."""

from __future__ import annotations

from collections.abc import Sequence

from hongyun.learning.v1 import learning_courses_pb2 as pb
from sqlalchemy.ext.asyncio import AsyncSession

from learning_service import events
from learning_service.course_models import Course, CourseAudience

AGGREGATE = "course"
SHARE_PB = {
    "none": pb.COURSE_SHARE_MODE_NONE,
    "optional": pb.COURSE_SHARE_MODE_OPTIONAL,
    "required": pb.COURSE_SHARE_MODE_REQUIRED,
}
AUDIENCE_PB = {
    "tenant": pb.COURSE_AUDIENCE_KIND_TENANT,
    "org_subtree": pb.COURSE_AUDIENCE_KIND_ORG_SUBTREE,
    "role": pb.COURSE_AUDIENCE_KIND_ROLE,
    "learner": pb.COURSE_AUDIENCE_KIND_LEARNER,
}


def audience_pb(a: CourseAudience) -> pb.CourseAudience:
    return pb.CourseAudience(
        kind=AUDIENCE_PB[a.kind],
        org_id=str(a.org_id or ""),
        role=a.role or "",
        learner_id=a.learner_id or "",
        required=a.required,
        due_on=a.due_on.isoformat() if a.due_on else "",
    )


async def course_published(session: AsyncSession, course: Course) -> None:
    await events.emit(
        session, course.tenant_id, AGGREGATE, "published",
        pb.CoursePublished(
            tenant_id=str(course.tenant_id), course_id=str(course.id), version=course.version,
            title=course.title, class_hours_hundredths=course.class_hours_hundredths,
            shared_down=SHARE_PB[course.shared_down], submitted_by=course.submitted_by,
            approved_by=course.reviewed_by,
        ),
    )  # fmt: skip


async def course_assigned(
    session: AsyncSession, course: Course, audiences: Sequence[CourseAudience], assigned_by: str
) -> None:
    await events.emit(
        session, course.tenant_id, AGGREGATE, "assigned",
        pb.CourseAssigned(
            tenant_id=str(course.tenant_id), course_id=str(course.id), version=course.version,
            audiences=[audience_pb(a) for a in audiences],
            shared_down=SHARE_PB[course.shared_down], assigned_by=assigned_by,
        ),
    )  # fmt: skip
