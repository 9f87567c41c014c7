"""Organisations get `path_key`, their ltree path as text in byte order (a stored generated
column) with a btree on (tenant_id, path_key): a subtree is then a range on it, which PostgreSQL
may use under row-level security. ltree's `<@` is not leakproof, so with row-level security every
subtree query scanned the tenant's organisations (48 ms for a branch of a 100,000-organisation
province, on every list and search of a secretary) — docs/adr/0002.

Revision ID: 20261203_0010
Revises: 20261203_0009
Create Date: 2026-12-03
"""

from alembic import op

revision = "20261203_0010"
down_revision = "20261203_0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        'ALTER TABLE member.organizations ADD COLUMN path_key text COLLATE "C" '
        "GENERATED ALWAYS AS ((path)::text) STORED"
    )
    op.execute(
        "CREATE INDEX ix_organizations_path_key ON member.organizations (tenant_id, path_key)"
    )


def downgrade() -> None:
    op.execute("DROP INDEX member.ix_organizations_path_key")
    op.execute("ALTER TABLE member.organizations DROP COLUMN path_key")
