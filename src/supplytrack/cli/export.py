"""`supplytrack export`: the signed regulatory bundle of a project or a supplier, and its check."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from supplytrack.cli.database import unbounded_database
from supplytrack.core.errors import SupplyTrackError
from supplytrack.core.identity import system_actor
from supplytrack.core.settings import get_settings
from supplytrack.flows.bundle import BundleWriter, Scope, verify_bundle

EXAMPLE = "Example: supplytrack export --project 1 --out project-1.zip"
app = typer.Typer(
    help="The regulatory export: one signed bundle of a project's or a supplier's records.",
    invoke_without_command=True,
    epilog=EXAMPLE,
)
console = Console()


@app.callback()
def export(
    context: typer.Context,
    project: Annotated[
        int | None, typer.Option(help="Export this project's records.", min=1)
    ] = None,
    supplier: Annotated[
        int | None, typer.Option(help="Export this supplier's records.", min=1)
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Where to write the bundle (default: export-<kind>-<id>.zip)."),
    ] = None,
) -> None:
    """Write the signed bundle of one project or one supplier.

    A zip of the instances, their full history, the audit log, the access log and the
    calendars (CSV and JSON each), with a manifest (SHA-256 of every file, the chain heads,
    when and by whom) signed with AUDIT_SIGNING_KEY. Streams: memory stays flat.

    Exit 2 on a bad scope or when AUDIT_SIGNING_KEY is not set.
    """
    if context.invoked_subcommand is not None:
        return
    if (project is None) == (supplier is None):
        console.print("[red]give exactly one of --project and --supplier[/red]")
        raise typer.Exit(code=2)
    scope = Scope("project", project) if project is not None else Scope("supplier", supplier or 0)
    target = out or Path(f"export-{scope.kind}-{scope.id}.zip")
    database = unbounded_database()
    try:
        with database.session_scope(write=False) as session:
            manifest = BundleWriter(session, system_actor("cli"), database.settings).write(
                scope, target
            )
    except (SupplyTrackError, OSError) as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(code=2) from error
    finally:
        database.dispose()
    rows = {entry["name"]: entry["rows"] for entry in manifest["files"]}
    console.print(
        f"{target}: {rows['instances.csv']} instances, {rows['history.csv']} history rows,"
        f" {rows['audit_log.csv']} audit rows, {rows['access_log.csv']} access-log entries"
    )


@app.command("verify", epilog="Example: supplytrack export verify project-1.zip")
def export_verify(
    bundle: Annotated[Path, typer.Argument(help="The bundle (.zip) to check.")],
) -> None:
    """Check a bundle: its manifest's signature and every file's SHA-256. Exit 1 when not."""
    problems = verify_bundle(bundle, get_settings())
    for problem in problems:
        console.print(f"[red]{problem}[/red]", soft_wrap=True)
    if problems:
        raise typer.Exit(code=1)
    console.print(f"{bundle}: [green]ok[/green] (signature and every file check out)")
