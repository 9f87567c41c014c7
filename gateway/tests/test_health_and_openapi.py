"""Liveness, readiness and the published OpenAPI document."""

from __future__ import annotations

import httpx
from gateway_fake_member_service import RunningFake
from gateway_test_helpers import assert_problem


async def test_healthz_is_up(api: httpx.AsyncClient) -> None:
    resp = await api.get("/healthz")
    assert resp.status_code == 200
    assert resp.json()["status"] == "ok"


async def test_readyz_ok_when_db_and_member_service_serve(api: httpx.AsyncClient) -> None:
    resp = await api.get("/readyz")
    assert resp.status_code == 200, resp.text
    assert resp.json()["checks"] == {"identity_db": "ok", "member_service": "ok"}


async def test_readyz_503_problem_when_member_service_not_serving(
    api: httpx.AsyncClient, fake_member: RunningFake
) -> None:
    await fake_member.set_serving(False)
    body = assert_problem(await api.get("/readyz"), 503, "not_ready")
    assert "member_service" in body["detail"]


async def test_openapi_title_docs_and_problem_schema(api: httpx.AsyncClient) -> None:
    spec = (await api.get("/openapi.json")).json()
    assert spec["info"]["title"] == "Hongyun 红云 API"
    assert (await api.get("/docs")).status_code == 200
    create_member = spec["paths"]["/api/v1/members"]["post"]
    assert "新增党员" in create_member["summary"] and "Create a member" in create_member["summary"]
    problem = create_member["responses"]["422"]["content"]
    assert problem == {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
    }
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for name in ("MemberCreate", "MemberUpdate", "MemberRead", "MemberPage", "Problem"):
        assert name in spec["components"]["schemas"]
    # every operation documents its summary in Chinese and English
    for path, item in spec["paths"].items():
        for method, op in item.items():
            assert any("\u4e00" <= ch <= "\u9fff" for ch in op["summary"]), (path, method)


async def test_unknown_route_is_a_problem(api: httpx.AsyncClient) -> None:
    assert_problem(await api.get("/api/v1/nope"), 404, "not_found")
    assert_problem(await api.delete("/api/v1/tenants"), 405, "method_not_allowed")
