"""Streamed bulk exports (products as CSV or NDJSON, orders as CSV), over HTTP and the CLI."""

from __future__ import annotations

import enum


class Format(enum.StrEnum):
    """A product export's encoding. Here rather than in ``service`` so the CLI can name
    the choices without importing SQLAlchemy and the models at start-up."""

    CSV = "csv"
    NDJSON = "ndjson"
