"""Row-level security DDL for migrations.

Every tenant table gets ENABLE + FORCE ROW LEVEL SECURITY and a policy comparing tenant_id with the
transaction's app.tenant_id. An unset tenant yields NULL, which matches no row: code that forgets
to set a tenant sees nothing rather than everything.
"""

from __future__ import annotations

CURRENT_TENANT_SQL = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"
IS_PLATFORM_ADMIN_SQL = "coalesce(current_setting('app.platform_admin', true), 'off') = 'on'"


def tenant_isolation_ddl(schema: str, table: str, column: str = "tenant_id") -> list[str]:
    qualified = f"{schema}.{table}"
    return [
        f"ALTER TABLE {qualified} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {qualified} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_isolation ON {qualified} "
        f"USING ({column} = {CURRENT_TENANT_SQL}) WITH CHECK ({column} = {CURRENT_TENANT_SQL})",
    ]


def app_role_grants_ddl(schema: str, role: str) -> list[str]:
    """The service's runtime role may read and write rows but owns nothing and cannot alter DDL."""
    return [
        f'GRANT USAGE ON SCHEMA {schema} TO "{role}"',
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO "{role}"',
        f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO "{role}"',
    ]
