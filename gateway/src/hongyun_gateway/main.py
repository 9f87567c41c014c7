"""The gateway application factory and the ``hongyun-gateway`` console script.

hongyun-gateway serve [--host H] [--port P]
hongyun-gateway migrate [--revision head]
hongyun-gateway create-account --username U (--password P | --password-stdin)
                               --role R [--role R2] [--tenant UUID] [--scope-org UUID]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from hongyun_platform.logging import configure_logging
from hongyun_platform.storage import (
    FilesystemObjectStore,
    StorageSettings,
    make_fs_download_app,
    storage_from_settings,
)
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

from hongyun_gateway import auth, commands, health
from hongyun_gateway.access_tokens import AccessTokens
from hongyun_gateway.identity.database import IdentityDatabase
from hongyun_gateway.learning_client import LearningClient
from hongyun_gateway.member_client import MemberClient
from hongyun_gateway.openapi import install_openapi
from hongyun_gateway.passwords import Passwords
from hongyun_gateway.problems import install_problem_handlers
from hongyun_gateway.routers import (
    accounts,
    courses,
    development,
    due_items,
    dues,
    exams,
    learning_progress,
    member_archive,
    member_counts,
    member_search,
    member_transfer,
    members,
    organization_admin,
    organizations,
    relationship_transfers,
    rules,
    tenant_admin,
    tenants,
    training,
)
from hongyun_gateway.settings import ConfigurationError, GatewaySettings
from hongyun_gateway.state import GatewayState
from hongyun_gateway.tenant_status import TenantStatusCache

logger = logging.getLogger("hongyun_gateway")

API_TITLE = "Hongyun 红云 API"
API_VERSION = "1.0.0"
API_DESCRIPTION = """红云「互联网+党建」平台接口 · The Hongyun "Internet + Party building" platform API.

* 认证 Authentication: `POST /api/v1/auth/login` → `Authorization: Bearer <access_token>`;
  renew with `POST /api/v1/auth/refresh` (refresh tokens are single-use).
* 租户 Tenancy: everyone acts in their own tenant; platform admins choose one with
  `X-Hongyun-Tenant: <uuid>`.
* 错误 Errors: every error is `application/problem+json` (RFC 9457) with a stable `code`.
* 分页 Pagination: `?limit=1..200&cursor=...` → `{items, next_cursor}`.
* 并发 Concurrency: member responses carry `ETag`; `PATCH` needs `If-Match`.
"""


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    signing_key = settings.jwt_signing_key()  # fail at start-up, not at the first login

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        identity_db = IdentityDatabase(settings.database_url, pool_size=settings.db_pool_size)
        member_client = MemberClient(
            settings.member_grpc_target, deadline_seconds=settings.grpc_deadline_seconds
        )
        learning_client = LearningClient(
            settings.learning_grpc_target, deadline_seconds=settings.grpc_deadline_seconds
        )
        app.state.gateway = GatewayState(
            settings=settings,
            identity_db=identity_db,
            member_client=member_client,
            access_tokens=AccessTokens(signing_key, settings.access_token_ttl),
            passwords=await asyncio.to_thread(
                Passwords,
                time_cost=settings.argon2_time_cost,
                memory_cost_kib=settings.argon2_memory_cost_kib,
                parallelism=settings.argon2_parallelism,
            ),
            tenant_status=TenantStatusCache(member_client),
            learning_client=learning_client,
        )
        try:
            yield
        finally:
            await member_client.close(grace=1.0)
            await learning_client.close(grace=1.0)
            await identity_db.dispose()

    app = FastAPI(
        title=API_TITLE,
        version=API_VERSION,
        description=API_DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    install_problem_handlers(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=False,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "If-Match", "X-Hongyun-Tenant"],
            expose_headers=["ETag", "Location", "Retry-After"],
            max_age=600,
        )
    app.include_router(health.router)
    app.include_router(auth.router)
    app.include_router(accounts.router)
    app.include_router(tenant_admin.router)
    app.include_router(tenants.router)
    app.include_router(organization_admin.router)  # before organizations: /tree is not an id
    app.include_router(organizations.router)
    app.include_router(rules.router)
    app.include_router(member_transfer.imports_router)
    app.include_router(member_transfer.exports_router)  # before members: /export is not an id
    app.include_router(member_search.router)  # before members: /search is not an id
    app.include_router(member_counts.router)  # before members: /counts is not an id
    app.include_router(members.router)
    app.include_router(member_archive.router)
    app.include_router(member_archive.tags_router)
    app.include_router(development.router)
    app.include_router(relationship_transfers.router)
    app.include_router(dues.router)
    app.include_router(due_items.router)
    app.include_router(courses.router)
    app.include_router(learning_progress.router)
    app.include_router(exams.router)
    app.include_router(training.router)
    _mount_files(app)
    install_openapi(app)
    FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz")
    return app


def _mount_files(app: FastAPI) -> None:
    """The filesystem object store's signed URLs (uploads and downloads of attachments, docs/adr/
    0004 and 0009) at /files, where HONGYUN_STORAGE_PUBLIC_URL points. S3/MinIO serve their own."""
    storage = StorageSettings()
    if storage.storage_kind == "filesystem":
        store = storage_from_settings(storage)
        assert isinstance(store, FilesystemObjectStore)
        app.mount(
            "/files",
            make_fs_download_app(store, max_upload_bytes=storage.storage_max_upload_bytes),
        )


# ---- console script ----


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hongyun-gateway", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the HTTP API (uvicorn)")
    serve.add_argument("--host", help="default: HONGYUN_GATEWAY_HOST or 127.0.0.1")
    serve.add_argument("--port", type=int, help="default: HONGYUN_GATEWAY_PORT or 8000")

    migrate = sub.add_parser("migrate", help="apply the identity-schema migrations")
    migrate.add_argument("--revision", default="head")

    create = sub.add_parser(
        "create-account", help="create an account, or update it if the username exists"
    )
    create.add_argument("--username", required=True)
    pw = create.add_mutually_exclusive_group(required=True)
    pw.add_argument("--password")
    pw.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    create.add_argument(
        "--role",
        action="append",
        required=True,
        help="platform_admin | tenant_admin | secretary | member (repeat or comma-separate)",
    )
    create.add_argument("--tenant", help="tenant UUID (not needed for platform_admin)")
    create.add_argument("--scope-org", help="organisation UUID: the account's data scope")
    create.add_argument("--display-name", default="")
    return parser


def serve(settings: GatewaySettings, host: str | None = None, port: int | None = None) -> None:
    import uvicorn
    from hongyun_platform.telemetry import setup_tracing

    # Tracer provider + grpc.aio client instrumentation, before the app opens its channel.
    setup_tracing("gateway", settings.otlp_endpoint)
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=host or settings.host,
        port=port if port is not None else settings.port,
        proxy_headers=True,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
        server_header=False,
        log_config=None,  # keep the platform's logging set-up
    )
    # uvicorn handles SIGTERM/SIGINT: stop accepting, finish in-flight requests (bounded by
    # timeout_graceful_shutdown), then run the lifespan shutdown (close gRPC channel, DB pool).
    uvicorn.Server(config).run()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = GatewaySettings()
    configure_logging("gateway", settings.log_level, settings.log_json)
    try:
        if args.command == "serve":
            serve(settings, args.host, args.port)
        elif args.command == "migrate":
            commands.migrate(settings, args.revision)
            print(f"identity schema migrated to {args.revision}")
        elif args.command == "create-account":
            password = sys.stdin.readline().rstrip("\r\n") if args.password_stdin else args.password
            result = commands.create_account_sync(
                settings,
                username=args.username,
                password=password,
                roles=args.role,
                tenant=args.tenant,
                scope_org=args.scope_org,
                display_name=args.display_name,
            )
            verb = "created" if result.created else "updated"
            print(f"{verb} account {result.username} ({result.account_id}) roles={result.roles}")
    except (commands.CommandError, ConfigurationError) as exc:
        print(f"hongyun-gateway {args.command}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
