"""Enum mapping, cursors and settings (no I/O)."""

from __future__ import annotations

import pytest
from hongyun.member.v1 import member_pb2 as pb
from hongyun_gateway import enums
from hongyun_gateway.enums import PROTO_ENUMS, Gender, MemberCategory, OrganizationType, PartyStatus
from hongyun_gateway.pagination import decode_cursor, encode_cursor
from hongyun_gateway.problems import ProblemError
from hongyun_gateway.settings import ConfigurationError, GatewaySettings


@pytest.mark.parametrize("enum_cls", list(PROTO_ENUMS))
def test_json_enums_cover_every_proto_value(enum_cls: type) -> None:
    wrapper, prefix = PROTO_ENUMS[enum_cls]
    proto_names = {
        v.name.removeprefix(prefix).lower()
        for v in wrapper.DESCRIPTOR.values
        if not v.name.endswith("UNSPECIFIED")
    }
    assert {m.value for m in enum_cls} == proto_names
    for member in enum_cls:
        number = enums.to_proto(member)
        assert number != 0
        assert enums.from_proto(enum_cls, number) is member


def test_examples_and_unspecified() -> None:
    assert enums.to_proto(OrganizationType.BRANCH) == pb.ORGANIZATION_TYPE_BRANCH
    assert enums.to_proto(OrganizationType("general_branch")) == pb.ORGANIZATION_TYPE_GENERAL_BRANCH
    assert enums.to_proto(Gender.MALE) == pb.GENDER_MALE
    assert enums.to_proto(MemberCategory.FULL) == pb.MEMBER_CATEGORY_FULL
    assert enums.to_proto(PartyStatus.NORMAL) == pb.PARTY_STATUS_NORMAL
    assert enums.to_proto(None, PartyStatus) == 0
    assert enums.from_proto(PartyStatus, 0) is None
    assert enums.from_proto(PartyStatus, 99) is None  # a value newer than this gateway


def test_cursor_round_trip_and_last_page() -> None:
    cursor = encode_cursor("offset:100|k=abc")
    assert cursor and "=" not in cursor and "offset" not in cursor  # opaque, URL-safe
    assert decode_cursor(cursor) == "offset:100|k=abc"
    assert encode_cursor("") is None
    assert decode_cursor(None) == "" and decode_cursor("") == ""


@pytest.mark.parametrize("bad", ["!!!", "abc", "eyJ2IjoyLCJ0IjoieCJ9", "W10"])
def test_bad_cursor_is_a_422_problem(bad: str) -> None:
    with pytest.raises(ProblemError) as err:
        decode_cursor(bad)
    assert err.value.status == 422
    assert err.value.errors == [
        {
            "field": "cursor",
            "message": "无效的分页游标 (invalid cursor; use next_cursor as returned)",
            "reason": "invalid_cursor",
        }
    ]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    import os

    for name in list(os.environ):
        if name.startswith("HONGYUN_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_settings_defaults(clean_env: pytest.MonkeyPatch) -> None:
    s = GatewaySettings()
    assert s.env == "production"
    assert s.member_grpc_target == "127.0.0.1:50051"
    assert s.access_token_ttl.total_seconds() == 15 * 60
    assert s.refresh_token_ttl.days == 14
    assert (s.host, s.port) == ("127.0.0.1", 8000)
    assert s.cors_origins == []


def test_jwt_secret_required_outside_dev(clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError):
        GatewaySettings().jwt_signing_key()
    clean_env.setenv("HONGYUN_JWT_SECRET", "short")
    with pytest.raises(ConfigurationError):
        GatewaySettings().jwt_signing_key()
    clean_env.setenv("HONGYUN_JWT_SECRET", "s" * 40)
    assert GatewaySettings().jwt_signing_key() == "s" * 40
    clean_env.delenv("HONGYUN_JWT_SECRET")
    clean_env.setenv("HONGYUN_ENV", "DEV")
    assert GatewaySettings().jwt_signing_key()  # the dev default


def test_gateway_prefix_wins_over_shared_names(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("HONGYUN_DATABASE_URL", "postgresql+asyncpg://shared@db/hongyun")
    clean_env.setenv("HONGYUN_MEMBER_GRPC_TARGET", "member:50051")
    clean_env.setenv("HONGYUN_GATEWAY_PORT", "9000")
    clean_env.setenv("HONGYUN_GATEWAY_ACCESS_TOKEN_TTL", "600")
    clean_env.setenv("HONGYUN_REFRESH_TOKEN_TTL", "P7D")
    clean_env.setenv("HONGYUN_GATEWAY_CORS_ORIGINS", "https://a.example, https://b.example")
    s = GatewaySettings()
    assert s.database_url == "postgresql+asyncpg://shared@db/hongyun"
    assert s.migrations_url == s.database_url
    assert s.member_grpc_target == "member:50051"
    assert s.port == 9000
    assert s.access_token_ttl.total_seconds() == 600
    assert s.refresh_token_ttl.days == 7
    assert s.cors_origins == ["https://a.example", "https://b.example"]
    clean_env.setenv("HONGYUN_GATEWAY_DATABASE_URL", "postgresql+asyncpg://gw@db/hongyun")
    clean_env.setenv("HONGYUN_GATEWAY_MIGRATION_DATABASE_URL", "postgresql+asyncpg://owner@db/h")
    s = GatewaySettings()
    assert s.database_url == "postgresql+asyncpg://gw@db/hongyun"
    assert s.migrations_url == "postgresql+asyncpg://owner@db/h"
