"""Initial member schema: tenants, organisations (ltree), members, audit log, outbox/inbox.

Revision ID: 20261128_0001
Revises:
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op
from hongyun_platform.db.rls import CURRENT_TENANT_SQL, IS_PLATFORM_ADMIN_SQL, tenant_isolation_ddl
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import UserDefinedType

SCHEMA = "member"

revision = "20261128_0001"
down_revision = None
branch_labels = None
depends_on = None

TENANT_TABLES = ("organizations", "members", "audit_log")


class LTREE(UserDefinedType):
    cache_ok = True

    def get_col_spec(self, **_kw) -> str:
        return "ltree"


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS ltree")
    op.create_table('audit_log',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('actor_roles', sa.ARRAY(sa.Text()), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('target_type', sa.String(length=40), nullable=False),
    sa.Column('target_id', sa.Uuid(), nullable=False),
    sa.Column('fields', sa.ARRAY(sa.Text()), nullable=False),
    sa.Column('reason', sa.Text(), server_default='', nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log')),
    schema='member'
    )
    op.create_table('dead_letters',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('consumer', sa.Text(), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('event_id', sa.Uuid(), nullable=True),
    sa.Column('headers', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('deliveries', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('replayed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dead_letters')),
    schema='member'
    )
    op.create_table('inbox',
    sa.Column('consumer', sa.Text(), nullable=False),
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('consumer', 'event_id', name=op.f('pk_inbox')),
    schema='member'
    )
    op.create_table('outbox',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=True),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('event_type', sa.Text(), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.Column('traceparent', sa.Text(), server_default='', nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    schema='member'
    )
    op.create_index('ix_outbox_pending', 'outbox', ['next_attempt_at'], unique=False, schema='member', postgresql_where=sa.text('published_at IS NULL'))
    op.create_table('tenants',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('parent_id', sa.Uuid(), nullable=True),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('path', LTREE(), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='active', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['member.tenants.id'], name=op.f('fk_tenants_parent_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenants')),
    sa.UniqueConstraint('code', name=op.f('uq_tenants_code')),
    schema='member'
    )
    op.create_table('organizations',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('parent_id', sa.Uuid(), nullable=True),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('type', sa.SmallInteger(), nullable=False),
    sa.Column('path', LTREE(), nullable=False),
    sa.Column('depth', sa.SmallInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_by', sa.String(length=64), server_default='', nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['member.organizations.id'], name=op.f('fk_organizations_parent_id_organizations')),
    sa.ForeignKeyConstraint(['tenant_id'], ['member.tenants.id'], name=op.f('fk_organizations_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organizations')),
    schema='member'
    )
    op.create_table('members',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('gender', sa.SmallInteger(), nullable=False),
    sa.Column('ethnicity', sa.String(length=20), server_default='', nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('education', sa.String(length=30), server_default='', nullable=False),
    sa.Column('category', sa.SmallInteger(), nullable=False),
    sa.Column('joined_on', sa.Date(), nullable=True),
    sa.Column('converted_on', sa.Date(), nullable=True),
    sa.Column('job_post', sa.String(length=100), server_default='', nullable=False),
    sa.Column('party_status', sa.SmallInteger(), nullable=False),
    sa.Column('lost_contact', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('lost_contact_since', sa.Date(), nullable=True),
    sa.Column('floating', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('floating_destination', sa.String(length=200), server_default='', nullable=False),
    sa.Column('id_number_enc', sa.LargeBinary(), nullable=False),
    sa.Column('id_number_index', sa.String(length=64), nullable=False),
    sa.Column('mobile_phone_enc', sa.LargeBinary(), nullable=True),
    sa.Column('landline_enc', sa.LargeBinary(), nullable=True),
    sa.Column('home_address_enc', sa.LargeBinary(), nullable=True),
    sa.Column('key_id', sa.String(length=32), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_by', sa.String(length=64), server_default='', nullable=False),
    sa.Column('updated_by', sa.String(length=64), server_default='', nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['member.organizations.id'], name=op.f('fk_members_organization_id_organizations')),
    sa.ForeignKeyConstraint(['tenant_id'], ['member.tenants.id'], name=op.f('fk_members_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_members')),
    schema='member'
    )
    s = SCHEMA
    op.execute(f"CREATE INDEX ix_tenants_path ON {s}.tenants USING gist (path)")
    op.execute(f"CREATE INDEX ix_organizations_path ON {s}.organizations USING gist (path)")
    op.execute(f"CREATE INDEX ix_organizations_tenant ON {s}.organizations (tenant_id, id)")
    op.execute(
        f"CREATE UNIQUE INDEX uq_organizations_sibling_name ON {s}.organizations "
        "(tenant_id, coalesce(parent_id, '00000000-0000-0000-0000-000000000000'::uuid), name)"
    )
    op.execute(
        f"CREATE UNIQUE INDEX uq_organizations_one_root ON {s}.organizations (tenant_id) "
        "WHERE parent_id IS NULL"
    )
    op.execute(f"CREATE INDEX ix_members_org ON {s}.members (organization_id, id)")
    op.execute(f"CREATE INDEX ix_members_tenant ON {s}.members (tenant_id, id)")
    op.execute(
        f"CREATE UNIQUE INDEX uq_members_id_number ON {s}.members (tenant_id, id_number_index)"
    )
    op.execute(f"CREATE INDEX ix_audit_target ON {s}.audit_log (tenant_id, target_id, at)")

    for table in TENANT_TABLES:
        for stmt in tenant_isolation_ddl(s, table):
            op.execute(stmt)
    # A tenant sees itself and its descendants (its label is on their path); platform admins
    # see all. Only platform admins or an ancestor tenant may write tenant rows.
    own_or_descendant = (
        f"path ~ ('*.' || replace(({CURRENT_TENANT_SQL})::text, '-', '') || '.*')::lquery"
    )
    op.execute(f"ALTER TABLE {s}.tenants ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {s}.tenants FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_visibility ON {s}.tenants "
        f"USING ({IS_PLATFORM_ADMIN_SQL} OR {own_or_descendant}) "
        f"WITH CHECK ({IS_PLATFORM_ADMIN_SQL} OR {own_or_descendant})"
    )


def downgrade() -> None:
    op.execute(f"DROP SCHEMA {SCHEMA} CASCADE")
