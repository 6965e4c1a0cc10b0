"""Liveness, readiness and metrics (no /api/v1 prefix, no auth, not rate limited)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from starlette.responses import Response

from backroom.context import AppContext, get_context
from backroom.errors import problem_body
from backroom.ops import metrics
from backroom.ops.readiness import check

router = APIRouter(tags=["operations"])
Ctx = Annotated[AppContext, Depends(get_context)]


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    checks: dict[str, str]


@router.get("/healthz", response_model=Health)
async def healthz() -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"description": "A dependency is unreachable or migrations are behind."}},
)
async def readyz(ctx: Ctx) -> Response:
    checks = await asyncio.wait_for(check(ctx), timeout=2.0)
    ready = all(v == "ok" for v in checks.values())
    body = Readiness(status="ok" if ready else "unavailable", checks=checks)
    if ready:
        return Response(body.model_dump_json(), media_type="application/json")
    detail = ", ".join(f"{k}: {v}" for k, v in checks.items() if v != "ok")
    payload = problem_body(
        503, "Service Unavailable", detail, "not_ready", extra={"checks": checks}
    )
    return Response(
        payload,
        503,
        headers={"Retry-After": "5", "Cache-Control": "no-store"},
        media_type="application/problem+json",
    )


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def metrics_endpoint(ctx: Ctx) -> Response:
    pool = ctx.engine.pool
    in_use = getattr(pool, "checkedout", lambda: 0)()
    size = getattr(pool, "size", lambda: 0)()
    metrics.set_pool(in_use, size)
    metrics.JOB_QUEUE_DEPTH.set(await _queued_jobs(ctx))
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)


async def _queued_jobs(ctx: AppContext) -> int:
    """Jobs committed but not yet started (the job table is the queue's truth);
    -1 when the database can't be asked, so a scrape still succeeds."""
    from backroom.jobs.service import queued_count

    try:
        async with asyncio.timeout(1.0), ctx.sessionmaker() as session:
            return await queued_count(session)
    except Exception:
        return -1
