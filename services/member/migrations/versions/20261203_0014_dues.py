"""Party dues (党费, docs/adr/0017): standards, hardship decisions, payments, settled months, the
per-member account with its paid-through month, and arrears flags. (The national default of
dues.payment.max_months_ahead is seeded with the other lifecycle rules, 20261203_0011.)

The declared monthly base and hardship reasons are personal data (FieldCipher ciphertext); the
computed monthly amount is kept in clear. Every table has row-level security; the runtime role
gets its grants from the migration environment.

Revision ID: 20261203_0014
Revises: 20261203_0013
Create Date: 2026-12-03
"""


import sqlalchemy as sa
from alembic import op
from hongyun_platform.db.rls import tenant_isolation_ddl
from sqlalchemy.dialects import postgresql

SCHEMA = "member"

revision = "20261203_0014"
down_revision = "20261203_0013"
branch_labels = None
depends_on = None

TABLES = (
    "dues_accounts",
    "dues_standards",
    "dues_hardships",
    "dues_payments",
    "dues_months",
    "dues_arrears_flags",
)


# Whose dues are owed: 党籍 status normal (1) or restored (3) — PAYING_STATUSES in
# member_service.domain.dues (a unit test keeps them equal).
PAYING = (1, 3)
# An account follows its member: a transfer to another organisation, a change of 党籍 status,
# leaving through a relationship transfer (departed_on, 20261203_0013: the new tenant collects).
# Statement-level, like the member count triggers (20261203_0007): one UPDATE per statement,
# whatever wrote the members (API, import, merge, a transfer letter, SQL).
FOLLOW_MEMBERS = (
    f"""
CREATE FUNCTION member.dues_accounts_follow_members() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE member.dues_accounts a
    SET organization_id = n.organization_id,
        paying = n.party_status IN {PAYING} AND n.departed_on IS NULL
    FROM new_members n JOIN old_members o ON o.id = n.id
    WHERE a.member_id = n.id
      AND (o.organization_id, o.party_status, o.departed_on)
          IS DISTINCT FROM (n.organization_id, n.party_status, n.departed_on);
    RETURN NULL;
END $$
""",
    """
CREATE TRIGGER dues_accounts_follow_members AFTER UPDATE ON member.members
    REFERENCING OLD TABLE AS old_members NEW TABLE AS new_members
    FOR EACH STATEMENT EXECUTE FUNCTION member.dues_accounts_follow_members()
""",
)


def _now() -> sa.TextClause:
    return sa.text("now()")


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"member.{target}.id"], name=f"fk_{table}_{column}_{target}"
    )


def _owner(table: str) -> list:
    return [
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        _fk(table, "tenant_id", "tenants"),
        _fk(table, "member_id", "members"),
    ]


def upgrade() -> None:
    s = SCHEMA
    op.create_table(
        "dues_accounts",
        *_owner("dues_accounts"),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("paying", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("start_month", sa.Date(), nullable=False),
        sa.Column("paid_through", sa.Date(), nullable=False),
        sa.Column("settled_ahead", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("opening_paid_through", sa.Date(), nullable=True),
        _fk("dues_accounts", "organization_id", "organizations"),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.PrimaryKeyConstraint("member_id", name="pk_dues_accounts"),
        schema=s,
    )
    op.create_table(
        "dues_standards",
        sa.Column("id", sa.Uuid(), nullable=False),
        *_owner("dues_standards"),
        sa.Column("effective_month", sa.Date(), nullable=False),
        sa.Column("dues_group", sa.String(length=16), nullable=False),
        sa.Column("base_enc", sa.LargeBinary(), nullable=True),
        sa.Column("key_id", sa.String(length=32), server_default="", nullable=False),
        sa.Column("monthly_fen", sa.Integer(), nullable=False),
        sa.Column("rate_per_mille", sa.SmallInteger(), nullable=True),
        sa.Column("rule_key", sa.String(length=100), nullable=False),
        sa.Column("rule_value", postgresql.JSONB(), nullable=False),
        sa.Column("rule_citation", sa.Text(), nullable=False),
        sa.Column("rule_source", sa.String(length=16), nullable=False),
        sa.Column("rounding_value", postgresql.JSONB(), nullable=False),
        sa.Column("rounding_citation", sa.Text(), server_default="", nullable=False),
        sa.Column("rounding_source", sa.String(length=16), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("created_by", sa.String(length=64), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dues_standards"),
        sa.UniqueConstraint(
            "member_id", "effective_month", name="uq_dues_standards_member_id_effective_month"
        ),
        sa.CheckConstraint("monthly_fen >= 0", name="ck_dues_standards_amount"),
        schema=s,
    )
    op.create_table(
        "dues_hardships",
        sa.Column("id", sa.Uuid(), nullable=False),
        *_owner("dues_hardships"),
        sa.Column("first_month", sa.Date(), nullable=False),
        sa.Column("last_month", sa.Date(), nullable=False),
        sa.Column("waived", sa.Boolean(), nullable=False),
        sa.Column("reduced_fen", sa.Integer(), nullable=True),
        sa.Column("reason_enc", sa.LargeBinary(), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("requested_scope_org_id", sa.Uuid(), nullable=True),
        sa.Column("requested_org_id", sa.Uuid(), nullable=False),
        sa.Column(
            "requested_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False
        ),
        sa.Column("decided_by", sa.String(length=64), server_default="", nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_dues_hardships"),
        sa.CheckConstraint("first_month <= last_month", name="ck_dues_hardships_range"),
        sa.CheckConstraint(
            "(waived AND reduced_fen IS NULL) OR (NOT waived AND reduced_fen > 0)",
            name="ck_dues_hardships_relief",
        ),
        sa.CheckConstraint(
            "status IN ('requested', 'approved', 'rejected')", name="ck_dues_hardships_status"
        ),
        schema=s,
    )
    op.create_table(
        "dues_payments",
        sa.Column("id", sa.Uuid(), nullable=False),
        *_owner("dues_payments"),
        sa.Column("first_month", sa.Date(), nullable=False),
        sa.Column("last_month", sa.Date(), nullable=False),
        sa.Column("months", sa.SmallInteger(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("due_fen", sa.BigInteger(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("method", sa.String(length=40), server_default="", nullable=False),
        sa.Column("receipt_number", sa.String(length=60), server_default="", nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dues_payments"),
        sa.CheckConstraint(
            "first_month <= last_month AND months > 0 AND amount_fen >= due_fen AND due_fen >= 0",
            name="ck_dues_payments_amounts",
        ),
        schema=s,
    )
    op.create_table(
        "dues_months",
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("due_fen", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Uuid(), nullable=True),
        sa.Column("hardship_id", sa.Uuid(), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        _fk("dues_months", "tenant_id", "tenants"),
        _fk("dues_months", "member_id", "members"),
        _fk("dues_months", "payment_id", "dues_payments"),
        _fk("dues_months", "hardship_id", "dues_hardships"),
        sa.PrimaryKeyConstraint("member_id", "month", name="pk_dues_months"),
        sa.CheckConstraint(
            "(payment_id IS NULL) <> (hardship_id IS NULL)", name="ck_dues_months_settled_by"
        ),
        schema=s,
    )
    op.create_table(
        "dues_arrears_flags",
        sa.Column("id", sa.Uuid(), nullable=False),
        *_owner("dues_arrears_flags"),
        sa.Column("flag_months", sa.SmallInteger(), nullable=False),
        sa.Column("months_owed", sa.SmallInteger(), nullable=False),
        sa.Column("paid_through", sa.Date(), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=True),
        sa.Column("flagged_on", sa.Date(), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dues_arrears_flags"),
        schema=s,
    )

    # Arrears: "paid through on or before a month" among paying members of one tenant is a range
    # scan of this index alone (the organisation and the gap flag ride along).
    op.execute(
        f"CREATE INDEX ix_dues_accounts_arrears ON {s}.dues_accounts "
        "(tenant_id, paid_through, member_id) INCLUDE (organization_id, settled_ahead) "
        "WHERE paying"
    )
    # A subtree's arrears: one range per organisation of the subtree.
    op.execute(
        f"CREATE INDEX ix_dues_accounts_org ON {s}.dues_accounts "
        "(organization_id, paid_through) INCLUDE (member_id, settled_ahead, tenant_id) WHERE paying"
    )
    for stmt in FOLLOW_MEMBERS:
        op.execute(stmt)
    for table in ("dues_standards", "dues_hardships", "dues_payments", "dues_arrears_flags"):
        op.execute(f"CREATE INDEX ix_{table}_member ON {s}.{table} (tenant_id, member_id, id)")
    op.execute(f"CREATE INDEX ix_dues_payments_tenant ON {s}.dues_payments (tenant_id, id)")
    op.execute(
        f"CREATE UNIQUE INDEX uq_dues_payments_receipt ON {s}.dues_payments "
        "(tenant_id, receipt_number) WHERE receipt_number <> ''"
    )
    op.execute(f"CREATE INDEX ix_dues_months_payment ON {s}.dues_months (payment_id)")
    op.execute(f"CREATE INDEX ix_dues_months_hardship ON {s}.dues_months (hardship_id)")
    # One open flag per member and threshold: the dedupe of the arrears job.
    op.execute(
        f"CREATE UNIQUE INDEX uq_dues_arrears_flags_open ON {s}.dues_arrears_flags "
        "(member_id, flag_months) WHERE closed_on IS NULL"
    )
    for table in TABLES:
        for stmt in tenant_isolation_ddl(s, table):
            op.execute(stmt)



def downgrade() -> None:
    op.execute("DROP TRIGGER dues_accounts_follow_members ON member.members")
    op.execute("DROP FUNCTION member.dues_accounts_follow_members()")
    for table in reversed(TABLES):
        op.drop_table(table, schema=SCHEMA)
