"""组织关系转接 Relationship transfers (docs/adr/0014) — routes are added by the member part 2 change."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(
    prefix="/api/v1/relationship-transfers", tags=["组织关系转接 Relationship transfers"]
)
