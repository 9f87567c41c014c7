"""Identifiers: UUIDv7 everywhere, so ids sort by creation time (keyset pagination, index locality)."""

import uuid

import uuid6


def new_id() -> uuid.UUID:
    return uuid.UUID(int=uuid6.uuid7().int)
