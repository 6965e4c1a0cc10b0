from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from backroom.schema import OutputModel


class ImportError_(OutputModel):
    row: int
    field: str | None
    message: str


class ImportRead(OutputModel):
    """An import job. ``rows_processed`` = created + updated + unchanged + failed;
    ``errors`` holds the first 1,000 bad rows, ``rows_failed`` counts them all."""

    id: uuid.UUID
    status: Literal["queued", "running", "succeeded", "failed"]
    format: Literal["csv", "ndjson"]
    rows_processed: int
    rows_created: int
    rows_updated: int
    rows_failed: int
    errors: list[ImportError_]
    failure_reason: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
