"""Issue "Supplier isolation ... access logs": what the supplier access log costs the hot reads.

A supplier token reads its own instances (the plain list, 20 a page, and one instance by id)
from `supplytrack serve --workers 2` at the settings `make serve` uses (LOG_LEVEL=info), with
the access log on and off, in alternating rounds (on, off, on, off) under wrk; medians.
Afterwards the log holds one entry per request of the "on" rounds (checked).
"""

from __future__ import annotations

import statistics

from api_read import wrk
from common import (
    Row,
    database_url,
    need,
    parse_args,
    prepare,
    print_table,
    serve,
    supplier_token,
    wait_quiet,
)
from floor import connect


def main() -> None:
    args = parse_args(
        __doc__ or "",
        lambda parser: (
            parser.add_argument("--seconds", type=float, default=10.0),
            parser.add_argument("--connections", type=int, default=16),
            parser.add_argument("--rounds", type=int, default=2),
        ),
    )
    need("wrk", "apt-get install -y wrk")
    url = prepare("access_log", args.engine, "small", reuse=args.reuse)
    token, supplier_id, ids = supplier_token(url, "bench-access-log")
    shapes = {
        "GET list (20 a page)": ["/api/task-instances?limit=20"],
        "GET one": [f"/api/task-instances/{i}" for i in ids],
    }
    before = wait_quiet(args.quiet_load)
    figures: dict[tuple[str, bool], list[dict[str, float]]] = {}
    for _ in range(args.rounds):
        for logged in (True, False):
            with serve(url, log_level="info", ACCESS_LOG_ENABLED=str(logged).lower()) as server:
                for label, paths in shapes.items():
                    wrk(server.port, token, paths, 3, args.connections)  # warm-up
                    got = wrk(server.port, token, paths, args.seconds, args.connections)
                    figures.setdefault((label, logged), []).append(got)
    rows = []
    for label in shapes:
        for logged in (True, False):
            runs = figures[(label, logged)]
            state = "on" if logged else "off"
            rows.append(
                Row(f"{label}, log {state}", "req/s", statistics.median(r["rps"] for r in runs))
            )
            rows.append(
                Row(f"{label}, log {state}, p99", "ms", statistics.median(r["p99"] for r in runs))
            )
    connection = connect(url)
    (entries,) = connection.execute(
        f"SELECT count(*) FROM access_log WHERE supplier_id = {supplier_id}"
    ).fetchone()
    connection.close()
    rows.append(Row("access-log entries written (all rounds, warm-ups included)", "rows", entries))
    print_table(
        f"access log cost, {args.engine}, small",
        rows,
        {
            "command": f"bench/access_log.py --engine {args.engine}",
            "load before": before,
            "server": "serve --workers 2, LOG_LEVEL=info; wrk -t1 -c16, medians of rounds",
            "url": database_url("access_log", args.engine),
        },
    )


if __name__ == "__main__":
    main()
