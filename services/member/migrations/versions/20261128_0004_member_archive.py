"""Electronic member archive: extended fields, family members, awards and punishments, travel
abroad, hardship, tags, 党籍 status and 失联/流动 flag history, attachments, field history
(docs/adr/0009).

Revision ID: 20261128_0004
Revises: 20261128_0001
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op
from hongyun_platform.db.rls import tenant_isolation_ddl

SCHEMA = "member"

revision = "20261128_0004"
down_revision = "20261128_0001"
branch_labels = None
depends_on = None

TABLES = (
    "member_attachments",
    "member_profiles_ext",
    "member_family_members",
    "member_awards",
    "member_travels",
    "member_hardships",
    "member_tags",
    "member_status_changes",
    "member_flag_changes",
    "member_field_changes",
)


def _now() -> sa.TextClause:
    return sa.text("now()")


def _stamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("created_by", sa.String(length=64), server_default="", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), server_default="", nullable=False),
    ]


def _owner(table: str) -> list:
    """tenant_id and member_id with their foreign keys."""
    return [
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["member.tenants.id"], name=f"fk_{table}_tenant_id_tenants"
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.members.id"], name=f"fk_{table}_member_id_members"
        ),
    ]


def upgrade() -> None:
    s = SCHEMA
    op.create_table(
        "member_attachments",
        sa.Column("id", sa.Uuid(), nullable=False),
        *_owner("member_attachments"),
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), server_default="", nullable=False),
        sa.Column("object_key", sa.String(length=300), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("reject_reason", sa.String(length=40), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("created_by", sa.String(length=64), server_default="", nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_member_attachments"),
        schema=s,
    )
    op.create_table(
        "member_profiles_ext",
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("native_place", sa.String(length=100), server_default="", nullable=False),
        sa.Column("degree", sa.String(length=30), server_default="", nullable=False),
        sa.Column("school", sa.String(length=100), server_default="", nullable=False),
        sa.Column("major", sa.String(length=100), server_default="", nullable=False),
        sa.Column("work_unit", sa.String(length=200), server_default="", nullable=False),
        sa.Column("position", sa.String(length=100), server_default="", nullable=False),
        sa.Column("professional_title", sa.String(length=100), server_default="", nullable=False),
        sa.Column("party_post", sa.String(length=100), server_default="", nullable=False),
        sa.Column("photo_attachment_id", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        *_stamps(),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.members.id"], name="fk_member_profiles_ext_member_id_members"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["member.tenants.id"], name="fk_member_profiles_ext_tenant_id_tenants"
        ),
        sa.ForeignKeyConstraint(
            ["photo_attachment_id"],
            ["member.member_attachments.id"],
            name="fk_member_profiles_ext_photo_attachment_id_member_attachments",
        ),
        sa.PrimaryKeyConstraint("member_id", name="pk_member_profiles_ext"),
        schema=s,
    )
    op.create_table(
        "member_family_members",
        sa.Column("id", sa.Uuid(), nullable=False),
        *_owner("member_family_members"),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("relation", sa.String(length=20), nullable=False),
        sa.Column("work_unit", sa.String(length=200), server_default="", nullable=False),
        sa.Column("political_status", sa.String(length=30), server_default="", nullable=False),
        sa.Column("phone_enc", sa.LargeBinary(), nullable=True),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_member_family_members"),
        schema=s,
    )
    op.create_table(
        "member_awards",
        sa.Column("id", sa.Uuid(), nullable=False),
        *_owner("member_awards"),
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("title_enc", sa.LargeBinary(), nullable=False),
        sa.Column("issuing_body_enc", sa.LargeBinary(), nullable=True),
        sa.Column("document_number_enc", sa.LargeBinary(), nullable=True),
        sa.Column("note_enc", sa.LargeBinary(), nullable=True),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_member_awards"),
        schema=s,
    )
    op.create_table(
        "member_travels",
        sa.Column("id", sa.Uuid(), nullable=False),
        *_owner("member_travels"),
        sa.Column("destination", sa.String(length=100), nullable=False),
        sa.Column("departed_on", sa.Date(), nullable=False),
        sa.Column("returned_on", sa.Date(), nullable=True),
        sa.Column("purpose", sa.String(length=200), server_default="", nullable=False),
        sa.Column("approval", sa.String(length=200), server_default="", nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_member_travels"),
        schema=s,
    )
    op.create_table(
        "member_hardships",
        sa.Column("id", sa.Uuid(), nullable=False),
        *_owner("member_hardships"),
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("resolved_on", sa.Date(), nullable=True),
        sa.Column("description_enc", sa.LargeBinary(), nullable=False),
        sa.Column("assistance_enc", sa.LargeBinary(), nullable=True),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_member_hardships"),
        schema=s,
    )
    op.create_table(
        "member_tags",
        sa.Column("id", sa.Uuid(), nullable=False),
        *_owner("member_tags"),
        sa.Column("tag", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("created_by", sa.String(length=64), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_member_tags"),
        schema=s,
    )
    op.create_table(
        "member_status_changes",
        sa.Column("id", sa.Uuid(), nullable=False),
        *_owner("member_status_changes"),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("document", sa.String(length=200), server_default="", nullable=False),
        sa.Column("recorded_by", sa.String(length=64), server_default="", nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_member_status_changes"),
        schema=s,
    )
    op.create_table(
        "member_flag_changes",
        sa.Column("id", sa.Uuid(), nullable=False),
        *_owner("member_flag_changes"),
        sa.Column("flag", sa.SmallInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("destination", sa.String(length=200), server_default="", nullable=False),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("recorded_by", sa.String(length=64), server_default="", nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_member_flag_changes"),
        schema=s,
    )
    op.create_table(
        "member_field_changes",
        sa.Column("id", sa.Uuid(), nullable=False),
        *_owner("member_field_changes"),
        sa.Column("changed_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("changed_by", sa.String(length=64), server_default="", nullable=False),
        sa.Column("source", sa.String(length=30), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=True),
        sa.Column("field", sa.String(length=60), nullable=False),
        sa.Column("personal", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("old_value", sa.Text(), server_default="", nullable=False),
        sa.Column("new_value", sa.Text(), server_default="", nullable=False),
        sa.Column("old_enc", sa.LargeBinary(), nullable=True),
        sa.Column("new_enc", sa.LargeBinary(), nullable=True),
        sa.Column("key_id", sa.String(length=32), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_member_field_changes"),
        schema=s,
    )

    # Every list is "one member's records" (tenant first: RLS and the repositories filter on it).
    for table in TABLES:
        if table != "member_profiles_ext":
            op.execute(f"CREATE INDEX ix_{table}_member ON {s}.{table} (tenant_id, member_id, id)")
    op.execute(f"CREATE UNIQUE INDEX uq_member_tags_member_tag ON {s}.member_tags (member_id, tag)")
    op.execute(f"CREATE INDEX ix_member_tags_tenant_tag ON {s}.member_tags (tenant_id, tag)")
    op.execute(
        f"CREATE INDEX ix_member_status_changes_effective ON {s}.member_status_changes "
        "(member_id, effective_on, recorded_at)"
    )
    op.execute(
        f"CREATE UNIQUE INDEX uq_member_attachments_object_key ON {s}.member_attachments "
        "(object_key)"
    )
    for table in TABLES:
        for stmt in tenant_isolation_ddl(s, table):
            op.execute(stmt)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table, schema=SCHEMA)
