"""Row-level security is the last line: queries that forget to filter by tenant still see and
change only the transaction's tenant, because the service's role owns nothing and RLS is FORCEd."""

from __future__ import annotations

import uuid

import pytest
from hongyun.member.v1 import member_pb2 as pb
from hongyun_platform.db import Database
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from ..conftest import PLATFORM_ADMIN, tenant_admin
from .test_member_api import call, profile

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def two_tenants(member_stub):
    out = []
    for i in range(2):
        t = (await call(member_stub.CreateTenant, pb.CreateTenantRequest(
            name=f"RLS{i}", code=f"rls{i}-{uuid.uuid4().hex[:6]}"), PLATFORM_ADMIN)).tenant  # fmt: skip
        adm = tenant_admin(t.id)
        root = (await call(member_stub.CreateOrganization, pb.CreateOrganizationRequest(
            name="党委", type=pb.ORGANIZATION_TYPE_COMMITTEE), adm)).organization  # fmt: skip
        await call(member_stub.CreateMember, pb.CreateMemberRequest(
            organization_id=root.id, profile=profile(100 + i)), adm)  # fmt: skip
        out.append(uuid.UUID(t.id))
    return out


@pytest.fixture
async def app_db(module_database):
    db = Database(module_database.app_url)
    yield db
    await db.dispose()


async def test_unfiltered_select_sees_only_own_tenant(app_db, two_tenants):
    a, _b = two_tenants
    async with app_db.unit_of_work(a) as uow:
        tenants = set(
            (await uow.session.execute(text("SELECT tenant_id FROM member.members"))).scalars()
        )
        orgs = set(
            (
                await uow.session.execute(text("SELECT tenant_id FROM member.organizations"))
            ).scalars()
        )
    assert tenants == {a} and orgs == {a}


async def test_unfiltered_update_and_delete_leave_other_tenant_alone(
    app_db, two_tenants, module_database
):
    a, b = two_tenants
    async with app_db.unit_of_work(a) as uow:
        changed = (
            await uow.session.execute(text("UPDATE member.members SET job_post = 'rls-probe'"))
        ).rowcount
    assert changed >= 1
    out = module_database.pg.psql(
        f"SELECT count(*) FROM member.members WHERE tenant_id = '{b}' AND job_post = 'rls-probe'",
        module_database.name,
    )
    assert out.strip() == "0"


async def test_writing_a_row_for_another_tenant_is_refused(app_db, two_tenants):
    a, b = two_tenants
    with pytest.raises(DBAPIError, match="row-level security"):
        async with app_db.unit_of_work(a) as uow:
            await uow.session.execute(
                text("UPDATE member.organizations SET tenant_id = :b"), {"b": b}
            )


async def test_no_tenant_set_sees_nothing(app_db, two_tenants):
    async with app_db.unit_of_work(None) as uow:
        n = (await uow.session.execute(text("SELECT count(*) FROM member.members"))).scalar()
        t = (await uow.session.execute(text("SELECT count(*) FROM member.tenants"))).scalar()
    assert n == 0 and t == 0


async def test_tenant_setting_does_not_leak_to_the_next_transaction(app_db, two_tenants):
    a, _ = two_tenants
    async with app_db.unit_of_work(a):
        pass
    async with app_db.sessions() as session:  # same pooled connection, no unit of work
        n = (await session.execute(text("SELECT count(*) FROM member.members"))).scalar()
    assert n == 0


async def test_audit_log_is_append_only_for_the_service_role(app_db, two_tenants):
    a, _ = two_tenants
    with pytest.raises(ProgrammingError, match="permission denied"):
        async with app_db.unit_of_work(a) as uow:
            await uow.session.execute(text("UPDATE member.audit_log SET reason = 'forged'"))
    with pytest.raises(ProgrammingError, match="permission denied"):
        async with app_db.unit_of_work(a) as uow:
            await uow.session.execute(text("DELETE FROM member.audit_log"))


async def test_service_role_owns_nothing(module_database):
    owner = module_database.pg.psql(
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'member' AND tableowner = 'hongyun_app'",
        module_database.name,
    )
    forced = module_database.pg.psql(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'member' AND c.relforcerowsecurity",
        module_database.name,
    )
    # Every table with a tenant_id (except the relay's outbox) forces row-level security.
    unforced = module_database.pg.psql(
        "SELECT coalesce(string_agg(c.relname, ','), '') FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'member' AND c.relkind = 'r' AND NOT c.relforcerowsecurity "
        "AND c.relname <> 'outbox' AND EXISTS (SELECT 1 FROM pg_attribute a "
        "WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)",
        module_database.name,
    )
    assert owner.strip() == "0" and unforced.strip() == "" and int(forced) >= 4
