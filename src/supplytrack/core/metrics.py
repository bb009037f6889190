"""Prometheus metrics (multi-process aware when PROMETHEUS_MULTIPROC_DIR is set)."""

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
from prometheus_client.registry import Collector

REQUESTS = Counter(
    "supplytrack_requests_total", "HTTP requests served", ["method", "route", "status"]
)
LATENCY = Histogram(
    "supplytrack_request_duration_seconds",
    "HTTP request duration",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
IN_FLIGHT = Gauge(
    "supplytrack_requests_in_flight",
    "HTTP requests being served now",
    multiprocess_mode="livesum",
)

DB_POOL_SIZE = Gauge(
    "supplytrack_db_pool_size",
    "Connections each process's pool keeps (summed over the processes), by pool",
    ["pool"],
    multiprocess_mode="livesum",
)
DB_POOL_CHECKED_OUT = Gauge(
    "supplytrack_db_pool_checked_out",
    "Pooled connections in use now, by pool",
    ["pool"],
    multiprocess_mode="livesum",
)
DB_POOL_OVERFLOW = Gauge(
    "supplytrack_db_pool_overflow",
    "Connections open beyond the pool size now, by pool",
    ["pool"],
    multiprocess_mode="livesum",
)
DB_POOL_WAIT = Histogram(
    "supplytrack_db_pool_wait_seconds",
    "Time spent waiting for a pooled connection",
    buckets=(0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0),
)
QUERY_DURATION = Histogram(
    "supplytrack_db_query_duration_seconds",
    "Duration of each SQL statement",
    buckets=(0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
SLOW_QUERIES = Counter("supplytrack_db_slow_queries_total", "Statements slower than SLOW_QUERY_MS")
RATE_LIMITED = Counter(
    "supplytrack_rate_limited_total", "Requests refused with 429, by rule", ["rule"]
)
JOB_ROWS = Counter(
    "supplytrack_job_rows_total",
    "Rows processed by committed job chunks, by job kind (rate(): rows/s)",
    ["kind"],
)

REDIS_FALLBACKS = Counter(
    "supplytrack_redis_fallbacks_total",
    "Calls done without Redis (it failed, or it failed moments ago), by use",
    ["use"],
)


CACHE_LOOKUPS = Counter(
    "supplytrack_cache_lookups_total",
    "Cached reads by namespace and result (hit, miss, or bypass while the board is unreachable)",
    ["namespace", "result"],
)
CACHE_INVALIDATIONS = Counter(
    "supplytrack_cache_invalidations_total",
    "Generation bumps after committed writes, by table ('*': everything)",
    ["table"],
)


def cache_lookup(namespace: str, result: str) -> None:
    """Count one cached read."""
    CACHE_LOOKUPS.labels(namespace, result).inc()


def cache_invalidation(table: str) -> None:
    """Count one invalidation of a table's cached reads."""
    CACHE_INVALIDATIONS.labels(table).inc()


def redis_fallback(use: str) -> None:
    """Count one call done without Redis."""
    REDIS_FALLBACKS.labels(use).inc()


def observe(method: str, route: str, status: int, seconds: float) -> None:
    """Record one served request."""
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)


def render(*extra: Collector) -> tuple[bytes, str]:
    """The exposition text of every metric, merged across workers when there are several.

    ``extra`` collectors (read at this scrape, such as the jobs table's counts) are added.
    """
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        text = generate_latest(registry)
    else:
        text = generate_latest()
    if extra:
        scraped = CollectorRegistry(auto_describe=False)
        for collector in extra:
            scraped.register(collector)
        text += generate_latest(scraped)
    return text, CONTENT_TYPE_LATEST
