"""Number-suffix search indexes carry the member id (docs/adr/0008): a suffix shared by
thousands of members (a common sequence code) is then read in id order and stops after one page,
instead of fetching and sorting every match.

Revision ID: 20261203_0009
Revises: 20261203_0008
Create Date: 2026-12-03
"""

from alembic import op

revision = "20261203_0009"
down_revision = "20261203_0008"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_members_id_number_suffix": "id_number_suffix_index",
    "ix_members_mobile_phone_suffix": "mobile_phone_suffix_index",
}


def upgrade() -> None:
    for name, column in INDEXES.items():
        op.execute(f"DROP INDEX member.{name}")
        op.execute(f"CREATE INDEX {name} ON member.members (tenant_id, {column}, id)")


def downgrade() -> None:
    for name, column in INDEXES.items():
        op.execute(f"DROP INDEX member.{name}")
        op.execute(f"CREATE INDEX {name} ON member.members (tenant_id, {column})")
