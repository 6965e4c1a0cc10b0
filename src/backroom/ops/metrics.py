"""Prometheus metrics. With several worker processes (``PROMETHEUS_MULTIPROC_DIR``
set by ``backroom serve --workers N``) every process writes its own files and a
scrape of any worker aggregates them all, which is prometheus_client's own way."""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter("backroom_http_requests_total", "HTTP requests", ["route", "method", "status"])
LATENCY = Histogram(
    "backroom_http_request_duration_seconds",
    "HTTP request latency",
    ["route", "method"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
DB_POOL_IN_USE = Gauge(
    "backroom_db_pool_connections_in_use",
    "Database connections checked out",
    multiprocess_mode="livesum",
)
DB_POOL_SIZE = Gauge("backroom_db_pool_size", "Database pool size", multiprocess_mode="livesum")
EVENT_STREAMS = Gauge(
    "backroom_event_streams", "Open GET /events streams", multiprocess_mode="livesum"
)
JOB_QUEUE_DEPTH = Gauge("backroom_job_queue_depth", "Jobs waiting to run", multiprocess_mode="max")


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    REQUESTS.labels(route, method, str(status)).inc()
    LATENCY.labels(route, method).observe(seconds)


def set_pool(in_use: int, size: int) -> None:
    DB_POOL_IN_USE.set(in_use)
    DB_POOL_SIZE.set(size)


def render() -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
