"""Relationship transfers (组织关系转接, docs/adr/0016): introduction letters, their numbers and
expiry reminders; members who left through a transfer (`departed_on`), kept as archive but no
longer counted: the count rollup triggers of migration 20261203_0007 now skip them.

Row-level security of `letters`: the sending tenant sees its letters; a sibling tenant sees the
letters addressed to it once they are issued. A member has at most one open letter (partial
unique index).

Revision ID: 20261203_0013
Revises: 20261203_0012
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op
from hongyun_platform.db.rls import CURRENT_TENANT_SQL, tenant_isolation_ddl

revision = "20261203_0013"
down_revision = "20261203_0012"
branch_labels = None
depends_on = None

SCHEMA = "member"
OPEN_STATES = "('draft', 'approved', 'issued')"
DUE_STATES = "('issued', 'expired')"

# ---- count rollups (migration 20261203_0007), with or without departed members ----

KEY = "party_status, category, lost_contact, floating"
APPLY = f"""
    INSERT INTO member.org_member_counts AS c
        (organization_id, {KEY}, tenant_id, n)
    SELECT a.label::uuid, {KEY}, d.tenant_id, sum(d.n)
    FROM ({{deltas}}) AS d(path, tenant_id, {KEY}, n),
         unnest(string_to_array(d.path::text, '.')) AS a(label)
    GROUP BY a.label, {KEY}, d.tenant_id
    HAVING sum(d.n) <> 0
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (organization_id, {KEY}) DO UPDATE SET n = c.n + excluded.n;
"""


def _counted(active_only: bool) -> str:
    return "m.departed_on IS NULL" if active_only else "true"


def member_deltas(rows: str, sign: str, where: str, active_only: bool) -> str:
    return (
        f"SELECT o.path, m.tenant_id, m.party_status, m.category, m.lost_contact, m.floating,"
        f" {sign}count(*) FROM {rows} m JOIN member.organizations o ON o.id = m.organization_id"
        f" WHERE {_counted(active_only)} AND {where} GROUP BY 1, 2, 3, 4, 5, 6"
    )


def _changed(other: str, active_only: bool) -> str:
    # Leaving (departed_on set) changes what is counted, like a move or a status change.
    gone = ", x.departed_on IS NULL" if active_only else ""
    mine = ", m.departed_on IS NULL" if active_only else ""
    return (
        f"EXISTS (SELECT 1 FROM {other} x WHERE x.id = m.id AND "
        f"(x.organization_id, {KEY}{gone}) IS DISTINCT FROM (m.organization_id, "
        f"m.party_status, m.category, m.lost_contact, m.floating{mine}))"
    )


def trigger_bodies(active_only: bool) -> dict[str, str]:
    on_update = APPLY.format(
        deltas=member_deltas("old_members", "-", _changed("new_members", active_only), active_only)
        + " UNION ALL "
        + member_deltas("new_members", "", _changed("old_members", active_only), active_only)
    )
    on_orgs_update = APPLY.format(
        deltas=f"""
            SELECT p.path, m.tenant_id, {KEY}, p.sign * count(*)
            FROM (
                SELECT o.id, o.path, -1 FROM old_orgs o JOIN new_orgs n ON n.id = o.id
                WHERE n.path <> o.path
                UNION ALL
                SELECT n.id, n.path, 1 FROM new_orgs n JOIN old_orgs o ON o.id = n.id
                WHERE n.path <> o.path
            ) AS p(id, path, sign)
            JOIN member.members m ON m.organization_id = p.id AND {_counted(active_only)}
            GROUP BY p.path, p.sign, m.tenant_id, {KEY}
        """
    )
    return {
        "members_counts_insert": APPLY.format(
            deltas=member_deltas("new_members", "", "true", active_only)
        ),
        "members_counts_update": on_update,
        "members_counts_delete": APPLY.format(
            deltas=member_deltas("old_members", "-", "true", active_only)
        ),
        "organizations_counts_update": on_orgs_update,
    }


def replace_count_functions(active_only: bool) -> None:
    for name, body in trigger_bodies(active_only).items():
        op.execute(
            f"CREATE OR REPLACE FUNCTION member.{name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN{body}RETURN NULL;\nEND\n$$"
        )


def _stamp(name: str) -> list[sa.Column]:
    return [
        sa.Column(f"{name}_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(f"{name}_by", sa.String(length=64), server_default="", nullable=False),
    ]


def upgrade() -> None:
    s = SCHEMA
    op.create_table(
        "letters",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("receiving_tenant_id", sa.Uuid(), nullable=True),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("scope", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("from_organization_id", sa.Uuid(), nullable=False),
        sa.Column("from_organization_name", sa.String(length=100), nullable=False),
        sa.Column("to_organization_id", sa.Uuid(), nullable=True),
        sa.Column("destination", sa.String(length=200), server_default="", nullable=False),
        sa.Column("placed_organization_id", sa.Uuid(), nullable=True),
        sa.Column("received_member_id", sa.Uuid(), nullable=True),
        sa.Column("member_name", sa.String(length=50), nullable=False),
        sa.Column("member_gender", sa.SmallInteger(), nullable=False),
        sa.Column("member_birth_date", sa.Date(), nullable=False),
        sa.Column("member_ethnicity", sa.String(length=20), server_default="", nullable=False),
        sa.Column("member_category", sa.SmallInteger(), nullable=False),
        sa.Column("member_id_number_enc", sa.LargeBinary(), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("dues_paid_until", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("letter_number", sa.String(length=40), nullable=True),
        sa.Column("valid_days", sa.Integer(), nullable=True),
        sa.Column("validity_citation", sa.Text(), server_default="", nullable=False),
        sa.Column("validity_source", sa.String(length=16), server_default="", nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("reported_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("created_by", sa.String(length=64), server_default="", nullable=False),
        *_stamp("approved"),
        *_stamp("issued"),
        *_stamp("received"),
        *_stamp("receipt"),
        *_stamp("revoked"),
        sa.Column("revoke_reason", sa.Text(), server_default="", nullable=False),
        sa.Column("expired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["member.tenants.id"],
                                name="fk_letters_tenant_id_tenants"),
        sa.ForeignKeyConstraint(["receiving_tenant_id"], ["member.tenants.id"],
                                name="fk_letters_receiving_tenant_id_tenants"),
        sa.ForeignKeyConstraint(["member_id"], ["member.members.id"],
                                name="fk_letters_member_id_members"),
        sa.ForeignKeyConstraint(["received_member_id"], ["member.members.id"],
                                name="fk_letters_received_member_id_members"),
        sa.ForeignKeyConstraint(["from_organization_id"], ["member.organizations.id"],
                                name="fk_letters_from_organization_id_organizations"),
        sa.ForeignKeyConstraint(["to_organization_id"], ["member.organizations.id"],
                                name="fk_letters_to_organization_id_organizations"),
        sa.ForeignKeyConstraint(["placed_organization_id"], ["member.organizations.id"],
                                name="fk_letters_placed_organization_id_organizations"),
        sa.PrimaryKeyConstraint("id", name="pk_letters"),
        schema=s,
    )  # fmt: skip
    op.create_table(
        "letter_counters",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("last_no", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["member.tenants.id"],
                                name="fk_letter_counters_tenant_id_tenants"),
        sa.PrimaryKeyConstraint("tenant_id", "year", name="pk_letter_counters"),
        schema=s,
    )  # fmt: skip
    op.create_table(
        "letter_reminders",
        sa.Column("letter_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("days_before", sa.Integer(), nullable=False),
        sa.Column("remind_on", sa.Date(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.ForeignKeyConstraint(["letter_id"], ["member.letters.id"],
                                name="fk_letter_reminders_letter_id_letters"),
        sa.ForeignKeyConstraint(["tenant_id"], ["member.tenants.id"],
                                name="fk_letter_reminders_tenant_id_tenants"),
        sa.PrimaryKeyConstraint("letter_id", name="pk_letter_reminders"),
        schema=s,
    )  # fmt: skip

    # Members who left through a transfer stay as archive (docs/adr/0016).
    op.add_column("members", sa.Column("departed_on", sa.Date(), nullable=True), schema=s)
    op.add_column(
        "members",
        sa.Column("departed_reason", sa.String(length=30), server_default="", nullable=False),
        schema=s,
    )
    op.add_column("members", sa.Column("departed_letter_id", sa.Uuid(), nullable=True), schema=s)
    op.create_foreign_key(
        "fk_members_departed_letter_id_letters", "members", "letters",
        ["departed_letter_id"], ["id"], source_schema=s, referent_schema=s,
    )  # fmt: skip

    # One open letter per member: the final word when two are created at once.
    op.execute(
        f"CREATE UNIQUE INDEX uq_letters_one_open ON {s}.letters (member_id) "
        f"WHERE state IN {OPEN_STATES}"
    )
    op.execute(
        f"CREATE UNIQUE INDEX uq_letters_number ON {s}.letters (tenant_id, letter_number) "
        "WHERE letter_number IS NOT NULL"
    )
    op.execute(f"CREATE INDEX ix_letters_tenant ON {s}.letters (tenant_id, id)")
    op.execute(f"CREATE INDEX ix_letters_member ON {s}.letters (member_id, id)")
    op.execute(f"CREATE INDEX ix_letters_from_org ON {s}.letters (from_organization_id, id)")
    op.execute(
        f"CREATE INDEX ix_letters_to_org ON {s}.letters (to_organization_id, id) "
        "WHERE to_organization_id IS NOT NULL"
    )
    op.execute(
        f"CREATE INDEX ix_letters_receiving ON {s}.letters (receiving_tenant_id, id) "
        "WHERE receiving_tenant_id IS NOT NULL"
    )
    # "What is due" and the expiry job: issued or expired letters by their last valid day.
    op.execute(
        f"CREATE INDEX ix_letters_due ON {s}.letters (tenant_id, valid_until, id) "
        f"WHERE state IN {DUE_STATES}"
    )

    for table in ("letter_counters", "letter_reminders"):
        for stmt in tenant_isolation_ddl(s, table):
            op.execute(stmt)
    # The sender's tenant, or the receiving sibling tenant once the letter is issued.
    visible = (
        f"tenant_id = {CURRENT_TENANT_SQL} OR "
        f"(receiving_tenant_id = {CURRENT_TENANT_SQL} AND issued_on IS NOT NULL)"
    )
    op.execute(f"ALTER TABLE {s}.letters ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {s}.letters FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY letter_parties ON {s}.letters USING ({visible}) WITH CHECK ({visible})"
    )
    replace_count_functions(active_only=True)


def downgrade() -> None:
    s = SCHEMA
    replace_count_functions(active_only=False)
    op.drop_constraint("fk_members_departed_letter_id_letters", "members", schema=s)
    for col in ("departed_letter_id", "departed_reason", "departed_on"):
        op.drop_column("members", col, schema=s)
    for table in ("letter_reminders", "letter_counters", "letters"):
        op.drop_table(table, schema=s)
