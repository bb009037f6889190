"""`supplytrack retention`: plan and apply disposal after IATF 16949 7.5.3.2.1; legal holds."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import exc

from supplytrack.audit.chain import make_checkpoint
from supplytrack.cli.database import unbounded_database
from supplytrack.core.errors import SupplyTrackError
from supplytrack.core.identity import system_actor
from supplytrack.core.time import today, utcnow
from supplytrack.flows.retention import RetentionFlows

app = typer.Typer(
    help="Retention: what is past it (plan), disposing of it (apply), legal holds.",
    no_args_is_help=True,
)
console = Console()
ACTOR = system_actor("retention")


@app.command("plan", epilog="Example: supplytrack retention plan --as-of 2030-01-01")
def retention_plan(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="The day to plan for (default: today).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
) -> None:
    """List every closed project: the last day its records are kept, holds, what is due.

    Nothing is changed. A project is due the day after its last day kept, unless a legal
    hold is on it; a held supplier's instances are left out of what would be deleted.
    """
    try:
        day = date.fromisoformat(as_of) if as_of else None
    except ValueError as error:
        console.print(f"[red]--as-of: {error}[/red]")
        raise typer.Exit(code=2) from error
    database = unbounded_database()
    try:
        with database.session_scope(write=False) as session:
            planned = RetentionFlows(session, ACTOR, database.settings).plan(day)
    finally:
        database.dispose()
    if as_json:
        typer.echo(json.dumps([due.to_json() for due in planned], indent=2))
        return
    table = Table(
        "project", "status", "closed", "years", "kept until", "due", "instances", "history"
    )
    for due in planned:
        state = "held" if due.held else ("yes" if due.due else "no")
        table.add_row(
            due.code,
            due.status,
            due.closed_on.isoformat(),
            str(due.years),
            due.kept_until.isoformat(),
            state,
            str(due.instances),
            str(due.history_rows),
        )
    console.print(table)
    console.print(f"{sum(due.due for due in planned)} of {len(planned)} closed projects are due")


@app.command("apply", epilog="Example: supplytrack retention apply --out retention-bundles")
def retention_apply(
    out: Annotated[
        Path, typer.Option(help="Where each disposed project's bundle is written first.")
    ] = Path("retention-bundles"),
) -> None:
    """Dispose of what is past retention: export each due project's bundle, then delete.

    One transaction per project, checked again under its locks: its bundle (written and
    synced first), the tombstones of its history (so that verify still holds), its history
    and instances, an audit row. Then access-log entries past their retention (exported to a
    bundle of their own first; a held supplier's kept), the run's record, and a checkpoint.
    Exit 2 when AUDIT_SIGNING_KEY is not set or a step fails (what was done stays recorded).
    """
    database = unbounded_database()
    settings = database.settings
    day = today(settings.app_timezone)
    disposed: list[dict[str, Any]] = []
    summary: dict[str, Any] = {"projects": disposed}
    run_id: int | None = None
    failure: BaseException | None = None
    try:
        out.mkdir(parents=True, exist_ok=True)
        with database.session_scope() as session:
            flows = RetentionFlows(session, ACTOR, settings)
            run_id = flows.start(day).id
            due = [d.project_id for d in flows.plan(day) if d.due]
        for project_id in due:
            with database.session_scope() as session:
                done = RetentionFlows(session, ACTOR, settings).dispose(
                    run_id, project_id, day, out
                )
            disposed.append(done)
        with database.session_scope() as session:
            pruned, bundle = RetentionFlows(session, ACTOR, settings).prune_access_log(run_id, out)
        summary.update(accessLogEntries=pruned, accessLogBundle=bundle)
    except (SupplyTrackError, OSError, exc.SQLAlchemyError) as error:
        failure = error
        summary["error"] = str(error).splitlines()[0][:500]
    try:
        if run_id is not None:
            with database.session_scope() as session:
                RetentionFlows(session, ACTOR, settings).finish(run_id, summary)
            with database.session_scope() as session:
                sealed = make_checkpoint(session, settings, utcnow())
                seal = f"checkpoint {sealed.id} (history to id {sealed.history_boundary})"
    except SupplyTrackError as error:
        failure = failure or error
    finally:
        database.dispose()
    for done in disposed:
        if "skipped" in done:
            console.print(f"project {done['projectId']}: skipped ({done['skipped']})")
        else:
            console.print(
                f"{done['code']}: {done['instances']} instances and {done['historyRows']} history"
                f" rows disposed of, bundle {out / done['bundle']}"
            )
    if failure is not None:
        console.print(f"[red]{failure}[/red]", soft_wrap=True)
        raise typer.Exit(code=2) from failure
    console.print(
        f"run {run_id}: {len(disposed)} projects, {summary['accessLogEntries']} access-log"
        f" entries; {seal} signed after it (later checkpoints cover its own audit rows)"
    )


@app.command("hold", epilog='Example: supplytrack retention hold --project 1 --reason "claim 42"')
def retention_hold(
    reason: Annotated[str, typer.Option(help="Why (a claim, an audit, a customer's request).")],
    project: Annotated[int | None, typer.Option(help="Hold this project.", min=1)] = None,
    supplier: Annotated[int | None, typer.Option(help="Hold this supplier.", min=1)] = None,
) -> None:
    """Place a legal hold: nothing of the project (or the supplier) is disposed of.

    Until it is released (`retention release`). Audited.
    """
    database = unbounded_database()
    try:
        with database.session_scope() as session:
            held = RetentionFlows(session, ACTOR, database.settings).hold(
                project_id=project, supplier_id=supplier, reason=reason
            )
            line = f"hold {held.id} on " + (
                f"project {held.project_id}" if held.project_id else f"supplier {held.supplier_id}"
            )
    except SupplyTrackError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(code=2) from error
    finally:
        database.dispose()
    console.print(line)


@app.command("holds", epilog="Example: supplytrack retention holds --include-released")
def retention_holds(
    include_released: Annotated[
        bool, typer.Option("--include-released", help="Show released holds too.")
    ] = False,
) -> None:
    """List the legal holds in place (who placed each, when and why)."""
    database = unbounded_database()
    try:
        with database.session_scope(write=False) as session:
            found = RetentionFlows(session, ACTOR, database.settings).holds(
                include_released=include_released
            )
            table = Table("id", "on", "reason", "placed", "by", "released")
            for held in found:
                table.add_row(
                    str(held.id),
                    f"project {held.project_id}"
                    if held.project_id
                    else f"supplier {held.supplier_id}",
                    held.reason,
                    held.placed_at.isoformat(timespec="minutes"),
                    held.placed_by,
                    held.released_at.isoformat(timespec="minutes") if held.released_at else "",
                )
    finally:
        database.dispose()
    console.print(table)


@app.command("release", epilog="Example: supplytrack retention release 1")
def retention_release(hold_id: Annotated[int, typer.Argument(help="The hold's id.")]) -> None:
    """Release a legal hold: its records are due again once past retention."""
    database = unbounded_database()
    try:
        with database.session_scope() as session:
            RetentionFlows(session, ACTOR, database.settings).release(hold_id)
    except SupplyTrackError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(code=2) from error
    finally:
        database.dispose()
    console.print(f"hold {hold_id} released")
