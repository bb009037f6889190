"""Issue "A web app": every page rendered on the server in under 200 ms on the ``large`` set.

``supplytrack serve`` (one worker, LOG_LEVEL=info so that every request logs its duration) on
the demo data; each page is opened by a signed-in browser session (the sign-in form, the
cookie), 3 times to warm up and then ``--rounds`` times. The figure is the server's own
duration of each request (its log line's ``duration_ms``: routing, the database, rendering),
p50 and p95, beside the 200 ms target; the client's wall time is printed too. Run once with
the read cache as ``make serve`` has it (on) and once with CACHE_ENABLED=false, which is what
a page costs when nothing is cached. There is no bare-driver floor for a page: the table shows
the SQL share instead (the query count of the page's log line).

    .venv/bin/python bench/web_pages.py --engine sqlite|postgres [--scale large] [--reuse]
"""

from __future__ import annotations

import argparse
import re
import time
from typing import Any

import httpx

from cascade import vacuum
from common import (
    PeakRss,
    Row,
    admin_token,
    parse_args,
    percentile,
    prepare,
    print_table,
    serve,
    supplytrack,
    wait_quiet,
)
from floor import connect

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scale", default="large", choices=["small", "medium", "large", "xl"])
    parser.add_argument("--rounds", type=int, default=20)


def sign_in(base: str, token: str) -> httpx.Client:
    """A client holding a web session, signed in through the form as a browser would be."""
    client = httpx.Client(base_url=base, timeout=120, follow_redirects=False)
    form = client.get("/signin")
    found = CSRF.search(form.text)
    assert found, form.text[:500]
    answer = client.post("/signin", data={"token": token, "csrf": found.group(1), "next": "/"})
    assert answer.status_code == 303, answer.text[:500]
    return client


def _token(url: str, *args: str) -> str:
    printed = supplytrack(url, "tokens", "create", *args, "--name", "bench-web")
    return next(word for word in printed.split() if word.startswith("st_"))


def pages(url: str) -> tuple[list[tuple[str, str]], int]:
    """(who, path) of every page, with ids picked from the data; and the supplier's id."""
    connection = connect(url)
    (project_id,) = connection.execute(
        "SELECT project_id FROM task_instances GROUP BY project_id ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()
    (supplier_id,) = connection.execute(
        "SELECT supplier_id FROM task_instances GROUP BY supplier_id ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()
    (instance_id,) = connection.execute(
        "SELECT i.id FROM task_instances i JOIN task_instance_history h"
        " ON h.task_instance_id = i.id GROUP BY i.id ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()
    connection.close()
    project_id, supplier_id, instance_id = int(project_id), int(supplier_id), int(instance_id)
    return [
        ("manager", "/"),
        ("manager", f"/projects/{project_id}"),
        ("manager", "/suppliers"),
        ("manager", f"/suppliers/{supplier_id}"),
        ("manager", "/tasks"),
        ("manager", f"/tasks?projectId={project_id}&overdue=true"),
        ("manager", "/tasks?sort=-actualDue"),
        ("manager", "/tasks?asOf=2026-01-31"),
        ("manager", f"/tasks/{instance_id}"),
        ("manager", "/bulk"),
        ("admin", "/operations"),
        ("supplier", "/portal"),
        ("supplier", f"/tasks?supplierId={supplier_id}"),
        ("supplier", f"/suppliers/{supplier_id}"),
    ], supplier_id


def measure(server_log: Any, client: httpx.Client, path: str, rounds: int) -> dict[str, float]:
    """Server and client milliseconds of ``rounds`` requests of one page (after 3 to warm).

    Each request's server duration is its own log line's, found by its request id (lines are
    written after the answer, so the newest may not be there yet: it is waited for).
    ``first`` is the first request's: with the read cache on, what the page costs the first
    time after a change (every committed write invalidates the reports it touches).
    """
    walls, ids = [], []
    for _ in range(3 + rounds):
        started = time.perf_counter()
        answer = client.get(path)
        walls.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 200:
            raise SystemExit(f"{path}: {answer.status_code} {answer.text[:300]}")
        ids.append(answer.headers["x-request-id"])
    deadline = time.monotonic() + 10
    while True:
        logged = {line.get("request_id"): line for line in server_log()}
        if all(request_id in logged for request_id in ids) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    lines = [logged[request_id] for request_id in ids]
    durations = [float(line["duration_ms"]) for line in lines[3:]]
    return {
        "first": float(lines[0]["duration_ms"]),
        "p50": percentile(durations, 50),
        "p95": percentile(durations, 95),
        "max": max(durations),
        "wall_p50": percentile(walls[3:], 50),
        "queries": float(lines[-1].get("query_count") or 0),
    }


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], _options)
    url = prepare(f"web_{args.scale}", args.engine, args.scale, reuse=args.reuse)
    # As autovacuum would have (this machine's server runs without it): otherwise every
    # index-only scan visits the heap (a scorecard on PostgreSQL: 199 ms against 82 after it).
    vacuumed = vacuum(url)
    quiet = wait_quiet(args.quiet_load)
    listed, supplier_id = pages(url)
    tokens = {
        "admin": admin_token(url),
        "manager": _token(url, "--role", "manager"),
        "supplier": _token(url, "--role", "supplier", "--supplier-id", str(supplier_id)),
    }
    for label, env in (("cache on (make serve)", {}), ("cache off", {"CACHE_ENABLED": "false"})):
        rows = []
        with serve(url, log_level="info", workers=1, **env) as server:
            base = f"http://127.0.0.1:{server.port}"
            clients = {role: sign_in(base, token) for role, token in tokens.items()}
            memory = PeakRss(server.process.pid)
            with memory:
                for role, path in listed:
                    figures = measure(server.log_lines, clients[role], path, args.rounds)
                    what = f"{role} GET {path}"
                    rows.append(Row(f"{what} first", "ms", figures["first"], target="< 200"))
                    rows.append(Row(f"{what} p50", "ms", figures["p50"], target="< 200"))
                    rows.append(
                        Row(
                            f"{what} p95 (max {figures['max']:.0f}, client p50"
                            f" {figures['wall_p50']:.0f}, {figures['queries']:.0f} queries)",
                            "ms",
                            figures["p95"],
                            target="< 200",
                        )
                    )
        print_table(
            f"Pages on {args.scale}, {args.engine}, {label}",
            rows,
            {
                "load": quiet,
                "vacuum": vacuumed,
                "server": "supplytrack serve --workers 1, LOG_LEVEL=info",
                "rounds": f"3 to warm, then {args.rounds} per page; server duration_ms",
                "server RSS, peak per process": memory.summary(),
                "command": f"bench/web_pages.py --engine {args.engine} --scale {args.scale}",
            },
        )


if __name__ == "__main__":
    main()
