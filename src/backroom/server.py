"""Starting the HTTP server: uvicorn for one process, gunicorn + uvicorn workers for more.

On SIGTERM the server stops accepting connections, gives in-flight requests up
to ``shutdown_timeout`` seconds, cancels what is left, runs the app's shutdown
(running jobs get the same bound again) and exits 0. The server's own
X-Forwarded-* handling is off: ``proxies.py`` decides whom to believe.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from types import FrameType
from typing import Any

import uvicorn

APP = "backroom.main:factory"
# gunicorn's last resort after SIGTERM, past the requests' and the jobs' bounds.
_KILL_MARGIN_SECONDS = 5
# How long an idle client connection stays open. A proxy that keeps connections
# to us must close them sooner (deploy/nginx.conf: 4 s), or it can reuse one we
# are closing at that moment.
KEEP_ALIVE_SECONDS = 5


def _uvicorn_options(log_level: str, shutdown_timeout: int) -> dict[str, Any]:
    return {
        "loop": "uvloop",
        "http": "httptools",
        "log_level": log_level.lower(),
        "log_config": None,
        "access_log": False,
        "proxy_headers": False,
        "server_header": False,
        "timeout_graceful_shutdown": shutdown_timeout,
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
    }


def exec_server(
    *, host: str, port: int, workers: int, log_level: str, shutdown_timeout: int
) -> None:
    """Replace this process (same pid, same signals) with a fresh interpreter that
    only serves. The CLI, Alembic and the migration run stay behind: workers fork
    from a small server process instead of inheriting them (about 30 MB each)."""
    args = [
        sys.executable, "-m", "backroom.server", "--host", host, "--port", str(port),
        "--workers", str(workers), "--log-level", log_level,
        "--shutdown-timeout", str(shutdown_timeout),
    ]  # fmt: skip
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, args)  # noqa: S606 - our own interpreter, fixed args  # nosec B606


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m backroom.server")
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--log-level", required=True)
    parser.add_argument("--shutdown-timeout", type=int, required=True)
    a = parser.parse_args()
    run(host=a.host, port=a.port, workers=a.workers, log_level=a.log_level,
        shutdown_timeout=a.shutdown_timeout)  # fmt: skip


def run(*, host: str, port: int, workers: int, log_level: str, shutdown_timeout: int) -> None:
    if workers == 1:
        _run_uvicorn(host, port, log_level, shutdown_timeout)
        return
    _run_gunicorn(host, port, workers, log_level, shutdown_timeout)


def _terminated(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def _run_uvicorn(host: str, port: int, log_level: str, shutdown_timeout: int) -> None:
    # After its graceful shutdown uvicorn restores the previous SIGTERM handler and
    # raises the signal again, so that the embedding program decides what it means.
    # SIGTERM is how systemd, docker and Kubernetes stop a service, and a drained
    # shutdown is a success: exit 0 (the default handler would die with 143). The
    # same handler ends a start-up that is interrupted before uvicorn takes over.
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        options = _uvicorn_options(log_level, shutdown_timeout)
        uvicorn.run(APP, factory=True, host=host, port=port, **options)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run_gunicorn(
    host: str, port: int, workers: int, log_level: str, shutdown_timeout: int
) -> None:
    from gunicorn.app.base import BaseApplication

    # Workers are forked from this process, so they see this class attribute.
    Worker.CONFIG_KWARGS = {**Worker.CONFIG_KWARGS, "timeout_graceful_shutdown": shutdown_timeout}

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            options = {
                "bind": f"{host}:{port}",
                "workers": workers,
                "worker_class": "backroom.server.Worker",
                # Requests, then the app's shutdown (jobs), each bounded by the timeout.
                "graceful_timeout": 2 * shutdown_timeout + _KILL_MARGIN_SECONDS,
                "timeout": 60,
                "keepalive": KEEP_ALIVE_SECONDS,
                "loglevel": log_level.lower(),
                "accesslog": None,
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            from backroom.main import factory

            return factory()

    Server().run()


try:
    from uvicorn_worker import UvicornWorker

    class Worker(UvicornWorker):  # type: ignore[misc]
        CONFIG_KWARGS: dict[str, Any] = {  # noqa: RUF012 - the base class reads this attribute
            "loop": "uvloop",
            "http": "httptools",
            "log_config": None,
            "access_log": False,
            "proxy_headers": False,
            "server_header": False,
        }
except ImportError:  # pragma: no cover - gunicorn is a hard dependency
    pass


if __name__ == "__main__":
    main()
