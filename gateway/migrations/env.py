"""Alembic environment for the gateway's identity schema.

The shared platform env does the work: async engine, CREATE SCHEMA identity, the version table
inside it, and grants for the runtime role (HONGYUN_DB_APP_ROLE) after the upgrade.
`hongyun-gateway migrate` passes the URL; plain `alembic -c gateway/alembic.ini …` reads settings.
"""

from alembic import context
from hongyun_gateway.identity.models import SCHEMA, Base
from hongyun_gateway.settings import GatewaySettings
from hongyun_platform.db import alembic_env

config = context.config
if not config.get_main_option("sqlalchemy.url"):
    settings = GatewaySettings()
    config.set_main_option("sqlalchemy.url", settings.migrations_url.replace("%", "%%"))
    config.attributes.setdefault("app_role", settings.db_app_role)

alembic_env.run(Base.metadata, SCHEMA)
