"""Imports every ORM module so that Base.metadata knows all tables (Alembic, tests)."""

from learning_service import (
    course_models,
    exam_models,
    models,
    progress_models,
    training_models,
)

__all__ = ["course_models", "exam_models", "models", "progress_models", "training_models"]
