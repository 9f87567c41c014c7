"""Login, refresh-token rotation and reuse detection, logout, and the Bearer dependency."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from gateway_test_helpers import TEST_JWT_SECRET, Login, MakeAccount, assert_problem
from hongyun_gateway.access_tokens import AccessTokens
from hongyun_gateway.identity.models import RefreshToken
from hongyun_gateway.state import GatewayState
from sqlalchemy import select

TENANT = uuid.uuid4()


async def _login(api: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await api.post("/api/v1/auth/login", json={"username": username, "password": password})


async def test_login_returns_tokens_and_me_shows_identity(
    api: httpx.AsyncClient, make_account: MakeAccount
) -> None:
    account_id = await make_account("Zhang.San", roles=["tenant_admin"], tenant_id=TENANT)
    resp = await _login(api, "zhang.san", "correct horse battery")  # username case-insensitive
    assert resp.status_code == 200, resp.text
    assert resp.headers["cache-control"] == "no-store"
    tokens = resp.json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 15 * 60
    assert tokens["refresh_expires_in"] == 14 * 24 * 3600

    me = await api.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert me.status_code == 200, me.text
    assert me.json() == {
        "account_id": str(account_id),
        "username": "Zhang.San",
        "display_name": "",
        "tenant_id": str(TENANT),
        "acting_tenant_id": str(TENANT),
        "roles": ["tenant_admin"],
        "scope_org_id": None,
    }


async def test_bad_password_unknown_user_and_disabled_account_look_the_same(
    api: httpx.AsyncClient, make_account: MakeAccount
) -> None:
    await make_account("li.si", roles=["member"], tenant_id=TENANT)
    await make_account("wang.wu", roles=["member"], tenant_id=TENANT, disabled=True)
    bodies = []
    for username, password in [
        ("li.si", "wrong password"),
        ("nobody", "correct horse battery"),
        ("wang.wu", "correct horse battery"),
    ]:
        resp = await _login(api, username, password)
        body = assert_problem(resp, 401, "invalid_credentials")
        assert resp.headers["www-authenticate"].startswith("Bearer")
        bodies.append({k: v for k, v in body.items() if k != "trace_id"})
    assert bodies[0] == bodies[1] == bodies[2]  # no hint which part was wrong


async def test_login_body_is_validated(api: httpx.AsyncClient) -> None:
    body = assert_problem(
        await api.post("/api/v1/auth/login", json={"username": "x"}), 422, "validation_failed"
    )
    assert body["errors"] == [
        {"field": "password", "message": "Field required", "reason": "missing"}
    ]


async def test_refresh_rotates_and_reuse_revokes_the_family(
    api: httpx.AsyncClient, make_account: MakeAccount, state: GatewayState
) -> None:
    await make_account("zhao.liu", roles=["secretary"], tenant_id=TENANT, scope_org_id=uuid.uuid4())
    first = (await _login(api, "zhao.liu", "correct horse battery")).json()

    resp = await api.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert resp.status_code == 200, resp.text
    second = resp.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    resp = await api.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert resp.status_code == 200
    third = resp.json()

    # The first token was already used: someone replays it → the whole family is revoked.
    reuse = await api.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert_problem(reuse, 401, "refresh_token_reused")
    # ... including the newest token the legitimate client holds.
    latest = await api.post("/api/v1/auth/refresh", json={"refresh_token": third["refresh_token"]})
    assert_problem(latest, 401, "refresh_token_reused")

    async with state.identity_db.session() as session:
        rows = (await session.execute(select(RefreshToken))).scalars().all()
    assert len(rows) == 3
    assert all(r.revoked_at is not None for r in rows)
    assert len({r.family_id for r in rows}) == 1
    by_id = {r.id: r for r in rows}
    chained = [r for r in rows if r.replaced_by is not None]
    assert len(chained) == 2 and all(r.replaced_by in by_id for r in chained)
    # only hashes are stored
    assert first["refresh_token"] not in {r.token_hash for r in rows}


async def test_other_sessions_survive_a_reuse_in_one_family(
    api: httpx.AsyncClient, make_account: MakeAccount
) -> None:
    await make_account("sun.qi", roles=["member"], tenant_id=TENANT)
    phone = (await _login(api, "sun.qi", "correct horse battery")).json()
    laptop = (await _login(api, "sun.qi", "correct horse battery")).json()
    await api.post("/api/v1/auth/refresh", json={"refresh_token": phone["refresh_token"]})
    await api.post("/api/v1/auth/refresh", json={"refresh_token": phone["refresh_token"]})  # reuse
    resp = await api.post("/api/v1/auth/refresh", json={"refresh_token": laptop["refresh_token"]})
    assert resp.status_code == 200


async def test_unknown_refresh_token_and_disabled_account(
    api: httpx.AsyncClient, make_account: MakeAccount, state: GatewayState
) -> None:
    assert_problem(
        await api.post("/api/v1/auth/refresh", json={"refresh_token": "not-a-token"}),
        401,
        "invalid_refresh_token",
    )
    account_id = await make_account("zhou.ba", roles=["member"], tenant_id=TENANT)
    tokens = (await _login(api, "zhou.ba", "correct horse battery")).json()
    from hongyun_gateway.identity import accounts

    async with state.identity_db.session() as session, session.begin():
        await accounts.set_disabled(session, account_id, True)
    resp = await api.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert_problem(resp, 401, "invalid_refresh_token")


async def test_logout_revokes_the_session(
    api: httpx.AsyncClient, make_account: MakeAccount
) -> None:
    await make_account("wu.jiu", roles=["member"], tenant_id=TENANT)
    tokens = (await _login(api, "wu.jiu", "correct horse battery")).json()
    resp = await api.post("/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    assert resp.status_code == 204
    again = await api.post("/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    assert again.status_code == 204  # idempotent
    resp = await api.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert resp.status_code == 401


async def test_401_without_with_garbage_and_with_expired_token(api: httpx.AsyncClient) -> None:
    resp = await api.get("/api/v1/organizations")
    assert_problem(resp, 401, "unauthenticated")
    assert resp.headers["www-authenticate"] == "Bearer"
    assert_problem(
        await api.get("/api/v1/organizations", headers={"Authorization": "Bearer garbage"}),
        401,
        "invalid_token",
    )
    assert_problem(
        await api.get("/api/v1/organizations", headers={"Authorization": "Basic dXNlcjpwdw=="}),
        401,
        "unauthenticated",
    )
    past = AccessTokens(
        TEST_JWT_SECRET,
        timedelta(minutes=15),
        now=lambda: datetime.now(UTC) - timedelta(hours=1),
    )
    expired = past.issue("someone", tenant_id=TENANT, roles=["member"], scope_org_id=None)
    resp = await api.get(
        "/api/v1/organizations", headers={"Authorization": f"Bearer {expired.token}"}
    )
    assert_problem(resp, 401, "token_expired")
    assert 'error="invalid_token"' in resp.headers["www-authenticate"]


async def test_token_signed_with_another_secret_is_rejected(api: httpx.AsyncClient) -> None:
    forged = AccessTokens("another-secret-" + "y" * 32, timedelta(minutes=5)).issue(
        "someone", tenant_id=None, roles=["platform_admin"], scope_org_id=None
    )
    assert_problem(
        await api.get("/api/v1/tenants", headers={"Authorization": f"Bearer {forged.token}"}),
        401,
        "invalid_token",
    )


async def test_cross_tenant_header(
    api: httpx.AsyncClient, make_account: MakeAccount, login: Login
) -> None:
    other = uuid.uuid4()
    await make_account("admin.a", roles=["tenant_admin"], tenant_id=TENANT)
    await make_account("root", roles=["platform_admin"])
    admin = await login("admin.a")
    root = await login("root")

    # a tenant admin naming another tenant → 403
    resp = await api.get("/api/v1/auth/me", headers={**admin, "X-Hongyun-Tenant": str(other)})
    assert_problem(resp, 403, "tenant_mismatch")
    # naming their own tenant is fine
    resp = await api.get("/api/v1/auth/me", headers={**admin, "X-Hongyun-Tenant": str(TENANT)})
    assert resp.status_code == 200

    # a platform admin acts in the tenant named by the header
    resp = await api.get("/api/v1/auth/me", headers={**root, "X-Hongyun-Tenant": str(other)})
    assert resp.json()["acting_tenant_id"] == str(other)
    # ... and must name one for tenant-scoped resources
    assert_problem(await api.get("/api/v1/organizations", headers=root), 400, "tenant_required")

    # a malformed header is a validation problem
    body = assert_problem(
        await api.get("/api/v1/auth/me", headers={**root, "X-Hongyun-Tenant": "nope"}),
        422,
        "validation_failed",
    )
    assert body["errors"][0]["field"] == "X-Hongyun-Tenant"


async def test_concurrent_use_of_one_refresh_token_succeeds_once(
    api: httpx.AsyncClient, make_account: MakeAccount
) -> None:
    import asyncio

    await make_account("qian.shi", roles=["member"], tenant_id=TENANT)
    tokens = (await _login(api, "qian.shi", "correct horse battery")).json()
    body = {"refresh_token": tokens["refresh_token"]}
    results = await asyncio.gather(
        api.post("/api/v1/auth/refresh", json=body), api.post("/api/v1/auth/refresh", json=body)
    )
    assert sorted(r.status_code for r in results) == [200, 401]


async def test_malformed_json_is_a_400_problem(api: httpx.AsyncClient) -> None:
    resp = await api.post(
        "/api/v1/auth/login",
        content=b'{"username": "a",',
        headers={"Content-Type": "application/json"},
    )
    assert_problem(resp, 400, "malformed_json")
