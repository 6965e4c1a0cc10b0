"""Swagger UI served from the ``swagger-ui-bundle`` package, so /docs works offline.

The initialiser is a static script (no inline JavaScript), so the page runs
under the same strict Content-Security-Policy as every other HTML page.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

router = APIRouter(include_in_schema=False)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>backroom API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script></body></html>"""

_INIT = """window.ui = SwaggerUIBundle({
  url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true,
  persistAuthorization: false, tryItOutEnabled: true
});"""


@router.get("/docs")
async def docs() -> HTMLResponse:
    return HTMLResponse(_PAGE)


@router.get("/docs/init.js")
async def docs_init() -> Response:
    return Response(_INIT, media_type="text/javascript")


def install(app: FastAPI) -> None:
    app.router.routes.extend(router.routes)  # flat, like the API's (see main._include_api)
    app.mount("/docs/assets", StaticFiles(directory=Path(swagger_ui_path)), name="docs-assets")
