"""Staff downloads: products as CSV or NDJSON, orders as CSV, streamed."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from fastapi import Request
from starlette.responses import Response, StreamingResponse

from backroom.auth.deps import StaffUser
from backroom.context import AppContext
from backroom.exports import Format, service
from backroom.exports.service import Chunk
from backroom.openapi import problems
from backroom.params import FromQuery, ToQuery
from backroom.routing import make_router

router = make_router(prefix="/exports", tags=["exports"], responses=problems(401, 403))

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
NDJSON_MEDIA_TYPE = "application/x-ndjson"


def _body(media_type: str, description: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {"description": description, "content": {media_type: {"schema": {"type": "string"}}}}
    }


async def _stream(chunks: AsyncGenerator[Chunk, None], media_type: str, filename: str) -> Response:
    """Read the first batch before answering, so a database failure there is still a
    problem response (503) rather than a 200 cut short; later failures end the stream
    without its final chunk, which clients see as a truncated download."""
    first = await anext(chunks, None)

    async def body() -> AsyncIterator[bytes]:
        try:
            if first is not None:
                yield first.data
            async for chunk in chunks:
                yield chunk.data
        finally:
            await chunks.aclose()  # a client that went away stops the reads at once

    headers = {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
    }
    return StreamingResponse(body(), media_type=media_type, headers=headers)


@router.get(
    "/products.csv",
    response_class=StreamingResponse,
    responses=_body("text/csv", "Every live product by SKU, the importer's CSV format."),
)
async def export_products_csv(request: Request, _staff: StaffUser) -> Response:
    ctx: AppContext = request.app.state.ctx
    chunks = service.products(ctx.read_engine, Format.CSV)
    return await _stream(chunks, CSV_MEDIA_TYPE, "products.csv")


@router.get(
    "/products.ndjson",
    response_class=StreamingResponse,
    responses=_body(NDJSON_MEDIA_TYPE, "Every live product by SKU, one JSON object a line."),
)
async def export_products_ndjson(request: Request, _staff: StaffUser) -> Response:
    ctx: AppContext = request.app.state.ctx
    chunks = service.products(ctx.read_engine, Format.NDJSON)
    return await _stream(chunks, NDJSON_MEDIA_TYPE, "products.ndjson")


@router.get(
    "/orders.csv",
    response_class=StreamingResponse,
    responses=_body("text/csv", "One line per order line, oldest order first."),
)
async def export_orders_csv(
    request: Request, _staff: StaffUser,
    first_day: FromQuery = None, last_day: ToQuery = None,
) -> Response:  # fmt: skip
    ctx: AppContext = request.app.state.ctx
    within = service.period(first_day, last_day)
    name = f"orders_{first_day or 'start'}_{last_day or 'end'}.csv"
    return await _stream(service.orders(ctx.read_engine, within), CSV_MEDIA_TYPE, name)
