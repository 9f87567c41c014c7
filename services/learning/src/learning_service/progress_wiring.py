"""Wiring of the progress area into the learning service process: ProgressService."""

from __future__ import annotations

from hongyun.learning.v1 import learning_progress_pb2_grpc

# Registers the progress tables on Base.metadata until all_models.py imports them.
from learning_service import progress_models  # noqa: F401
from learning_service.progress import Progress
from learning_service.progress_servicer import SERVICE_NAME, ProgressServicer
from learning_service.wiring import Parts, Wired


def wire(parts: Parts) -> Wired:
    servicer = ProgressServicer(parts.db, Progress(), after_commit=parts.after_commit)
    return Wired(
        services=[
            (learning_progress_pb2_grpc.add_ProgressServiceServicer_to_server, servicer,
             SERVICE_NAME)
        ]
    )  # fmt: skip
