"""SIGTERM to a real ``backroom serve`` in the middle of a big export download.

The client reads through a tiny receive window and stops reading for a while,
so the export (30,000 products, about 5.5 MB of CSV) is still being written
when the signal arrives: the server must refuse new connections, finish the
download, and exit 0; or, past BACKROOM_SHUTDOWN_TIMEOUT_SECONDS, cut it and
still exit 0.
"""

from __future__ import annotations

import csv
import io
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

import httpx
import pytest

from tests import live
from tests.backends import Backend

pytestmark = pytest.mark.live

PRODUCTS = 30_000
ADMIN = ("admin@example.com", "a-long-password-1")


@dataclass
class Catalog:
    env: dict[str, str]


@pytest.fixture(scope="module")
def catalog(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """A database with a big catalog, migrated and seeded once per backend."""
    workdir = tmp_path_factory.mktemp(f"shutdown-{backend.name}")
    env = live.live_env(
        backend.name, workdir, os.environ.get("BACKROOM_TEST_DATABASE_URL"),
        os.environ.get("BACKROOM_TEST_REDIS_URL"), name="shutdown",
    )  # fmt: skip
    backroom = [sys.executable, "-m", "backroom"]
    subprocess.run([*backroom, "migrate"], env=env, check=True, capture_output=True)
    seed = ["seed", "--products", str(PRODUCTS), "--customers", "0", "--orders", "0"]
    subprocess.run([*backroom, *seed], env=env, check=True, capture_output=True)
    live.create_admin(env, *ADMIN)
    return Catalog(env)


def _start_download(url: str) -> socket.socket:
    token = httpx.post(
        f"{url}/api/v1/auth/token", json={"email": ADMIN[0], "password": ADMIN[1]}
    ).json()["access_token"]
    host, port = url.removeprefix("http://").split(":")
    sock = socket.socket()
    # A small window: the server can't push the whole file into our kernel buffers.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(30)
    sock.connect((host, int(port)))
    sock.sendall(
        b"GET /api/v1/exports/products.csv HTTP/1.1\r\nHost: t\r\n"
        b"Authorization: Bearer " + token.encode() + b"\r\nConnection: close\r\n\r\n"
    )
    return sock


def _read_all(sock: socket.socket, first: bytes) -> bytes:
    chunks = [first]
    while data := sock.recv(65536):
        chunks.append(data)
    return b"".join(chunks)


def _dechunk(raw: bytes) -> tuple[bytes, bool]:
    """The body of a chunked HTTP/1.1 response, and whether its last chunk arrived."""
    head, _, rest = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head[:200]
    body = bytearray()
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return bytes(body), True
        if len(rest) < size + 2:
            break
        body += rest[:size]
        rest = rest[size + 2 :]
    return bytes(body), False


def _refused(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
    except OSError:
        return True
    return False


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_finishes_the_download_refuses_new_ones_and_exits_0(
    catalog: Catalog, workers: int
) -> None:
    env = {**catalog.env, "BACKROOM_SHUTDOWN_TIMEOUT_SECONDS": "30"}
    with live.serve(env, "--no-migrate", workers=workers) as running:
        sock = _start_download(running.url)
        with sock:
            first = sock.recv(4096)
            time.sleep(1)  # the server fills what buffers it can, then waits for us
            running.process.send_signal(signal.SIGTERM)
            time.sleep(1)
            # Still running: it is waiting for our download, and takes no one else.
            assert running.process.poll() is None
            assert _refused(running.url)
            raw = _read_all(sock, first)
        assert running.process.wait(timeout=30) == 0
    body, complete = _dechunk(raw)
    assert complete
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert rows[0][0] == "sku"
    assert len(rows) == PRODUCTS + 1


def test_a_download_past_the_shutdown_timeout_is_cut_and_the_server_exits_0(
    catalog: Catalog,
) -> None:
    env = {**catalog.env, "BACKROOM_SHUTDOWN_TIMEOUT_SECONDS": "1"}
    with live.serve(env, "--no-migrate") as running:
        sock = _start_download(running.url)
        with sock:
            first = sock.recv(4096)
            running.process.send_signal(signal.SIGTERM)
            started = time.monotonic()
            assert running.process.wait(timeout=20) == 0  # without our reading a byte more
            elapsed = time.monotonic() - started
            raw = _read_all(sock, first)
    assert elapsed < 10
    _, complete = _dechunk(raw)
    assert not complete
