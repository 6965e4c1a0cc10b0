"""HTTP responses for catalog representations: ETag, Last-Modified, Cache-Control, 304."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from backroom.catalog.cache import CachedProduct
from backroom.http import JSON, not_modified

# Anyone may store a public catalog response, but must revalidate (cheap: ETag)
# before reusing it, so a client never shows a price that has changed.
PUBLIC = "public, no-cache"
PRIVATE = "private, no-cache"


def cache_control(request: Request) -> str:
    return PRIVATE if "authorization" in request.headers else PUBLIC


def representation(
    request: Request,
    body: bytes,
    etag: str,
    last_modified: str | None,
    *,
    status: int = 200,
    location: str | None = None,
) -> Response:
    headers = {"ETag": etag, "Cache-Control": cache_control(request)}
    if last_modified:
        headers["Last-Modified"] = last_modified
    if location:
        headers["Location"] = location
    if status == 200 and request.method in ("GET", "HEAD") and not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, status, headers=headers, media_type=JSON)


def product_response(
    request: Request, entry: CachedProduct, *, status: int = 200, location: str | None = None
) -> Response:
    return representation(
        request, entry.body, entry.etag, entry.last_modified, status=status, location=location
    )
