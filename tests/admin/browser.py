"""Headless Chromium for the admin app's end-to-end tests: Debian's ``chromium``
driven by Playwright (its own browser download is not used)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def require_chromium() -> None:
    """CI must run these tests (``.ci/run`` installs Chromium); elsewhere say how to."""
    if Path(CHROMIUM).exists():
        return
    message = f"{CHROMIUM} is missing: apt-get install -y chromium"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def chromium(profile: Path) -> Iterator[BrowserContext]:
    """One browser with a fresh profile; its pages share nothing but the profile dir
    (the app keeps tokens in memory, so every page signs in on its own)."""
    shutil.rmtree(profile, ignore_errors=True)
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, args=ARGS, headless=True, viewport=DESKTOP
        )
        try:
            yield context
        finally:
            context.close()


class Watched:
    """A page plus what it reported: console errors, CSP refusals, dialogs."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.problems: list[str] = []
        self.dialogs: list[str] = []
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("console", self._console)
        page.on("dialog", self._dialog)
        page.on("response", self._response)

    def _console(self, message: object) -> None:
        text = getattr(message, "text", "")
        # A 4xx the app expects and shows (412, 404 from /events) is also logged by the
        # browser as a failed load: those are checked through responses instead.
        if getattr(message, "type", "") == "error" and not text.startswith("Failed to load"):
            self.problems.append(f"console: {text}")

    def _response(self, response: object) -> None:
        status = getattr(response, "status", 0)
        url = getattr(response, "url", "")
        if status >= 500 or (status == 404 and "/admin/" in url):
            self.problems.append(f"{status} from {url}")

    def _dialog(self, dialog: object) -> None:
        self.dialogs.append(getattr(dialog, "message", ""))
        dialog.dismiss()  # type: ignore[attr-defined]


def sign_in(page: Page, url: str, email: str, password: str) -> None:
    page.goto(f"{url}/admin")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Dashboard").wait_for()
