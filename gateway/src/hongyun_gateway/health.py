"""/healthz (the process is up) and /readyz (identity DB migrated and reachable, member service
SERVING by the standard gRPC health protocol)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from pydantic import BaseModel

from hongyun_gateway.problems import ProblemError, problem_responses
from hongyun_gateway.state import State

router = APIRouter(tags=["health 健康检查"])


class Health(BaseModel):
    status: str
    checks: dict[str, str] = {}


@router.get("/healthz", response_model=Health, summary="存活检查 Liveness: the process is up")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Health,
    summary="就绪检查 Readiness: identity database and member service reachable",
    responses=problem_responses(503),
)
async def readyz(state: State) -> Health:
    timeout = state.settings.readiness_timeout_seconds
    db_ok, member_ok = await asyncio.gather(
        state.identity_db.ping(timeout), state.member_client.is_serving(timeout)
    )
    checks = {
        "identity_db": "ok" if db_ok else "unavailable",
        "member_service": "ok" if member_ok else "unavailable",
    }
    if not (db_ok and member_ok):
        failing = ", ".join(k for k, v in checks.items() if v != "ok")
        raise ProblemError(503, "not_ready", f"not ready: {failing}")
    return Health(status="ok", checks=checks)
