"""pytest plugin (loaded with -p hongyun_platform.testing.plugin): real infrastructure per session.

- `postgres`: an embedded PostgreSQL server for the whole session (superuser + app role);
- `module_database`: a fresh, empty database per test module (name + URLs);
- `nats_server`: a nats-server with JetStream for the session; `private_nats`: one a test may
  kill and restart;
- `s3_server` / `s3_storage`: a moto S3 API server (from hongyun_platform.testing.s3).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hongyun_platform.embedded import EmbeddedNats, EmbeddedPostgres, start_nats, start_postgres
from hongyun_platform.testing.s3 import *  # noqa: F403 - registers the S3 fixtures

APP_ROLE = "hongyun_app"


@dataclass(frozen=True)
class TestDatabase:
    name: str
    owner_url: str  # superuser: migrations and test setup
    app_url: str  # non-owner runtime role: what services use (RLS applies)
    pg: EmbeddedPostgres


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    pg = start_postgres(tmp_path_factory.mktemp("pg") / "data")
    pg.ensure_role(APP_ROLE)
    yield pg
    pg.stop()


def _db_name(node_name: str) -> str:
    return ("t_" + re.sub(r"[^a-z0-9]+", "_", node_name.lower()))[:40] + "_" + uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def module_database(postgres: EmbeddedPostgres, request: pytest.FixtureRequest) -> TestDatabase:
    name = _db_name(request.module.__name__.rsplit(".", 1)[-1])
    postgres.create_database(name)
    return TestDatabase(name, postgres.url(name), postgres.url(name, APP_ROLE), postgres)


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedNats]:
    server = start_nats(tmp_path_factory.mktemp("nats"))
    yield server
    server.stop()


@pytest.fixture
def private_nats(tmp_path: Path) -> Iterator[EmbeddedNats]:
    server = start_nats(tmp_path / "nats")
    yield server
    server.stop()
