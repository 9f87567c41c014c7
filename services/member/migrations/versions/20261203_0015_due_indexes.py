"""A partial index of the organisations that are no longer active (dissolved or merged: few),
so "what is due" leaves their committee terms out with an anti-join instead of reading every
organisation's status (docs/adr/0014).

Revision ID: 20261203_0015
Revises: 20261203_0014
Create Date: 2026-12-03
"""

from alembic import op

revision = "20261203_0015"
down_revision = "20261203_0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX ix_organizations_inactive ON member.organizations (id) "
        "WHERE status <> 'active'"
    )


def downgrade() -> None:
    op.execute("DROP INDEX member.ix_organizations_inactive")
