"""Issue "The service itself": read throughput and latency of the API, and assigning a supplier.

On the ``large`` set: ``supplytrack serve --workers 2`` under wrk (16 connections, ~20 s per
figure) for GET /api/task-instances?projectId=..&limit=50 and GET /api/task-instances/{id},
at LOG_LEVEL=warning and at info (the production default); the floor replays the SQL each
request sends (captured in-process) from 2 processes x 8 threads through the bare driver.
Then a project with 200 milestones gets suppliers assigned (POST /api/projects/{id}/suppliers),
timed server side from the request log, beside the bare INSERT ... SELECT of the fan-out.
Needs wrk (apt-get install -y wrk).
"""

from __future__ import annotations

import argparse
import random
import re
import subprocess
from datetime import date, timedelta
from typing import Any

from common import (
    WORK,
    Client,
    Row,
    Server,
    admin_token,
    load,
    need,
    parse_args,
    percentile,
    prepare,
    print_table,
    serve,
    wait_quiet,
)
from floor import Bare, InProcess, Op, concurrent_replay, connect, replay

TEMPLATES = 200
ASSIGNMENTS = 10  # per project
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=20.0, help="per load figure")
    parser.add_argument("--connections", type=int, default=16)


def wrk(
    port: int, token: str, paths: list[str], seconds: float, connections: int
) -> dict[str, float]:
    """Requests/s, p50/p99 (ms) and failed responses of wrk on random ``paths``."""
    script = WORK / f"paths-{port}.lua"
    quoted = ",\n".join(f'"{path}"' for path in paths)
    script.write_text(
        f"local paths = {{\n{quoted}\n}}\n"
        'request = function() return wrk.format("GET", paths[math.random(#paths)]) end\n'
    )
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:.0f}s", "--latency"]
    command += ["-H", f"Authorization: Bearer {token}", "-s", str(script)]
    output = subprocess.run(
        [*command, f"http://127.0.0.1:{port}"], capture_output=True, text=True, check=True
    ).stdout
    found: dict[str, float] = {"failed": 0.0}
    for label, number, unit in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", output, re.M):
        found[f"p{label}"] = float(number) * _UNITS[unit]
    found["rps"] = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    failed = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors:.*", output)
    found["failed"] = float(failed.group(1)) if failed else 0.0
    if errors:
        print(f"wrk: {errors.group(0)}")
    return found


def capture_reads(url: str, token: str, paths: list[str]) -> list[list[Op]]:
    """The statements (and transaction ends) each GET sends, recorded in-process."""
    app = InProcess(url)
    captured = []
    for path in paths:
        with app.capture() as capture:
            status, body = app.call("GET", path, token)
        if status != 200:
            raise SystemExit(f"GET {path}: {status} {body[:300]!r}")
        captured.append(capture.ops)
    app.close()
    return captured


def load_rows(
    label: str,
    server: Server,
    token: str,
    paths: list[str],
    args: argparse.Namespace,
    floor: tuple[float, list[float]],
) -> list[Row]:
    """The three figures of one endpoint under load, beside the floor's."""
    wrk(server.port, token, paths, 3, args.connections)  # warm-up (pool, caches)
    got = wrk(server.port, token, paths, args.seconds, args.connections)
    if got["failed"]:
        print(f"{label}: {got['failed']:.0f} responses were not 2xx")
    per_second, latencies = floor
    ms = [value * 1000 for value in latencies]
    return [
        Row(f"{label} throughput", "req/s", got["rps"], per_second, ">= 800", higher=True),
        Row(f"{label} p50", "ms", got["p50"], percentile(ms, 50)),
        Row(f"{label} p99", "ms", got["p99"], percentile(ms, 99), "< 25"),
    ]


def _assign_project(client: Client, code: str, chained: bool) -> int:
    start = date.today()
    project = client.json(
        "POST",
        "/api/projects",
        {
            "code": code,
            "name": code,
            "status": "ACTIVE",
            "startDate": start.isoformat(),
            "sopDate": (start + timedelta(days=1500)).isoformat(),
        },
        expect=201,
    )
    previous: list[int] = []
    for number in range(TEMPLATES):
        due = (start + timedelta(days=30 + number)).isoformat()
        body = {"name": f"M{number:03}", "canonicalDue": due, "dependsOn": previous}
        made = client.json("POST", f"/api/projects/{project['id']}/task-templates", body, 201)
        previous = [made["id"]] if chained else []
    return int(project["id"])


def assignment_rows(url: str, server: Server, token: str) -> list[Row]:
    """Assign suppliers to projects of 200 milestones (flat, and a chain) and time it."""
    connection = connect(url)
    suppliers = [
        row[0]
        for row in connection.execute(
            "SELECT id FROM suppliers WHERE status = 'ACTIVE' ORDER BY id LIMIT 30"
        ).fetchall()
    ]
    client = Client(server.port, token)
    tag = random.randrange(10**6)
    rows: list[Row] = []
    for chained in (False, True):
        kind = "chain" if chained else "flat"
        project_id = _assign_project(client, f"BENCH-{kind}-{tag}", chained)
        client_ms = []
        for supplier_id in suppliers[:ASSIGNMENTS]:
            made = client.call(
                "POST", f"/api/projects/{project_id}/suppliers", {"supplierId": supplier_id}
            )
            assert made[0] == 201, made[1][:300]
            client_ms.append(made[2] * 1000)
        logged = [
            line
            for line in server.log_lines()
            if line.get("method") == "POST"
            and line.get("route") == "/api/projects/{project_id}/suppliers"
        ]
        server_ms = [float(line["duration_ms"]) for line in logged[-ASSIGNMENTS:]]
        queries = max(int(line["query_count"]) for line in logged[-ASSIGNMENTS:])
        floor_ms, inserts = assignment_floor(url, project_id, suppliers[ASSIGNMENTS + 1])
        label = f"assign, 200 milestones ({kind})"
        rows += [
            Row(
                f"{label}, server median",
                "ms",
                percentile(server_ms, 50),
                percentile(floor_ms, 50),
                "< 50",
            ),
            Row(f"{label}, server max", "ms", max(server_ms), max(floor_ms), "< 50"),
            Row(f"{label}, client median", "ms", percentile(client_ms, 50)),
            Row(f"{label}: statements in the request", "count", float(queries)),
            Row(f"{label}: of them INSERT into task_instances", "count", float(inserts), None, "1"),
        ]
    connection.close()
    return rows


def assignment_floor(url: str, project_id: int, supplier_id: int) -> tuple[list[float], int]:
    """The assignment's INSERT and fan-out INSERT ... SELECT, then COMMIT, by the bare driver.

    The product's statements are captured from the assignment flow in a transaction that is
    rolled back; the floor inserts the assignment row under the same id, runs the captured
    fan-out statement and commits (timed), then deletes both (not timed).
    """
    from supplytrack.core.identity import system_actor
    from supplytrack.flows.assignments import AssignmentFlows
    from supplytrack.flows.base import Flow

    app = InProcess(url)
    session = app.database.session(write=True)
    with app.capture() as capture:
        flow = Flow(session, system_actor("bench"), app.database.settings)
        assignment, _ = AssignmentFlows(flow).assign(project_id, supplier_id)
    session.rollback()
    session.close()
    app.close()
    fan_out = [
        op._replace(connection=0)  # on the same bare connection as the assignment row
        for op in capture.ops
        if op.statement.startswith("INSERT INTO task_instances")
    ]
    sqlite = url.startswith("sqlite")
    mark = "?" if sqlite else "%s"
    now: Any = "2026-01-01 00:00:00.000000" if sqlite else assignment.assigned_at
    insert = (
        "INSERT INTO supplier_projects (id, supplier_id, project_id, status, assigned_at,"
        f" created_at, updated_at, version) VALUES ({mark}, {mark}, {mark}, 'ACTIVE',"
        f" {mark}, {mark}, {mark}, 1)"
    )
    params = (assignment.id, supplier_id, project_id, now, now, now)
    begin = [Op("sql", "BEGIN IMMEDIATE", ())] if sqlite else []
    work = [*begin, Op("sql", insert, params), *fan_out, Op("commit")]
    bare = Bare(url)
    connection = bare[0]
    times = []
    for _ in range(ASSIGNMENTS):
        times.append(replay(bare, work) * 1000)
        for table, column in (
            ("task_instances", "supplier_project_id"),
            ("supplier_projects", "id"),
        ):
            connection.execute(f"DELETE FROM {table} WHERE {column} = {int(assignment.id)}")
        connection.commit()
    bare.close()
    return times, len(fan_out)


def main() -> None:
    args = parse_args(__doc__ or "", _options)
    need("wrk", "apt-get install -y wrk")
    url = prepare("api_read", args.engine, "large", reuse=args.reuse)
    token = admin_token(url)
    connection = connect(url)
    projects = [r[0] for r in connection.execute("SELECT id FROM projects ORDER BY id").fetchall()]
    every_id = [r[0] for r in connection.execute("SELECT id FROM task_instances").fetchall()]
    connection.close()
    list_paths = [f"/api/task-instances?projectId={p}&limit=50" for p in projects[:20]]
    get_paths = [f"/api/task-instances/{i}" for i in random.Random(1).sample(every_id, 1000)]
    list_ops = capture_reads(url, token, list_paths)
    get_ops = capture_reads(url, token, get_paths)
    print(f"SQL of the list request: {len(list_ops[0])} ops; of the get request: {len(get_ops[0])}")
    context = {"engine": args.engine, "load before": wait_quiet(args.quiet_load)}
    floors = {
        name: concurrent_replay(url, ops, 2, args.connections // 2, args.seconds)
        for name, ops in (("list", list_ops), ("get", get_ops))
    }
    rows: list[Row] = []
    for level in ("warning", "info"):
        with serve(url, log_level=level) as server:
            rows += load_rows(
                f"GET list, LOG_LEVEL={level}", server, token, list_paths, args, floors["list"]
            )
            rows += load_rows(
                f"GET one, LOG_LEVEL={level}", server, token, get_paths, args, floors["get"]
            )
            if level == "info":
                rows += assignment_rows(url, server, token)
    context["load after"] = load()
    context["commands"] = (
        f"supplytrack serve --workers 2 --no-with-worker; wrk -t1 -c{args.connections}"
        f" -d{args.seconds:.0f}s --latency; floor: 2 processes x {args.connections // 2} threads"
    )
    print_table("api_read: the service itself (large set)", rows, context)


if __name__ == "__main__":
    main()
