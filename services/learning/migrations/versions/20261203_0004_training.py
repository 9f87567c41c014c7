"""Training classes, sessions, attendance, class hours: the default completion rule per kind
(seeded, with its citation), classes, enrolments, offline/online sessions, append-only attendance
records and completions (one per enrolment), under row-level security.

Revision ID: 20261203_0004
Revises: 20261203_0003
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op
from hongyun_platform.db.rls import IS_PLATFORM_ADMIN_SQL, tenant_isolation_ddl

revision = "20261203_0004"
down_revision = "20261203_0003"
branch_labels = None
depends_on = None

SCHEMA = "learning"
TENANT_TABLES = (
    "training_classes", "training_enrolments", "training_sessions", "training_attendance",
    "training_completions",
)  # fmt: skip
KINDS = "('development_candidate','activist','member_winter','secretary','other')"
DURATION = "duration_mode IN ('any','all')"
RULE = [
    ("rule_attendance", "min_attendance_percent IS NULL OR min_attendance_percent BETWEEN 1 AND 100"),
    ("rule_hours", "min_class_hours_hundredths IS NULL OR min_class_hours_hundredths BETWEEN 1 AND 100000"),
    ("rule_days", "min_days IS NULL OR min_days BETWEEN 1 AND 366"),
    ("rule_duration_mode", DURATION),
]  # fmt: skip
CHECKS = {
    "training_kind_defaults": [("kind", f"kind IN {KINDS}"), *RULE],
    "training_classes": [
        ("kind", f"kind IN {KINDS}"),
        ("status", "status IN ('planned','open','closed')"),
        ("dates", "ends_on >= starts_on"),
        ("auto_close", "auto_close_after_days BETWEEN 0 AND 366"),
        ("org_path", "cardinality(org_path) >= 1"),
        *RULE,
    ],
    "training_enrolments": [
        ("person", "member_id IS NOT NULL OR development_case_id IS NOT NULL"),
    ],
    "training_sessions": [
        (
            "mode",
            "(mode = 'offline' AND held_on IS NOT NULL AND course_id IS NULL)"
            " OR (mode = 'online' AND course_id IS NOT NULL)",
        ),
        ("hours", "class_hours_hundredths BETWEEN 0 AND 100000"),
        ("times", "starts_at IS NULL OR ends_at IS NULL OR ends_at > starts_at"),
    ],
    "training_attendance": [("status", "status IN ('present','absent','leave')")],
    "training_completions": [
        ("hours", "class_hours_hundredths >= 0"),
        ("days", "days >= 0"),
    ],
}
CITATION_XIZE_19 = (
    "《中国共产党发展党员工作细则》第十九条：基层党委或县级党委组织部门应当对发展对象进行短期集中培训。"
    "培训时间一般不少于3天（或不少于24个学时）"
)
NO_NATIONAL = (
    "全国无统一的结业标准：默认须参加全部线下课程并完成线上课程，开班时可按本地规定调整"
    " (no national completion standard: by default every offline session attended and every"
    " online course completed; set the local rule when creating the class)"
)
# kind, position, label, attendance %, class hours (hundredths), days, mode, online, citation, note
DEFAULTS = [
    ("development_candidate", 1, "发展对象短期集中培训", None, 2400, 3, "any", True,
     CITATION_XIZE_19, "满足天数或学时之一即可 (either the days or the class hours suffice)"),
    ("activist", 2, "入党积极分子培训", 100, None, None, "any", True, "", NO_NATIONAL),
    ("member_winter", 3, "党员冬训", 100, None, None, "any", True, "", NO_NATIONAL),
    ("secretary", 4, "书记培训", 100, None, None, "any", True, "", NO_NATIONAL),
    ("other", 5, "其他培训", 100, None, None, "any", True, "", NO_NATIONAL),
]  # fmt: skip

# Attendance is evidence: a correction is a new record, never an edit (the runtime role's grants
# are refreshed after each migration, so a trigger enforces it rather than a REVOKE).
APPEND_ONLY_FUNCTION = f"""
CREATE FUNCTION {SCHEMA}.training_attendance_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'training attendance records are append-only' USING ERRCODE = 'insufficient_privilege';
END
$$
"""
APPEND_ONLY_TRIGGER = (
    f"CREATE TRIGGER training_attendance_append_only BEFORE UPDATE OR DELETE ON "
    f"{SCHEMA}.training_attendance FOR EACH ROW WHEN (pg_trigger_depth() = 0) "
    f"EXECUTE FUNCTION {SCHEMA}.training_attendance_append_only()"
)


def _now():
    return sa.text("now()")


def _rule_columns() -> list[sa.Column]:
    return [
        sa.Column("min_attendance_percent", sa.SmallInteger(), nullable=True),
        sa.Column("min_class_hours_hundredths", sa.Integer(), nullable=True),
        sa.Column("min_days", sa.Integer(), nullable=True),
        sa.Column("duration_mode", sa.String(length=8), nullable=False),
        sa.Column("require_online_courses", sa.Boolean(), nullable=False),
    ]


def upgrade() -> None:
    kinds = op.create_table(
        "training_kind_defaults",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        *_rule_columns(),
        sa.Column("citation", sa.Text(), server_default="", nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("kind", name=op.f("pk_training_kind_defaults")),
        schema=SCHEMA,
    )
    op.create_table(
        "training_classes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="planned", nullable=False),
        sa.Column("organizer_org_id", sa.Uuid(), nullable=False),
        sa.Column("org_path", sa.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("organizer_name", sa.String(length=200), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        *_rule_columns(),
        sa.Column("rule_citation", sa.Text(), server_default="", nullable=False),
        sa.Column("rule_note", sa.Text(), server_default="", nullable=False),
        sa.Column("auto_close_after_days", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_by", sa.String(length=64), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("closed_by", sa.String(length=64), server_default="", nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_classes")),
        schema=SCHEMA,
    )
    op.create_index(op.f("ix_training_classes_tenant_id"), "training_classes", ["tenant_id"],
                    schema=SCHEMA)  # fmt: skip
    op.create_index("ix_training_classes_org_path", "training_classes", ["org_path"],
                    schema=SCHEMA, postgresql_using="gin")  # fmt: skip
    # The auto-close job looks for open classes by end date.
    op.create_index("ix_training_classes_open_ends_on", "training_classes", ["ends_on"],
                    schema=SCHEMA, postgresql_where=sa.text("status = 'open'"))  # fmt: skip
    op.create_table(
        "training_enrolments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("class_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=True),
        sa.Column("development_case_id", sa.Uuid(), nullable=True),
        sa.Column("learner_account_id", sa.String(length=64), nullable=True),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("enrolled_by", sa.String(length=64), server_default="", nullable=False),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["class_id"],
            [f"{SCHEMA}.training_classes.id"],
            name=op.f("fk_training_enrolments_class_id_training_classes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_enrolments")),
        schema=SCHEMA,
    )
    op.create_index(op.f("ix_training_enrolments_tenant_id"), "training_enrolments",
                    ["tenant_id"], schema=SCHEMA)  # fmt: skip
    op.create_index(op.f("ix_training_enrolments_class_id"), "training_enrolments", ["class_id"],
                    schema=SCHEMA)  # fmt: skip
    # One enrolment per person and class (duplicate enrolment: 409).
    op.create_index("uq_training_enrolments_member", "training_enrolments",
                    ["class_id", "member_id"], unique=True, schema=SCHEMA,
                    postgresql_where=sa.text("member_id IS NOT NULL"))  # fmt: skip
    op.create_index("uq_training_enrolments_case", "training_enrolments",
                    ["class_id", "development_case_id"], unique=True, schema=SCHEMA,
                    postgresql_where=sa.text("development_case_id IS NOT NULL"))  # fmt: skip
    op.create_table(
        "training_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("class_id", sa.Uuid(), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("title", sa.String(length=200), server_default="", nullable=False),
        sa.Column("held_on", sa.Date(), nullable=True),
        sa.Column("starts_at", sa.Time(), nullable=True),
        sa.Column("ends_at", sa.Time(), nullable=True),
        sa.Column("place", sa.String(length=200), server_default="", nullable=False),
        sa.Column("class_hours_hundredths", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=True),
        sa.Column("created_by", sa.String(length=64), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["class_id"],
            [f"{SCHEMA}.training_classes.id"],
            name=op.f("fk_training_sessions_class_id_training_classes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["course_id"],
            [f"{SCHEMA}.courses.id"],
            name=op.f("fk_training_sessions_course_id_courses"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_sessions")),
        schema=SCHEMA,
    )
    for col in ("tenant_id", "class_id", "course_id"):
        op.create_index(op.f(f"ix_training_sessions_{col}"), "training_sessions", [col],
                        schema=SCHEMA)  # fmt: skip
    op.create_table(
        "training_attendance",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("class_id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("enrolment_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("note", sa.String(length=200), server_default="", nullable=False),
        sa.Column("supersedes_id", sa.Uuid(), nullable=True),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["class_id"],
            [f"{SCHEMA}.training_classes.id"],
            name=op.f("fk_training_attendance_class_id_training_classes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            [f"{SCHEMA}.training_sessions.id"],
            name=op.f("fk_training_attendance_session_id_training_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            [f"{SCHEMA}.training_enrolments.id"],
            name=op.f("fk_training_attendance_enrolment_id_training_enrolments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_attendance")),
        schema=SCHEMA,
    )
    for col in ("tenant_id", "class_id", "session_id", "enrolment_id"):
        op.create_index(op.f(f"ix_training_attendance_{col}"), "training_attendance", [col],
                        schema=SCHEMA)  # fmt: skip
    op.create_table(
        "training_completions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("class_id", sa.Uuid(), nullable=False),
        sa.Column("enrolment_id", sa.Uuid(), nullable=False),
        sa.Column("class_hours_hundredths", sa.Integer(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("completed_on", sa.Date(), nullable=False),
        sa.Column("certificate_number", sa.String(length=32), nullable=False),
        sa.Column("verification_code", sa.String(length=16), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=True),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["class_id"],
            [f"{SCHEMA}.training_classes.id"],
            name=op.f("fk_training_completions_class_id_training_classes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            [f"{SCHEMA}.training_enrolments.id"],
            name=op.f("fk_training_completions_enrolment_id_training_enrolments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_completions")),
        sa.UniqueConstraint("enrolment_id", name=op.f("uq_training_completions_enrolment_id")),
        sa.UniqueConstraint(
            "tenant_id",
            "certificate_number",
            name=op.f("uq_training_completions_tenant_id_certificate_number"),
        ),
        schema=SCHEMA,
    )
    op.create_index(op.f("ix_training_completions_tenant_id"), "training_completions",
                    ["tenant_id"], schema=SCHEMA)  # fmt: skip
    op.create_index(op.f("ix_training_completions_class_id"), "training_completions",
                    ["class_id"], schema=SCHEMA)  # fmt: skip
    for table, checks in CHECKS.items():
        for name, condition in checks:
            op.create_check_constraint(name, table, condition, schema=SCHEMA)
    for table in TENANT_TABLES:
        for stmt in tenant_isolation_ddl(SCHEMA, table):
            op.execute(stmt)
    # The auto-close job finds due classes of every tenant (then closes each in its tenant).
    op.execute(
        f"CREATE POLICY platform_read ON {SCHEMA}.training_classes FOR SELECT "
        f"USING ({IS_PLATFORM_ADMIN_SQL})"
    )
    op.execute(APPEND_ONLY_FUNCTION)
    op.execute(APPEND_ONLY_TRIGGER)
    columns = ("kind", "position", "label", "min_attendance_percent",
               "min_class_hours_hundredths", "min_days", "duration_mode",
               "require_online_courses", "citation", "note")  # fmt: skip
    op.bulk_insert(kinds, [dict(zip(columns, row, strict=True)) for row in DEFAULTS])


def downgrade() -> None:
    op.execute(f"DROP TRIGGER training_attendance_append_only ON {SCHEMA}.training_attendance")
    op.execute(f"DROP FUNCTION {SCHEMA}.training_attendance_append_only()")
    for table in ("training_completions", "training_attendance", "training_sessions",
                  "training_enrolments", "training_classes", "training_kind_defaults"):  # fmt: skip
        op.drop_table(table, schema=SCHEMA)
