"""Wiring of the progress area into the learning service process."""

from __future__ import annotations

from learning_service.wiring import Parts, Wired


def wire(parts: Parts) -> Wired:
    return Wired()
