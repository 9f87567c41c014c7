"""Wiring of the training area into the learning service process: TrainingService and the
auto-close job."""

from __future__ import annotations

from learning_service import training_models  # noqa: F401 - tables known until all_models has them
from learning_service.training import Training
from learning_service.training_jobs import TrainingAutoClose
from learning_service.training_repository import ProgressTableCompletion
from learning_service.training_servicer import SERVICE_NAME, TrainingServicer
from learning_service.wiring import Parts, Wired


def wire(parts: Parts) -> Wired:
    from hongyun.learning.v1 import learning_training_pb2_grpc as grpc_mod

    training = Training(ProgressTableCompletion())
    auto_close = TrainingAutoClose(
        parts.db, training, interval_seconds=parts.settings.job_interval_seconds,
        after_commit=parts.after_commit,
    )  # fmt: skip
    return Wired(
        services=[
            (
                grpc_mod.add_TrainingServiceServicer_to_server,
                TrainingServicer(parts.db, training, after_commit=parts.after_commit),
                SERVICE_NAME,
            )
        ],
        jobs=[auto_close.run],
    )
