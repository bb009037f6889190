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


def render() -> tuple[bytes, str]:
    """The exposition text of every metric, merged across workers when there are several."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
