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
TERMS_FUNCTION = """
CREATE FUNCTION member.search_terms(text, text, text)
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

# Statement-level triggers with transition tables: one set-based statement per INSERT/UPDATE/
# DELETE statement, so a bulk COPY of 100k members is one INSERT of their terms (sorted, for
# btree locality), not 100k trigger calls. They run as the invoking role, so row-level
# security checks every term's tenant. A member's old terms are found through the primary key
# (recomputed from the old row), so the table needs no second index and no foreign keys: the
# per-row foreign-key checks doubled the cost of a bulk import (ADR 0008).
INSERT_TERMS = """
    INSERT INTO member.member_search_terms (tenant_id, member_id, kind, term)
    SELECT n.tenant_id, n.id, t.kind, t.term
    FROM new_members n, member.search_terms(n.name, n.name_pinyin, n.name_initials) t
    ORDER BY 3, 4;
"""
UPDATE_TERMS = """
    DELETE FROM member.member_search_terms s USING (
        SELECT o.tenant_id, o.id AS member_id, t.kind, t.term COLLATE "C" AS term
        FROM old_members o JOIN new_members n ON n.id = o.id,
             member.search_terms(o.name, o.name_pinyin, o.name_initials) t
        WHERE (n.name, n.name_pinyin, n.name_initials)
              IS DISTINCT FROM (o.name, o.name_pinyin, o.name_initials)
    ) g
    WHERE s.tenant_id = g.tenant_id AND s.kind = g.kind AND s.term = g.term
      AND s.member_id = g.member_id;
    INSERT INTO member.member_search_terms (tenant_id, member_id, kind, term)
    SELECT n.tenant_id, n.id, t.kind, t.term
    FROM new_members n JOIN old_members o ON o.id = n.id,
         member.search_terms(n.name, n.name_pinyin, n.name_initials) t
    WHERE (n.name, n.name_pinyin, n.name_initials)
          IS DISTINCT FROM (o.name, o.name_pinyin, o.name_initials)
    ORDER BY 3, 4;
"""
DELETE_TERMS = """
    DELETE FROM member.member_search_terms s USING (
        SELECT o.tenant_id, o.id AS member_id, t.kind, t.term COLLATE "C" AS term
        FROM old_members o, member.search_terms(o.name, o.name_pinyin, o.name_initials) t
    ) g
    WHERE s.tenant_id = g.tenant_id AND s.kind = g.kind AND s.term = g.term
      AND s.member_id = g.member_id;
"""
# trigger (and function) name → (event and transition tables, body)
TRIGGERS = {
    "members_search_terms_insert": (
        "AFTER INSERT ON member.members REFERENCING NEW TABLE AS new_members",
        INSERT_TERMS,
    ),
    "members_search_terms_update": (
        "AFTER UPDATE ON member.members "
        "REFERENCING OLD TABLE AS old_members NEW TABLE AS new_members",
        UPDATE_TERMS,
    ),
    "members_search_terms_delete": (
        "AFTER DELETE ON member.members REFERENCING OLD TABLE AS old_members",
        DELETE_TERMS,
    ),
}


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
        # Exact term = equality, prefix = a range on term: one btree serves both, and the
        # member ids come out of the index (index-only scans).
        sa.PrimaryKeyConstraint(
            "tenant_id", "kind", "term", "member_id", name="pk_member_search_terms"
        ),
        schema=s,
    )
    # A fine histogram: how many members a prefix matches ("zhang" a tenth of a province,
    # "zhangjianguo" a few) decides between walking members in id order and sorting matches;
    # with the default 100 buckets a common prefix was estimated at 1 row (ADR 0008).
    op.execute(f"ALTER TABLE {s}.member_search_terms ALTER COLUMN term SET STATISTICS 1000")
    for stmt in tenant_isolation_ddl(s, "member_search_terms"):
        op.execute(stmt)
    op.execute(TERMS_FUNCTION)
    for name, (event, body) in TRIGGERS.items():
        op.execute(
            f"CREATE FUNCTION member.{name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN{body}RETURN NULL;\nEND\n$$"
        )
        op.execute(
            f"CREATE TRIGGER {name} {event} FOR EACH STATEMENT EXECUTE FUNCTION member.{name}()"
        )


def downgrade() -> None:
    s = SCHEMA
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {s}.members")
        op.execute(f"DROP FUNCTION IF EXISTS {s}.{name}()")
    op.execute(f"DROP FUNCTION IF EXISTS {s}.search_terms(text, text, text)")
    op.drop_table("member_search_terms", schema=s)
    op.execute(f"DROP INDEX IF EXISTS {s}.ix_members_mobile_phone_suffix")
    op.execute(f"DROP INDEX IF EXISTS {s}.ix_members_id_number_suffix")
    for name, _ in COLUMNS:
        op.drop_column("members", name, schema=s)
