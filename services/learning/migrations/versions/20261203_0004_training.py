"""Training classes, sessions, attendance, class hours (placeholder).

Revision ID: 20261203_0004
Revises: 20261203_0003
Create Date: 2026-12-03
"""

revision = "20261203_0004"
down_revision = "20261203_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # filled in by the training work


def downgrade() -> None:
    pass
