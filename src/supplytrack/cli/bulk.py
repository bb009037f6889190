"""``supplytrack bulk ...``: the bulk operations from the shell, with a progress bar."""

from __future__ import annotations

from typing import Annotated, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from sqlalchemy.orm import Session

from supplytrack.audit.models import ReasonCode
from supplytrack.bulk.schemas import BulkFilter, BulkStatusUpdate, DateChange
from supplytrack.core.db import Database
from supplytrack.core.errors import SupplyTrackError
from supplytrack.core.identity import system_actor
from supplytrack.core.logging import configure_logging
from supplytrack.core.settings import get_settings
from supplytrack.flows import jobs as _job_kinds  # noqa: F401 - registers the bulk job kinds
from supplytrack.flows.base import Flow
from supplytrack.flows.bulk import BulkFlows
from supplytrack.jobs.runner import JobRunner
from supplytrack.tasks.enums import TaskStatus

app = typer.Typer(
    help="Bulk changes from the shell (audited as the 'cli' actor).", no_args_is_help=True
)
console = Console()


def _database() -> Database:
    settings = get_settings()
    configure_logging(settings)
    return Database(settings)


def _flows(database: Database, session: Session) -> BulkFlows:
    """Bulk operations as the 'cli' actor; jobs are run by this command itself."""
    return BulkFlows(Flow(session, system_actor("cli"), database.settings))


M = TypeVar("M", bound=BaseModel)


def _valid(model: type[M], values: dict[str, object]) -> M:
    """The typed command of the options (exit 2 with pydantic's reasons when they do not fit)."""
    try:
        return model.model_validate({k: v for k, v in values.items() if v is not None})
    except ValidationError as error:
        for problem in error.errors():
            console.print(f"[red]{problem['msg']}[/red]", soft_wrap=True)
        raise typer.Exit(code=2) from error


def _run_job(database: Database, job_id: int, total: int) -> None:
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        bar = progress.add_task(f"job {job_id}", total=total or None)
        state = JobRunner(
            database, on_chunk=lambda done, _t: progress.update(bar, completed=done)
        ).run(job_id)
    console.print(f"job {job_id}: {state}")


@app.command(
    "shift-dates",
    epilog="Example: supplytrack bulk shift-dates --project 3 --days 7 --reason-code PLAN_CHANGE"
    ' --reason "customer moved the build"',
)
def shift_dates(
    project: Annotated[list[int], typer.Option(help="Project id (repeatable).")],
    reason_code: Annotated[ReasonCode, typer.Option(help="Why the dates move.")],
    days: Annotated[int | None, typer.Option(help="Shift by N days.")] = None,
    working_days: Annotated[int | None, typer.Option(help="Shift by N working days.")] = None,
    template: Annotated[list[int] | None, typer.Option(help="Only these milestones.")] = None,
    supplier: Annotated[list[int] | None, typer.Option(help="Only these suppliers.")] = None,
    cascade: Annotated[bool, typer.Option(help="Move downstream milestones too.")] = False,
    reason: Annotated[str | None, typer.Option(help="Why (required past SOP).")] = None,
) -> None:
    """Shift due dates of one or more projects as one audited, resumable operation."""
    if (days is None) == (working_days is None):
        raise typer.BadParameter("give exactly one of --days and --working-days")
    change = _valid(
        DateChange,
        {
            "shiftDays": days,
            "shiftWorkingDays": working_days,
            "templateIds": sorted(template or []),
            "supplierIds": sorted(supplier or []),
            "cascade": cascade,
            "reasonCode": reason_code.value,
            "reason": reason,
        },
    )
    database = _database()
    try:
        with database.session_scope() as session:
            job = _flows(database, session).queue_shift(sorted(project), change)
            job_id, total = job.id, job.total
    except SupplyTrackError as error:
        console.print(f"[red]{error.code}: {error.message}[/red]", soft_wrap=True)
        for detail in error.details[:20]:
            console.print(f"  {detail}", soft_wrap=True)
        raise typer.Exit(code=2) from error
    console.print(f"{total} due dates to move (bulk operation of job {job_id})")
    _run_job(database, job_id, total)


@app.command(
    "status",
    epilog="Example: supplytrack bulk status --project 3 --to IN_PROGRESS --from NOT_STARTED",
)
def bulk_status(
    project: Annotated[int, typer.Option(help="Project id.")],
    to: Annotated[TaskStatus, typer.Option(help="Target status.")],
    status_from: Annotated[
        list[TaskStatus] | None, typer.Option("--from", help="Only instances in these statuses.")
    ] = None,
    reason: Annotated[str | None, typer.Option(help="Why.")] = None,
    partial: Annotated[bool, typer.Option(help="Apply the valid ones, list the rest.")] = False,
) -> None:
    """Move a project's instances to one status through the status machine."""
    command = _valid(
        BulkStatusUpdate,
        {
            "filter": BulkFilter.model_validate(
                {"projectId": project, "status": [s.value for s in status_from or []]}
            ),
            "status": to.value,
            "reason": reason,
            "mode": "partial" if partial else "atomic",
        },
    )
    database = _database()
    try:
        with database.session_scope() as session:
            result = _flows(database, session).status_update(command)
    except SupplyTrackError as error:
        console.print(f"[red]{error.code}: {error.message}[/red]", soft_wrap=True)
        raise typer.Exit(code=2) from error
    console.print(
        f"bulk operation {result['bulk_operation_id']}: {result['applied']} applied,"
        f" {len(result['refused'])} refused, {result['unchanged']} unchanged"
    )
    if result["job_id"] is not None:
        _run_job(database, result["job_id"], result["applied"])


@app.command("undo", epilog="Example: supplytrack bulk undo 1")
def undo(operation: Annotated[int, typer.Argument(help="Bulk operation id.")]) -> None:
    """Revert a bulk operation whole (refused if its rows changed since)."""
    database = _database()
    try:
        with database.session_scope() as session:
            result = _flows(database, session).undo(operation, None)
    except SupplyTrackError as error:
        console.print(f"[red]{error.code}: {error.message}[/red]", soft_wrap=True)
        raise typer.Exit(code=2) from error
    console.print(f"undone by bulk operation {result['id']}: {result['summary']}")
