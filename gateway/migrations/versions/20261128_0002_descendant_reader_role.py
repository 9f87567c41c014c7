"""accounts may hold the descendant_reader role

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ROLES = "ARRAY['platform_admin','tenant_admin','secretary','member','descendant_reader']::text[]"
OLD_ROLES = "ARRAY['platform_admin','tenant_admin','secretary','member']::text[]"


def upgrade() -> None:
    op.drop_constraint(
        op.f("ck_accounts_ck_accounts_known_roles"), "accounts", schema="identity", type_="check"
    )
    op.create_check_constraint(
        op.f("ck_accounts_ck_accounts_known_roles"), "accounts",
        f"roles <@ {ROLES} AND cardinality(roles) > 0", schema="identity",
    )  # fmt: skip


def downgrade() -> None:
    op.drop_constraint(
        op.f("ck_accounts_ck_accounts_known_roles"), "accounts", schema="identity", type_="check"
    )
    op.create_check_constraint(
        op.f("ck_accounts_ck_accounts_known_roles"), "accounts",
        f"roles <@ {OLD_ROLES} AND cardinality(roles) > 0", schema="identity",
    )  # fmt: skip
