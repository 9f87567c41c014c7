"""Wiring of the exam area into the learning service process: QuestionBankService, ExamService
and the deadline job.

Import limits come from HONGYUN_LEARNING_QUESTION_IMPORT_MAX_BYTES / _MAX_ROWS when the settings
define them (5 MB and 2000 rows by default)."""

from __future__ import annotations

from hongyun.learning.v1 import learning_exams_pb2_grpc

from learning_service import exam_models  # noqa: F401 - the exam tables on Base.metadata
from learning_service.exam_attempts import ExamAttempts
from learning_service.exam_grading import Grading
from learning_service.exam_jobs import ExamDeadlineJob
from learning_service.exam_servicer import SERVICE_NAME as EXAM_SERVICE
from learning_service.exam_servicer import ExamServicer
from learning_service.exams import Exams
from learning_service.question_import import (
    ImportLimits,
    QuestionImport,
)
from learning_service.question_servicer import SERVICE_NAME as BANK_SERVICE
from learning_service.question_servicer import QuestionBankServicer
from learning_service.questions import QuestionBanks
from learning_service.wiring import Parts, Wired


def wire(parts: Parts) -> Wired:
    settings = parts.settings
    limits = ImportLimits(
        max_bytes=settings.question_import_max_bytes,
        max_rows=settings.question_import_max_rows,
    )
    banks = QuestionBanks()
    job = ExamDeadlineJob(
        parts.db, interval_seconds=settings.job_interval_seconds, after_commit=parts.after_commit
    )
    return Wired(
        services=[
            (
                learning_exams_pb2_grpc.add_QuestionBankServiceServicer_to_server,
                QuestionBankServicer(
                    parts.db, banks, QuestionImport(banks, limits), after_commit=parts.after_commit
                ),
                BANK_SERVICE,
            ),
            (
                learning_exams_pb2_grpc.add_ExamServiceServicer_to_server,
                ExamServicer(
                    parts.db, Exams(), ExamAttempts(), Grading(), after_commit=parts.after_commit
                ),
                EXAM_SERVICE,
            ),
        ],
        jobs=[job.run],
    )
