"""Query-parameter types shared by the staff endpoints (exports, reports)."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from fastapi import Query
from pydantic import BeforeValidator

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _day(value: Any) -> Any:
    # Pydantic would also read "2026-11-26T00:00:00" or a Unix time as a date.
    if not isinstance(value, str) or not _DAY.match(value):
        raise ValueError("must be a date, YYYY-MM-DD")
    return value


Day = Annotated[date, BeforeValidator(_day)]
FromQuery = Annotated[Day | None, Query(alias="from", description="First day (UTC), inclusive.")]
ToQuery = Annotated[Day | None, Query(alias="to", description="Last day (UTC), inclusive.")]
