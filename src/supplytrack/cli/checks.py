"""`supplytrack check`: run every data check now, print the results, exit 1 on a failure."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from supplytrack.cli.database import unbounded_database
from supplytrack.core.identity import system_actor
from supplytrack.flows.checks import run_view, start_checks
from supplytrack.jobs.models import JobState
from supplytrack.jobs.runner import JobRunner
from supplytrack.jobs.service import JobService

console = Console()


def check(
    as_json: Annotated[bool, typer.Option("--json", help="Print the run as JSON.")] = False,
    strict: Annotated[
        bool, typer.Option(help="Exit 1 on quality findings too, not only on failures.")
    ] = False,
) -> None:
    """Run every data check (consistency and quality) and print what each found.

    Exit 0 when every consistency check holds, 1 when one fails (or, with --strict, when a
    quality check finds anything). The run is kept like the scheduled ones (GET
    /api/data-checks/latest, the supplytrack_data_check_* metrics). Statements are not cut
    short here, unlike in a worker (DATABASE_STATEMENT_TIMEOUT).
    """
    database = unbounded_database()
    try:
        actor = system_actor("cli")
        job_id = database.run(lambda session: start_checks(session, actor, "CLI").id)
        JobRunner(database).run(job_id)
        with database.session_scope(write=False) as session:
            job = JobService(session, actor).get(job_id)
            view = run_view(job)
    finally:
        database.dispose()
    if as_json:
        typer.echo(json.dumps(view, default=str, indent=2))
    else:
        _print(view)
    failed = view["state"] != JobState.SUCCEEDED or view["failures"] > 0
    if failed or (strict and view["findings"] > 0):
        raise typer.Exit(code=1)


def _print(view: dict[str, object]) -> None:
    table = Table("check", "kind", "rows", "ms", title=f"data checks (job {view['job_id']})")
    checks = view["checks"]
    assert isinstance(checks, list)
    for result in checks:
        rows = result["failures"]
        shown = f"[red]{rows}[/red]" if rows and result["kind"] == "consistency" else str(rows)
        table.add_row(result["name"], result["kind"], shown, f"{result['durationMs']:.0f}")
    console.print(table)
    console.print(
        f"{view['state']}: {view['failures']} rows fail consistency checks,"
        f" {view['findings']} quality findings"
    )
