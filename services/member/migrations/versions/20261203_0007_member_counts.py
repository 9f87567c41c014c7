"""Member counts rolled up the organisation tree (docs/adr/0013), kept by statement-level
triggers, and backfilled from the members already stored.

Every statement that inserts, updates or deletes members, or changes organisations' paths
(a move), turns its transition tables into signed count deltas per organisation path and adds
them to every ancestor of that path in one upsert (keys in order, so concurrent writers take
the row locks in the same order). The triggers run as the invoking role: row-level security
checks every count row's tenant like any other write.

Revision ID: 20261203_0007
Revises: 20261128_0006
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op
from hongyun_platform.db.rls import tenant_isolation_ddl

SCHEMA = "member"

revision = "20261203_0007"
down_revision = "20261128_0006"
branch_labels = None
depends_on = None

KEY = "party_status, category, lost_contact, floating"

# `deltas` yields (path, tenant_id, party_status, category, lost_contact, floating, n): n members
# of the organisation at `path` gained (n > 0) or lost (n < 0) these values. Every label of the
# path is an ancestor-or-self organisation id (32 hex digits, docs/adr/0002).
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


def member_deltas(rows: str, sign: str, where: str = "") -> str:
    return (
        f"SELECT o.path, m.tenant_id, m.party_status, m.category, m.lost_contact, m.floating,"
        f" {sign}count(*) FROM {rows} m JOIN member.organizations o ON o.id = m.organization_id"
        f" {where} GROUP BY 1, 2, 3, 4, 5, 6"
    )


# A member counts where its organisation is; only updates that change one of the counted
# values (or the organisation) produce deltas.
CHANGED = (
    "WHERE EXISTS (SELECT 1 FROM {other} x WHERE x.id = m.id AND "
    f"(x.organization_id, {KEY}) IS DISTINCT FROM (m.organization_id, "
    "m.party_status, m.category, m.lost_contact, m.floating))"
)
ON_MEMBERS_UPDATE = APPLY.format(
    deltas=member_deltas("old_members", "-", CHANGED.format(other="new_members"))
    + " UNION ALL "
    + member_deltas("new_members", "", CHANGED.format(other="old_members"))
)
# A move changes the paths of the whole moved subtree: each moved organisation's own members
# leave the old ancestors and join the new ones (shared ancestors cancel out in the sum).
ON_ORGS_UPDATE = APPLY.format(
    deltas=f"""
        SELECT p.path, m.tenant_id, {KEY}, p.sign * count(*)
        FROM (
            SELECT o.id, o.path, -1 FROM old_orgs o JOIN new_orgs n ON n.id = o.id
            WHERE n.path <> o.path
            UNION ALL
            SELECT n.id, n.path, 1 FROM new_orgs n JOIN old_orgs o ON o.id = n.id
            WHERE n.path <> o.path
        ) AS p(id, path, sign)
        JOIN member.members m ON m.organization_id = p.id
        GROUP BY p.path, p.sign, m.tenant_id, {KEY}
    """
)
# trigger (and function) name → (event and transition tables, body)
TRIGGERS = {
    "members_counts_insert": (
        "AFTER INSERT ON member.members REFERENCING NEW TABLE AS new_members",
        APPLY.format(deltas=member_deltas("new_members", "")),
    ),
    "members_counts_update": (
        "AFTER UPDATE ON member.members "
        "REFERENCING OLD TABLE AS old_members NEW TABLE AS new_members",
        ON_MEMBERS_UPDATE,
    ),
    "members_counts_delete": (
        "AFTER DELETE ON member.members REFERENCING OLD TABLE AS old_members",
        APPLY.format(deltas=member_deltas("old_members", "-")),
    ),
    "organizations_counts_update": (
        "AFTER UPDATE ON member.organizations "
        "REFERENCING OLD TABLE AS old_orgs NEW TABLE AS new_orgs",
        ON_ORGS_UPDATE,
    ),
}
TABLES = {
    "members_counts_insert": "members",
    "members_counts_update": "members",
    "members_counts_delete": "members",
    "organizations_counts_update": "organizations",
}


def upgrade() -> None:
    s = SCHEMA
    op.create_table(
        "org_member_counts",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("party_status", sa.SmallInteger(), nullable=False),
        sa.Column("category", sa.SmallInteger(), nullable=False),
        sa.Column("lost_contact", sa.Boolean(), nullable=False),
        sa.Column("floating", sa.Boolean(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "organization_id", "party_status", "category", "lost_contact", "floating",
            name="pk_org_member_counts",
        ),
        schema=s,
    )  # fmt: skip
    for stmt in tenant_isolation_ddl(s, "org_member_counts"):
        op.execute(stmt)
    for name, (event, body) in TRIGGERS.items():
        op.execute(
            f"CREATE FUNCTION member.{name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN{body}RETURN NULL;\nEND\n$$"
        )
        op.execute(
            f"CREATE TRIGGER {name} {event} FOR EACH STATEMENT EXECUTE FUNCTION member.{name}()"
        )
    # Backfill every tenant at once: the owner is exempt from row-level security only while
    # it is not forced, so lift FORCE for this transaction (DDL is transactional here).
    tables = ("members", "organizations", "org_member_counts")
    for t in tables:
        op.execute(f"ALTER TABLE {s}.{t} NO FORCE ROW LEVEL SECURITY")
    op.execute(APPLY.format(deltas=member_deltas(f"{s}.members", "")))
    for t in tables:
        op.execute(f"ALTER TABLE {s}.{t} FORCE ROW LEVEL SECURITY")


def downgrade() -> None:
    s = SCHEMA
    for name, table in TABLES.items():
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {s}.{table}")
        op.execute(f"DROP FUNCTION IF EXISTS {s}.{name}()")
    op.drop_table("org_member_counts", schema=s)
