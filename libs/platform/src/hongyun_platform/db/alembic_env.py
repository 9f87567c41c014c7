"""Shared body of every service's Alembic env.py: async engine, one schema per service, the
version table inside that schema, and grants for the runtime role after each upgrade."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import MetaData, pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import async_engine_from_config

from hongyun_platform.db.rls import app_role_grants_ddl


def run(metadata: MetaData, schema: str, *, append_only: tuple[str, ...] = ()) -> None:
    """append_only: tables the runtime role may insert into and read, never change (audit)."""
    config = context.config
    app_role = config.attributes.get("app_role", "hongyun_app")

    def do_run(connection: Connection) -> None:
        connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table_schema=schema,
            include_schemas=True,
        )
        with context.begin_transaction():
            context.run_migrations()
            role_exists = connection.execute(
                text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": app_role}
            ).scalar()
            if role_exists:
                for stmt in app_role_grants_ddl(schema, app_role):
                    connection.execute(text(stmt))
                for table in append_only:
                    connection.execute(
                        text(
                            f'REVOKE UPDATE, DELETE, TRUNCATE ON {schema}.{table} FROM "{app_role}"'
                        )
                    )

    async def main() -> None:
        engine = async_engine_from_config(
            config.get_section(config.config_ini_section, {}),
            prefix="sqlalchemy.",
            poolclass=pool.NullPool,
        )
        async with engine.connect() as connection:
            await connection.run_sync(do_run)
            await connection.commit()
        await engine.dispose()

    asyncio.run(main())
