"""Tenant data exports as jobs (docs/adr/0012).

Revision ID: 20261203_0008
Revises: 20261203_0007
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op
from hongyun_platform.db.rls import tenant_isolation_ddl
from sqlalchemy.dialects import postgresql

SCHEMA = "member"

revision = "20261203_0008"
down_revision = "20261203_0007"
branch_labels = None
depends_on = None

TABLE = "tenant_exports"


def upgrade() -> None:
    now = sa.text("now()")
    op.create_table(
        TABLE,
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("include_descendants", sa.Boolean(), nullable=False),
        sa.Column("tenant_ids", sa.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_by_roles", sa.ARRAY(sa.Text()), nullable=False),
        sa.Column("created_by_tenant_id", sa.Uuid(), nullable=True),
        sa.Column("revealed", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("watermark", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="queued", nullable=False),
        sa.Column("total_rows", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("rows_done", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("file_name", sa.String(length=255), server_default="", nullable=False),
        sa.Column("object_key", sa.String(length=300), server_default="", nullable=False),
        sa.Column("size", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("sha256", sa.String(length=64), server_default="", nullable=False),
        sa.Column(
            "files", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False
        ),
        sa.Column("error_code", sa.String(length=40), server_default="", nullable=False),
        sa.Column("error_message", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["member.tenants.id"], name=op.f("fk_tenant_exports_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenant_exports")),
        schema=SCHEMA,
    )
    op.execute(
        f"CREATE INDEX ix_tenant_exports_tenant ON {SCHEMA}.{TABLE} (tenant_id, created_at)"
    )
    for stmt in tenant_isolation_ddl(SCHEMA, TABLE):
        op.execute(stmt)


def downgrade() -> None:
    op.drop_table(TABLE, schema=SCHEMA)
