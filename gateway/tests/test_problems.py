"""gRPC status / domain errors / validation errors → RFC 9457 problems (no I/O)."""

from __future__ import annotations

import grpc
import httpx
import pytest
from fastapi import FastAPI
from gateway_test_helpers import assert_problem
from grpc.aio import AioRpcError, Metadata
from hongyun_gateway.problems import (
    ProblemError,
    field_errors,
    install_problem_handlers,
    problem_from_rpc_error,
)
from hongyun_platform import errors as domain_errors
from pydantic import BaseModel, Field


def rpc_error(code: grpc.StatusCode, details: str = "boom", **trailing: str) -> AioRpcError:
    md = Metadata(*[(k.replace("_", "-"), v) for k, v in trailing.items()])
    return AioRpcError(code, Metadata(), md, details)


@pytest.mark.parametrize(
    ("code", "status", "problem_code"),
    [
        (grpc.StatusCode.INVALID_ARGUMENT, 422, "invalid_argument"),
        (grpc.StatusCode.NOT_FOUND, 404, "not_found"),
        (grpc.StatusCode.ALREADY_EXISTS, 409, "already_exists"),
        (grpc.StatusCode.PERMISSION_DENIED, 403, "permission_denied"),
        (grpc.StatusCode.UNAUTHENTICATED, 401, "unauthenticated"),
        (grpc.StatusCode.FAILED_PRECONDITION, 409, "failed_precondition"),
        (grpc.StatusCode.ABORTED, 409, "conflict"),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, 429, "resource_exhausted"),
        (grpc.StatusCode.UNAVAILABLE, 503, "service_unavailable"),
        (grpc.StatusCode.DEADLINE_EXCEEDED, 503, "service_unavailable"),
        (grpc.StatusCode.INTERNAL, 500, "internal_error"),
        (grpc.StatusCode.UNKNOWN, 500, "internal_error"),
        (grpc.StatusCode.DATA_LOSS, 500, "internal_error"),
    ],
)
def test_grpc_status_mapping(code: grpc.StatusCode, status: int, problem_code: str) -> None:
    problem = problem_from_rpc_error(rpc_error(code, "secret internals"))
    assert (problem.status, problem.code) == (status, problem_code)
    if status >= 500:
        assert "secret internals" not in (problem.detail or "")
    else:
        assert problem.detail == "secret internals"


def test_service_reason_code_and_field_pass_through() -> None:
    err = rpc_error(
        grpc.StatusCode.INVALID_ARGUMENT,
        "出生日期与身份证号不符",
        x_hongyun_error_code="birth_date_mismatch",
        x_hongyun_error_field="birth_date",
    )
    problem = problem_from_rpc_error(err)
    assert problem.status == 422 and problem.code == "birth_date_mismatch"
    assert problem.errors == [
        {
            "field": "birth_date",
            "message": "出生日期与身份证号不符",
            "reason": "birth_date_mismatch",
        }
    ]


def test_5xx_ignores_the_service_reason_code() -> None:
    err = rpc_error(grpc.StatusCode.INTERNAL, "x", x_hongyun_error_code="db_exploded")
    assert problem_from_rpc_error(err).code == "internal_error"


def test_validation_errors_become_field_list() -> None:
    class Body(BaseModel):
        name: str = Field(max_length=2)

    try:
        Body.model_validate({"name": "abc"})
    except Exception as exc:  # pydantic.ValidationError
        errors = field_errors(exc.errors())  # type: ignore[attr-defined]
    assert errors == [
        {
            "field": "name",
            "message": "String should have at most 2 characters",
            "reason": "string_too_long",
        }
    ]
    assert field_errors(
        [{"loc": ("body", "items", 0, "x"), "msg": "Value error, bad", "type": "value_error"}]
    ) == [{"field": "items.0.x", "message": "bad", "reason": "value_error"}]


@pytest.fixture
async def client() -> httpx.AsyncClient:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/problem")
    async def problem() -> None:
        raise ProblemError(409, "thing_taken", "taken", headers={"X-Extra": "1"})

    @app.get("/domain")
    async def domain() -> None:
        raise domain_errors.PermissionDenied("nope", code="role_forbidden")

    @app.get("/domain-field")
    async def domain_field() -> None:
        raise domain_errors.InvalidArgument("bad", code="bad_name", field="name")

    @app.get("/rpc")
    async def rpc() -> None:
        raise rpc_error(
            grpc.StatusCode.NOT_FOUND, "no member", x_hongyun_error_code="member_not_found"
        )

    @app.get("/crash")
    async def crash() -> None:
        raise RuntimeError("password=hunter2")

    @app.get("/typed")
    async def typed(n: int) -> int:
        return n

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://t")


async def test_handlers_answer_problem_json(client: httpx.AsyncClient) -> None:
    resp = await client.get("/problem")
    assert assert_problem(resp, 409, "thing_taken")["detail"] == "taken"
    assert resp.headers["x-extra"] == "1"
    assert_problem(await client.get("/domain"), 403, "role_forbidden")
    body = assert_problem(await client.get("/domain-field"), 422, "bad_name")
    assert body["errors"] == [{"field": "name", "message": "bad", "reason": "bad_name"}]
    assert (
        assert_problem(await client.get("/rpc"), 404, "member_not_found")["detail"] == "no member"
    )
    crash = assert_problem(await client.get("/crash"), 500, "internal_error")
    assert "hunter2" not in crash["detail"]
    typed = assert_problem(await client.get("/typed?n=x"), 422, "validation_failed")
    assert typed["errors"][0]["field"] == "n" and typed["errors"][0]["reason"] == "int_parsing"
    assert_problem(await client.get("/missing"), 404, "not_found")
