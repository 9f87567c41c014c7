"""Wiring of the letter part of the member lifecycle (docs/adr/0014): gRPC services and jobs."""

from __future__ import annotations

from member_service.lifecycle_wiring import LifecycleParts, Wired


def wire(parts: LifecycleParts) -> Wired:
    return Wired()
