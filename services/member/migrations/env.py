from hongyun_platform.db import alembic_env
from member_service.models import SCHEMA, Base

alembic_env.run(
    Base.metadata,
    SCHEMA,
    # The runtime role may insert and read these, never change them (history and audit).
    append_only=(
        "audit_log",
        "member_status_changes",
        "member_flag_changes",
        "member_field_changes",
        "member_exports",
        "dues_payments",  # money recorded is corrected by a new record, never rewritten
        "development_steps",  # a step is recorded once; corrections are new entries
    ),
)
