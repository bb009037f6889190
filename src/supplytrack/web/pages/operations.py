"""Pages: the operations page for admins, built from what the service already measures.

Requests, latencies, the pool, slow queries and the cache come from the Prometheus metrics
(core/metrics.py), merged across the worker processes exactly as /metrics merges them; jobs
and data checks come from their services, like GET /api/jobs and /api/data-checks.
"""

from __future__ import annotations

import math
import os
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client.metrics_core import Metric

from supplytrack.api.deps import AppSettings, DbSession
from supplytrack.core import metrics
from supplytrack.core.openapi import PathId
from supplytrack.flows.checks import DATA_CHECK_JOB, latest_finished, run_view, start_checks
from supplytrack.integrity.schemas import DataCheckRun
from supplytrack.jobs.service import FINISHED, JobService
from supplytrack.jobs.worker import job_queue
from supplytrack.reports import exports
from supplytrack.reports.files import Column
from supplytrack.web.base import AdminViewer, PageRoute, Posted, redirect, render
from supplytrack.web.charts import bar_chart

router = APIRouter(route_class=PageRoute, include_in_schema=False)

RECENT_JOBS = 10
TOP_ROUTES = 10
# A recent rate over fewer seconds than this says more about chance than about load.
MIN_WINDOW_SECONDS = 10.0
NOTICES = {"checks": "The data checks are running as a job; this page shows them when done."}
Format = Annotated[Literal["csv", "xlsx"] | None, Query(description="csv or xlsx.")]


@dataclass(frozen=True, slots=True)
class RouteFigures:
    """One route's requests, errors, rates and latency."""

    method: str
    route: str
    requests: int
    client_errors: int
    server_errors: int
    per_second: float  # since this process started
    per_second_recent: float | None  # over the sampler's window (None: no sample yet)
    p99_ms: float | None  # bucket bound; inf beyond the largest bucket
    mean_ms: float | None


def _samples(found: dict[str, Metric], name: str) -> list[Any]:
    family = found.get(name)
    return list(family.samples) if family is not None else []


def _histograms(
    found: dict[str, Metric], name: str, keys: Sequence[str]
) -> dict[tuple[str, ...], dict[str, Any]]:
    """Per label values: cumulative buckets [(le, count)], count and sum of a histogram."""
    grouped: dict[tuple[str, ...], dict[str, Any]] = defaultdict(
        lambda: {"buckets": [], "count": 0.0, "sum": 0.0}
    )
    for sample in _samples(found, name):
        key = tuple(sample.labels.get(k, "") for k in keys)
        if sample.name.endswith("_bucket"):
            grouped[key]["buckets"].append((float(sample.labels["le"]), sample.value))
        elif sample.name.endswith("_count"):
            grouped[key]["count"] = sample.value
        elif sample.name.endswith("_sum"):
            grouped[key]["sum"] = sample.value
    for figures in grouped.values():
        if not figures["count"] and figures["buckets"]:  # multiprocess: count is the +Inf bucket
            figures["count"] = max(count for _, count in figures["buckets"])
    return dict(grouped)


def _ms(seconds: float | None) -> float | None:
    if seconds is None:
        return None
    return math.inf if math.isinf(seconds) else round(seconds * 1000, 1)


def route_figures(
    found: dict[str, Metric],
    *,
    uptime: float,
    earlier: tuple[float, dict[tuple[str, str, str], float]] | None,
    now: float,
) -> list[RouteFigures]:
    """Every route's figures, busiest first."""
    counts = metrics.request_counts(found)
    totals: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    for (method, route, status), value in counts.items():
        row = totals[(method, route)]
        row[0] += value
        if status.startswith("4"):
            row[1] += value
        elif status.startswith("5"):
            row[2] += value
    window = now - earlier[0] if earlier is not None else 0.0
    if earlier is not None and window >= MIN_WINDOW_SECONDS:
        for (method, route, _status), value in earlier[1].items():
            if (method, route) in totals:
                totals[(method, route)][3] += value
    latency = _histograms(found, "supplytrack_request_duration_seconds", ("method", "route"))
    rows = []
    for (method, route), (requests, client, server, before) in totals.items():
        timing = latency.get((method, route))
        count = timing["count"] if timing else 0
        rows.append(
            RouteFigures(
                method=method,
                route=route,
                requests=int(requests),
                client_errors=int(client),
                server_errors=int(server),
                per_second=requests / uptime if uptime > 0 else 0.0,
                per_second_recent=(requests - before) / window
                if window >= MIN_WINDOW_SECONDS
                else None,
                p99_ms=_ms(metrics.bucket_bound(timing["buckets"], 0.99)) if timing else None,
                mean_ms=round(timing["sum"] / count * 1000, 1) if timing and count else None,
            )
        )
    rows.sort(key=lambda r: (-r.requests, r.route, r.method))
    return rows


def _by_label(found: dict[str, Metric], name: str, label: str) -> dict[str, float]:
    values: dict[str, float] = defaultdict(float)
    for sample in _samples(found, name):
        if sample.name.endswith("_created"):
            continue
        values[sample.labels.get(label, "")] += sample.value
    return dict(values)


def _total(found: dict[str, Metric], name: str) -> float:
    return float(
        sum(s.value for s in _samples(found, name) if s.name.endswith("_total") or s.name == name)
    )


def pool_figures(found: dict[str, Metric]) -> dict[str, Any]:
    """The database pools (size, in use, overflow) and the wait for a connection."""
    size = _by_label(found, "supplytrack_db_pool_size", "pool")
    used = _by_label(found, "supplytrack_db_pool_checked_out", "pool")
    overflow = _by_label(found, "supplytrack_db_pool_overflow", "pool")
    pools = [
        {
            "pool": pool,
            "size": int(size.get(pool, 0)),
            "checked_out": int(used.get(pool, 0)),
            "overflow": int(overflow.get(pool, 0)),
        }
        for pool in sorted(set(size) | set(used) | set(overflow))
    ]
    wait = _histograms(found, "supplytrack_db_pool_wait_seconds", ()).get((), None)
    waits = None
    if wait is not None and wait["count"]:
        waits = {
            "checkouts": int(wait["count"]),
            "mean_ms": round(wait["sum"] / wait["count"] * 1000, 2),
            "p99_ms": _ms(metrics.bucket_bound(wait["buckets"], 0.99)),
        }
    return {"pools": pools, "wait": waits}


def query_figures(found: dict[str, Metric]) -> dict[str, Any]:
    """Statements run, their p99 bound, and how many were slow."""
    durations = _histograms(found, "supplytrack_db_query_duration_seconds", ()).get((), None)
    statements = int(durations["count"]) if durations else 0
    return {
        "statements": statements,
        "p99_ms": _ms(metrics.bucket_bound(durations["buckets"], 0.99)) if durations else None,
        "slow": int(_total(found, "supplytrack_db_slow_queries")),
    }


def cache_figures(found: dict[str, Metric]) -> list[dict[str, Any]]:
    """Cached reads per namespace: hits, misses, bypasses and the hit ratio."""
    lookups: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for sample in _samples(found, "supplytrack_cache_lookups"):
        if sample.name.endswith("_total"):
            lookups[sample.labels["namespace"]][sample.labels["result"]] += sample.value
    rows = []
    for namespace, results in sorted(lookups.items()):
        total = sum(results.values())
        rows.append(
            {
                "namespace": namespace,
                "hits": int(results.get("hit", 0)),
                "misses": int(results.get("miss", 0)),
                "bypassed": int(results.get("bypass", 0)),
                "lookups": int(total),
                "hit_ratio": round(100 * results.get("hit", 0) / total, 1) if total else None,
            }
        )
    return rows


def _labelled_counts(found: dict[str, Metric], name: str, label: str) -> list[tuple[str, int]]:
    return sorted(
        (key, int(value))
        for key, value in _by_label(found, name, label).items()
        if value  # counters with no label values yet have no samples
    )


ROUTE_COLUMNS = [
    Column("method", lambda r: r.method),
    Column("route", lambda r: r.route),
    Column("requests", lambda r: r.requests, "int"),
    Column("clientErrors4xx", lambda r: r.client_errors, "int"),
    Column("serverErrors5xx", lambda r: r.server_errors, "int"),
    Column("perSecondSinceStart", lambda r: round(r.per_second, 3), "float"),
    Column(
        "perSecondRecent",
        lambda r: round(r.per_second_recent, 3) if r.per_second_recent is not None else None,
        "float",
    ),
    Column(
        "p99AtMostMs",
        lambda r: None if r.p99_ms is None or math.isinf(r.p99_ms) else r.p99_ms,
        "float",
    ),
    Column("meanMs", lambda r: r.mean_ms, "float"),
]


def _moment(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value is not None else ""


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {secs} s"


@router.get("/operations")
def operations_page(
    request: Request,
    viewer: AdminViewer,
    session: DbSession,
    settings: AppSettings,
    format: Format = None,
    notice: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """Request rates, p99 per route, slow queries, pools, jobs, cache and data checks."""
    metrics.REQUEST_SAMPLER.start()
    found = metrics.families()
    now = time.monotonic()
    earlier = metrics.REQUEST_SAMPLER.since(now, 60.0)
    uptime = max(time.time() - metrics.PROCESS_STARTED, 1e-6)
    routes = route_figures(found, uptime=uptime, earlier=earlier, now=now)
    if format is not None:
        return exports.respond(format, ROUTE_COLUMNS, routes, "request-rates")
    window = now - earlier[0] if earlier is not None else 0.0
    jobs = JobService(session, viewer.actor)
    by_state = jobs.counts_by_state()
    checks = latest_finished(session, viewer.actor)
    newest = jobs.latest(DATA_CHECK_JOB)
    running = newest if newest is not None and newest.state not in FINISHED else None
    caches = cache_figures(found)
    busiest = sorted(routes, key=lambda r: r.per_second_recent or r.per_second, reverse=True)
    slowest = sorted(
        (r for r in routes if r.p99_ms is not None and not math.isinf(r.p99_ms)),
        key=lambda r: r.p99_ms or 0.0,
        reverse=True,
    )
    recent_rates = window >= MIN_WINDOW_SECONDS
    return render(
        request,
        "operations.html",
        viewer,
        notice=NOTICES.get(notice or ""),
        inf=math.inf,
        routes=routes,
        uptime=_duration(uptime),
        window=round(window),
        recent_rates=recent_rates,
        recent_label="last minute" if window >= 55 else f"last {round(window)} s",
        top=TOP_ROUTES,
        workers=bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR")),
        rate_chart=bar_chart(
            "Requests per second, last minute" if recent_rates else "Requests per second",
            [
                (
                    f"{r.method} {r.route}",
                    round((r.per_second_recent if recent_rates else r.per_second) or 0.0, 2),
                )
                for r in busiest[:TOP_ROUTES]
            ],
            unit="/s",
        ),
        p99_chart=bar_chart(
            "p99 per route, at most (bucket bound)",
            [(f"{r.method} {r.route}", r.p99_ms or 0.0) for r in slowest[:TOP_ROUTES]],
            unit="ms",
        ),
        pool=pool_figures(found),
        queries=query_figures(found),
        slow_ms=settings.slow_query_ms,
        slow_statements=[
            {"at": _when(s.at), "duration_ms": s.duration_ms, "statement": s.statement}
            for s in metrics.recent_slow_statements()
        ],
        slow_kept=metrics.SLOW_KEPT,
        statement_chars=metrics.SLOW_STATEMENT_CHARS,
        jobs_by_state=by_state,
        jobs_chart=bar_chart("Jobs by state", list(by_state.items())),
        recent_jobs=[
            {
                "id": job.id,
                "kind": job.kind,
                "state": job.state.value,
                "processed": job.processed,
                "total": job.total,
                "failed": job.failed,
                "created": _moment(job.created_at),
                "finished": _moment(job.finished_at),
            }
            for job in jobs.recent(RECENT_JOBS)
        ],
        job_rows=_labelled_counts(found, "supplytrack_job_rows", "kind"),
        caches=caches,
        cache_chart=bar_chart(
            "Cache hit ratio per namespace",
            [(c["namespace"], c["hit_ratio"]) for c in caches if c["hit_ratio"] is not None],
            unit="%",
        ),
        fallbacks=_labelled_counts(found, "supplytrack_redis_fallbacks", "use"),
        rate_limited=_labelled_counts(found, "supplytrack_rate_limited", "rule"),
        redis=bool(settings.redis_url),
        checks=DataCheckRun.model_validate(run_view(checks)) if checks is not None else None,
        running=running,
    )


@router.post("/operations/data-checks")
def run_data_checks(
    request: Request, viewer: AdminViewer, _fields: Posted, session: DbSession
) -> Response:
    """Run every data check now, as a job (as POST /api/data-checks does)."""
    start_checks(session, viewer.actor, "WEB", job_queue(request.app.state.database))
    return redirect(request, "/operations?notice=checks#data-checks")


@router.get("/operations/data-checks/{job_id}/progress")
def data_checks_progress(job_id: PathId, viewer: AdminViewer, session: DbSession) -> Response:
    """A data-check run's progress as JSON: checks done of all, and the job's state."""
    job = JobService(session, viewer.actor).get_of_kind(job_id, DATA_CHECK_JOB)
    return JSONResponse(
        {"processed": job.processed + job.failed, "total": job.total, "state": job.state.value},
        headers={"cache-control": "no-store"},
    )
