"""Question banks and exams (在线评估, issue 5): banks, questions, exams with fixed papers or
draw rules and audiences, attempts with their frozen papers, answers; under row-level security.

The deadline job finds expired attempts of every tenant through a SELECT-only policy that admits
rows only when the transaction sets app.exam_deadline_sweep (the job's read-only transaction
does; no caller can), and reads nothing but ids there; it then finalises each attempt in a
transaction of the attempt's tenant.

Revision ID: 20261203_0003
Revises: 20261203_0002
Create Date: 2026-12-03
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from hongyun_platform.db.rls import tenant_isolation_ddl

revision = "20261203_0003"
down_revision = "20261203_0002"
branch_labels = None
depends_on = None

SCHEMA = "learning"
TENANT_TABLES = (
    "question_banks", "questions", "exams", "exam_paper_items", "exam_draw_rules",
    "exam_audiences", "exam_attempts", "exam_answers",
)
SWEEP_GUC = "app.exam_deadline_sweep"
KINDS = "('single','multiple','true_false','fill_in','short_answer')"
CHECKS = {
    "questions": [
        ("kind", f"kind IN {KINDS}"),
        ("difficulty", "difficulty BETWEEN 1 AND 5"),
        ("options", "jsonb_typeof(options) = 'array' AND jsonb_array_length(options) <= 10"),
        ("blanks", "jsonb_typeof(blanks) = 'array' AND jsonb_array_length(blanks) <= 10"),
    ],
    "exams": [
        ("status", "status IN ('draft','published','closed')"),
        ("paper_mode", "paper_mode IN ('fixed','random')"),
        ("results_visibility", "results_visibility IN ('after_submit','after_close')"),
        ("multiple_rule", "multiple_rule IN ('all_or_nothing','partial')"),
        ("time_limit", "time_limit_minutes BETWEEN 1 AND 1440"),
        ("max_attempts", "max_attempts BETWEEN 1 AND 100"),
        ("window", "closes_at IS NULL OR opens_at IS NULL OR closes_at > opens_at"),
        ("pass_score", "pass_score >= 0 AND pass_score <= total_score"),
    ],
    "exam_paper_items": [("points", "points BETWEEN 1 AND 100")],
    "exam_draw_rules": [
        ("points", "points BETWEEN 1 AND 100"),
        ("count", "count >= 1"),
        ("difficulty", "difficulty_min BETWEEN 1 AND 5 AND difficulty_max BETWEEN difficulty_min AND 5"),
        ("banks", "cardinality(bank_ids) >= 1"),
    ],
    "exam_audiences": [
        ("kind", "(kind = 'tenant' AND org_id IS NULL AND role IS NULL AND learner_id IS NULL)"
                 " OR (kind = 'org_subtree' AND org_id IS NOT NULL)"
                 " OR (kind = 'role' AND role IS NOT NULL)"
                 " OR (kind = 'learner' AND learner_id IS NOT NULL)"),
    ],
    "exam_attempts": [
        ("status", "status IN ('in_progress','submitted','graded')"),
        ("submitted_by", "submitted_by IS NULL OR submitted_by IN ('learner','deadline')"),
        ("multiple_rule", "multiple_rule IN ('all_or_nothing','partial')"),
        ("scores", "auto_score >= 0 AND max_score >= 0 AND pending_grades >= 0"),
        ("submitted", "(status = 'in_progress') = (submitted_at IS NULL)"),
    ],
    "exam_answers": [
        ("kind", f"kind IN {KINDS}"),
        ("score", "score IS NULL OR (score >= 0 AND score <= points * 100)"),
    ],
}


def _ts(name: str, nullable: bool = True, now: bool = False) -> sa.Column:
    return sa.Column(
        name, sa.DateTime(timezone=True), nullable=nullable,
        server_default=sa.text("now()") if now else None,
    )


def upgrade() -> None:
    op.create_table(
        "question_banks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=True),
        sa.Column("org_path", sa.ARRAY(sa.Uuid()), server_default="{}", nullable=False),
        sa.Column("created_by", sa.String(length=64), server_default="", nullable=False),
        _ts("created_at", False, True),
        _ts("updated_at", False, True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_question_banks")),
        schema=SCHEMA,
    )
    op.create_index(op.f("ix_question_banks_tenant_id"), "question_banks", ["tenant_id"], schema=SCHEMA)
    op.create_table(
        "questions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("bank_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("options", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.Column("answer", sa.ARRAY(sa.SmallInteger()), server_default="{}", nullable=False),
        sa.Column("blanks", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.Column("reference_answer", sa.Text(), server_default="", nullable=False),
        sa.Column("tags", sa.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("difficulty", sa.SmallInteger(), server_default="3", nullable=False),
        sa.Column("explanation", sa.Text(), server_default="", nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_by", sa.String(length=64), server_default="", nullable=False),
        _ts("created_at", False, True),
        _ts("updated_at", False, True),
        sa.ForeignKeyConstraint(["bank_id"], [f"{SCHEMA}.question_banks.id"], name=op.f("fk_questions_bank_id_question_banks"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_questions")),
        schema=SCHEMA,
    )
    op.create_index(op.f("ix_questions_tenant_id"), "questions", ["tenant_id"], schema=SCHEMA)
    op.create_index(op.f("ix_questions_bank_id"), "questions", ["bank_id"], schema=SCHEMA)
    op.create_table(
        "exams",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=True),
        sa.Column("org_path", sa.ARRAY(sa.Uuid()), server_default="{}", nullable=False),
        sa.Column("status", sa.String(length=16), server_default="draft", nullable=False),
        sa.Column("paper_mode", sa.String(length=16), server_default="fixed", nullable=False),
        sa.Column("time_limit_minutes", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), server_default="1", nullable=False),
        _ts("opens_at"),
        _ts("closes_at"),
        sa.Column("pass_score", sa.Integer(), server_default="0", nullable=False),
        sa.Column("total_score", sa.Integer(), server_default="0", nullable=False),
        sa.Column("shuffle_questions", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("shuffle_options", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("results_visibility", sa.String(length=16), server_default="after_submit", nullable=False),
        sa.Column("multiple_rule", sa.String(length=16), server_default="all_or_nothing", nullable=False),
        sa.Column("created_by", sa.String(length=64), server_default="", nullable=False),
        _ts("published_at"),
        _ts("closed_at"),
        _ts("created_at", False, True),
        _ts("updated_at", False, True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exams")),
        schema=SCHEMA,
    )
    op.create_index(op.f("ix_exams_tenant_id"), "exams", ["tenant_id"], schema=SCHEMA)
    op.create_table(
        "exam_paper_items",
        sa.Column("exam_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("question_id", sa.Uuid(), nullable=False),
        sa.Column("points", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(["exam_id"], [f"{SCHEMA}.exams.id"], name=op.f("fk_exam_paper_items_exam_id_exams"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["question_id"], [f"{SCHEMA}.questions.id"], name=op.f("fk_exam_paper_items_question_id_questions"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("exam_id", "position", name=op.f("pk_exam_paper_items")),
        schema=SCHEMA,
    )
    op.create_index(op.f("ix_exam_paper_items_tenant_id"), "exam_paper_items", ["tenant_id"], schema=SCHEMA)
    op.create_index(op.f("ix_exam_paper_items_question_id"), "exam_paper_items", ["question_id"], schema=SCHEMA)
    op.create_table(
        "exam_draw_rules",
        sa.Column("exam_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("bank_ids", sa.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("kinds", sa.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("tags", sa.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("difficulty_min", sa.SmallInteger(), server_default="1", nullable=False),
        sa.Column("difficulty_max", sa.SmallInteger(), server_default="5", nullable=False),
        sa.Column("count", sa.SmallInteger(), nullable=False),
        sa.Column("points", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(["exam_id"], [f"{SCHEMA}.exams.id"], name=op.f("fk_exam_draw_rules_exam_id_exams"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("exam_id", "position", name=op.f("pk_exam_draw_rules")),
        schema=SCHEMA,
    )
    op.create_index(op.f("ix_exam_draw_rules_tenant_id"), "exam_draw_rules", ["tenant_id"], schema=SCHEMA)
    op.create_table(
        "exam_audiences",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("exam_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=True),
        sa.Column("role", sa.String(length=32), nullable=True),
        sa.Column("learner_id", sa.String(length=64), nullable=True),
        sa.Column("created_by", sa.String(length=64), server_default="", nullable=False),
        _ts("created_at", False, True),
        sa.ForeignKeyConstraint(["exam_id"], [f"{SCHEMA}.exams.id"], name=op.f("fk_exam_audiences_exam_id_exams"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exam_audiences")),
        schema=SCHEMA,
    )
    op.create_index(op.f("ix_exam_audiences_tenant_id"), "exam_audiences", ["tenant_id"], schema=SCHEMA)
    op.create_index(op.f("ix_exam_audiences_exam_id"), "exam_audiences", ["exam_id"], schema=SCHEMA)
    op.create_table(
        "exam_attempts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("exam_id", sa.Uuid(), nullable=False),
        sa.Column("learner_id", sa.String(length=64), nullable=False),
        sa.Column("learner_org_id", sa.Uuid(), nullable=True),
        sa.Column("learner_org_path", sa.ARRAY(sa.Uuid()), server_default="{}", nullable=False),
        sa.Column("number", sa.SmallInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="in_progress", nullable=False),
        sa.Column("paper", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("multiple_rule", sa.String(length=16), nullable=False),
        _ts("started_at", False),
        _ts("deadline_at", False),
        _ts("submitted_at"),
        sa.Column("submitted_by", sa.String(length=16), nullable=True),
        sa.Column("auto_score", sa.Integer(), server_default="0", nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("max_score", sa.Integer(), nullable=False),
        sa.Column("pass_score", sa.Integer(), nullable=False),
        sa.Column("pending_grades", sa.Integer(), server_default="0", nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=True),
        _ts("graded_at"),
        sa.ForeignKeyConstraint(["exam_id"], [f"{SCHEMA}.exams.id"], name=op.f("fk_exam_attempts_exam_id_exams"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exam_attempts")),
        sa.UniqueConstraint("exam_id", "learner_id", "number", name=op.f("uq_exam_attempts_exam_id_learner_id_number")),
        schema=SCHEMA,
    )
    op.create_index(op.f("ix_exam_attempts_tenant_id"), "exam_attempts", ["tenant_id"], schema=SCHEMA)
    op.create_index(op.f("ix_exam_attempts_exam_id"), "exam_attempts", ["exam_id"], schema=SCHEMA)
    op.create_index("uq_exam_attempts_open", "exam_attempts", ["exam_id", "learner_id"], unique=True, schema=SCHEMA, postgresql_where=sa.text("status = 'in_progress'"))
    op.create_index("ix_exam_attempts_due", "exam_attempts", ["deadline_at"], schema=SCHEMA, postgresql_where=sa.text("status = 'in_progress'"))
    op.create_table(
        "exam_answers",
        sa.Column("attempt_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("exam_id", sa.Uuid(), nullable=False),
        sa.Column("question_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("response", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("version", sa.Integer(), server_default="0", nullable=False),
        _ts("saved_at"),
        sa.Column("finalised", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("points", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("correct", sa.Boolean(), nullable=True),
        sa.Column("selected", sa.ARRAY(sa.SmallInteger()), server_default="{}", nullable=False),
        sa.Column("needs_grading", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("graded_by", sa.String(length=64), server_default="", nullable=False),
        sa.Column("grade_comment", sa.Text(), server_default="", nullable=False),
        _ts("graded_at"),
        sa.ForeignKeyConstraint(["attempt_id"], [f"{SCHEMA}.exam_attempts.id"], name=op.f("fk_exam_answers_attempt_id_exam_attempts"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("attempt_id", "position", name=op.f("pk_exam_answers")),
        schema=SCHEMA,
    )
    op.create_index(op.f("ix_exam_answers_tenant_id"), "exam_answers", ["tenant_id"], schema=SCHEMA)
    op.create_index("ix_exam_answers_stats", "exam_answers", ["exam_id", "question_id"], schema=SCHEMA, postgresql_where=sa.text("finalised"))
    op.create_index("ix_exam_answers_grading", "exam_answers", ["exam_id"], schema=SCHEMA, postgresql_where=sa.text("needs_grading"))
    for table, checks in CHECKS.items():
        for name, condition in checks:
            op.create_check_constraint(name, table, condition, schema=SCHEMA)
    for table in TENANT_TABLES:
        for stmt in tenant_isolation_ddl(SCHEMA, table):
            op.execute(stmt)
    op.execute(
        f"CREATE POLICY deadline_sweep ON {SCHEMA}.exam_attempts FOR SELECT "
        f"USING (coalesce(current_setting('{SWEEP_GUC}', true), '') = 'on')"
    )


def downgrade() -> None:
    for table in reversed(TENANT_TABLES):
        op.drop_table(table, schema=SCHEMA)
