"""Rules as data (national defaults with citations, per-tenant overrides), organisation lifecycle
and history with effective dates, committee terms and their reminders (docs/adr/0007).

Revision ID: 20261128_0002
Revises: 20261128_0001
Create Date: 2026-11-28
"""

import json
import uuid
from datetime import date

import sqlalchemy as sa
from alembic import op
from hongyun_platform.db.rls import CURRENT_TENANT_SQL, tenant_isolation_ddl
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import UserDefinedType

SCHEMA = "member"

revision = "20261128_0002"
down_revision = "20261128_0001"
branch_labels = None
depends_on = None

TENANT_TABLES = ("organization_history", "committee_terms", "committee_term_reminders")
CHINA_TODAY_SQL = "((now() AT TIME ZONE 'Asia/Shanghai'))::date"
NO_TENANT = "'00000000-0000-0000-0000-000000000000'::uuid"

BRANCH_REGULATION = "《中国共产党支部工作条例（试行）》（中共中央 2018年11月25日发布）"
BRANCH_REGULATION_FROM = date(2018, 11, 25)

# National defaults (domain.md §1). Values change only through a new migration with a citation;
# tenants override them through the API.
NATIONAL_RULES = [
    (
        "org.branch.min_full_members",
        3,
        BRANCH_REGULATION + " 第四条：凡是有正式党员3人以上的，都应当成立党支部。",
        "正式党员不足3人的单位，应当成立联合党支部。",
    ),
    (
        "org.branch.max_members",
        50,
        BRANCH_REGULATION + " 第四条：党支部党员人数一般不超过50人。",
        "",
    ),
    (
        "org.branch.committee_min_full_members",
        7,
        BRANCH_REGULATION + " 第六章：有正式党员7人以上的党支部，应当设立党支部委员会。",
        "正式党员不足7人的党支部，设1名书记，必要时可以设1名副书记。",
    ),
    (
        "org.branch.committee_size",
        {"min": 3, "max": 5, "hard_max": 7},
        BRANCH_REGULATION + " 第六章：党支部委员会由3至5人组成，一般不超过7人。",
        "",
    ),
    (
        "org.committee.term_years",
        {"village_community": 5, "other": 3},
        BRANCH_REGULATION
        + " 第六章：村、社区党支部委员会每届任期5年，其他基层单位党支部委员会一般每届任期3年。",
        "也用于党委、党总支，直到为其设立单独规则或由租户覆盖。",
    ),
    (
        "org.committee.term_reminder_months",
        [6, 1],
        "公开党建信息系统的通行做法：委员会任期届满前6个月和1个月提醒换届（非法规条文，"
        "可按本地要求覆盖）。",
        "",
    ),
]


class LTREE(UserDefinedType):
    cache_ok = True

    def get_col_spec(self, **_kw) -> str:
        return "ltree"


def upgrade() -> None:
    s = SCHEMA

    # ---- organisations: lifecycle columns ----
    op.add_column(
        "organizations",
        sa.Column("status", sa.String(length=16), server_default="active", nullable=False),
        schema=s,
    )
    op.add_column(
        "organizations",
        sa.Column(
            "established_on", sa.Date(), server_default=sa.text(CHINA_TODAY_SQL), nullable=False
        ),
        schema=s,
    )
    op.add_column("organizations", sa.Column("dissolved_on", sa.Date(), nullable=True), schema=s)
    op.add_column("organizations", sa.Column("merged_into_id", sa.Uuid(), nullable=True), schema=s)
    # The migration role owns the table but is subject to FORCEd row-level security.
    op.execute(f"ALTER TABLE {s}.organizations NO FORCE ROW LEVEL SECURITY")
    op.execute(
        f"UPDATE {s}.organizations "
        "SET established_on = (created_at AT TIME ZONE 'Asia/Shanghai')::date"
    )
    op.execute(f"ALTER TABLE {s}.organizations FORCE ROW LEVEL SECURITY")
    # A dissolved organisation's name may be used again by a new sibling.
    op.execute(f"DROP INDEX {s}.uq_organizations_sibling_name")
    op.execute(
        f"CREATE UNIQUE INDEX uq_organizations_sibling_name ON {s}.organizations "
        f"(tenant_id, coalesce(parent_id, {NO_TENANT}), name) WHERE status = 'active'"
    )

    # ---- rules ----
    op.create_table(
        "rules",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=True),
        sa.Column("value", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("citation", sa.Text(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
            nullable=False,
        ),  # fmt: skip
        sa.Column("created_by", sa.String(length=64), server_default="", nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], [f"{s}.tenants.id"], name=op.f("fk_rules_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rules")),
        schema=s,
    )
    op.execute(
        f"CREATE UNIQUE INDEX uq_rules_key_tenant_from ON {s}.rules "
        f"(key, coalesce(tenant_id, {NO_TENANT}), effective_from)"
    )
    rules = sa.table(
        "rules",
        sa.column("id", sa.Uuid()),
        sa.column("key", sa.String()),
        sa.column("tenant_id", sa.Uuid()),
        sa.column("value", postgresql.JSONB()),
        sa.column("citation", sa.Text()),
        sa.column("effective_from", sa.Date()),
        sa.column("note", sa.Text()),
        sa.column("created_by", sa.String()),
        schema=s,
    )
    op.bulk_insert(
        rules,
        [
            {
                "id": uuid.uuid5(uuid.NAMESPACE_URL, f"hongyun:rule:{key}:national"),
                "key": key,
                "tenant_id": None,
                "value": json.loads(json.dumps(value)),
                "citation": citation,
                "effective_from": BRANCH_REGULATION_FROM,
                "note": note,
                "created_by": "migration:20261128_0002",
            }
            for key, value, citation, note in NATIONAL_RULES
        ],
        multiinsert=False,
    )
    # National defaults (tenant_id NULL) are read by everyone and written by migrations only.
    # A tenant reads its own overrides and its ancestors' (their labels are on its path; its own
    # tenants row is visible to it), and writes only its own.
    ancestor = (
        f"EXISTS (SELECT 1 FROM {s}.tenants t WHERE t.id = {CURRENT_TENANT_SQL} "
        f"AND t.path ~ ('*.' || replace(rules.tenant_id::text, '-', '') || '.*')::lquery)"
    )
    own = f"tenant_id = {CURRENT_TENANT_SQL}"
    op.execute(f"ALTER TABLE {s}.rules ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {s}.rules FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY rules_read ON {s}.rules FOR SELECT "
        f"USING (tenant_id IS NULL OR {own} OR {ancestor})"
    )
    op.execute(f"CREATE POLICY rules_insert ON {s}.rules FOR INSERT WITH CHECK ({own})")
    op.execute(f"CREATE POLICY rules_update ON {s}.rules FOR UPDATE USING ({own}) WITH CHECK ({own})")
    op.execute(f"CREATE POLICY rules_delete ON {s}.rules FOR DELETE USING ({own})")

    # ---- organisation history ----
    op.create_table(
        "organization_history",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("path", LTREE(), nullable=False),
        sa.Column("type", sa.SmallInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("merged_into_id", sa.Uuid(), nullable=True),
        sa.Column("change", sa.String(length=20), nullable=False),
        sa.Column("changed_by", sa.String(length=64), server_default="", nullable=False),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
            nullable=False,
        ),  # fmt: skip
        sa.ForeignKeyConstraint(
            ["organization_id"], [f"{s}.organizations.id"],
            name=op.f("fk_organization_history_organization_id_organizations"),
        ),  # fmt: skip
        sa.ForeignKeyConstraint(
            ["tenant_id"], [f"{s}.tenants.id"],
            name=op.f("fk_organization_history_tenant_id_tenants"),
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organization_history")),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_to >= valid_from", name=op.f("ck_organization_history_interval")
        ),
        schema=s,
    )
    op.execute(
        f"CREATE INDEX ix_organization_history_org ON {s}.organization_history "
        "(organization_id, valid_from)"
    )
    op.execute(
        f"CREATE UNIQUE INDEX uq_organization_history_open ON {s}.organization_history "
        "(organization_id) WHERE valid_to IS NULL"
    )
    op.execute(
        f"CREATE INDEX ix_organization_history_path ON {s}.organization_history USING gist (path)"
    )
    op.execute(
        f"CREATE INDEX ix_organization_history_day ON {s}.organization_history "
        "(tenant_id, valid_from, valid_to)"
    )

    # ---- committee terms and reminders ----
    op.create_table(
        "committee_terms",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("unit_kind", sa.String(length=20), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("term_years", sa.SmallInteger(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("committee_members", sa.SmallInteger(), nullable=True),
        sa.Column("rule_citation", sa.Text(), server_default="", nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
            nullable=False,
        ),  # fmt: skip
        sa.Column("created_by", sa.String(length=64), server_default="", nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"], [f"{s}.organizations.id"],
            name=op.f("fk_committee_terms_organization_id_organizations"),
        ),  # fmt: skip
        sa.ForeignKeyConstraint(
            ["tenant_id"], [f"{s}.tenants.id"], name=op.f("fk_committee_terms_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_committee_terms")),
        sa.UniqueConstraint(
            "organization_id", "started_on",
            name=op.f("uq_committee_terms_organization_id_started_on"),
        ),  # fmt: skip
        schema=s,
    )
    op.execute(f"CREATE INDEX ix_committee_terms_ends ON {s}.committee_terms (tenant_id, ends_on)")
    op.create_table(
        "committee_term_reminders",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("term_id", sa.Uuid(), nullable=False),
        sa.Column("months_before", sa.SmallInteger(), nullable=False),
        sa.Column("remind_on", sa.Date(), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
            nullable=False,
        ),  # fmt: skip
        sa.ForeignKeyConstraint(
            ["tenant_id"], [f"{s}.tenants.id"],
            name=op.f("fk_committee_term_reminders_tenant_id_tenants"),
        ),  # fmt: skip
        sa.ForeignKeyConstraint(
            ["term_id"], [f"{s}.committee_terms.id"],
            name=op.f("fk_committee_term_reminders_term_id_committee_terms"),
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("id", name=op.f("pk_committee_term_reminders")),
        sa.UniqueConstraint(
            "term_id", "months_before",
            name=op.f("uq_committee_term_reminders_term_id_months_before"),
        ),  # fmt: skip
        schema=s,
    )

    for table in TENANT_TABLES:
        for stmt in tenant_isolation_ddl(s, table):
            op.execute(stmt)


def downgrade() -> None:
    s = SCHEMA
    for table in reversed(TENANT_TABLES):
        op.drop_table(table, schema=s)
    op.drop_table("rules", schema=s)
    op.execute(f"DROP INDEX {s}.uq_organizations_sibling_name")
    op.execute(
        f"CREATE UNIQUE INDEX uq_organizations_sibling_name ON {s}.organizations "
        f"(tenant_id, coalesce(parent_id, {NO_TENANT}), name)"
    )
    for column in ("merged_into_id", "dissolved_on", "established_on", "status"):
        op.drop_column("organizations", column, schema=s)
