"""Through a real PgBouncer in transaction mode with BACKROOM_DB_STATEMENT_CACHE=off.

Debian's PgBouncer (1.18) can't carry prepared statements across transactions:
with the default settings about a third of these requests failed with
"prepared statement … does not exist" when this was written. CI installs it
(.ci/run); elsewhere the test is skipped when the binary is missing.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from asgi_lifespan import LifespanManager
from httpx import ASGITransport, AsyncClient

from backroom.config import Settings
from backroom.main import create_app
from tests.live import free_port

CLIENTS = 20


@pytest.fixture
def pgbouncer(settings: Settings) -> Iterator[str]:
    """A PgBouncer in front of the test database; yields its URL."""
    if settings.is_sqlite:
        pytest.skip("PgBouncer pools PostgreSQL connections")
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not os.path.exists(binary):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI must install pgbouncer (.ci/run does)")
        pytest.skip("pgbouncer is not installed (apt-get install pgbouncer)")
    target = urlsplit(settings.resolved_database_url)
    port = free_port()
    # Readable by the unprivileged user PgBouncer switches to (it refuses to run as root).
    workdir = Path(tempfile.mkdtemp(prefix="backroom-pgbouncer-"))
    workdir.chmod(0o755)
    config = workdir / "pgbouncer.ini"
    config.write_text(
        "[databases]\n"
        f"backroom = host={target.hostname} port={target.port} "
        f"dbname={target.path.lstrip('/')} user={target.username}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        "auth_type = any\npool_mode = transaction\n"
        # Two server connections for twenty clients: every transaction may land on
        # a different server connection than the one before it.
        "default_pool_size = 2\nmax_client_conn = 100\n"
        "ignore_startup_parameters = extra_float_digits\n"
    )
    config.chmod(0o644)
    user = ["-u", "postgres"] if os.geteuid() == 0 else []
    log = (workdir / "out.log").open("wb")
    process = subprocess.Popen([binary, *user, str(config)], stdout=log, stderr=log)
    try:
        _wait_for_port(port, process)
        yield f"postgresql+asyncpg://{target.username}@127.0.0.1:{port}/backroom"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    import socket

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        assert process.poll() is None, "pgbouncer exited at start"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("pgbouncer did not listen")


async def test_the_app_works_through_pgbouncer_in_transaction_mode(
    make_settings: Callable[..., Settings], pgbouncer: str
) -> None:
    settings = make_settings(database_url=pgbouncer, db_statement_cache="off", rate_limit="off")
    application = create_app(settings)
    statuses: Counter[tuple[str, int]] = Counter()
    async with LifespanManager(application):
        transport = ASGITransport(app=application)
        async with AsyncClient(transport=transport, base_url="http://t") as http:

            async def customer() -> None:
                email, password = f"c{secrets.token_hex(6)}@example.com", "a-long-password-1"
                account = {"email": email, "password": password, "full_name": "C"}
                response = await http.post("/api/v1/auth/register", json=account)
                statuses["register", response.status_code] += 1
                response = await http.post(
                    "/api/v1/auth/token", json={"email": email, "password": password}
                )
                statuses["token", response.status_code] += 1
                headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
                for _ in range(5):
                    for path in ("/api/v1/products", "/api/v1/categories"):
                        statuses[path, (await http.get(path)).status_code] += 1
                    for path in ("/api/v1/users/me", "/api/v1/cart", "/api/v1/orders"):
                        response = await http.get(path, headers=headers)
                        statuses[path, response.status_code] += 1

            await asyncio.gather(*(customer() for _ in range(CLIENTS)))
    assert statuses == Counter(
        {
            ("register", 201): CLIENTS,
            ("token", 200): CLIENTS,
            **{
                (path, 200): 5 * CLIENTS
                for path in (
                    "/api/v1/products",
                    "/api/v1/categories",
                    "/api/v1/users/me",
                    "/api/v1/cart",
                    "/api/v1/orders",
                )
            },
        }
    )
