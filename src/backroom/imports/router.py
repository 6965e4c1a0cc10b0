from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.responses import Response

from backroom.auth.deps import StaffUser
from backroom.context import AppContext, get_context
from backroom.http import json_response
from backroom.imports import service
from backroom.imports.schemas import ImportRead
from backroom.openapi import problems
from backroom.routing import make_router
from backroom.schema import parse_id

router = make_router(prefix="/imports", tags=["imports"])
Ctx = Annotated[AppContext, Depends(get_context)]

_FILE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            # Any bytes are a file to import; what they must hold is checked per row.
            "text/csv": {},
            "application/x-ndjson": {},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "additionalProperties": False,
                }
            },
        },
    }
}


@router.post(
    "/products",
    status_code=202,
    response_model=ImportRead,
    responses=problems(401, 403, 413, 415, 422),
    openapi_extra=_FILE_BODY,
)
async def import_products(request: Request, ctx: Ctx, staff: StaffUser) -> Response:
    """Upload a CSV or NDJSON file of products; it is imported in the background.
    Poll the ``Location`` for progress, counts and the bad rows."""
    job = await service.start(request, ctx.jobs, staff.id)
    body = await service.read(ctx.jobs, job.id)
    location = f"/api/v1/imports/{job.id}"
    return json_response(request, body, status=202, headers={"Location": location})


@router.get("/{import_id}", response_model=ImportRead, responses=problems(401, 403, 404))
async def read_import(import_id: str, request: Request, ctx: Ctx, _staff: StaffUser) -> Response:
    body = await service.read(ctx.jobs, parse_id(import_id, "import"))
    return json_response(request, body)


@router.post("/{import_id}/cancel", response_model=ImportRead, responses=problems(401, 403, 404))
async def cancel_import(import_id: str, request: Request, ctx: Ctx, _staff: StaffUser) -> Response:
    """Stop a queued or running import: the batch in progress rolls back, the
    batches already committed stay, and the job fails with reason ``cancelled``."""
    body = await service.cancel(ctx.jobs, parse_id(import_id, "import"))
    return json_response(request, body)
