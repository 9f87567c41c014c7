"""Member search (docs/adr/0008): pinyin and initials of names, keyed blind indexes of the last 4
characters of ID and mobile numbers, and the search-term table kept by triggers.

Rows written before this revision have NULL search columns and no terms:
`hongyun-member reindex-search` fills both (it needs the blind-index key, which migrations
never see). Until then those members are found by list, not by search.

Revision ID: 20261128_0003
Revises: 20261128_0001
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op
from hongyun_platform.db.rls import tenant_isolation_ddl

SCHEMA = "member"

revision = "20261128_0003"
down_revision = "20261128_0001"
branch_labels = None
depends_on = None

COLUMNS = (
    ("name_pinyin", sa.Text()),
    ("name_initials", sa.Text()),
    ("id_number_suffix_index", sa.String(length=64)),
    ("mobile_phone_suffix_index", sa.String(length=64)),
)

# The terms of one member (kinds as member_service.search_models.TermKind): the name, its proper
# suffixes of 2+ characters (every substring is a prefix of one), every pinyin reading and
# every initials reading. $1 name, $2 name_pinyin, $3 name_initials (space-separated).
TERMS_FUNCTION = f"""
CREATE FUNCTION {SCHEMA}.search_terms(text, text, text)
RETURNS TABLE (kind smallint, term text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT DISTINCT x.kind, x.term FROM (
        SELECT 1::smallint, $1
        UNION ALL SELECT 2::smallint, substr($1, i) FROM generate_series(2, char_length($1) - 1) i
        UNION ALL SELECT 3::smallint, v FROM unnest(string_to_array($2, ' ')) v
        UNION ALL SELECT 4::smallint, v FROM unnest(string_to_array($3, ' ')) v
    ) AS x(kind, term)
    WHERE x.term <> ''
$$
"""

# Statement-level triggers with transition tables: one set-based INSERT per statement, so a
# bulk COPY of 100k members costs one statement, not 100k trigger calls. They run as the
# invoking role, so row-level security checks every term's tenant.
INSERT_TRIGGER_FUNCTION = f"""
CREATE FUNCTION {SCHEMA}.members_search_terms_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {SCHEMA}.member_search_terms (tenant_id, member_id, kind, term)
    SELECT n.tenant_id, n.id, t.kind, t.term
    FROM new_members n, {SCHEMA}.search_terms(n.name, n.name_pinyin, n.name_initials) t;
    RETURN NULL;
END
$$
"""
UPDATE_TRIGGER_FUNCTION = f"""
CREATE FUNCTION {SCHEMA}.members_search_terms_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM {SCHEMA}.member_search_terms s
    USING new_members n JOIN old_members o ON o.id = n.id
    WHERE s.tenant_id = o.tenant_id AND s.member_id = o.id
      AND (n.name, n.name_pinyin, n.name_initials)
          IS DISTINCT FROM (o.name, o.name_pinyin, o.name_initials);
    INSERT INTO {SCHEMA}.member_search_terms (tenant_id, member_id, kind, term)
    SELECT n.tenant_id, n.id, t.kind, t.term
    FROM new_members n JOIN old_members o ON o.id = n.id,
         {SCHEMA}.search_terms(n.name, n.name_pinyin, n.name_initials) t
    WHERE (n.name, n.name_pinyin, n.name_initials)
          IS DISTINCT FROM (o.name, o.name_pinyin, o.name_initials);
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    s = SCHEMA
    for name, type_ in COLUMNS:
        op.add_column("members", sa.Column(name, type_, nullable=True), schema=s)
    # Equality on the keyed suffix hashes (leakproof, so usable under row-level security).
    op.execute(
        f"CREATE INDEX ix_members_id_number_suffix ON {s}.members "
        "(tenant_id, id_number_suffix_index)"
    )
    op.execute(
        f"CREATE INDEX ix_members_mobile_phone_suffix ON {s}.members "
        "(tenant_id, mobile_phone_suffix_index)"
    )
    op.create_table(
        "member_search_terms",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        sa.Column("term", sa.Text(collation="C"), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], [f"{s}.tenants.id"], name="fk_member_search_terms_tenant_id_tenants"
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            [f"{s}.members.id"],
            name="fk_member_search_terms_member_id_members",
            ondelete="CASCADE",
        ),
        # Exact term = equality, prefix = a range on term: one btree serves both, and the
        # member ids come out of the index (index-only scans).
        sa.PrimaryKeyConstraint(
            "tenant_id", "kind", "term", "member_id", name="pk_member_search_terms"
        ),
        schema=s,
    )
    op.execute(f"CREATE INDEX ix_member_search_terms_member ON {s}.member_search_terms (member_id)")
    # A fine histogram: how many members a prefix matches ("zhang" a tenth of a province,
    # "zhangjianguo" a few) decides between walking members in id order and sorting matches;
    # with the default 100 buckets a common prefix was estimated at 1 row (ADR 0008).
    op.execute(f"ALTER TABLE {s}.member_search_terms ALTER COLUMN term SET STATISTICS 1000")
    for stmt in tenant_isolation_ddl(s, "member_search_terms"):
        op.execute(stmt)
    op.execute(TERMS_FUNCTION)
    op.execute(INSERT_TRIGGER_FUNCTION)
    op.execute(UPDATE_TRIGGER_FUNCTION)
    op.execute(
        f"CREATE TRIGGER members_search_terms_insert AFTER INSERT ON {s}.members "
        "REFERENCING NEW TABLE AS new_members FOR EACH STATEMENT "
        f"EXECUTE FUNCTION {s}.members_search_terms_insert()"
    )
    op.execute(
        f"CREATE TRIGGER members_search_terms_update AFTER UPDATE ON {s}.members "
        "REFERENCING OLD TABLE AS old_members NEW TABLE AS new_members FOR EACH STATEMENT "
        f"EXECUTE FUNCTION {s}.members_search_terms_update()"
    )


def downgrade() -> None:
    s = SCHEMA
    op.execute(f"DROP TRIGGER IF EXISTS members_search_terms_update ON {s}.members")
    op.execute(f"DROP TRIGGER IF EXISTS members_search_terms_insert ON {s}.members")
    op.execute(f"DROP FUNCTION IF EXISTS {s}.members_search_terms_update()")
    op.execute(f"DROP FUNCTION IF EXISTS {s}.members_search_terms_insert()")
    op.execute(f"DROP FUNCTION IF EXISTS {s}.search_terms(text, text, text)")
    op.drop_table("member_search_terms", schema=s)
    op.execute(f"DROP INDEX IF EXISTS {s}.ix_members_mobile_phone_suffix")
    op.execute(f"DROP INDEX IF EXISTS {s}.ix_members_id_number_suffix")
    for name, _ in COLUMNS:
        op.drop_column("members", name, schema=s)
