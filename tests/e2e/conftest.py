"""Starts the platform exactly as `make run` does (scripts/run_platform.py), on free ports and a
temporary data directory, and stops it with SIGINT as Ctrl-C would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


class Platform:
    def __init__(self, proc: subprocess.Popen, info: dict, data: Path):
        self.proc, self.info, self.data = proc, info, data
        self.url = info["gateway_url"]
        self.password = next(iter(info["accounts"].values()))

    def client(self, username: str | None = None, password: str | None = None) -> httpx.Client:
        headers = {}
        if username:
            r = httpx.post(f"{self.url}/api/v1/auth/login",
                           json={"username": username, "password": password or self.password})  # fmt: skip
            assert r.status_code == 200, r.text
            headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        return httpx.Client(base_url=self.url, headers=headers, timeout=15)


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory):
    data = tmp_path_factory.mktemp("platform")
    log = open(data / "run.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "run_platform.py"), "--data-dir", str(data),
         "--port", "0", "--member-port", "0", "--learning-port", "0", "--nats-port", "0"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    run_json = data / "run.json"
    deadline = time.monotonic() + 300
    while not run_json.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("platform did not start:\n" + (data / "run.log").read_text())
        time.sleep(0.3)
    p = Platform(proc, json.loads(run_json.read_text()), data)
    yield p
    # Ctrl-C, as a user stops `make run`: every process it started must end, cleanly.
    proc.send_signal(signal.SIGINT)
    code = proc.wait(60)
    log.close()
    assert code == 0, (data / "run.log").read_text()[-3000:]
    for pid in p.info["pids"]:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert "Stopped." in (data / "run.log").read_text()
