"""A seeded ``backroom serve`` and a headless Chromium, shared by the admin app's tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import BrowserContext

from tests import live
from tests.admin import browser
from tests.backends import Backend

PASSWORD = "correct-horse-battery-9"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@dataclass
class AdminSite:
    url: str
    backend: str
    admin: str
    staff: str
    api: httpx.Client  # signed in as the admin

    def shot(self, page: object, name: str) -> None:
        """Save a screenshot for the docs (from the first backend only: one set)."""
        if self.backend == "sqlite":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def _cli(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "backroom", *args], env=env, check=True, capture_output=True
    )


@pytest.fixture(scope="module")
def site(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdminSite]:
    browser.require_chromium()
    workdir = tmp_path_factory.mktemp(f"admin-{backend.name}")
    env = live.live_env(
        backend.name, workdir, os.environ.get("BACKROOM_TEST_DATABASE_URL"),
        os.environ.get("BACKROOM_TEST_REDIS_URL"), name="admin",
    )  # fmt: skip
    env["BACKROOM_WEBHOOK_ALLOW_PRIVATE_URLS"] = "true"  # the webhooks page's test endpoint
    _cli(env, "migrate")
    _cli(env, "seed", "--products", "30", "--customers", "6", "--orders", "150")
    admin, staff = "admin@example.com", "staff@example.com"
    live.create_admin(env, admin, PASSWORD)
    _cli(env, "create-user", "--email", staff, "--password", PASSWORD, "--role", "staff")
    with live.serve(env) as server, httpx.Client(base_url=server.url, timeout=10) as api:
        token = api.post("/api/v1/auth/token", json={"email": admin, "password": PASSWORD})
        api.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        yield AdminSite(server.url, backend.name, admin, staff, api)


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    browser.require_chromium()
    with browser.chromium(tmp_path_factory.mktemp("chromium-profile")) as context:
        yield context


@pytest.fixture
def watched(chromium: BrowserContext) -> Iterator[browser.Watched]:
    """A new tab; at the end, nothing on it may have failed (no CSP refusal, no 5xx)."""
    page = chromium.new_page()
    tab = browser.Watched(page)
    yield tab
    page.close()
    assert tab.problems == []
    assert tab.dialogs == []
