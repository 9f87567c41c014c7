"""Development pipeline (发展党员, docs/adr/0015): cases, step records, training, probation
extensions, materials and the reminders sent. Row-level security on every table.

Revision ID: 20261203_0012
Revises: 20261203_0011
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op
from hongyun_platform.db.rls import tenant_isolation_ddl
from sqlalchemy.dialects import postgresql

revision = "20261203_0012"
down_revision = "20261203_0011"
branch_labels = None
depends_on = None

SCHEMA = "member"
TABLES = (
    "development_cases",
    "development_steps",
    "development_training",
    "development_extensions",
    "development_materials",
    "development_reminders",
)


def _now() -> sa.TextClause:
    return sa.text("now()")


def _tenant(table: str) -> list:
    return [
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["member.tenants.id"], name=f"fk_{table}_tenant_id_tenants"
        ),
    ]


def _case(table: str) -> list:
    return [
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["member.development_cases.id"],
            name=f"fk_{table}_case_id_development_cases",
        ),
    ]  # fmt: skip


def _recorded(who: str = "recorded_by", at: str = "recorded_at") -> list:
    return [
        sa.Column(who, sa.String(length=64), server_default="", nullable=False),
        sa.Column(at, sa.DateTime(timezone=True), server_default=_now(), nullable=False),
    ]


def upgrade() -> None:
    s = SCHEMA
    op.create_table(
        "development_cases",
        sa.Column("id", sa.Uuid(), nullable=False),
        *_tenant("development_cases"),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("gender", sa.SmallInteger(), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("ethnicity", sa.String(length=20), server_default="", nullable=False),
        sa.Column("education", sa.String(length=30), server_default="", nullable=False),
        sa.Column("id_number_enc", sa.LargeBinary(), nullable=False),
        sa.Column("id_number_index", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="open", nullable=False),
        sa.Column("current_step", sa.SmallInteger(), nullable=False),
        sa.Column("current_step_on", sa.Date(), nullable=False),
        sa.Column("application_on", sa.Date(), nullable=False),
        sa.Column("due_step", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("due_anchor", sa.Date(), nullable=True),
        sa.Column("extension_months", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("closed_reason", sa.Text(), server_default="", nullable=False),
        sa.Column("rejected_at_step", sa.SmallInteger(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("created_by", sa.String(length=64), server_default="", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), server_default="", nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["member.organizations.id"],
            name="fk_development_cases_organization_id_organizations",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.members.id"], name="fk_development_cases_member_id_members"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_development_cases"),
        schema=s,
    )  # fmt: skip
    op.create_table(
        "development_steps",
        sa.Column("id", sa.Uuid(), nullable=False),
        *_tenant("development_steps"),
        *_case("development_steps"),
        sa.Column("number", sa.SmallInteger(), nullable=False),
        sa.Column("occurrence", sa.SmallInteger(), server_default="1", nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("acting", sa.String(length=100), server_default="", nullable=False),
        sa.Column("votes", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("member_ids", sa.ARRAY(sa.Uuid()), server_default="{}", nullable=False),
        sa.Column("decision", sa.String(length=10), server_default="", nullable=False),
        sa.Column("publicity_from", sa.Date(), nullable=True),
        sa.Column("publicity_to", sa.Date(), nullable=True),
        sa.Column("training_days", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("training_hours_centi", sa.Integer(), server_default="0", nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("late", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("late_reason", sa.Text(), server_default="", nullable=False),
        *_recorded(),
        sa.PrimaryKeyConstraint("id", name="pk_development_steps"),
        sa.UniqueConstraint(
            "case_id", "number", "occurrence",
            name="uq_development_steps_case_id_number_occurrence",
        ),
        schema=s,
    )  # fmt: skip
    op.create_table(
        "development_training",
        sa.Column("id", sa.Uuid(), nullable=False),
        *_tenant("development_training"),
        *_case("development_training"),
        sa.Column("completed_on", sa.Date(), nullable=False),
        sa.Column("days", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("hours_centi", sa.Integer(), server_default="0", nullable=False),
        sa.Column("title", sa.String(length=200), server_default="", nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_event_id", sa.Uuid(), nullable=True),
        sa.Column("source_record_id", sa.String(length=64), server_default="", nullable=False),
        *_recorded(),
        sa.PrimaryKeyConstraint("id", name="pk_development_training"),
        sa.UniqueConstraint("source_event_id", name="uq_development_training_source_event_id"),
        schema=s,
    )
    op.create_table(
        "development_extensions",
        sa.Column("id", sa.Uuid(), nullable=False),
        *_tenant("development_extensions"),
        *_case("development_extensions"),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("months", sa.SmallInteger(), nullable=False),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        *_recorded(),
        sa.PrimaryKeyConstraint("id", name="pk_development_extensions"),
        schema=s,
    )
    op.create_table(
        "development_materials",
        sa.Column("id", sa.Uuid(), nullable=False),
        *_tenant("development_materials"),
        *_case("development_materials"),
        sa.Column("step_id", sa.Uuid(), nullable=True),
        sa.Column("object_key", sa.String(length=300), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        *_recorded("uploaded_by", "uploaded_at"),
        sa.ForeignKeyConstraint(
            ["step_id"], ["member.development_steps.id"],
            name="fk_development_materials_step_id_development_steps",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_development_materials"),
        sa.UniqueConstraint("object_key", name="uq_development_materials_object_key"),
        schema=s,
    )  # fmt: skip
    op.create_table(
        "development_reminders",
        *_case("development_reminders"),
        sa.Column("step", sa.SmallInteger(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("days_before", sa.SmallInteger(), nullable=False),
        *_tenant("development_reminders"),
        sa.Column("remind_on", sa.Date(), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.PrimaryKeyConstraint(
            "case_id", "step", "due_on", "days_before", name="pk_development_reminders"
        ),
        schema=s,
    )

    # One open (or admitted) case per person and tenant.
    op.execute(
        f"CREATE UNIQUE INDEX uq_development_cases_person ON {s}.development_cases "
        "(tenant_id, id_number_index) WHERE status IN ('open', 'admitted')"
    )
    # Lists of a subtree (joined to organisations by id), newest first within an organisation.
    op.execute(
        f"CREATE INDEX ix_development_cases_org ON {s}.development_cases "
        "(tenant_id, organization_id, status, id)"
    )
    # "What is due": one range per kind of deadline, in deadline order (development_due.py);
    # the included columns let counts and scope filters stay in the index.
    op.execute(
        f"CREATE INDEX ix_development_cases_due ON {s}.development_cases "
        "(tenant_id, due_step, due_anchor, id) INCLUDE (extension_months, organization_id) "
        "WHERE due_step > 0"
    )
    op.execute(
        f"CREATE INDEX ix_development_cases_member ON {s}.development_cases (member_id) "
        "WHERE member_id IS NOT NULL"
    )
    for table in ("development_steps", "development_training", "development_extensions",
                  "development_materials"):  # fmt: skip
        op.execute(f"CREATE INDEX ix_{table}_case ON {s}.{table} (tenant_id, case_id)")
    for table in TABLES:
        for stmt in tenant_isolation_ddl(s, table):
            op.execute(stmt)
    for stmt in FOLLOW_MEMBERS:
        op.execute(stmt)


# A probationary member's case follows them to another organisation (a transfer within the
# tenant, a correction, a merge): statement-level, like the count rollups (20261203_0007).
FOLLOW_MEMBERS = (
    """
CREATE FUNCTION member.development_cases_follow_members() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE member.development_cases c SET organization_id = n.organization_id
    FROM new_members n JOIN old_members o ON o.id = n.id
    WHERE c.member_id = n.id AND c.status = 'admitted'
      AND o.organization_id IS DISTINCT FROM n.organization_id;
    RETURN NULL;
END $$
""",
    """
CREATE TRIGGER development_cases_follow_members AFTER UPDATE ON member.members
    REFERENCING OLD TABLE AS old_members NEW TABLE AS new_members
    FOR EACH STATEMENT EXECUTE FUNCTION member.development_cases_follow_members()
""",
)


def downgrade() -> None:
    op.execute("DROP TRIGGER development_cases_follow_members ON member.members")
    op.execute("DROP FUNCTION member.development_cases_follow_members()")
    for table in reversed(TABLES):
        op.drop_table(table, schema=SCHEMA)
