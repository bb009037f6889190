"""The operations page: figures read from the metrics, jobs, data checks, and its role gate."""

from __future__ import annotations

import csv
import html
import io
import math
import os
import re
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from supplytrack.core import metrics
from supplytrack.core.db import create_db_engine
from supplytrack.core.identity import Role, system_actor
from supplytrack.flows import jobs as _job_kinds  # noqa: F401 - registers the job kinds
from supplytrack.flows.checks import DATA_CHECK_JOB, start_checks
from supplytrack.integrity.checks import CHECKS
from supplytrack.jobs.models import Job, JobState
from supplytrack.jobs.service import JobService
from supplytrack.web.pages.operations import (
    cache_figures,
    pool_figures,
    query_figures,
    route_figures,
)
from tests.fixtures.auth import Caller, make_caller
from tests.fixtures.database import settings_for
from tests.fixtures.factories import Factory
from tests.web.conftest import csrf_of, sign_in


def _row(page: str, method: str, route: str) -> list[str]:
    """The cells of the requests table's row of a route, as text."""
    route_cell = re.escape(html.escape(route))
    found = re.search(
        rf"<tr>\s*<td>{method}</td>\s*<td><code>{route_cell}</code></td>(.*?)</tr>", page, re.S
    )
    assert found, f"no row for {method} {route}"
    return [
        re.sub(r"<[^>]+>", "", cell).strip()
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", found.group(1), re.S)
    ]


# ---- the figures, from a registry of our own (exact values) ----------------------------------


def _families(registry: CollectorRegistry) -> dict[str, Any]:
    return {family.name: family for family in registry.collect()}


def test_route_figures_count_rates_errors_and_the_p99_bucket() -> None:
    registry = CollectorRegistry()
    requests = Counter(
        "supplytrack_requests_total", "", ["method", "route", "status"], registry=registry
    )
    latency = Histogram(
        "supplytrack_request_duration_seconds",
        "",
        ["method", "route"],
        buckets=(0.005, 0.01, 0.025, 0.05, 0.1),
        registry=registry,
    )
    for _ in range(95):
        requests.labels("GET", "/a", "200").inc()
        latency.labels("GET", "/a").observe(0.004)
    for _ in range(3):
        requests.labels("GET", "/a", "404").inc()
        latency.labels("GET", "/a").observe(0.02)
    for _ in range(2):
        requests.labels("GET", "/a", "503").inc()
        latency.labels("GET", "/a").observe(0.07)
    requests.labels("POST", "/b", "201").inc()
    latency.labels("POST", "/b").observe(3.0)  # beyond the largest bucket
    earlier = (100.0, {("GET", "/a", "200"): 55.0, ("GET", "/a", "404"): 3.0})
    rows = route_figures(_families(registry), uptime=50.0, earlier=earlier, now=120.0)
    a, b = rows
    assert (a.method, a.route, a.requests, a.client_errors, a.server_errors) == (
        "GET",
        "/a",
        100,
        3,
        2,
    )
    assert a.per_second == 2.0  # 100 requests in 50 s
    assert a.per_second_recent == 2.1  # 42 more in the last 20 s
    assert a.p99_ms == 100.0  # the 99th of 100 lies in the 0.1 s bucket
    assert a.mean_ms == round((95 * 0.004 + 3 * 0.02 + 2 * 0.07) / 100 * 1000, 1)
    assert (b.route, b.requests, b.per_second_recent) == ("/b", 1, 1 / 20)
    assert b.p99_ms is not None
    assert math.isinf(b.p99_ms)
    none_yet = route_figures(_families(registry), uptime=50.0, earlier=None, now=120.0)
    assert none_yet[0].per_second_recent is None


def test_bucket_bound_is_the_bucket_holding_the_quantile() -> None:
    buckets = [(0.005, 90.0), (0.01, 99.0), (0.025, 100.0), (math.inf, 100.0)]
    assert metrics.bucket_bound(buckets, 0.99) == 0.01
    assert metrics.bucket_bound(buckets, 0.5) == 0.005
    assert metrics.bucket_bound(buckets, 1.0) == 0.025
    assert metrics.bucket_bound([(0.005, 0.0), (math.inf, 5.0)], 0.99) == math.inf
    assert metrics.bucket_bound([(0.005, 0.0), (math.inf, 0.0)], 0.99) is None
    assert metrics.bucket_bound([], 0.99) is None


def test_the_sampler_answers_the_newest_sample_a_minute_old() -> None:
    sampler = metrics.RequestSampler(keep=4)
    assert sampler.since(10.0) is None
    for at in (0.0, 30.0, 61.0, 90.0, 100.0):
        sampler.note(at, {("GET", "/", "200"): at})
    # keep=4 dropped the sample of 0 s; at 125 s the newest at least 60 s old is the 61 s one.
    assert sampler.since(125.0, 60.0) == (61.0, {("GET", "/", "200"): 61.0})
    assert sampler.since(70.0, 60.0) == (30.0, {("GET", "/", "200"): 30.0})  # the oldest


def test_pool_query_and_cache_figures() -> None:
    registry = CollectorRegistry()
    size = Gauge("supplytrack_db_pool_size", "", ["pool"], registry=registry)
    used = Gauge("supplytrack_db_pool_checked_out", "", ["pool"], registry=registry)
    overflow = Gauge("supplytrack_db_pool_overflow", "", ["pool"], registry=registry)
    wait = Histogram(
        "supplytrack_db_pool_wait_seconds", "", buckets=(0.001, 0.01, 0.1), registry=registry
    )
    queries = Histogram(
        "supplytrack_db_query_duration_seconds", "", buckets=(0.001, 0.01), registry=registry
    )
    slow = Counter("supplytrack_db_slow_queries_total", "", registry=registry)
    lookups = Counter(
        "supplytrack_cache_lookups_total", "", ["namespace", "result"], registry=registry
    )
    size.labels("primary").set(10)
    used.labels("primary").set(3)
    overflow.labels("primary").set(1)
    size.labels("replica").set(5)
    for seconds in (0.0005, 0.0005, 0.05, 0.0005):
        wait.observe(seconds)
    for _ in range(9):
        queries.observe(0.0005)
    queries.observe(0.5)
    slow.inc(2)
    lookups.labels("tokens", "hit").inc(3)
    lookups.labels("tokens", "miss").inc(1)
    lookups.labels("reports", "bypass").inc(2)
    found = _families(registry)
    pool = pool_figures(found)
    assert pool["pools"] == [
        {"pool": "primary", "size": 10, "checked_out": 3, "overflow": 1},
        {"pool": "replica", "size": 5, "checked_out": 0, "overflow": 0},
    ]
    assert pool["wait"] == {"checkouts": 4, "mean_ms": 12.88, "p99_ms": 100.0}
    figures = query_figures(found)
    assert figures["statements"] == 10
    assert figures["slow"] == 2
    assert figures["p99_ms"] is not None
    assert math.isinf(figures["p99_ms"])
    assert cache_figures(found) == [
        {
            "namespace": "reports",
            "hits": 0,
            "misses": 0,
            "bypassed": 2,
            "lookups": 2,
            "hit_ratio": 0.0,
        },
        {
            "namespace": "tokens",
            "hits": 3,
            "misses": 1,
            "bypassed": 0,
            "lookups": 4,
            "hit_ratio": 75.0,
        },
    ]


def test_a_slow_statement_is_kept_without_its_parameters(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'slow.db'}"
    engine = create_db_engine(url, settings_for(url, slow_query_ms=1))
    burn = (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000)"
        " SELECT count(*) FROM c WHERE x <> :secret"
    )
    try:
        with engine.connect() as connection:
            connection.execute(text(burn), {"secret": 987654321}).scalar()
    finally:
        engine.dispose()
    kept = metrics.recent_slow_statements()[0]
    assert kept.statement.startswith("WITH RECURSIVE c(x)")
    assert "987654321" not in kept.statement
    assert kept.duration_ms >= 1
    assert len(kept.statement) <= metrics.SLOW_STATEMENT_CHARS


# ---- the page ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.MANAGER, Role.VIEWER, Role.SUPPLIER])
def test_only_admins_open_the_operations_page(
    client: TestClient, session: Session, factory: Factory, role: Role
) -> None:
    supplier = factory.supplier() if role is Role.SUPPLIER else None
    sign_in(client, make_caller(session, role, supplier.id if supplier else None))
    page = client.get("/operations")
    assert page.status_code == 403
    assert "Not allowed" in page.text
    assert client.get("/operations?format=csv").status_code == 403
    job = start_checks(session, system_actor("test"), "TEST")
    assert client.get(f"/operations/data-checks/{job.id}/progress").status_code == 403
    jobs = session.scalar(select(func.count()).select_from(Job))
    answer = client.post("/operations/data-checks", data={"csrf": "whatever"})
    assert answer.status_code == 403
    assert session.scalar(select(func.count()).select_from(Job)) == jobs


def test_the_page_shows_the_request_figures_after_requests(
    signed_in: Callable[[Caller], TestClient], admin: Caller
) -> None:
    client = signed_in(admin)
    for _ in range(3):
        assert client.get("/api/projects", headers=admin.headers).status_code == 200
    assert client.get("/api/projects/999999", headers=admin.headers).status_code == 404
    counts = metrics.request_counts()
    listed = int(sum(v for (m, r, _s), v in counts.items() if (m, r) == ("GET", "/api/projects")))
    missing = int(counts[("GET", "/api/projects/{project_id}", "404")])
    assert listed >= 3
    page = client.get("/operations")
    assert page.status_code == 200
    cells = _row(page.text, "GET", "/api/projects")
    assert cells[0] == str(listed)
    one = _row(page.text, "GET", "/api/projects/{project_id}")
    four_xx = int(
        sum(
            v
            for (m, r, s), v in counts.items()
            if (m, r) == ("GET", "/api/projects/{project_id}") and s.startswith("4")
        )
    )
    assert int(one[3]) == four_xx >= missing >= 1
    assert one[5].startswith("at most ")  # p99, from the buckets
    assert "Requests per second" in page.text
    assert 'role="img"' in page.text  # the charts
    assert "bucket bound" in page.text
    for heading in ("Requests per route", "Database", "Jobs", "Cache", "Data checks"):
        assert f">{heading}</h2>" in page.text


def test_cache_and_fallback_figures_are_shown(
    signed_in: Callable[[Caller], TestClient], admin: Caller
) -> None:
    client = signed_in(admin)
    for result in ("hit", "hit", "hit", "miss"):
        metrics.cache_lookup("ops-page-test", result)
    metrics.redis_fallback("ops-page-test")
    page = client.get("/operations")
    found = re.search(r"<td>ops-page-test</td>(.*?)</tr>", page.text, re.S)
    assert found
    cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", found.group(1))]
    assert cells == ["3", "1", "0", "75.0%"]
    assert "ops-page-test 1" in page.text


def test_slow_statements_and_their_count_are_shown(
    signed_in: Callable[[Caller], TestClient], admin: Caller
) -> None:
    client = signed_in(admin)
    metrics.slow_statement("SELECT <b>slow</b> FROM somewhere " + "x" * 400, 321.04)
    page = client.get("/operations")
    assert "SELECT &lt;b&gt;slow&lt;/b&gt; FROM somewhere" in page.text  # escaped
    assert "321.0 ms" in page.text
    assert "x" * 301 not in page.text
    slow = int(metrics.SLOW_QUERIES._value.get())
    assert f'<div class="big">{slow}</div>slow statements' in page.text


def test_jobs_are_counted_by_state_and_listed(
    signed_in: Callable[[Caller], TestClient], admin: Caller, session: Session
) -> None:
    client = signed_in(admin)
    service = JobService(session, system_actor("test"))
    made = [service.create("bulk-dates", 40, {}) for _ in range(3)]
    made[0].state, made[0].processed = JobState.RUNNING, 10
    made[1].state, made[1].processed = JobState.SUCCEEDED, 40
    session.flush()
    page = client.get("/operations")
    table = page.text.split('aria-label="Jobs by state"')[1].split("</table>")[0]
    assert '<tr><td>QUEUED</td><td class="num">1</td></tr>' in table
    assert '<tr><td>RUNNING</td><td class="num">1</td></tr>' in table
    assert '<tr><td>SUCCEEDED</td><td class="num">1</td></tr>' in table
    assert '<tr><td>FAILED</td><td class="num">0</td></tr>' in table
    recent = page.text.split('aria-labelledby="recent-jobs"')[1].split("</table>")[0]
    ids = [int(i) for i in re.findall(r"<tr>\s*<td>(\d+)</td>", recent)]
    assert ids == sorted((job.id for job in made), reverse=True)
    assert '<td class="num">10 of 40</td>' in recent


def test_the_data_checks_run_from_the_page_and_show_their_results(
    tuned: Callable[..., TestClient], admin: Caller, session: Session
) -> None:
    client = sign_in(tuned(queue_inline=True), admin)
    page = client.get("/operations")
    assert "No run of the data checks has finished yet." in page.text
    without = client.post("/operations/data-checks", data={"csrf": "not-the-secret"})
    assert without.status_code == 403
    assert session.scalar(select(func.count()).select_from(Job)) == 0
    answer = client.post(
        "/operations/data-checks", data={"csrf": csrf_of(page.text)}, follow_redirects=False
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/operations?notice=checks#data-checks"
    job = session.scalars(select(Job).where(Job.kind == DATA_CHECK_JOB)).one()
    session.refresh(job)
    assert job.state == JobState.SUCCEEDED
    assert job.payload["source"] == "WEB"
    done = client.get("/operations")
    assert f"Latest run: job {job.id} (WEB), SUCCEEDED" in done.text
    for check in CHECKS:
        assert f"<code>{check.name}</code>" in done.text
    assert "every consistency check holds" in done.text


def test_a_run_under_way_is_followed(
    signed_in: Callable[[Caller], TestClient], admin: Caller, session: Session
) -> None:
    client = signed_in(admin)
    job = start_checks(session, system_actor("test"), "TEST")  # no queue: nobody runs it
    session.flush()
    page = client.get("/operations")
    assert f"Run {job.id} under way" in page.text
    assert f'data-progress-url="/operations/data-checks/{job.id}/progress"' in page.text
    progress = client.get(f"/operations/data-checks/{job.id}/progress")
    assert progress.json() == {"processed": 0, "total": len(CHECKS), "state": "QUEUED"}
    other = JobService(session, system_actor("test")).create("bulk-dates", 1, {})
    session.flush()
    assert client.get(f"/operations/data-checks/{other.id}/progress").status_code == 404


def test_the_request_figures_export_as_csv_and_xlsx(
    signed_in: Callable[[Caller], TestClient], admin: Caller
) -> None:
    client = signed_in(admin)
    client.get("/api/projects", headers=admin.headers)
    exported = client.get("/operations?format=csv")
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    routes = {(row["method"], row["route"]) for row in rows}
    assert ("GET", "/api/projects") in routes
    listed = next(row for row in rows if (row["method"], row["route"]) == ("GET", "/api/projects"))
    assert int(listed["requests"]) >= 1
    book = openpyxl.load_workbook(io.BytesIO(client.get("/operations?format=xlsx").content))
    sheet = list(book.active.iter_rows(values_only=True))
    assert list(sheet[0][:3]) == ["method", "route", "requests"]
    assert ("GET", "/api/projects") in {(row[0], row[1]) for row in sheet[1:]}


def test_with_several_workers_the_figures_are_the_merged_ones(tmp_path: Any) -> None:
    """Two processes count into PROMETHEUS_MULTIPROC_DIR; a third reads the sum of both."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    count = (
        "from supplytrack.core import metrics\n"
        "for _ in range({n}): metrics.observe('GET', '/merged', 200, 0.003)\n"
        "metrics.observe('GET', '/merged', 503, 0.2)\n"
    )
    for n in (2, 5):
        subprocess.run([sys.executable, "-c", count.format(n=n)], env=env, check=True)
    read = (
        "from supplytrack.core import metrics\n"
        "from supplytrack.web.pages.operations import route_figures\n"
        "row = route_figures(metrics.families(), uptime=1.0, earlier=None, now=0.0)[0]\n"
        "print(row.route, row.requests, row.server_errors, row.p99_ms)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", read], env=env, check=True, capture_output=True, text=True
    )
    assert done.stdout.split() == ["/merged", "9", "2", "250.0"]
