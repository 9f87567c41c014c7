"""Outbox payloads of exams (issue 5), written in the caller's transaction on subjects
learning.<tenant>.exam.<event>: `ExamSubmitted` when an attempt is submitted (by the learner or
at its deadline) and `ExamGraded` when its score is final."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp
from hongyun.learning.v1 import learning_exams_pb2 as pb
from sqlalchemy.ext.asyncio import AsyncSession

from learning_service import events
from learning_service.exam_models import ExamAttempt

AGGREGATE = "exam"
SUBMITTED_BY = {
    "learner": pb.EXAM_SUBMISSION_REASON_LEARNER,
    "deadline": pb.EXAM_SUBMISSION_REASON_DEADLINE,
}


def _ts(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


async def exam_submitted(session: AsyncSession, attempt: ExamAttempt) -> None:
    await events.emit(
        session,
        attempt.tenant_id,
        AGGREGATE,
        "submitted",
        pb.ExamSubmitted(
            tenant_id=str(attempt.tenant_id),
            attempt_id=str(attempt.id),
            exam_id=str(attempt.exam_id),
            learner_id=attempt.learner_id,
            attempt_number=attempt.number,
            submitted_by=SUBMITTED_BY.get(attempt.submitted_by or "", 0),
            submitted_at=_ts(attempt.submitted_at),
            auto_score_hundredths=attempt.auto_score,
            max_score_hundredths=attempt.max_score,
            pending_grades=attempt.pending_grades,
        ),
    )


async def exam_graded(session: AsyncSession, attempt: ExamAttempt) -> None:
    await events.emit(
        session,
        attempt.tenant_id,
        AGGREGATE,
        "graded",
        pb.ExamGraded(
            tenant_id=str(attempt.tenant_id),
            attempt_id=str(attempt.id),
            exam_id=str(attempt.exam_id),
            learner_id=attempt.learner_id,
            score_hundredths=attempt.score or 0,
            max_score_hundredths=attempt.max_score,
            pass_score_hundredths=attempt.pass_score,
            passed=bool(attempt.passed),
            graded_at=_ts(attempt.graded_at),
        ),
    )
