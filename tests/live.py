"""A real ``backroom serve`` process on a free loopback port, for tests that need real HTTP."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

from tests.backends import sibling_database_url


@dataclass
class LiveServer:
    url: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def live_env(
    backend: str, workdir: Path, pg_url: str | None, redis_url: str | None, *, name: str = "live"
) -> dict[str, str]:
    """Environment for a server with its own database (PostgreSQL: ``<test db>_<name>``,
    dropped and recreated, so give each concurrently running server its own name)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKROOM_")}
    env.update(
        BACKROOM_DATA_DIR=str(workdir / "data"),
        BACKROOM_SECRET_KEY=secrets.token_urlsafe(48),
        BACKROOM_RATE_LIMIT="off",
        BACKROOM_JOBS_IN_PROCESS="true",
        BACKROOM_LOG_LEVEL="WARNING",
    )
    if backend == "postgres":
        assert pg_url and redis_url
        env["BACKROOM_DATABASE_URL"] = sibling_database_url(pg_url, f"_{name}")
        asyncio.run(_recreate_database(env["BACKROOM_DATABASE_URL"]))
        base, _, db = redis_url.rpartition("/")
        env["BACKROOM_REDIS_URL"] = f"{base}/{(int(db or 0) + 1) % 16}"
    return env


async def _recreate_database(url: str) -> None:
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    name = dsn.rsplit("/", 1)[1]
    admin = await asyncpg.connect(dsn.rsplit("/", 1)[0] + "/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


@contextmanager
def serve(env: dict[str, str], *extra: str, workers: int = 1) -> Iterator[LiveServer]:
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "backroom",
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
        *extra,
    ]
    log_path = Path(env["BACKROOM_DATA_DIR"]).parent / f"server-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process, log_path)
        yield LiveServer(url, env, process)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = log_path.read_text(errors="replace")
            raise RuntimeError(f"server exited with {process.returncode}: {err[-3000:]}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"server at {url} did not become ready")


def create_admin(env: dict[str, str], email: str, password: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "backroom", "create-user", "--email", email,
         "--password", password, "--role", "admin"],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
