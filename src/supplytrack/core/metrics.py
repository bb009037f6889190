"""Prometheus metrics (multi-process aware when PROMETHEUS_MULTIPROC_DIR is set)."""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections import deque
from dataclasses import dataclass

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.metrics_core import Metric
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


# ---- Reading the figures back (the operations page) ------------------------------------------

# When this process began counting; "since start" rates divide by the time since.
PROCESS_STARTED = time.time()
SLOW_KEPT = 20
SLOW_STATEMENT_CHARS = 300


@dataclass(frozen=True, slots=True)
class SlowStatement:
    """A statement slower than SLOW_QUERY_MS, as this process saw it (never its parameters)."""

    at: float  # time.time() when it ended
    duration_ms: float
    statement: str


# The newest slow statements of this process (each worker keeps its own; /metrics counts all).
_SLOW: deque[SlowStatement] = deque(maxlen=SLOW_KEPT)
_SLOW_LOCK = threading.Lock()


def slow_statement(statement: str, duration_ms: float) -> None:
    """Keep a slow statement's text (cut to SLOW_STATEMENT_CHARS) for the operations page."""
    kept = SlowStatement(time.time(), round(duration_ms, 1), statement[:SLOW_STATEMENT_CHARS])
    with _SLOW_LOCK:
        _SLOW.append(kept)


def recent_slow_statements() -> list[SlowStatement]:
    """This process's newest slow statements, newest first."""
    with _SLOW_LOCK:
        return list(reversed(_SLOW))


def families() -> dict[str, Metric]:
    """Every metric family by name, merged across workers the way render() merges them."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        found = registry.collect()
    else:
        found = REGISTRY.collect()
    return {family.name: family for family in found}


def request_counts(found: dict[str, Metric] | None = None) -> dict[tuple[str, str, str], float]:
    """Requests served so far by (method, route, status), merged across workers."""
    family = (found if found is not None else families()).get("supplytrack_requests")
    if family is None:
        return {}
    return {
        (s.labels["method"], s.labels["route"], s.labels["status"]): s.value
        for s in family.samples
        if s.name.endswith("_total")
    }


class RequestSampler:
    """Request counts noted every few seconds in this process, for rates over the last minute.

    Counters only say how many since the start; the difference between now and a sample
    taken about a minute ago is the last minute's. Started on first use (a daemon thread),
    it keeps ``keep`` samples taken ``every`` seconds apart.
    """

    def __init__(self, every: float = 5.0, keep: int = 30) -> None:
        self.every = every
        self.samples: deque[tuple[float, dict[tuple[str, str, str], float]]] = deque(maxlen=keep)
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def note(self, at: float, counts: dict[tuple[str, str, str], float]) -> None:
        """Keep one sample (time.monotonic(), counts)."""
        with self.lock:
            self.samples.append((at, counts))

    def since(
        self, now: float, seconds: float = 60.0
    ) -> tuple[float, dict[tuple[str, str, str], float]] | None:
        """The newest sample at least ``seconds`` old, else the oldest one (None: none yet)."""
        with self.lock:
            kept = list(self.samples)
        old_enough = [sample for sample in kept if now - sample[0] >= seconds]
        if old_enough:
            return old_enough[-1]
        return kept[0] if kept else None

    def start(self) -> None:
        """Begin sampling in the background (once per process)."""
        with self.lock:
            if self.thread is not None and self.thread.is_alive():
                return
            self.thread = threading.Thread(
                target=self._run, name="supplytrack-request-sampler", daemon=True
            )
            self.thread.start()

    def _run(self) -> None:
        while True:
            try:
                self.note(time.monotonic(), request_counts())
            except Exception:  # a half-written metrics file: the next sample reads it
                logging.getLogger("supplytrack.metrics").debug("request sample failed")
            time.sleep(self.every)


REQUEST_SAMPLER = RequestSampler()


def bucket_bound(buckets: list[tuple[float, float]], quantile: float) -> float | None:
    """The upper bound of the bucket holding the quantile (cumulative (le, count) pairs).

    That bound is all a histogram can say: the quantile is at most this. ``inf`` when it
    lies beyond the largest bound, None when nothing was observed.
    """
    ordered = sorted(buckets)
    total = ordered[-1][1] if ordered else 0
    if total <= 0:
        return None
    rank = quantile * total
    for bound, count in ordered:
        if count >= rank:
            return bound
    return math.inf
