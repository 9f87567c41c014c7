"""Placeholder of the letters tables (member part 2, docs/adr/0014); filled in by its change.

Revision ID: 20261203_0013
Revises: 20261203_0012
Create Date: 2026-12-03
"""

revision = "20261203_0013"
down_revision = "20261203_0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
