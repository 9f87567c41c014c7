from hongyun_platform.db import alembic_env
from learning_service import all_models  # noqa: F401 - registers every table on Base.metadata
from learning_service.models import SCHEMA, Base

alembic_env.run(
    Base.metadata,
    SCHEMA,
    # The runtime role may insert and read these, never change them (corrections are new rows).
    append_only=("training_attendance",),
)
