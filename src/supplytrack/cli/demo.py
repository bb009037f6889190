"""The ``supplytrack demo-data`` command: load the demo data set into an empty database."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from supplytrack.core.db import Database
from supplytrack.core.logging import configure_logging
from supplytrack.core.settings import get_settings
from supplytrack.core.time import today as current_day
from supplytrack.demo.generator import (
    DatabaseNotEmpty,
    LoadReport,
    SchemaNotReady,
    check_empty,
    check_schema,
    load_demo_data,
)

console = Console()


class DemoScale(enum.StrEnum):
    """How much demo data (SPEC section 6)."""

    SMALL = "small"
    LARGE = "large"
    XL = "xl"


def demo_data(
    scale: Annotated[
        DemoScale, typer.Option(help="small (tests), large (~400k tasks) or xl (>1M tasks).")
    ] = DemoScale.SMALL,
    seed: Annotated[int, typer.Option(min=0, help="Same seed, same data.")] = 1,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Skip quietly (exit 0) when data exists.")
    ] = False,
    today: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="The day the data is 'as of' (YYYY-MM-DD)."),
    ] = None,
) -> None:
    """Load deterministic demo data (projects, suppliers, milestones, tasks, history)."""
    settings = get_settings()
    configure_logging(settings)
    # Every statement of a bulk load is "slow" by design; warning about each is noise.
    # (nor is one bounded by DATABASE_STATEMENT_TIMEOUT: loading xl takes minutes)
    # As the tables' owner (DATABASE_MIGRATION_URL, if set): the load drops and rebuilds
    # indexes and foreign keys on PostgreSQL, which only the owner may.
    database = Database(
        settings.model_copy(update={"slow_query_ms": 0, "database_statement_timeout": 0}),
        url=settings.owner_url,
    )
    try:
        check_schema(database)
        check_empty(database)
        with _progress() as progress:
            report = load_demo_data(
                database,
                scale.value,
                seed,
                today.date() if today else current_day(),
                progress=progress,
            )
        database.cache.clear()  # loaded beside the sessions: tell running servers
    except DatabaseNotEmpty as error:
        if if_empty:
            console.print("demo data skipped: the database already holds data")
            return
        console.print(f"[red]refused: {error}[/red] (use an empty database, or --if-empty)")
        raise typer.Exit(code=2) from error
    except SchemaNotReady as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(code=2) from error
    finally:
        database.dispose()
    console.print(summary_table(report, scale.value, seed))


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description:<26}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def summary_table(report: LoadReport, scale: str, seed: int) -> Table:
    """Rows per table, instances per status, and the time of each phase."""
    table = Table("what", "count", title=f"demo data: scale {scale}, seed {seed}")
    for name, count in report.rows.items():
        table.add_row(name, f"{count:,}")
    table.add_section()
    for status, count in report.statuses.items():
        table.add_row(f"instances {status}", f"{count:,}")
    table.add_row("instances overdue", f"{report.overdue:,}")
    table.add_row("instances moved", f"{report.moved:,}")
    table.add_section()
    for phase, seconds in report.phases.items():
        table.add_row(f"seconds: {phase}", f"{seconds:.2f}")
    table.add_row("seconds: total", f"{report.seconds:.2f}")
    return table
