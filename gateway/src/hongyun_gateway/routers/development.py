"""发展党员 Development pipeline (docs/adr/0014) — routes are added by the member part 2 change."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/development", tags=["发展党员 Development pipeline"])
