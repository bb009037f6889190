"""Issue "Reports": the two JSON reports and the full CSV export on the ``xl`` set (>1M instances).

The server (``supplytrack serve --workers 2``) answers GET /api/reports/supplier-performance
(every project, a window covering all the data) and GET /api/reports/project-status?projectId=
(the largest project), each timed over several requests; the floor replays the SQL each request
sends (captured in-process) through the bare driver. GET /api/reports/task-instances?format=csv
is downloaded whole: rows/s and the server workers' resident memory sampled during the download,
beside the floor: the same SELECT through a bare server-side cursor and the csv module.
The cache is off here (CACHE_ENABLED=false): these are the figures of computing the reports;
bench/cache.py measures a first call and its cached repeat.
"""

from __future__ import annotations

import argparse
import csv
import io
import time
from datetime import date
from typing import Any

from common import (
    Client,
    PeakRss,
    Row,
    Server,
    admin_token,
    load,
    parse_args,
    percentile,
    prepare,
    print_table,
    serve,
    wait_quiet,
)
from floor import Bare, InProcess, Op, connect, replay


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repeat", type=int, default=5, help="timed requests per report")


def timed_report(
    url: str, server: Server, token: str, path: str, repeat: int
) -> tuple[list[float], list[float], int]:
    """Milliseconds of ``repeat`` requests, of as many floor replays, and the statement count."""
    app = InProcess(url)
    with app.capture() as capture:
        status, body = app.call("GET", path, token)
    app.close()
    assert status == 200, body[:500]
    client = Client(server.port, token)
    client.call("GET", path)  # warm-up
    product = []
    for _ in range(repeat):
        status, body, seconds = client.call("GET", path)
        assert status == 200, body[:300]
        product.append(seconds * 1000)
    bare = Bare(url)
    replay(bare, capture.ops)  # warm-up
    floor = [replay(bare, capture.ops) * 1000 for _ in range(repeat)]
    bare.close()
    return product, floor, len(capture.statements())


def export_statement(url: str) -> Op:
    """The SELECT the instance export runs (recorded from the product's own generator)."""
    from supplytrack.core.identity import system_actor
    from supplytrack.reports.stream import instance_rows

    app = InProcess(url)
    session = app.database.read_session()
    with app.capture() as capture:
        rows = instance_rows(session, system_actor("bench"), None, None, date.today())
        next(rows)
    rows.close()  # type: ignore[attr-defined]  # a generator
    session.close()
    app.close()
    return next(op for op in capture.ops if op.statement.lstrip().startswith("SELECT"))


def csv_floor(url: str, select: Op) -> tuple[int, float]:
    """Rows and seconds of the export's SELECT through a server-side cursor into csv."""
    connection = connect(url)
    started = time.perf_counter()
    if url.startswith("sqlite"):
        cursor = connection.cursor()
    else:
        cursor = connection.cursor(name="bench_export")
        cursor.itersize = 5000
    cursor.execute(select.statement, select.params)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    rows = 0
    while batch := cursor.fetchmany(1000):
        writer.writerows(batch)
        rows += len(batch)
        buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    seconds = time.perf_counter() - started
    connection.close()
    return rows, seconds


def download(server: Server, token: str) -> tuple[int, float, dict[int, tuple[int, int]]]:
    """Rows and seconds of the whole CSV; each server process's RSS (KiB) before and at peak."""
    with PeakRss(server.process.pid) as memory:
        client = Client(server.port, token)
        started = time.perf_counter()
        client.connection.request(
            "GET", "/api/reports/task-instances?format=csv", headers=client.headers
        )
        response = client.connection.getresponse()
        assert response.status == 200, response.read()[:300]
        lines = 0
        while chunk := response.read(1 << 16):
            lines += chunk.count(b"\n")
        seconds = time.perf_counter() - started
    return lines - 1, seconds, {pid: (memory.before[pid], memory.peak[pid]) for pid in memory.pids}


def biggest_project(url: str) -> int:
    """The project with the most instances."""
    connection = connect(url)
    row = connection.execute(
        "SELECT project_id FROM task_instances GROUP BY project_id ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()
    connection.close()
    return int(row[0])


def main() -> None:
    args = parse_args(__doc__ or "", _options)
    url = prepare("reports", args.engine, "xl", reuse=args.reuse)
    token = admin_token(url)
    project = biggest_project(url)
    reports = {
        "supplier-performance, all projects": (
            f"/api/reports/supplier-performance?from=2020-01-01&to={date.today().isoformat()}"
        ),
        f"project-status, project {project}": f"/api/reports/project-status?projectId={project}",
    }
    select = export_statement(url)
    context: dict[str, Any] = {"engine": args.engine, "load before": wait_quiet(args.quiet_load)}
    rows: list[Row] = []
    counts = []
    with serve(url, CACHE_ENABLED="false") as server:
        for label, path in reports.items():
            product, floor, statements = timed_report(url, server, token, path, args.repeat)
            counts.append(f"{label}: {statements} statements")
            rows += [
                Row(
                    f"{label}, median",
                    "ms",
                    percentile(product, 50),
                    percentile(floor, 50),
                    "<= 1.2x floor, < 500 (PostgreSQL)",
                ),
                Row(f"{label}, slowest", "ms", max(product), max(floor)),
            ]
        exported, seconds, memory = download(server, token)
    floor_rows, floor_seconds = csv_floor(url, select)
    context["load after"] = load()
    growth = max(peak - start for start, peak in memory.values())
    serving = max(memory.values(), key=lambda pair: pair[1] - pair[0])
    rows += [
        Row(
            f"CSV export of {exported:,} rows",
            "rows/s",
            exported / seconds,
            floor_rows / floor_seconds,
            "> 100,000",
            higher=True,
        ),
        Row("CSV export, wall", "s", seconds, floor_seconds),
        Row("CSV export, serving worker RSS before", "MiB", serving[0] / 1024),
        Row("CSV export, serving worker RSS peak", "MiB", serving[1] / 1024),
        Row(
            "CSV export, largest RSS growth of a server process", "MiB", growth / 1024, None, "flat"
        ),
    ]
    context["commands"] = "; ".join([*counts, "supplytrack serve --workers 2 --no-with-worker"])
    print_table("reports (xl set)", rows, context)


if __name__ == "__main__":
    main()
