"""Helpers shared by the gateway tests (importable: conftest puts this directory on sys.path)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from hongyun_gateway.settings import GatewaySettings

TEST_JWT_SECRET = "test-secret-" + "x" * 32

MakeAccount = Callable[..., Awaitable[uuid.UUID]]
Login = Callable[..., Awaitable[dict[str, str]]]


def run_in_thread(fn: Callable[..., Any], *args: Any) -> Any:
    """Alembic's env.py uses asyncio.run(): keep it off the test event loop's thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args).result()


def make_settings(
    database_url: str,
    member_target: str,
    migration_database_url: str = "",
    *,
    learning_target: str = "127.0.0.1:1",
) -> GatewaySettings:
    return GatewaySettings(
        learning_grpc_target=learning_target,
        env="test",
        database_url=database_url,
        migration_database_url=migration_database_url,
        member_grpc_target=member_target,
        jwt_secret=TEST_JWT_SECRET,
        grpc_deadline_seconds=5.0,
        readiness_timeout_seconds=1.0,
        # cheap argon2 for tests; production keeps the RFC 9106 profile
        argon2_time_cost=1,
        argon2_memory_cost_kib=1024,
        argon2_parallelism=1,
    )


def assert_problem(resp: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """Every error is RFC 9457 problem+json with our extensions."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json"), resp.headers
    body = resp.json()
    assert body["status"] == status
    assert body["type"] == f"https://hongyun.dev/problems/{body['code']}"
    assert isinstance(body["title"], str) and body["title"]
    assert body["instance"] == resp.request.url.path
    if code is not None:
        assert body["code"] == code, body
    return body  # type: ignore[no-any-return]


def make_id_number(birth: str = "19800101", seq: str = "123", region: str = "110105") -> str:
    """A valid GB 11643 number (check digit computed) for the given birth date YYYYMMDD."""
    first17 = region + birth + seq
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(c) * w for c, w in zip(first17, weights, strict=True))
    return first17 + "10X98765432"[total % 11]
