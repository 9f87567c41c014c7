"""党费 Party dues (docs/adr/0014) — routes are added by the member part 2 change."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/dues", tags=["党费 Party dues"])
