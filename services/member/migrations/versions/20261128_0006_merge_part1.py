"""Merge the member part 1 branches (organisations and rules, search, archive, import/export) and
seed the national 失联 rule, which needs both the rules table and the archive.

Revision ID: 20261128_0006
Revises: 20261128_0002, 20261128_0003, 20261128_0004, 20261128_0005
Create Date: 2026-11-28
"""

import datetime
import json
import uuid

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "20261128_0006"
down_revision = ("20261128_0002", "20261128_0003", "20261128_0004", "20261128_0005")
branch_labels = None
depends_on = None

KEY = "member.lost_contact.min_months"
CITATION = (
    "失联党员：党组织与党员失去联系满6个月（domain.md §2 [V]，法规出处待补）；可按本地要求覆盖。"
)


def upgrade() -> None:
    rules = sa.table(
        "rules",
        sa.column("id", sa.Uuid()), sa.column("key", sa.String()), sa.column("tenant_id", sa.Uuid()),
        sa.column("value", postgresql.JSONB()), sa.column("citation", sa.Text()),
        sa.column("effective_from", sa.Date()), sa.column("note", sa.Text()),
        sa.column("created_by", sa.String()),
        schema="member",
    )  # fmt: skip
    op.bulk_insert(
        rules,
        [
            {
                "id": uuid.uuid5(uuid.NAMESPACE_URL, f"hongyun:rule:{KEY}:national"),
                "key": KEY,
                "tenant_id": None,
                "value": json.loads("6"),
                "citation": CITATION,
                "effective_from": datetime.date(
                    1900, 1, 1
                ),  # source and start date still to be cited
                "note": "失联标记的最短失联时间（月）",
                "created_by": "migration:20261128_0006",
            }
        ],
        multiinsert=False,
    )


def downgrade() -> None:
    op.execute(f"DELETE FROM member.rules WHERE key = '{KEY}' AND tenant_id IS NULL")
