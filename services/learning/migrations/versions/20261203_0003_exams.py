"""Question banks and exams (placeholder).

Revision ID: 20261203_0003
Revises: 20261203_0002
Create Date: 2026-12-03
"""

revision = "20261203_0003"
down_revision = "20261203_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # filled in by the exam work


def downgrade() -> None:
    pass
