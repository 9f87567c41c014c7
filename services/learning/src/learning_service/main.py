"""`hongyun-learning serve | migrate | provision-streams | dead-letters [--replay ID]`."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import nats
from hongyun_platform.db import migrations
from hongyun_platform.grpc.server import install_signal_handlers
from hongyun_platform.logging import configure_logging
from hongyun_platform.messaging.streams import ensure_stream
from hongyun_platform.telemetry import setup_tracing

from learning_service import events
from learning_service.config import LearningSettings
from learning_service.models import SCHEMA

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def migrate(settings: LearningSettings) -> None:
    migrations.upgrade(
        MIGRATIONS,
        settings.migration_database_url or settings.database_url,
        app_role=settings.db_app_role,
        schema=SCHEMA,
    )


async def provision_streams(settings: LearningSettings) -> None:
    """The LEARNING stream; the member service's training consumer waits for it."""
    nc = await nats.connect(settings.nats_url, connect_timeout=5)
    try:
        await ensure_stream(
            nc.jetstream(), events.STREAM, events.STREAM_SUBJECTS,
            duplicate_window_seconds=settings.stream_duplicate_window_seconds,
            replicas=settings.stream_replicas,
        )  # fmt: skip
    finally:
        await nc.close()


async def dead_letters(settings: LearningSettings, replay: str | None) -> None:
    """Operator view of parked events; `--replay ID` publishes one again."""
    from hongyun_platform.messaging.dead_letter_cli import dead_letters as run

    from learning_service.models import messaging

    await run(settings.database_url, settings.nats_url, messaging, replay)


async def serve(settings: LearningSettings) -> None:
    from learning_service.app import build_app

    setup_tracing("learning", settings.otlp_endpoint)
    app = await build_app(settings)
    stop = asyncio.Event()
    install_signal_handlers(stop)
    await app.start()
    await stop.wait()
    await app.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="hongyun-learning", description="Hongyun learning service"
    )
    parser.add_argument(
        "command", choices=["serve", "migrate", "provision-streams", "dead-letters"]
    )
    parser.add_argument("--replay", metavar="ID", help="dead-letters: publish this one again")
    args = parser.parse_args(argv)
    settings = LearningSettings()
    configure_logging("learning", settings.log_level, settings.log_json)
    if args.command == "migrate":
        migrate(settings)
    elif args.command == "provision-streams":
        asyncio.run(provision_streams(settings))
    elif args.command == "dead-letters":
        asyncio.run(dead_letters(settings, args.replay))
    else:
        asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
