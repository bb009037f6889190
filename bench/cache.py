"""Issue "Caching ... on Redis": what the read cache costs and gains.

1. On the ``large`` set, ``supplytrack serve --workers 2`` (info logging) under wrk for GET
   /api/task-instances?projectId=..&limit=50, GET /api/task-instances/{id} (only their token
   lookup is cached) and GET /api/suppliers?limit=50 (a cached route), with CACHE_ENABLED true
   and false. With ``--redis URL`` the servers use that Redis (cache, rate limits), as a
   deployment with REDIS_URL would.
2. On the ``xl`` set (``--reports``): GET /api/reports/supplier-performance across all projects,
   the first call after the server started (a miss) and the repeats (hits).
Needs wrk (apt-get install -y wrk).
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import date

from api_read import wrk
from common import (
    Client,
    Row,
    admin_token,
    load,
    parse_args,
    percentile,
    prepare,
    print_table,
    serve,
    wait_quiet,
)
from floor import connect


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=15.0, help="per load figure")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--redis", default="", help="REDIS_URL for the servers (default: none)")
    parser.add_argument("--reports", action="store_true", help="also the xl report figures")
    parser.add_argument("--repeat", type=int, default=5, help="cached report requests")


def read_rows(args: argparse.Namespace) -> list[Row]:
    url = prepare("api_read", args.engine, "large", reuse=args.reuse)
    token = admin_token(url)
    connection = connect(url)
    projects = [r[0] for r in connection.execute("SELECT id FROM projects ORDER BY id").fetchall()]
    every_id = [r[0] for r in connection.execute("SELECT id FROM task_instances").fetchall()]
    connection.close()
    paths = {
        "GET list": [f"/api/task-instances?projectId={p}&limit=50" for p in projects[:20]],
        "GET one": [f"/api/task-instances/{i}" for i in random.Random(1).sample(every_id, 1000)],
        "GET suppliers": ["/api/suppliers?limit=50", "/api/suppliers?limit=50&sort=name"],
    }
    extra = {"REDIS_URL": args.redis} if args.redis else {}
    got: dict[tuple[str, str], dict[str, float]] = {}
    for enabled in ("true", "false"):
        with serve(url, log_level="info", CACHE_ENABLED=enabled, **extra) as server:
            for label, wanted in paths.items():
                wrk(server.port, token, wanted, 3, args.connections)  # warm-up
                got[label, enabled] = wrk(
                    server.port, token, wanted, args.seconds, args.connections
                )
    rows = []
    for label in paths:
        on, off = got[label, "true"], got[label, "false"]
        rows += [
            Row(f"{label}, cache on vs off", "req/s", on["rps"], off["rps"], higher=True),
            Row(f"{label} p99, cache on vs off", "ms", on["p99"], off["p99"]),
        ]
    return rows


def report_rows(args: argparse.Namespace) -> list[Row]:
    url = prepare("reports", args.engine, "xl", reuse=args.reuse)
    token = admin_token(url)
    path = f"/api/reports/supplier-performance?from=2020-01-01&to={date.today().isoformat()}"
    extra = {"REDIS_URL": args.redis} if args.redis else {}
    with serve(url, **extra) as server:
        client = Client(server.port, token)
        started = time.perf_counter()
        client.json("GET", path)
        first = (time.perf_counter() - started) * 1000
        repeats = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            client.json("GET", path)
            repeats.append((time.perf_counter() - started) * 1000)
    return [
        Row("supplier-performance (xl), first call", "ms", first),
        Row("supplier-performance (xl), repeat (median)", "ms", percentile(repeats, 50)),
    ]


def main() -> None:
    args = parse_args(__doc__ or "", _options)
    context = {"engine": args.engine, "redis": args.redis or "none"}
    context["load before"] = wait_quiet(args.quiet_load)
    rows = read_rows(args)
    if args.reports:
        rows += report_rows(args)
    context["load after"] = load()
    context["commands"] = (
        f"supplytrack serve --workers 2 --no-with-worker (LOG_LEVEL=info); wrk -t1"
        f" -c{args.connections} -d{args.seconds:.0f}s --latency; the second column is cache off"
    )
    print_table("cache: on and off", rows, context)


if __name__ == "__main__":
    main()
