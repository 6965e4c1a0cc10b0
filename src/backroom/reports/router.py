"""Staff reports: JSON by default, the same rows as CSV with ``Accept: text/csv``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import Query, Request
from pydantic import BaseModel
from starlette.responses import Response

from backroom.auth.deps import StaffUser
from backroom.context import AppContext
from backroom.http import json_response
from backroom.openapi import problems
from backroom.params import FromQuery, ToQuery
from backroom.reports import periods, service
from backroom.reports.schemas import (
    CustomerRow,
    CustomersReport,
    Granularity,
    InventoryReport,
    LowStockRow,
    ProductRow,
    RankBy,
    SalesReport,
    SalesRow,
    TopProductsReport,
)
from backroom.routing import make_router

router = make_router(prefix="/reports", tags=["reports"], responses=problems(401, 403))

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
LimitQuery = Annotated[int, Query(ge=1, le=100, description="Rows, 1-100.")]
GranularityQuery = Annotated[Granularity, Query(description="ISO weeks start on Monday.")]
RankQuery = Annotated[RankBy, Query(description="What ranks the products.")]
ThresholdQuery = Annotated[
    int, Query(ge=0, le=2_147_483_647, description="Stock at or below this is low.")
]


def _csv_too(description: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "description": description,
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    }


def _wants_csv(request: Request) -> bool:
    """CSV when the Accept header names text/csv before (or without) a JSON type."""
    for part in request.headers.get("accept", "").split(","):
        media = part.split(";", 1)[0].strip().lower()
        if media == "text/csv":
            return True
        if media in ("application/json", "application/*", "*/*"):
            return False
    return False


def _answer(
    request: Request, report: BaseModel, row: type[BaseModel], rows: Sequence[BaseModel]
) -> Response:
    if _wants_csv(request):
        body = service.csv_bytes(row, rows)
        return Response(body, media_type=CSV_MEDIA_TYPE, headers={"Cache-Control": "no-store"})
    return json_response(request, report)


def _ctx(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


def _today() -> date:
    return datetime.now(UTC).date()


@router.get("/sales", response_model=SalesReport, responses=_csv_too("Sales per period."))
async def sales_report(
    request: Request, _staff: StaffUser, first_day: FromQuery = None, last_day: ToQuery = None,
    granularity: GranularityQuery = Granularity.DAY,
) -> Response:  # fmt: skip
    ctx = _ctx(request)
    within = periods.window(first_day, last_day, today=_today())
    report = await service.sales(
        ctx.read_engine, within=within, granularity=granularity, currency=ctx.settings.currency
    )
    return _answer(request, report, SalesRow, report.rows)


@router.get("/top-products", response_model=TopProductsReport, responses=_csv_too("Best sellers."))
async def top_products_report(
    request: Request, _staff: StaffUser, first_day: FromQuery = None, last_day: ToQuery = None,
    limit: LimitQuery = 10, by: RankQuery = RankBy.REVENUE,
) -> Response:  # fmt: skip
    within = periods.window(first_day, last_day, today=_today())
    rows = await service.top_products(_ctx(request).read_engine, within=within, limit=limit, by=by)
    return _answer(request, TopProductsReport(rows=rows), ProductRow, rows)


@router.get("/inventory", response_model=InventoryReport, responses=_csv_too("Stock on hand."))
async def inventory_report(
    request: Request, _staff: StaffUser, low_stock_threshold: ThresholdQuery = 5
) -> Response:
    engine = _ctx(request).read_engine
    report = await service.inventory(engine, low_stock_threshold=low_stock_threshold)
    return _answer(request, report, LowStockRow, report.low_stock)


@router.get("/customers", response_model=CustomersReport, responses=_csv_too("Top customers."))
async def customers_report(
    request: Request, _staff: StaffUser, first_day: FromQuery = None, last_day: ToQuery = None,
    limit: LimitQuery = 10,
) -> Response:  # fmt: skip
    within = periods.window(first_day, last_day, today=_today())
    rows = await service.customers(_ctx(request).read_engine, within=within, limit=limit)
    return _answer(request, CustomersReport(rows=rows), CustomerRow, rows)
