"""Issue "The date engine": move the head of a 40-milestone chain with cascade, 80,000 instances.

On top of the ``large`` set, a project with 2,000 suppliers and a chain of 40 milestones (each
depends on the previous one) is built set-based (the way tests/bulk/helpers.py does it): the
project and milestones through the API, suppliers, assignments and the 80,000 instances with
one INSERT ... SELECT each. Then PATCH /api/task-templates/{head} {"shiftDays": N, "cascade":
true, "reasonCode": "PLAN_CHANGE"} is timed in-process (the real application through ASGI,
commit included), beside the floor: the same UPDATEs and history INSERTs through the bare
driver (and, for reference, every statement the request sent, reads included).
Each run moves the chain later by N days; the project's window leaves room for many runs.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from common import Row, admin_token, load, parse_args, percentile, prepare, print_table, wait_quiet
from floor import Bare, InProcess, connect, replay, writes_to

CODE = "BENCH-CASCADE"
SUPPLIERS = 2000
MILESTONES = 40


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--days", type=int, default=7, help="shift of the head milestone")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of the PATCH")
    parser.add_argument(
        "--profile", action="store_true", help="also run it once under cProfile (service call)"
    )


def _sql(url: str, statement: str) -> str:
    return statement if url.startswith("sqlite") else statement.replace("?", "%s")


def build_project(url: str, app: InProcess, token: str) -> int:
    """The chain project (reused when it exists): its id."""
    connection = connect(url)
    found = connection.execute(_sql(url, "SELECT id FROM projects WHERE code = ?"), (CODE,))
    row = found.fetchone()
    if row is not None:
        connection.close()
        return int(row[0])
    start = date.today()
    status, body = app.call(
        "POST",
        "/api/projects",
        token,
        {
            "code": CODE,
            "name": "Cascade benchmark",
            "status": "ACTIVE",
            "startDate": start.isoformat(),
            "sopDate": (start + timedelta(days=3000)).isoformat(),
        },
    )
    assert status == 201, body
    project_id = int(_json(body)["id"])
    previous: list[int] = []
    for number in range(MILESTONES):
        due = (start + timedelta(days=30 + 7 * number)).isoformat()
        template = {"name": f"Step {number:02}", "canonicalDue": due, "dependsOn": previous}
        status, body = app.call(
            "POST", f"/api/projects/{project_id}/task-templates", token, template
        )
        assert status == 201, body
        previous = [int(_json(body)["id"])]
    _fill(url, connection, project_id)
    connection.close()
    return project_id


def _json(body: bytes) -> Any:
    import json

    return json.loads(body)


def _fill(url: str, connection: Any, project_id: int) -> None:
    """Suppliers, assignments and instances, set-based (one statement each)."""
    sqlite = url.startswith("sqlite")
    moment = datetime.now(UTC).replace(tzinfo=None)
    now: Any = moment.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else moment
    started = time.perf_counter()
    if sqlite:
        connection.execute("BEGIN IMMEDIATE")
    connection.cursor().executemany(
        _sql(
            url,
            "INSERT INTO suppliers (code, name, status, created_at, updated_at, version)"
            " VALUES (?, ?, 'ACTIVE', ?, ?, 1)",
        ),
        [(f"{CODE}-{n}", f"Cascade supplier {n}", now, now) for n in range(SUPPLIERS)],
    )
    connection.execute(
        _sql(
            url,
            "INSERT INTO supplier_projects (supplier_id, project_id, status, assigned_at,"
            " created_at, updated_at, version) SELECT id, ?, 'ACTIVE', ?, ?, ?, 1"
            " FROM suppliers WHERE code LIKE ? ORDER BY id",
        ),
        (project_id, now, now, now, f"{CODE}-%"),
    )
    connection.execute(
        _sql(
            url,
            "INSERT INTO task_instances (supplier_project_id, project_id, supplier_id,"
            " task_template_id, status, actual_due, version, created_at, updated_at)"
            " SELECT sp.id, sp.project_id, sp.supplier_id, t.id, 'NOT_STARTED', t.canonical_due,"
            " 1, sp.created_at, sp.created_at FROM supplier_projects sp JOIN task_templates t"
            " ON t.project_id = sp.project_id WHERE sp.project_id = ? ORDER BY sp.id, t.id",
        ),
        (project_id,),
    )
    connection.commit()
    connection.execute("ANALYZE")
    connection.commit()
    print(f"built the chain project {project_id} in {time.perf_counter() - started:.1f} s")


def resync(url: str, project_id: int) -> None:
    """Put every instance back on its milestone's date (the floor's replays move only them)."""
    connection = connect(url)
    connection.execute(
        _sql(
            url,
            "UPDATE task_instances SET actual_due = (SELECT canonical_due FROM task_templates t"
            " WHERE t.id = task_instances.task_template_id) WHERE project_id = ?",
        ),
        (project_id,),
    )
    connection.commit()
    connection.close()


def vacuum(url: str) -> str:
    """PostgreSQL: VACUUM the two written tables, as autovacuum would between cascades.

    Each cascade leaves 80,000 dead row versions (and their index entries) behind. This
    machine's server runs with autovacuum off, so without this every later run (and every
    replay of the floor) would wade through the dead rows of all the earlier ones; a
    production server (autovacuum on, its default) clears them after about one cascade.
    The answer says what the server's setting is, for the report.
    """
    if url.startswith("sqlite"):
        return "n/a (SQLite)"
    connection = connect(url)
    connection.autocommit = True
    setting = connection.execute("SHOW autovacuum").fetchone()[0]
    for table in ("task_instances", "task_instance_history"):
        connection.execute(f"VACUUM (ANALYZE) {table}")
    connection.close()
    return f"autovacuum={setting}; VACUUM (ANALYZE) of both tables before each timed run"


def set_based(url: str, project_id: int, days: int) -> float:
    """For reference: the same moves as one UPDATE and one INSERT ... SELECT (bare driver)."""
    sqlite = url.startswith("sqlite")
    if sqlite:
        new, old, text = f"date(actual_due, '+{days} days')", "date(actual_due, ?)", "actual_due"
        now = "strftime('%Y-%m-%d %H:%M:%f', 'now')"
    else:
        new, old = f"actual_due + {days}", "to_char(actual_due - %s, 'YYYY-MM-DD')"
        text, now = "to_char(actual_due, 'YYYY-MM-DD')", "now() at time zone 'UTC'"
    scope = f"project_id = {int(project_id)} AND status NOT IN ('APPROVED', 'WAIVED')"
    connection = connect(url)
    started = time.perf_counter()
    if sqlite:
        connection.execute("BEGIN IMMEDIATE")
    connection.execute(
        f"UPDATE task_instances SET actual_due = {new}, version = version + 1,"
        f" updated_at = {now} WHERE {scope}"
    )
    connection.execute(
        "INSERT INTO task_instance_history (task_instance_id, field, old_value, new_value,"
        f" changed_at, actor, source, reason_code) SELECT id, 'ACTUAL_DUE', {old}, {text},"
        f" {now}, 'bench', 'CASCADE', 'PLAN_CHANGE' FROM task_instances WHERE {scope}",
        (f"-{days} days",) if sqlite else (days,),
    )
    connection.commit()
    seconds = time.perf_counter() - started
    connection.close()
    return seconds


def _vacuumed(url: str, bare: Bare, ops: Any, keep: Any = None) -> float:
    vacuum(url)
    return replay(bare, ops, keep)


def head_of(url: str, project_id: int) -> tuple[int, int]:
    """The head milestone (no prerequisite) and the project's instance count."""
    connection = connect(url)
    head = connection.execute(
        _sql(
            url,
            "SELECT id FROM task_templates t WHERE project_id = ? AND NOT EXISTS"
            " (SELECT 1 FROM task_template_dependencies d WHERE d.template_id = t.id)",
        ),
        (project_id,),
    ).fetchone()
    count = connection.execute(
        _sql(url, "SELECT count(*) FROM task_instances WHERE project_id = ?"), (project_id,)
    ).fetchone()
    connection.close()
    return int(head[0]), int(count[0])


def profile_once(app: InProcess, head: int, days: int) -> str:
    """CProfile of one cascade through the service (no HTTP), top functions by own time."""
    from supplytrack.core.identity import system_actor
    from supplytrack.flows.base import Flow
    from supplytrack.flows.milestones import MilestoneFlows
    from supplytrack.templates.schemas import TemplateUpdate

    change = TemplateUpdate.model_validate(
        {"shiftDays": days, "cascade": True, "reasonCode": "PLAN_CHANGE"}
    )
    profiler = cProfile.Profile()
    with app.database.session_scope() as session:
        flow = Flow(session, system_actor("bench"), app.database.settings)
        profiler.enable()
        MilestoneFlows(flow).change(head, change, None)
        profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(20)
    return text.getvalue()


def main() -> None:
    args = parse_args(__doc__ or "", _options)
    url = prepare("cascade", args.engine, "large", reuse=args.reuse)
    token = admin_token(url)
    app = InProcess(url)
    project_id = build_project(url, app, token)
    resync(url, project_id)
    head, instances = head_of(url, project_id)
    print(f"project {project_id}: head milestone {head}, {instances} instances")
    body = {"shiftDays": args.days, "cascade": True, "reasonCode": "PLAN_CHANGE"}
    context = {"engine": args.engine, "load before": wait_quiet(args.quiet_load)}
    context["vacuum"] = vacuum(url)
    seconds = []
    for _ in range(args.runs):
        vacuum(url)
        started = time.perf_counter()
        status, answer = app.call("PATCH", f"/api/task-templates/{head}", token, body)
        seconds.append(time.perf_counter() - started)
        assert status == 200, answer[:500]
    with app.capture() as capture:
        status, answer = app.call("PATCH", f"/api/task-templates/{head}", token, body)
    assert status == 200, answer[:500]
    bare = Bare(url)
    keep = writes_to("task_instances", "task_instance_history")
    writes = percentile([_vacuumed(url, bare, capture.ops, keep) for _ in range(args.runs)], 50)
    everything = percentile([_vacuumed(url, bare, capture.ops) for _ in range(args.runs)], 50)
    bare.close()
    vacuum(url)
    alternative = set_based(url, project_id, args.days)
    resync(url, project_id)
    context["load after"] = load()
    statements = capture.statements()
    updates = sum(s.startswith("UPDATE task_instances") for s in statements)
    history = sum(op.many for op in capture.ops if "task_instance_history" in op.statement)
    context["commands"] = (
        f"PATCH /api/task-templates/{head} {body} (in-process ASGI, {args.runs} runs);"
        f" the request sent {len(statements)} statements: {updates} UPDATE task_instances,"
        f" {history} executemany INSERT of history rows"
    )
    target = "<= 3" if args.engine == "sqlite" else "<= 5"
    rows = [
        Row(
            f"cascade {instances:,} instances, median", "s", percentile(seconds, 50), writes, target
        ),
        Row("cascade, slowest run", "s", max(seconds), None, target),
        Row("cascade vs every statement it sent", "s", percentile(seconds, 50), everything),
        Row("for reference: 1 UPDATE + 1 INSERT ... SELECT, bare", "s", alternative),
    ]
    print_table("cascade: the date engine (large set + chain project)", rows, context)
    if args.profile:
        print(profile_once(app, head, args.days))
    app.close()


if __name__ == "__main__":
    main()
