"""A whole deployment on loopback: a private PostgreSQL and Redis, ``backroom migrate``
once, two ``backroom serve`` instances, one ``backroom worker`` and nginx (with
deploy/nginx.conf) round-robin in front. Every process logs to a file in the
cluster's directory; every wait is bounded.

Run as root (CI), PostgreSQL's programs run as the ``postgres`` user: initdb and
the server refuse to run as root.
"""

from __future__ import annotations

import glob
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
# Budgets far above what the tests send: the rate-limit test uses the failed-login
# limit, the others must not trip the per-address one (everything comes from 127.0.0.1).
_HIGH_LIMIT = "100000/minute"


class MissingBinary(RuntimeError):
    """A program the harness needs is not installed."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(what: str, check: Callable[[], bool], timeout: float, step: float = 0.05) -> float:
    """Poll ``check`` until it is true; returns the seconds it took."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if check():
            return time.monotonic() - start
        time.sleep(step)
    raise TimeoutError(f"{what}: not within {timeout} s")


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def _postgres_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise MissingBinary(f"PostgreSQL's {name} (/usr/lib/postgresql/*/bin)")
    return found[-1]


def _binary(name: str, *fallbacks: str) -> str:
    for candidate in (shutil.which(name), *fallbacks):
        if candidate and os.path.exists(candidate):
            return candidate
    raise MissingBinary(name)


@dataclass
class Proc:
    """One long-running process of the cluster, restartable with the same command."""

    name: str
    cmd: list[str]
    log: Path
    env: dict[str, str] | None = None
    user: str | None = None
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            out.write(f"\n=== start {time.strftime('%H:%M:%S')}: {' '.join(self.cmd)}\n".encode())
            out.flush()
            self.process = subprocess.Popen(
                self.cmd, env=self.env, stdout=out, stderr=subprocess.STDOUT, user=self.user,
                start_new_session=True,
            )  # fmt: skip

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def send(self, signum: int) -> None:
        if self.running:
            assert self.process is not None
            self.process.send_signal(signum)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 30) -> None:
        if self.process is None:
            return
        self.send(signum)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def kill(self) -> None:
        """kill -9: no goodbye, no cleanup."""
        self.stop(signal.SIGKILL)

    def tail(self, chars: int = 4000) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return text[-chars:]


@dataclass
class Cluster:
    root: Path
    pg_port: int = field(default_factory=free_port)
    redis_port: int = field(default_factory=free_port)
    nginx_port: int = field(default_factory=free_port)
    app_ports: list[int] = field(default_factory=lambda: [free_port(), free_port()])
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    procs: dict[str, Proc] = field(default_factory=dict)

    # -- addresses -------------------------------------------------------------------
    @property
    def url(self) -> str:
        """nginx: what clients use."""
        return f"http://127.0.0.1:{self.nginx_port}"

    @property
    def app_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.app_ports]

    def database_url(self, name: str = "backroom") -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.pg_port}/{name}"

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.pg_port}/backroom"

    def env(self, database: str = "backroom", **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BACKROOM_")}
        env.update(
            BACKROOM_DATABASE_URL=self.database_url(database),
            BACKROOM_REDIS_URL=f"redis://127.0.0.1:{self.redis_port}/0",
            BACKROOM_SECRET_KEY=self.secret,
            BACKROOM_DATA_DIR=str(self.root / "data"),  # shared: uploads reach the worker
            BACKROOM_JOBS_IN_PROCESS="false",
            BACKROOM_TRUSTED_PROXIES="127.0.0.1",
            BACKROOM_RATE_LIMIT_ANONYMOUS=_HIGH_LIMIT,
            BACKROOM_RATE_LIMIT_USER=_HIGH_LIMIT,
            BACKROOM_LOG_LEVEL="INFO",
            BACKROOM_ACCESS_LOG="false",
            BACKROOM_SHUTDOWN_TIMEOUT_SECONDS="5",
            # Far above every bound the tests set for an event to cross instances:
            # what arrives in time came through Redis, not through the safety-net poll.
            BACKROOM_EVENTS_POLL_SECONDS="30",
        )
        env.update(extra)
        return env

    def backroom(self, *args: str, env: dict[str, str] | None = None, timeout: float = 120) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "backroom", *args], env=env or self.env(),
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"backroom {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done.stdout + done.stderr

    # -- start-up --------------------------------------------------------------------
    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)  # the postgres user reaches its data dir through it
        self._init_postgres()
        self._add("postgres", self._postgres_cmd(), user=self._pg_user)
        self._add("redis", self._redis_cmd())
        self.start_postgres()
        self.start_redis()
        self.psql("CREATE DATABASE backroom")
        self.backroom("migrate")
        for index, port in enumerate(self.app_ports):
            cmd = [sys.executable, "-m", "backroom", "serve", "--port", str(port), "--no-migrate"]
            self._add(f"app{index + 1}", cmd, env=self.env())
            self.start_app(index)
        self._add("worker", [sys.executable, "-m", "backroom", "worker"], env=self.env())
        self.procs["worker"].start()
        self._add("nginx", self._nginx_cmd())
        self.procs["nginx"].start()
        wait_until("nginx listens", lambda: self._serving(self.url), 15)

    def _add(
        self,
        name: str,
        cmd: list[str],
        *,
        env: dict[str, str] | None = None,
        user: str | None = None,
    ) -> None:
        self.procs[name] = Proc(name, cmd, self.root / f"{name}.log", env=env, user=user)

    @property
    def _pg_user(self) -> str | None:
        return "postgres" if os.geteuid() == 0 else None

    def _init_postgres(self) -> None:
        data, sockets = self.root / "pgdata", self.root / "pgsock"
        for folder in (data, sockets):
            folder.mkdir(mode=0o700)
            if self._pg_user:
                shutil.chown(folder, self._pg_user, self._pg_user)
        initdb = [
            _postgres_bin("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
            "-E", "UTF8", "--no-sync",
        ]  # fmt: skip
        done = subprocess.run(initdb, capture_output=True, text=True, user=self._pg_user)
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stdout}{done.stderr}")

    def _postgres_cmd(self) -> list[str]:
        return [
            _postgres_bin("postgres"), "-D", str(self.root / "pgdata"), "-p", str(self.pg_port),
            "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.root}/pgsock",
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
            "-c", "max_connections=200",
        ]  # fmt: skip

    def _redis_cmd(self) -> list[str]:
        return [
            _binary("redis-server", "/usr/bin/redis-server"), "--port", str(self.redis_port),
            "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(self.root),
        ]  # fmt: skip

    def _nginx_cmd(self) -> list[str]:
        prefix = self.root / "nginx"
        prefix.mkdir(exist_ok=True)
        config = prefix / "nginx.conf"
        config.write_text(self.nginx_config())
        nginx = _binary("nginx", "/usr/sbin/nginx")
        return [nginx, "-c", str(config), "-p", str(prefix), "-g", "daemon off;"]

    def nginx_config(self) -> str:
        """deploy/nginx.conf with the harness's ports and files; nothing else changed."""
        text = (REPO / "deploy" / "nginx.conf").read_text()
        for index, port in enumerate(self.app_ports):
            text, count = re.subn(rf"server app{index + 1}:8000", f"server 127.0.0.1:{port}", text)
            assert count == 1, "deploy/nginx.conf: upstream servers app1/app2 expected"
        text, count = re.subn(r"listen 80;", f"listen 127.0.0.1:{self.nginx_port};", text)
        assert count == 1
        text = text.replace("pid /tmp/nginx.pid;", f"pid {self.root}/nginx/nginx.pid;")
        return text.replace("access_log /dev/stdout;", "access_log off;")

    # -- processes ---------------------------------------------------------------------
    def start_postgres(self) -> None:
        self.procs["postgres"].start()
        wait_until("PostgreSQL accepts connections", self.postgres_ready, 30)

    def postgres_ready(self) -> bool:
        done = subprocess.run(
            [_postgres_bin("pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.pg_port)],
            check=False,
        )
        return done.returncode == 0

    def stop_postgres(self) -> None:
        self.procs["postgres"].stop(signal.SIGINT)  # fast shutdown: sessions are cut

    def start_redis(self) -> None:
        self.procs["redis"].start()
        wait_until("Redis listens", lambda: _listening(self.redis_port), 15)

    def stop_redis(self) -> None:
        self.procs["redis"].stop(signal.SIGTERM)

    def start_app(self, index: int) -> None:
        self.procs[f"app{index + 1}"].start()
        wait_until(f"app{index + 1} ready", lambda: self._serving(self.app_urls[index]), 60, 0.1)

    def kill_app(self, index: int) -> None:
        self.procs[f"app{index + 1}"].kill()

    def ready(self) -> bool:
        """Whether every instance says it is ready."""
        return all(self._serving(base) for base in self.app_urls)

    def _serving(self, base: str) -> bool:
        try:
            return httpx.get(f"{base}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def psql(self, sql: str, database: str = "postgres") -> str:
        done = subprocess.run(
            [_postgres_bin("psql"), "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "postgres",
             "-d", database, "-v", "ON_ERROR_STOP=1", "-Atq", "-c", sql],
            capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr}")
        return done.stdout.strip()

    def _pg_tool(self, name: str, *args: str) -> None:
        connect = ["-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "postgres"]
        done = subprocess.run(
            [_postgres_bin(name), *connect, *args],
            capture_output=True, text=True, check=False, timeout=120,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"{name} failed: {done.stdout}{done.stderr}")

    def backup(self, path: Path) -> None:
        """pg_dump of the live database, in the custom format (what pg_restore reads)."""
        self._pg_tool("pg_dump", "--format=custom", f"--file={path}", "backroom")

    def restore(self, path: Path, database: str) -> None:
        """pg_restore into a new, empty database."""
        self.psql(f'CREATE DATABASE "{database}"')
        self._pg_tool(
            "pg_restore", "--no-owner", "--exit-on-error", f"--dbname={database}", str(path)
        )

    def serve_extra(self, name: str, database: str, redis_db: int) -> tuple[Proc, str]:
        """One more instance, on another database and Redis database (not behind nginx)."""
        port = free_port()
        env = self.env(
            database, BACKROOM_REDIS_URL=f"redis://127.0.0.1:{self.redis_port}/{redis_db}"
        )
        cmd = [sys.executable, "-m", "backroom", "serve", "--port", str(port), "--no-migrate"]
        self._add(name, cmd, env=env)
        self.procs[name].start()
        url = f"http://127.0.0.1:{port}"
        wait_until(f"{name} ready", lambda: self._serving(url), 60, 0.1)
        return self.procs[name], url

    def logs(self, chars: int = 4000) -> str:
        return "\n".join(
            f"----- {name} ({proc.log}) -----\n{proc.tail(chars)}"
            for name, proc in self.procs.items()
        )

    def stop(self) -> None:
        # Front to back, so nothing is left talking to a stopped dependency.
        backends = ("worker", "redis", "postgres")
        apps = [name for name in self.procs if name != "nginx" and name not in backends]
        for name in ("nginx", *apps, "worker", "redis"):
            if name in self.procs:
                self.procs[name].stop(timeout=20)
        if "postgres" in self.procs:
            self.procs["postgres"].stop(signal.SIGINT, timeout=20)
