"""The identity schema's migrations (up, down, no drift from the ORM) and the CLI commands."""

from __future__ import annotations

import asyncio
import io
import uuid
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from argon2 import PasswordHasher
from hongyun_gateway import commands
from hongyun_gateway.identity.models import SCHEMA, Base
from hongyun_gateway.main import main
from hongyun_gateway.settings import GatewaySettings
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool


def query(url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    async def run() -> list[tuple[Any, ...]]:
        engine = create_async_engine(url, poolclass=NullPool)
        try:
            async with engine.begin() as conn:
                return [tuple(r) for r in (await conn.execute(text(sql), params)).all()]
        finally:
            await engine.dispose()

    return asyncio.run(run())


@pytest.fixture(scope="module")
def cli_env(migrated_pg: Any) -> dict[str, str]:
    """A second, empty database for the CLI, and the environment a Job would have."""
    name = "gateway_cli_" + uuid.uuid4().hex[:8]
    migrated_pg.pg.create_database(name)
    return {
        "HONGYUN_ENV": "test",
        "HONGYUN_DATABASE_URL": migrated_pg.pg.url(name, "hongyun_app"),
        "HONGYUN_GATEWAY_MIGRATION_DATABASE_URL": migrated_pg.pg.url(name),
        "HONGYUN_GATEWAY_ARGON2_TIME_COST": "1",
        "HONGYUN_GATEWAY_ARGON2_MEMORY_COST_KIB": "1024",
        "HONGYUN_GATEWAY_ARGON2_PARALLELISM": "1",
        "HONGYUN_LOG_JSON": "false",
    }


@pytest.fixture
def env(cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for key, value in cli_env.items():
        monkeypatch.setenv(key, value)
    return cli_env


def test_orm_models_match_the_migrations(migrated_pg: Any) -> None:
    def diff(conn: Connection) -> list[Any]:
        ctx = MigrationContext.configure(
            conn,
            opts={
                "include_schemas": True,
                "include_name": lambda name, type_, _p: type_ != "schema" or name == SCHEMA,
                "version_table_schema": SCHEMA,
                "compare_type": True,
            },
        )
        return compare_metadata(ctx, Base.metadata)

    async def run() -> list[Any]:
        engine = create_async_engine(migrated_pg.owner_url, poolclass=NullPool)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(diff)
        finally:
            await engine.dispose()

    assert asyncio.run(run()) == []


def test_migrate_command_up_down_up_with_runtime_grants(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate"]) == 0
    assert "identity schema migrated" in capsys.readouterr().out
    app_url, owner_url = env["HONGYUN_DATABASE_URL"], env["HONGYUN_GATEWAY_MIGRATION_DATABASE_URL"]
    # the runtime role can use the tables but owns none of them
    assert query(app_url, "SELECT count(*) FROM identity.accounts") == [(0,)]
    owners = query(
        owner_url, "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname='identity'"
    )
    assert owners == [("postgres",)]
    assert query(app_url, "SELECT version_num FROM identity.alembic_version") == [("0002",)]

    commands.downgrade(GatewaySettings(), "base")
    tables = "SELECT tablename FROM pg_tables WHERE schemaname='identity' ORDER BY 1"
    assert query(owner_url, tables) == [("alembic_version",)]
    assert main(["migrate"]) == 0
    assert query(owner_url, tables) == [("accounts",), ("alembic_version",), ("refresh_tokens",)]


def test_create_account_is_idempotent(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["migrate"]) == 0
    tenant, branch = str(uuid.uuid4()), str(uuid.uuid4())
    args = ["create-account", "--username", "Demo-Secretary", "--tenant", tenant]
    assert main([*args, "--password", "first-password", "--role", "member"]) == 0
    assert "created account Demo-Secretary" in capsys.readouterr().out

    monkeypatch.setattr("sys.stdin", io.StringIO("second-password\n"))
    again = [*args, "--password-stdin", "--role", "secretary,member", "--scope-org", branch]
    assert main(again) == 0
    assert "updated account Demo-Secretary" in capsys.readouterr().out

    rows = query(
        env["HONGYUN_DATABASE_URL"],
        "SELECT username, roles, tenant_id::text, scope_org_id::text, password_hash "
        "FROM identity.accounts WHERE lower(username) = 'demo-secretary'",
    )
    assert len(rows) == 1
    username, roles, tenant_id, scope, password_hash = rows[0]
    assert (username, roles, tenant_id, scope) == (
        "Demo-Secretary",
        ["member", "secretary"],
        tenant,
        branch,
    )
    assert PasswordHasher().verify(password_hash, "second-password")
    assert password_hash.startswith("$argon2id$")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--role", "chairman", "--tenant", str(uuid.uuid4())], "unknown roles"),
        (["--role", "member"], "--tenant is required"),
        (["--role", "member", "--tenant", "not-a-uuid"], "not a UUID"),
        (["--role", "platform_admin", "--scope-org", "x"], "not a UUID"),
    ],
)
def test_create_account_refuses_bad_input(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    code = main(["create-account", "--username", "someone", "--password", "long-enough", *extra])
    assert code == 2
    assert message in capsys.readouterr().err


def test_short_password_only_in_dev(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["migrate"]) == 0
    monkeypatch.setenv("HONGYUN_ENV", "production")
    cmd = ["create-account", "--username", "x1", "--password", "short", "--role", "platform_admin"]
    assert main(cmd) == 2
    assert "at least 8" in capsys.readouterr().err
    monkeypatch.setenv("HONGYUN_ENV", "dev")
    assert main(cmd) == 0


def test_serve_refuses_to_start_without_a_jwt_secret_in_production(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("HONGYUN_"):
            monkeypatch.delenv(name)
    monkeypatch.setattr("hongyun_platform.telemetry.setup_tracing", lambda *a, **k: None)
    assert main(["serve", "--port", "0"]) == 2
    assert "JWT_SECRET" in capsys.readouterr().err


def test_serve_answers_and_shuts_down_gracefully_on_sigterm(env: dict[str, str]) -> None:
    """The console script for real: uvicorn, lifespan, /healthz, SIGTERM → clean exit."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time
    import urllib.request
    from pathlib import Path

    assert main(["migrate"]) == 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    script = Path(sys.executable).parent / "hongyun-gateway"
    proc = subprocess.Popen(
        [str(script), "serve", "--port", str(port)],
        env={**os.environ, **env, "HONGYUN_MEMBER_GRPC_TARGET": "127.0.0.1:9"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                assert time.monotonic() < deadline, "gateway did not start"
                time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        # uvicorn drains, runs the lifespan shutdown, then re-raises the signal it caught
        assert proc.wait(timeout=20) in (0, -signal.SIGTERM)
        output = proc.stdout.read().decode() if proc.stdout else ""
        assert "Application shutdown complete" in output, output
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
