"""How /admin is served: one page and its assets, a strict CSP, nothing built at install time."""

from __future__ import annotations

import glob
import re
import tomllib
from pathlib import Path

import pytest
from httpx import AsyncClient

from backroom.admin.router import STATIC

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(STATIC.rglob("*.js"))
# Ways to turn a string into markup or code: the app never uses them (dom.js builds nodes).
_SINKS = re.compile(
    r"\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|"
    r"setAttribute\(\s*['\"]style|\.style\b|DOMParser|createContextualFragment"
)


async def test_the_page_has_a_strict_policy(client: AsyncClient) -> None:
    response = await client.get("/admin")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    for directive in (
        "default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'",
        "frame-ancestors 'none'", "require-trusted-types-for 'script'", "trusted-types 'none'",
        "object-src 'none'", "base-uri 'none'",
    ):  # fmt: skip
        assert directive in policy
    assert "unsafe" not in policy
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-cache"
    assert "etag" in response.headers


async def test_other_html_pages_keep_their_own_policy(client: AsyncClient) -> None:
    docs = await client.get("/docs")
    assert "trusted-types" not in docs.headers["content-security-policy"]
    assert "script-src 'self'" in docs.headers["content-security-policy"]


async def test_the_page_has_no_inline_script_or_style() -> None:
    page = (STATIC / "index.html").read_text()
    for tag in re.findall(r"<script[^>]*>", page):
        assert "src=" in tag
    assert "<style" not in page
    assert "style=" not in page
    assert not re.search(r"\son[a-z]+=", page)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(STATIC)))
def test_no_module_builds_markup_from_strings(path: Path) -> None:
    code = "\n".join(
        line for line in path.read_text().splitlines() if not line.lstrip().startswith("//")
    )
    assert not _SINKS.search(code)


async def test_assets_are_served_as_what_they_are(client: AsyncClient) -> None:
    script = await client.get("/admin/assets/js/app.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert script.headers["x-content-type-options"] == "nosniff"
    assert script.headers["cache-control"] == "no-cache"
    css = await client.get("/admin/assets/app.css")
    assert css.headers["content-type"].startswith("text/css")
    revalidated = await client.get(
        "/admin/assets/app.css", headers={"If-None-Match": css.headers["etag"]}
    )
    assert revalidated.status_code == 304


async def test_every_module_the_app_imports_is_served(client: AsyncClient) -> None:
    for path in SOURCES:
        for target in re.findall(r'from "(\.{1,2}/[^"]+)"', path.read_text()):
            resolved = (path.parent / target).resolve().relative_to(STATIC)
            response = await client.get(f"/admin/assets/{resolved.as_posix()}")
            assert response.status_code == 200, (path.name, target)


async def test_missing_assets_and_methods_are_problems(client: AsyncClient) -> None:
    missing = await client.get("/admin/assets/js/nope.js")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    escape = await client.get("/admin/assets/..%2f..%2fconfig.py")
    assert escape.status_code == 404
    assert (await client.head("/admin")).status_code == 200
    post = await client.post("/admin")
    assert post.status_code == 405
    assert "GET" in post.headers["allow"]


def test_the_wheel_carries_every_static_file() -> None:
    # setuptools expands package-data patterns with glob(recursive=True) from the package.
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["backroom"]
    package = STATIC.parents[1]
    shipped = {
        Path(name)
        for pattern in patterns
        for name in glob.glob(pattern, root_dir=package, recursive=True)
    }
    files = {p.relative_to(package) for p in STATIC.rglob("*") if p.is_file()}
    assert files <= shipped
    assert Path("admin/static/index.html") in files
