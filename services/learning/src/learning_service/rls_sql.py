"""Row-level security SQL of the learning schema beyond plain tenant isolation (docs/adr/0018).

A course shared down (`shared_down`) is readable in every descendant tenant of its owner, without
copying rows or bytes: a SELECT-only policy admits rows whose tenant is an ancestor of the
transaction's tenant. The ancestors come from the tenant_ancestry projection.
"""

from __future__ import annotations

SCHEMA = "learning"
ANCESTORS_FUNCTION = f"{SCHEMA}.current_tenant_ancestors()"

CREATE_ANCESTORS_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {ANCESTORS_FUNCTION} RETURNS uuid[]
LANGUAGE sql STABLE AS $$
  SELECT coalesce(
    (SELECT ancestors FROM {SCHEMA}.tenant_ancestry
      WHERE tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid),
    '{{}}'::uuid[])
$$
"""  # noqa: S608 - built from constants only


def shared_down_read_ddl(table: str, shared_condition: str) -> list[str]:
    """A SELECT policy on `table`: rows of an ancestor tenant where `shared_condition` holds
    (an SQL expression over the row, e.g. "shared_down" or an EXISTS on the course)."""
    return [
        f"CREATE POLICY shared_down_read ON {SCHEMA}.{table} FOR SELECT "
        f"USING (tenant_id = ANY({ANCESTORS_FUNCTION}) AND ({shared_condition}))"
    ]
