"""The hand-written migrations create exactly what the ORM models describe."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from hongyun_platform.db import Database
from member_service.models import Base

pytestmark = pytest.mark.integration


async def test_models_match_migrations(member_settings_fx, module_database):
    db = Database(module_database.owner_url)

    def diff(conn):
        ctx = MigrationContext.configure(
            conn, opts={"include_schemas": True, "version_table_schema": "member",
                        "include_name": lambda name, type_, parent: type_ != "schema" or name == "member"},
        )  # fmt: skip
        return compare_metadata(ctx, Base.metadata)

    async with db.engine.connect() as conn:
        changes = await conn.run_sync(diff)
    await db.dispose()
    # Indexes made in raw SQL (gist on ltree, expression and partial uniques) are not in the models.
    changes = [c for c in changes if not (isinstance(c, tuple) and c[0] == "remove_index")]
    assert changes == []
