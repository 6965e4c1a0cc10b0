"""Behaviour that only a real server and a real socket can show."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
from pathlib import Path

import httpx
import pytest
import redis

from tests import live
from tests.backends import Backend

pytestmark = pytest.mark.live


def _raw(url: str, request: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(request)
        chunks = []
        while True:
            try:
                data = sock.recv(65536)
            except TimeoutError:
                break
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks)


def test_huge_declared_body_is_refused_before_it_is_sent(server: live.LiveServer) -> None:
    # Announce 2 GB and send none of it: the answer must come at once.
    request = (
        b"POST /api/v1/auth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 2000000000\r\n\r\n"
    )
    response = _raw(server.url, request)
    assert response.startswith(b"HTTP/1.1 413")
    assert b"application/problem+json" in response


def test_head_answers_with_headers_and_keeps_the_connection(server: live.LiveServer) -> None:
    # HEAD of a response with a Content-Length (a 401 problem, a product list), then a
    # GET on the same connection: the server must not wait for a body it won't get.
    with httpx.Client(base_url=server.url, timeout=5) as http:
        for path in ("/api/v1/users/me", "/api/v1/products", "/healthz"):
            head = http.head(path)
            assert head.content == b"" and "content-length" in head.headers, path
            assert http.get(path).status_code == head.status_code, path


def test_uri_and_header_limits_over_real_http(server: live.LiveServer) -> None:
    assert httpx.get(f"{server.url}/healthz?q={'a' * 9000}").status_code == 414
    headers = {f"X-Pad-{i}": "v" * 1000 for i in range(40)}
    assert httpx.get(f"{server.url}/healthz", headers=headers).status_code == 431


def test_register_and_sign_in_over_real_http(server: live.LiveServer) -> None:
    email, password = "live@example.com", "a-very-long-password-1"
    created = httpx.post(
        f"{server.url}/api/v1/auth/register",
        json={"email": email, "password": password, "full_name": "Live"},
    )
    assert created.status_code in (201, 409)
    token = httpx.post(
        f"{server.url}/api/v1/auth/token", json={"email": email, "password": password}
    )
    assert token.status_code == 200
    me = httpx.get(
        f"{server.url}/api/v1/users/me",
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
    )
    assert me.json()["email"] == email


def test_several_workers_serve_and_share_metrics(backend: Backend, tmp_path: Path) -> None:
    env = live.live_env(
        backend.name, tmp_path, os.environ.get("BACKROOM_TEST_DATABASE_URL"),
        os.environ.get("BACKROOM_TEST_REDIS_URL"), name="workers",
    )  # fmt: skip
    with live.serve(env, workers=2) as running:
        with httpx.Client(base_url=running.url) as http:
            for _ in range(40):
                http.get("/healthz")
                response = httpx.get(f"{running.url}/metrics")  # new connection each time
                assert response.status_code == 200
            metrics = http.get("/metrics").text
        series = 'backroom_http_requests_total{method="GET",route="/healthz",status="200"}'
        line = next(ln for ln in metrics.splitlines() if ln.startswith(series))
        # Every worker's count is in the one scrape, whichever worker answered it.
        assert float(line.rsplit(" ", 1)[1]) == 40.0
        children = subprocess.run(
            ["pgrep", "-P", str(running.process.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        assert len(children) == 2


def test_forwarded_for_is_believed_only_from_a_trusted_proxy(
    backend: Backend, tmp_path: Path
) -> None:
    # Fresh addresses on every run: with Redis, counters outlive the server.
    net = f"{secrets.randbelow(250) + 1}.{secrets.randbelow(250) + 1}"
    proxy_address = f"127.{net}.1"  # a loopback source address, as our load balancer
    env = live.live_env(
        backend.name, tmp_path, os.environ.get("BACKROOM_TEST_DATABASE_URL"),
        os.environ.get("BACKROOM_TEST_REDIS_URL"), name="proxies",
    )  # fmt: skip
    env.update(
        BACKROOM_RATE_LIMIT="on",
        BACKROOM_RATE_LIMIT_ANONYMOUS="3/minute",
        BACKROOM_TRUSTED_PROXIES=proxy_address,
    )
    if "BACKROOM_REDIS_URL" in env:
        with redis.Redis.from_url(env["BACKROOM_REDIS_URL"]) as store:
            for key in store.scan_iter("*127.0.0.1*"):  # counters from an earlier run
                store.delete(key)
    with live.serve(env) as running:
        url = f"{running.url}/api/v1/products"
        # From 127.0.0.1, which the server's own proxy handling trusts by default.
        with httpx.Client() as stranger:
            forged = [
                stranger.get(url, headers={"X-Forwarded-For": f"198.18.{n}.1"}).status_code
                for n in range(4)
            ]
        with httpx.Client(transport=httpx.HTTPTransport(local_address=proxy_address)) as proxy:
            relayed = [
                proxy.get(url, headers={"X-Forwarded-For": f"6.6.6.{n}, 198.19.{net}"}).status_code
                for n in range(4)
            ]
            other = proxy.get(url, headers={"X-Forwarded-For": f"198.18.{net}"}).status_code
    assert forged == [200, 200, 200, 429]  # the forged header did not dodge the limit
    assert relayed == [200, 200, 200, 429]  # one client, whatever it wrote on the left
    assert other == 200
