"""JWT access tokens: issue, verify, expiry, tampering (no I/O)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from hongyun_gateway.access_tokens import ISSUER, AccessTokens, InvalidAccessToken

SECRET = "unit-test-secret-" + "z" * 32
NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


def tokens_at(moment: datetime, ttl: timedelta = timedelta(minutes=15)) -> AccessTokens:
    return AccessTokens(SECRET, ttl, now=lambda: moment)


def test_issue_and_verify_round_trip() -> None:
    tenant, scope = uuid.uuid4(), uuid.uuid4()
    issued = tokens_at(NOW).issue(
        "acct-1", tenant_id=tenant, roles=["secretary", "member"], scope_org_id=scope
    )
    assert issued.expires_in == 900
    assert issued.expires_at == NOW + timedelta(minutes=15)
    claims = tokens_at(NOW + timedelta(minutes=5)).verify(issued.token)
    assert claims.account_id == "acct-1"
    assert claims.tenant_id == tenant and claims.scope_org_id == scope
    assert claims.roles == frozenset({"secretary", "member"})
    assert claims.expires_at == NOW + timedelta(minutes=15)


def test_claims_on_the_wire() -> None:
    issued = tokens_at(NOW).issue(
        "acct-1", tenant_id=None, roles=["platform_admin"], scope_org_id=None
    )
    payload = jwt.decode(
        issued.token,
        SECRET,
        algorithms=["HS256"],
        options={"verify_exp": False, "verify_iat": False},
    )
    assert payload["iss"] == ISSUER == "hongyun"
    assert payload["sub"] == "acct-1"
    assert payload["tenant"] is None and payload["scope_org"] is None
    assert payload["roles"] == ["platform_admin"]
    assert payload["exp"] - payload["iat"] == 900
    assert len(payload["jti"]) == 32
    assert jwt.get_unverified_header(issued.token)["alg"] == "HS256"
    other = tokens_at(NOW).issue(
        "acct-1", tenant_id=None, roles=["platform_admin"], scope_org_id=None
    )
    assert jwt.decode(other.token, options={"verify_signature": False})["jti"] != payload["jti"]


def test_expired_token_is_rejected_after_the_leeway() -> None:
    issued = tokens_at(NOW).issue("a", tenant_id=uuid.uuid4(), roles=["member"], scope_org_id=None)
    tokens_at(NOW + timedelta(minutes=15, seconds=5)).verify(issued.token)  # within 10 s leeway
    with pytest.raises(InvalidAccessToken) as err:
        tokens_at(NOW + timedelta(minutes=16)).verify(issued.token)
    assert err.value.reason == "expired"


def test_really_expired_token_by_the_wall_clock() -> None:
    past = datetime.now(UTC) - timedelta(hours=2)
    issued = tokens_at(past).issue("a", tenant_id=None, roles=["platform_admin"], scope_org_id=None)
    with pytest.raises(InvalidAccessToken) as err:
        AccessTokens(SECRET, timedelta(minutes=15)).verify(issued.token)
    assert err.value.reason == "expired"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda p: jwt.encode(p, "wrong-secret-" + "w" * 32, algorithm="HS256"),
        lambda p: jwt.encode({**p, "iss": "someone-else"}, SECRET, algorithm="HS256"),
        lambda p: jwt.encode({**p, "roles": ["root"]}, SECRET, algorithm="HS256"),
        lambda p: jwt.encode({**p, "roles": "platform_admin"}, SECRET, algorithm="HS256"),
        lambda p: jwt.encode({**p, "tenant": "not-a-uuid"}, SECRET, algorithm="HS256"),
        lambda p: jwt.encode({k: v for k, v in p.items() if k != "jti"}, SECRET, algorithm="HS256"),
        lambda p: jwt.encode({k: v for k, v in p.items() if k != "exp"}, SECRET, algorithm="HS256"),
        lambda p: jwt.encode(p, SECRET * 2, algorithm="HS512"),
        lambda p: jwt.encode(p, None, algorithm="none"),
        lambda p: "not.a.jwt",
    ],
)
def test_invalid_tokens(mutate) -> None:  # type: ignore[no-untyped-def]
    issued = tokens_at(NOW).issue("a", tenant_id=uuid.uuid4(), roles=["member"], scope_org_id=None)
    payload = jwt.decode(
        issued.token,
        SECRET,
        algorithms=["HS256"],
        options={"verify_exp": False, "verify_iat": False},
    )
    with pytest.raises(InvalidAccessToken) as err:
        tokens_at(NOW).verify(mutate(payload))
    assert err.value.reason == "invalid"


def test_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError):
        AccessTokens("", timedelta(minutes=15))
