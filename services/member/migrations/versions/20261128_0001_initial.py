"""Initial member schema: tenants, organisations (ltree), members, audit log, outbox/inbox.

Revision ID: 20261128_0001
Revises:
Create Date: 2026-11-28
"""

from alembic import op
from hongyun_platform.db.rls import CURRENT_TENANT_SQL, IS_PLATFORM_ADMIN_SQL, tenant_isolation_ddl
from member_service.models import SCHEMA, Base

revision = "20261128_0001"
down_revision = None
branch_labels = None
depends_on = None

TENANT_TABLES = ("organizations", "members", "audit_log")


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS ltree")
    bind = op.get_bind()
    Base.metadata.create_all(bind, checkfirst=False)
    s = SCHEMA
    op.execute(f"CREATE INDEX ix_tenants_path ON {s}.tenants USING gist (path)")
    op.execute(f"CREATE INDEX ix_organizations_path ON {s}.organizations USING gist (path)")
    op.execute(f"CREATE INDEX ix_organizations_tenant ON {s}.organizations (tenant_id, id)")
    op.execute(
        f"CREATE UNIQUE INDEX uq_organizations_sibling_name ON {s}.organizations "
        "(tenant_id, coalesce(parent_id, '00000000-0000-0000-0000-000000000000'::uuid), name)"
    )
    op.execute(
        f"CREATE UNIQUE INDEX uq_organizations_one_root ON {s}.organizations (tenant_id) "
        "WHERE parent_id IS NULL"
    )
    op.execute(f"CREATE INDEX ix_members_org ON {s}.members (organization_id, id)")
    op.execute(f"CREATE INDEX ix_members_tenant ON {s}.members (tenant_id, id)")
    op.execute(
        f"CREATE UNIQUE INDEX uq_members_id_number ON {s}.members (tenant_id, id_number_index)"
    )
    op.execute(f"CREATE INDEX ix_audit_target ON {s}.audit_log (tenant_id, target_id, at)")

    for table in TENANT_TABLES:
        for stmt in tenant_isolation_ddl(s, table):
            op.execute(stmt)
    # A tenant sees itself and its descendants (its label is on their path); platform admins
    # see all. Only platform admins or an ancestor tenant may write tenant rows.
    own_or_descendant = (
        f"path ~ ('*.' || replace(({CURRENT_TENANT_SQL})::text, '-', '') || '.*')::lquery"
    )
    op.execute(f"ALTER TABLE {s}.tenants ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {s}.tenants FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_visibility ON {s}.tenants "
        f"USING ({IS_PLATFORM_ADMIN_SQL} OR {own_or_descendant}) "
        f"WITH CHECK ({IS_PLATFORM_ADMIN_SQL} OR {own_or_descendant})"
    )


def downgrade() -> None:
    op.execute(f"DROP SCHEMA {SCHEMA} CASCADE")
