"""Shared pieces for benchmarks: start a real server, sign in, run wrk, read RSS.

Everything runs on loopback and is bounded in time. wrk (Debian package) is the
load generator: it costs far less CPU than a Python client, which matters on a
2-core machine where the generator, the server and the database share the cores.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def base_env(database_url: str | None, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKROOM_")}
    env.update(
        BACKROOM_DATA_DIR=str(data_dir),
        BACKROOM_SECRET_KEY=secrets.token_urlsafe(48),
        BACKROOM_RATE_LIMIT="off",
        BACKROOM_LOG_LEVEL="WARNING",
        BACKROOM_ACCESS_LOG="false",
    )
    if database_url:
        env["BACKROOM_DATABASE_URL"] = database_url
    env.update(extra)
    return env


def backroom(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "backroom", *args], env=env, check=True, capture_output=True
    )


@contextmanager
def server(env: dict[str, str], workers: int) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
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
    ]
    process = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("server did not start")
            time.sleep(0.2)
        time.sleep(1.0 if workers > 1 else 0.2)  # let every worker finish booting
        yield url, process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def worker_pids(process: subprocess.Popen[bytes], workers: int) -> list[int]:
    if workers == 1:
        return [process.pid]
    out = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(match.group(1)) / 1024 if match else float("nan")


def sign_in(url: str, email: str, password: str) -> str:
    response = httpx.post(f"{url}/api/v1/auth/token", json={"email": email, "password": password})
    response.raise_for_status()
    return str(response.json()["access_token"])


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s)", text)
    assert match, text
    return float(match.group(1)) * _UNITS[match.group(2)]


def wait_http(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("server exited during start-up")
        try:
            httpx.get(url, timeout=1)
            time.sleep(1.0)  # let every worker finish booting
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise TimeoutError(url)


def wrk(
    url: str,
    *,
    seconds: int = 10,
    connections: int = 64,
    headers: dict[str, str] | None = None,
    script: str | None = None,
) -> WrkResult:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is required: apt-get install wrk")
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    for key, value in (headers or {}).items():
        cmd += ["-H", f"{key}: {value}"]
    if script:
        cmd += ["-s", script]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = 0
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors += sum(int(g) for g in m.groups())
    return WrkResult(rps, p50, p99, errors, total)


def tempdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="backroom-bench-"))


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return f"{os.cpu_count()} cores, {cpu}, Python {sys.version.split()[0]}"


async def _admin(statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def recreate_database(name: str) -> None:
    """Drop (forcing out sessions) and create a scratch PostgreSQL database."""
    drop_database(name)
    asyncio.run(_admin(f"CREATE DATABASE {name}"))


def drop_database(name: str) -> None:
    asyncio.run(_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
