"""Starting the HTTP server: uvicorn for one process, gunicorn + uvicorn workers for more."""

from __future__ import annotations

from typing import Any

import uvicorn

APP = "backroom.main:factory"
# Time given to in-flight requests on SIGTERM before workers are stopped.
GRACEFUL_TIMEOUT = 20


def _uvicorn_options(log_level: str) -> dict[str, Any]:
    return {
        "loop": "uvloop",
        "http": "httptools",
        "log_level": log_level.lower(),
        "log_config": None,
        "access_log": False,
        "proxy_headers": True,
        "server_header": False,
        "timeout_graceful_shutdown": GRACEFUL_TIMEOUT,
    }


def run(*, host: str, port: int, workers: int, log_level: str) -> None:
    if workers == 1:
        uvicorn.run(APP, factory=True, host=host, port=port, **_uvicorn_options(log_level))
        return
    _run_gunicorn(host, port, workers, log_level)


def _run_gunicorn(host: str, port: int, workers: int, log_level: str) -> None:
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            options = {
                "bind": f"{host}:{port}",
                "workers": workers,
                "worker_class": "backroom.server.Worker",
                "graceful_timeout": GRACEFUL_TIMEOUT,
                "timeout": 60,
                "keepalive": 5,
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
        CONFIG_KWARGS = {  # noqa: RUF012 - the base class reads this attribute
            "loop": "uvloop",
            "http": "httptools",
            "log_config": None,
            "access_log": False,
            "proxy_headers": True,
            "server_header": False,
        }
except ImportError:  # pragma: no cover - gunicorn is a hard dependency
    pass
