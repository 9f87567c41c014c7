"""Placeholder of the development tables (member part 2, docs/adr/0014); filled in by its change.

Revision ID: 20261203_0012
Revises: 20261203_0011
Create Date: 2026-12-03
"""

revision = "20261203_0012"
down_revision = "20261203_0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
