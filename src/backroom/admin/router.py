"""``GET /admin``: the admin web app, served as static files.

The app is plain ES modules (no build step, no CDN): the page and its assets
come from ``static/`` in this package, and everything it shows comes from
``/api/v1`` with the signed-in user's own bearer token. The page gets a
stricter Content-Security-Policy than the other HTML pages: no inline styles
either, and Trusted Types, so the browser itself refuses any HTML string
handed to ``innerHTML`` and friends (the app builds every node with
``createElement``/``textContent``).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC = Path(__file__).parent / "static"

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'; object-src 'none'; "
    "require-trusted-types-for 'script'; trusted-types 'none'"
)
# Revalidate every time (cheap: ETag / Last-Modified), so an upgrade is seen at once.
_HEADERS = {"Content-Security-Policy": CSP, "Cache-Control": "no-cache"}

router = APIRouter(include_in_schema=False)


@router.get("/admin")
async def admin_page() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html", headers=_HEADERS)


class _Assets(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(_HEADERS)
        return response


def install(app: FastAPI) -> None:
    app.router.routes.extend(router.routes)  # flat, like the API's (see main._include_api)
    app.mount("/admin/assets", _Assets(directory=STATIC), name="admin-assets")
