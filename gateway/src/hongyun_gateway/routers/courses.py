"""REST resources of the learning service: courses (filled in by that area's work)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["学习 Learning"])
