"""Issue "Bulk operations": shift 100,000 due dates as one job; bulk status of 10,000 instances.

On the ``large`` set loaded "as of" two years ahead (``demo-data --today``): the shift refuses
whole any project with an open instance that would still be in the past after it (rule
DUE_DATE_IN_PAST), and on a set loaded as of today 18 of the 20 projects have such overdue
work; loaded ahead, every open date is in the future and any project can move.

1. ``supplytrack bulk shift-dates --project A ... --days 3 --reason-code PLAN_CHANGE`` over the
   first projects whose open instances reach 100,000 (one operation, one job, chunks of
   BULK_CHUNK_SIZE), timed; the floor replays the same chunked UPDATE and history INSERT
   (captured from the same operation run in-process) through the bare driver, chunk by chunk.
2. While that shift runs again, one client PATCHes notes of random instances of the other
   projects back to back through the API: their wait, beside the same PATCHes with no shift.
3. POST /api/task-instances/bulk-status-update with 10,000 ids (NOT_STARTED -> IN_PROGRESS,
   atomic, BULK_JOB_THRESHOLD above 10,000 so it runs in the request), beside its floor.
"""

from __future__ import annotations

import random
import threading
import time
from datetime import date, timedelta
from typing import Any

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
    supplytrack,
    wait_quiet,
)
from floor import Bare, InProcess, Op, connect, replay, writes_to

WANTED = 100_000
AHEAD_DAYS = 730
STATUS_IDS = 10_000
HISTORY = writes_to("task_instances", "task_instance_history")
_OPEN = "status NOT IN ('APPROVED', 'WAIVED')"


def pick(url: str) -> tuple[list[int], int, list[int], list[int], list[int]]:
    """Shifted projects and their open count; open ids elsewhere; two sets of NOT_STARTED ids."""
    connection = connect(url)
    counts = connection.execute(
        f"SELECT project_id, count(*) FROM task_instances WHERE {_OPEN}"
        " GROUP BY project_id ORDER BY project_id"
    ).fetchall()
    chosen, total = [], 0
    for project_id, count in counts:
        if total < WANTED:
            chosen.append(int(project_id))
            total += int(count)
    inside = ", ".join(map(str, chosen))
    others = [
        int(row[0])
        for row in connection.execute(
            f"SELECT id FROM task_instances WHERE {_OPEN} AND project_id NOT IN ({inside})"
        ).fetchall()
    ]
    idle = [
        int(row[0])
        for row in connection.execute(
            "SELECT id FROM task_instances WHERE status = 'NOT_STARTED'"
            f" AND project_id NOT IN ({inside})"
        ).fetchall()
    ]
    connection.close()
    chooser = random.Random(1)
    sample = chooser.sample(idle, 2 * STATUS_IDS)
    return chosen, total, chooser.sample(others, 2000), sample[:STATUS_IDS], sample[STATUS_IDS:]


def cli_shift(url: str, projects: list[int]) -> tuple[float, str]:
    """Seconds of the CLI shift (wall), and the line naming the job."""
    args = ["bulk", "shift-dates", *[f"--project={p}" for p in projects], "--days", "3"]
    args += ["--reason-code", "PLAN_CHANGE", "--reason", "benchmark: plan moved 3 days"]
    started = time.perf_counter()
    output = supplytrack(url, *args)
    seconds = time.perf_counter() - started
    return seconds, next(line for line in output.splitlines() if "due dates to move" in line)


def job_seconds(app: InProcess) -> float:
    """started_at..finished_at of the newest job."""
    from sqlalchemy import select

    from supplytrack.jobs.models import Job

    with app.database.session_scope(write=False) as session:
        job = session.scalars(select(Job).order_by(Job.id.desc()).limit(1)).one()
        assert job.finished_at is not None, job.state
        assert job.started_at is not None, job.state
        return (job.finished_at - job.started_at).total_seconds()


def captured_shift(app: InProcess, projects: list[int]) -> tuple[float, list[Op]]:
    """The same operation in-process (check, then the job, as the CLI does), recorded."""
    from supplytrack.bulk.schemas import DateChange
    from supplytrack.core.identity import system_actor
    from supplytrack.flows import jobs as _job_kinds  # noqa: F401 - registers the job kinds
    from supplytrack.flows.base import Flow
    from supplytrack.flows.bulk import BulkFlows
    from supplytrack.jobs.runner import JobRunner

    change = DateChange.model_validate(
        {"shiftDays": 3, "reasonCode": "PLAN_CHANGE", "reason": "benchmark"}
    )
    started = time.perf_counter()
    with app.capture() as capture:
        with app.database.session_scope() as session:
            flow = Flow(session, system_actor("cli"), app.database.settings)
            job_id = BulkFlows(flow).queue_shift(projects, change).id
        JobRunner(app.database).run(job_id)
    return time.perf_counter() - started, capture.ops


def patch_loop(port: int, token: str, ids: list[int], stop: threading.Event) -> list[float]:
    """Back-to-back PATCHes of notes until ``stop``: each one's milliseconds."""
    client, chooser = Client(port, token), random.Random(2)
    waits: list[float] = []
    while not stop.is_set():
        status, body, seconds = client.call(
            "PATCH", f"/api/task-instances/{chooser.choice(ids)}", {"notes": f"n{len(waits)}"}
        )
        assert status == 200, body[:300]
        waits.append(seconds * 1000)
    return waits


def patches_during_shift(
    url: str, port: int, token: str, ids: list[int], projects: list[int]
) -> tuple[list[float], list[float], float]:
    """PATCH waits with no shift (5 s), then while the CLI shift runs; the shift's seconds."""
    results: list[list[float]] = []
    for during in (False, True):
        stop = threading.Event()
        waits: list[float] = []
        thread = threading.Thread(
            target=lambda w=waits, s=stop: w.extend(patch_loop(port, token, ids, s))
        )
        thread.start()
        started = time.perf_counter()
        if during:
            cli_shift(url, projects)
        else:
            time.sleep(5)
        shift = time.perf_counter() - started
        stop.set()
        thread.join()
        results.append(waits)
    return results[0], results[1], shift


def bulk_status(url: str, port: int, token: str, ids: list[int], spare: list[int]) -> list[Row]:
    """10,000 ids NOT_STARTED -> IN_PROGRESS through the API; floor from an in-process capture."""
    body: dict[str, Any] = {"ids": ids, "status": "IN_PROGRESS", "reason": "benchmark"}
    status, answer, seconds = Client(port, token).call(
        "POST", "/api/task-instances/bulk-status-update", body
    )
    assert status == 200, answer[:500]
    app = InProcess(url, bulk_job_threshold=STATUS_IDS * 2)
    with app.capture() as capture:
        status, answer = app.call(
            "POST", "/api/task-instances/bulk-status-update", token, {**body, "ids": spare}
        )
    assert status == 200, answer[:500]
    app.close()
    bare = Bare(url)
    floor = replay(bare, capture.ops, HISTORY)
    everything = replay(bare, capture.ops)
    bare.close()
    return [
        Row("bulk status 10,000 ids, atomic (client)", "s", seconds, floor, "< 3"),
        Row("bulk status vs every statement it sent", "s", seconds, everything),
    ]


def main() -> None:
    args = parse_args(__doc__ or "")
    ahead = (date.today() + timedelta(days=AHEAD_DAYS)).isoformat()
    url = prepare("bulk_shift", args.engine, "large", reuse=args.reuse, today=ahead)
    token = admin_token(url)
    projects, total, others, status_ids, spare_ids = pick(url)
    print(f"shifting projects {projects}: {total:,} open instances")
    context = {"engine": args.engine, "load before": wait_quiet(args.quiet_load)}
    cli, job_line = cli_shift(url, projects)
    app = InProcess(url)
    job = job_seconds(app)
    inproc, ops = captured_shift(app, projects)
    app.close()
    bare = Bare(url)
    floor = replay(bare, ops, HISTORY)
    bare.close()
    chunks = sum(op.statement.startswith("UPDATE task_instances") for op in ops)
    moved = int(job_line.split()[0])
    rows = [
        Row(f"shift {moved:,} due dates, CLI wall", "s", cli, floor, "<= 1.5x floor"),
        Row("shift, the job alone (started..finished)", "s", job, floor, "<= 1.5x floor"),
        Row("shift in-process (check + job)", "s", inproc, floor),
    ]
    with serve(url, BULK_JOB_THRESHOLD=str(STATUS_IDS * 2)) as server:
        quiet, busy, shift = patches_during_shift(url, server.port, token, others, projects)
        rows += [
            Row("PATCH notes, no shift running, p50", "ms", percentile(quiet, 50)),
            Row("PATCH notes, no shift running, p99", "ms", percentile(quiet, 99)),
            Row(f"PATCH notes during the shift ({len(busy)}), p50", "ms", percentile(busy, 50)),
            Row("PATCH notes during the shift, p99", "ms", percentile(busy, 99), None, "<= 200"),
            Row("PATCH notes during the shift, max", "ms", max(busy)),
            Row("shift while PATCHed (CLI wall)", "s", shift),
        ]
        rows += bulk_status(url, server.port, token, status_ids, spare_ids)
    context["load after"] = load()
    context["commands"] = (
        f"{job_line.strip()}; supplytrack bulk shift-dates --project ... --days 3"
        f" --reason-code PLAN_CHANGE; {chunks} chunked UPDATEs; server: serve --workers 2"
    )
    print_table("bulk_shift: bulk operations (large set, as of +2 years)", rows, context)


if __name__ == "__main__":
    main()
