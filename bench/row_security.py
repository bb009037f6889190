"""Issue "Supplier isolation enforced by PostgreSQL itself": what row-level security costs.

PostgreSQL only. One `small` (or `--scale large`) database, set up by `db roles`; the same
server (`serve --workers 2`, LOG_LEVEL=info as `make serve`) connects in alternating rounds
as the superuser (policies bypassed) and as the service's role (policies in force). Both
send the scope settings with every transaction: what differs is the policies' evaluation.
Measured: a supplier's and a manager's hot reads under wrk, and the supplier-performance
report (manager: every supplier; supplier: its own) as medians of a few requests.
"""

from __future__ import annotations

import statistics
import time
import urllib.request

from api_read import wrk
from common import (
    PG_SERVER,
    Row,
    admin_token,
    need,
    parse_args,
    prepare,
    print_table,
    serve,
    supplier_token,
    supplytrack,
    wait_quiet,
)
from floor import connect

OWNER, APP = "bench_rls_owner", "bench_rls_app"


def _as(url: str, role: str) -> str:
    return url.replace("postgres@", f"{role}@", 1)


def _tokens(url: str) -> tuple[str, str, list[int], list[int]]:
    supplier, _supplier_id, own = supplier_token(url, "bench-row-security")
    connection = connect(url)
    every = [row[0] for row in connection.execute("SELECT id FROM task_instances LIMIT 2000")]
    connection.close()
    return supplier, admin_token(url), own, every


def _report_ms(port: int, token: str, runs: int = 5) -> float:
    times = []
    for _ in range(runs + 1):
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/reports/supplier-performance",
            headers={"Authorization": f"Bearer {token}"},
        )
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=120) as answer:
            answer.read()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times[1:])  # the first warms the plan and the pool


def main() -> None:
    args = parse_args(
        __doc__ or "",
        lambda parser: (
            parser.add_argument("--seconds", type=float, default=10.0),
            parser.add_argument("--connections", type=int, default=16),
            parser.add_argument("--rounds", type=int, default=2),
            parser.add_argument("--scale", default="small"),
        ),
    )
    if args.engine != "postgres":
        raise SystemExit("row-level security is PostgreSQL's: --engine postgres")
    need("wrk", "apt-get install -y wrk")
    url = prepare(f"row_security_{args.scale}", "postgres", args.scale, reuse=args.reuse)
    supplytrack(url, "db", "roles", "--owner", OWNER, "--app", APP)
    supplier, manager, own, every = _tokens(url)
    shapes = {
        "supplier GET list (20 a page)": (supplier, ["/api/task-instances?limit=20"]),
        "supplier GET one": (supplier, [f"/api/task-instances/{i}" for i in own]),
        "manager GET list (20 a page)": (manager, ["/api/task-instances?limit=20"]),
        "manager GET one": (manager, [f"/api/task-instances/{i}" for i in every]),
    }
    before = wait_quiet(args.quiet_load)
    arms = {"superuser (bypassed)": url, "service role (in force)": _as(url, APP)}
    figures: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.rounds):
        for arm, arm_url in arms.items():
            # The supplier's own limit raised as bench/common.py raises the token's.
            with serve(arm_url, log_level="info", RATE_LIMIT_SUPPLIER="100000000/minute") as server:
                for label, (token, paths) in shapes.items():
                    wrk(server.port, token, paths, 3, args.connections)  # warm-up
                    got = wrk(server.port, token, paths, args.seconds, args.connections)
                    if got["failed"]:
                        raise SystemExit(f"{label}: {got['failed']:.0f} failed responses")
                    figures.setdefault((f"{label}", arm), []).append(got["rps"])
                    figures.setdefault((f"{label}, p99 ms", arm), []).append(got["p99"])
                for who, token in (("manager", manager), ("supplier", supplier)):
                    key = (f"supplier-performance report as {who}, ms", arm)
                    figures.setdefault(key, []).append(_report_ms(server.port, token))
    rows = [
        Row(f"{label}, {arm}", "ms" if "ms" in label else "req/s", statistics.median(values))
        for (label, arm), values in figures.items()
    ]
    print_table(
        f"row-level security cost, postgres, {args.scale}",
        rows,
        {
            "command": f"bench/row_security.py --engine postgres --scale {args.scale}",
            "load before": before,
            "server": "serve --workers 2, LOG_LEVEL=info; wrk -t1 -c16, medians of rounds",
            "url": url,
            "roles": f"{OWNER} owns the tables; {APP} is the service's role ({PG_SERVER})",
        },
    )


if __name__ == "__main__":
    main()
