"""`hongyun-member serve | migrate | provision-streams | dead-letters [--replay ID] |
reindex-search [--all]`."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import nats
from hongyun_platform.db import migrations
from hongyun_platform.grpc.server import install_signal_handlers
from hongyun_platform.logging import configure_logging, get_logger
from hongyun_platform.messaging.streams import ensure_stream
from hongyun_platform.telemetry import setup_tracing

from member_service import events
from member_service.app import build_app
from member_service.config import MemberSettings
from member_service.models import SCHEMA

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
log = get_logger(__name__)


def migrate(settings: MemberSettings) -> None:
    migrations.upgrade(
        MIGRATIONS,
        settings.migration_database_url or settings.database_url,
        app_role=settings.db_app_role,
        schema=SCHEMA,
    )


async def provision_streams(settings: MemberSettings) -> None:
    nc = await nats.connect(settings.nats_url, connect_timeout=5)
    try:
        await ensure_stream(
            nc.jetstream(),
            events.STREAM,
            events.STREAM_SUBJECTS,
            duplicate_window_seconds=settings.stream_duplicate_window_seconds,
            replicas=settings.stream_replicas,
        )
    finally:
        await nc.close()


async def dead_letters(settings: MemberSettings, replay: str | None) -> None:
    """Operator view of parked events; `--replay ID` publishes one again."""
    from hongyun_platform.messaging.dead_letter_cli import dead_letters as run

    from member_service.models import messaging

    await run(settings.database_url, settings.nats_url, messaging, replay)


async def reindex_search(settings: MemberSettings, everything: bool) -> None:
    """Fill member search columns (docs/adr/0008): rows written before they existed, or every
    row (`--all`) after HONGYUN_BLIND_INDEX_KEY changed. Idempotent; safe while serving."""
    from hongyun_platform.db import Database

    from member_service.app import cipher_from_settings
    from member_service.search import reindex_search as run
    from member_service.service import MemberDirectory

    db = Database(settings.database_url, pool_size=1)
    try:
        n = await run(db, MemberDirectory(cipher_from_settings(settings)), everything=everything)
    finally:
        await db.dispose()
    print(f"re-indexed {n} members")


async def serve(settings: MemberSettings) -> None:
    setup_tracing("member", settings.otlp_endpoint)
    app = await build_app(settings)
    stop = asyncio.Event()
    install_signal_handlers(stop)
    await app.start()
    await stop.wait()
    await app.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="hongyun-member", description="Hongyun member service")
    parser.add_argument(
        "command",
        choices=["serve", "migrate", "provision-streams", "dead-letters", "reindex-search"],
    )
    parser.add_argument("--replay", metavar="ID", help="dead-letters: publish this one again")
    parser.add_argument(
        "--all", action="store_true", help="reindex-search: every member, not only missing ones"
    )
    args = parser.parse_args(argv)
    settings = MemberSettings()
    configure_logging("member", settings.log_level, settings.log_json)
    if args.command == "migrate":
        migrate(settings)
    elif args.command == "provision-streams":
        asyncio.run(provision_streams(settings))
    elif args.command == "reindex-search":
        asyncio.run(reindex_search(settings, args.all))
    elif args.command == "dead-letters":
        asyncio.run(dead_letters(settings, args.replay))
    else:
        asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
