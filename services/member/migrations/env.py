from hongyun_platform.db import alembic_env
from member_service.models import SCHEMA, Base

alembic_env.run(Base.metadata, SCHEMA, append_only=("audit_log",))
