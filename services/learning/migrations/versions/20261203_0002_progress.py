"""Learning progress, anti-gaming flags, optional points (placeholder).

Revision ID: 20261203_0002
Revises: 20261203_0001
Create Date: 2026-12-03
"""

revision = "20261203_0002"
down_revision = "20261203_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # filled in by the progress work


def downgrade() -> None:
    pass
