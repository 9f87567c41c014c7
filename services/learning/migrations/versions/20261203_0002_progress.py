"""Learning progress: per learner per item progress, checkpoint answers, anti-gaming flags, course
completions, the optional points ledger, per-tenant settings over seeded defaults.

Revision ID: 20261203_0002
Revises: 20261203_0001
Create Date: 2026-12-03
"""

from alembic import op
import sqlalchemy as sa
from hongyun_platform.db.rls import tenant_isolation_ddl

revision = "20261203_0002"
down_revision = "20261203_0001"
branch_labels = None
depends_on = None

SCHEMA = "learning"
TENANT_TABLES = (
    "item_progress", "checkpoint_answers", "progress_flags", "course_completions",
    "points_entries", "progress_settings",
)
CHECKS = {
    "item_progress": [
        ("kind", "kind IN ('video','audio','document','rich_text','link')"),
        ("positions", "position >= 0 AND furthest >= 0 AND prev_session_position >= 0"),
        ("milestone", "milestone IN (0, 25, 50, 75)"),
        ("attempt", "attempt >= 1"),
        ("flags", "attempt_flags <@ ARRAY['too_fast','parallel_playback']::varchar[]"),
    ],
    "checkpoint_answers": [("attempts", "attempts >= 0")],
    "progress_flags": [("kind", "kind IN ('too_fast','parallel_playback')")],
    "course_completions": [("class_hours", "class_hours_hundredths BETWEEN 0 AND 100000")],
    "points_entries": [
        ("source", "source IN ('item','checkpoint')"),
        ("points", "points > 0"),
    ],
}
# Defaults of every setting (tenants override them in progress_settings).
DEFAULTS = dict(
    end_tolerance_percent=2.0, end_tolerance_seconds=5, end_tolerance_pages=1,
    max_playback_rate=2.0, slack_seconds=5.0, burst_seconds=90.0,
    min_seconds_per_page=3.0, slack_pages=1.0, burst_pages=5.0,
    parallel_window_seconds=90.0, parallel_min_rate=0.5,
    points_enabled=False, points_per_item=5, points_per_checkpoint=1, points_daily_cap=20,
    citation=(
        "平台默认值。积分默认关闭、仅支部内可见、不排名，依据中央网信委《关于防治“指尖上的形式主义”"
        "的若干意见》(2023-12)：不搞强制打卡、积分排名、在线时长考核。"
        " (Platform defaults; points off by default, branch-only, never ranked, per the 2023-12 "
        "directive against compulsory check-ins, points rankings and online-time metrics.)"
    ),
)


def _ts(name, nullable=False, default=False):
    kw = {"server_default": sa.text("now()")} if default else {}
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, **kw)


def upgrade() -> None:
    op.create_table(
        "item_progress",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("learner_id", sa.String(64), nullable=False),
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=True),
        sa.Column("org_path", sa.ARRAY(sa.Uuid()), server_default="{}", nullable=False),
        sa.Column("course_version", sa.Integer(), server_default="0", nullable=False),
        sa.Column("material_version", sa.Integer(), server_default="0", nullable=False),
        sa.Column("attempt", sa.Integer(), server_default="1", nullable=False),
        _ts("started_at"),
        sa.Column("position", sa.Integer(), server_default="0", nullable=False),
        sa.Column("furthest", sa.Integer(), server_default="0", nullable=False),
        sa.Column("covered", sa.ARRAY(sa.Integer()), server_default="{}", nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=True),
        _ts("last_report_at"),
        _ts("last_advanced_at", nullable=True),
        sa.Column("prev_session_id", sa.Uuid(), nullable=True),
        _ts("prev_session_at", nullable=True),
        sa.Column("prev_session_position", sa.Integer(), server_default="0", nullable=False),
        sa.Column("allowance", sa.Float(), server_default="0", nullable=False),
        sa.Column("milestone", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("attempt_flags", sa.ARRAY(sa.String(32)), server_default="{}", nullable=False),
        _ts("completed_at", nullable=True),
        sa.Column("completion_flagged", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("revision", sa.Integer(), server_default="1", nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "learner_id", "item_id", name=op.f("pk_item_progress")),
        schema=SCHEMA,
    )
    op.create_index("ix_item_progress_course", "item_progress", ["tenant_id", "course_id"], schema=SCHEMA)
    op.create_table(
        "checkpoint_answers",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("learner_id", sa.String(64), nullable=False),
        sa.Column("checkpoint_id", sa.Uuid(), nullable=False),
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("correct", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("first_try_correct", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("last_selected", sa.ARRAY(sa.SmallInteger()), server_default="{}", nullable=False),
        _ts("first_answered_at", default=True),
        _ts("last_answered_at", default=True),
        _ts("correct_at", nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "learner_id", "checkpoint_id", name=op.f("pk_checkpoint_answers")),
        schema=SCHEMA,
    )
    op.create_index("ix_checkpoint_answers_item", "checkpoint_answers", ["tenant_id", "learner_id", "item_id"], schema=SCHEMA)
    op.create_table(
        "progress_flags",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("learner_id", sa.String(64), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=True),
        sa.Column("org_path", sa.ARRAY(sa.Uuid()), server_default="{}", nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text(), server_default="", nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=True),
        sa.Column("attempt", sa.Integer(), server_default="1", nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_progress_flags")),
        schema=SCHEMA,
    )
    op.create_index("ix_progress_flags_learner", "progress_flags", ["tenant_id", "learner_id", "created_at"], schema=SCHEMA)
    op.create_index("ix_progress_flags_course", "progress_flags", ["tenant_id", "course_id"], schema=SCHEMA)
    op.create_table(
        "course_completions",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("learner_id", sa.String(64), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=True),
        sa.Column("org_path", sa.ARRAY(sa.Uuid()), server_default="{}", nullable=False),
        sa.Column("course_version", sa.Integer(), server_default="0", nullable=False),
        _ts("completed_at"),
        sa.Column("flagged", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("class_hours_hundredths", sa.Integer(), server_default="0", nullable=False),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("tenant_id", "learner_id", "course_id", name=op.f("pk_course_completions")),
        schema=SCHEMA,
    )
    op.create_table(
        "points_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("learner_id", sa.String(64), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("source_id", sa.Uuid(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        _ts("created_at", default=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points_entries")),
        sa.UniqueConstraint("tenant_id", "learner_id", "source", "source_id",
                            name=op.f("uq_points_entries_tenant_id_learner_id_source_source_id")),
        schema=SCHEMA,
    )
    op.create_index("ix_points_entries_day", "points_entries", ["tenant_id", "learner_id", "day"], schema=SCHEMA)
    op.create_index("ix_points_entries_org", "points_entries", ["tenant_id", "org_id", "learner_id"], schema=SCHEMA)

    setting_columns = [
        ("end_tolerance_percent", sa.Float()), ("end_tolerance_seconds", sa.Integer()),
        ("end_tolerance_pages", sa.Integer()), ("max_playback_rate", sa.Float()),
        ("slack_seconds", sa.Float()), ("burst_seconds", sa.Float()),
        ("min_seconds_per_page", sa.Float()), ("slack_pages", sa.Float()),
        ("burst_pages", sa.Float()), ("parallel_window_seconds", sa.Float()),
        ("parallel_min_rate", sa.Float()), ("points_enabled", sa.Boolean()),
        ("points_per_item", sa.Integer()), ("points_per_checkpoint", sa.Integer()),
        ("points_daily_cap", sa.Integer()),
    ]
    op.create_table(
        "progress_rule_defaults",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        *[sa.Column(name, type_, nullable=False) for name, type_ in setting_columns],
        sa.Column("citation", sa.Text(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_progress_rule_defaults")),
        sa.CheckConstraint("id = 1", name="single_row"),
        schema=SCHEMA,
    )
    op.create_table(
        "progress_settings",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        *[sa.Column(name, type_, nullable=True) for name, type_ in setting_columns],
        sa.Column("updated_by", sa.String(64), server_default="", nullable=False),
        _ts("updated_at", default=True),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_progress_settings")),
        schema=SCHEMA,
    )
    defaults = sa.table("progress_rule_defaults", sa.column("id"),
                        *[sa.column(k) for k in DEFAULTS], schema=SCHEMA)
    op.bulk_insert(defaults, [dict(id=1, **DEFAULTS)])

    for table, checks in CHECKS.items():
        for name, condition in checks:
            op.create_check_constraint(name, table, condition, schema=SCHEMA)
    for table in TENANT_TABLES:
        for stmt in tenant_isolation_ddl(SCHEMA, table):
            op.execute(stmt)


def downgrade() -> None:
    for table in (
        "progress_settings", "progress_rule_defaults", "points_entries", "course_completions",
        "progress_flags", "checkpoint_answers", "item_progress",
    ):
        op.drop_table(table, schema=SCHEMA)
