"""The learning migrations create exactly what the ORM models describe, and downgrade cleanly."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from hongyun_platform.db import Database
from learning_service import all_models  # noqa: F401 - every table on Base.metadata
from learning_service.models import Base

pytestmark = pytest.mark.integration


async def test_models_match_migrations(learning_settings_fx, module_database):
    db = Database(module_database.owner_url)

    def diff(conn):
        ctx = MigrationContext.configure(
            conn, opts={"include_schemas": True, "version_table_schema": "learning",
                        "include_name": lambda name, type_, parent: type_ != "schema" or name == "learning"},
        )  # fmt: skip
        return compare_metadata(ctx, Base.metadata)

    async with db.engine.connect() as conn:
        changes = await conn.run_sync(diff)
    await db.dispose()
    # Indexes made in raw SQL (GIN, partial and expression indexes) are not all in the models.
    changes = [c for c in changes if not (isinstance(c, tuple) and c[0] == "remove_index")]
    assert changes == []
