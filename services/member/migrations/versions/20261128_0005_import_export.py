"""Member import jobs and the export log (docs/adr/0010).

Revision ID: 20261128_0005
Revises: 20261128_0001
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op
from hongyun_platform.db.rls import tenant_isolation_ddl
from sqlalchemy.dialects import postgresql

SCHEMA = "member"

revision = "20261128_0005"
down_revision = "20261128_0001"
branch_labels = None
depends_on = None

TABLES = ("member_import_jobs", "member_exports")


def upgrade() -> None:
    now = sa.text("now()")
    op.create_table(
        "member_import_jobs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_by_roles", sa.ARRAY(sa.Text()), nullable=False),
        sa.Column("scope_org_id", sa.Uuid(), nullable=True),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("file_format", sa.String(length=8), nullable=False),
        sa.Column("file_size", sa.BigInteger(), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("default_org_path", sa.Text(), server_default="", nullable=False),
        sa.Column("status", sa.String(length=16), server_default="queued", nullable=False),
        sa.Column("total_rows", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rows_done", sa.Integer(), server_default="0", nullable=False),
        sa.Column("accepted", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rejected", sa.Integer(), server_default="0", nullable=False),
        sa.Column("skipped", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "reasons",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("error_code", sa.String(length=40), server_default="", nullable=False),
        sa.Column("error_message", sa.Text(), server_default="", nullable=False),
        sa.Column("errors_enc", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["member.tenants.id"],
            name=op.f("fk_member_import_jobs_tenant_id_tenants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_import_jobs")),
        schema=SCHEMA,
    )
    op.create_table(
        "member_exports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("actor_roles", sa.ARRAY(sa.Text()), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("file_format", sa.String(length=8), nullable=False),
        sa.Column("filters", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("revealed", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("watermark", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["member.tenants.id"], name=op.f("fk_member_exports_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_exports")),
        schema=SCHEMA,
    )
    op.execute(
        f"CREATE INDEX ix_member_import_jobs_tenant ON {SCHEMA}.member_import_jobs "
        "(tenant_id, created_at)"
    )
    op.execute(f"CREATE INDEX ix_member_exports_tenant ON {SCHEMA}.member_exports (tenant_id, at)")
    for table in TABLES:
        for stmt in tenant_isolation_ddl(SCHEMA, table):
            op.execute(stmt)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table, schema=SCHEMA)
