"""The files in deploy/: what can be checked without a Docker engine.

nginx's own parser checks deploy/nginx.conf (CI installs nginx; .ci/run). The
compose file and the Dockerfile are checked for the properties docs/deployment.md
promises; building and running them needs a Docker engine, which CI doesn't have.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def _nginx() -> str:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(binary):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI must install nginx (.ci/run does)")
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    return binary


def test_nginx_config_passes_nginx_t(tmp_path: Path) -> None:
    text = (DEPLOY / "nginx.conf").read_text()
    # nginx -t resolves upstream names; the compose service names don't exist here.
    local, replaced = re.subn(r"server app(\d):8000", r"server 127.0.0.1:800\1", text)
    assert replaced == 2
    config = tmp_path / "nginx.conf"
    config.write_text(local)
    done = subprocess.run(
        [_nginx(), "-t", "-q", "-c", str(config), "-p", str(tmp_path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def _locations(text: str) -> dict[str, str]:
    return dict(re.findall(r"location\s+[\^~=]*\s*(\S+)\s*\{([^}]*)\}", text))


def test_nginx_config_forwards_the_client_and_streams_events() -> None:
    text = (DEPLOY / "nginx.conf").read_text()
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in text
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in text
    upstream = re.search(r"upstream backroom \{([^}]*)\}", text)
    assert upstream is not None
    assert len(re.findall(r"^\s*server ", upstream.group(1), re.M)) == 2
    locations = _locations(text)
    assert "proxy_buffering off;" in locations["/api/v1/events"]
    assert "proxy_read_timeout 1h;" in locations["/api/v1/events"]
    assert "proxy_request_buffering off;" in locations["/api/v1/imports"]
    assert "return 404;" in locations["/metrics"]


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def test_compose_runs_the_pieces_in_order_and_trusts_only_nginx() -> None:
    services = _compose()["services"]
    assert set(services) == {"postgres", "redis", "migrate", "app1", "app2", "worker", "nginx"}
    nginx_address = services["nginx"]["networks"]["backend"]["ipv4_address"]
    for name in ("app1", "app2", "worker"):
        service = services[name]
        assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert service["environment"]["BACKROOM_TRUSTED_PROXIES"] == nginx_address
    for name in ("app1", "app2"):
        assert "--no-migrate" not in services[name].get("command", [])  # the image's CMD
        assert services[name]["stop_grace_period"] == "50s"
    assert services["migrate"]["command"] == ["backroom", "migrate"]
    assert set(services["nginx"]["depends_on"]) == {"app1", "app2"}


def test_compose_has_no_default_secrets() -> None:
    text = (DEPLOY / "compose.yaml").read_text()
    for name in ("POSTGRES_PASSWORD", "BACKROOM_SECRET_KEY"):
        uses = re.findall(r"\$\{" + name + r"([^}]*)\}", text)
        assert uses
        assert all(use.startswith(":?") for use in uses), uses  # refuse to start without


def test_dockerfile_runs_unprivileged_without_build_tools() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    stages = re.split(r"^FROM ", text, flags=re.M)
    final = stages[-1]
    assert "build-essential" in stages[-2]
    assert "build-essential" not in final and "apt-get install" not in final
    assert re.search(r"^USER backroom", final, re.M)
    assert "HEALTHCHECK" in final and "/healthz" in final
    assert '"--no-migrate"' in final


@pytest.mark.parametrize("unit", ["backroom@.service", "backroom-worker.service"])
def test_systemd_units_are_hardened(unit: str) -> None:
    text = (DEPLOY / "systemd" / unit).read_text()
    for option in (
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "CapabilityBoundingSet=\n",
        "User=backroom",
        "KillSignal=SIGTERM",
    ):
        assert option in text, option


def _seconds(value: str) -> float:
    match = re.fullmatch(r"(\d+)(ms|s|m)?", value)
    assert match, value
    scale = {"ms": 0.001, "s": 1, None: 1, "m": 60}[match.group(2)]
    return int(match.group(1)) * scale


def test_nginx_fails_over_without_replaying_a_post() -> None:
    """An instance that dies: nginx tries the other one for what it could not send,
    never for a POST it already sent (the app may have acted on it)."""
    text = re.sub(r"#.*", "", (DEPLOY / "nginx.conf").read_text())  # directives only
    [next_upstream] = re.findall(r"^\s*proxy_next_upstream\s+([^;]*);", text, re.M)
    assert set(next_upstream.split()) == {"error", "timeout"}
    assert "non_idempotent" not in text
    upstream = re.search(r"upstream backroom \{([^}]*)\}", text)
    assert upstream is not None
    assert re.search(r"^\s*keepalive \d+;", upstream.group(1), re.M)


def test_nginx_closes_idle_upstream_connections_before_the_app_does() -> None:
    """Otherwise nginx can send a request down a connection the app is closing."""
    from backroom.server import KEEP_ALIVE_SECONDS, _uvicorn_options

    text = (DEPLOY / "nginx.conf").read_text()
    upstream = re.search(r"upstream backroom \{([^}]*)\}", text)
    assert upstream is not None
    timeout = re.search(r"^\s*keepalive_timeout\s+(\S+);", upstream.group(1), re.M)
    assert timeout is not None, "nginx's default (60 s) outlives the app's keep-alive"
    assert _seconds(timeout.group(1)) < KEEP_ALIVE_SECONDS
    assert _uvicorn_options("info", 5)["timeout_keep_alive"] == KEEP_ALIVE_SECONDS
