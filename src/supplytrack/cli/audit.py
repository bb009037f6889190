"""`supplytrack audit verify` and `supplytrack audit checkpoint` (the hash chains, ADR 0015)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated

import typer
from rich.console import Console

from supplytrack.audit.chain import CheckpointError, make_checkpoint, verify
from supplytrack.cli.database import unbounded_database
from supplytrack.core.time import utcnow
from supplytrack.integrity import chain_schedule as _schedule  # noqa: F401 - the periodic one

app = typer.Typer(help="The audit trail's hash chains: verify them, checkpoint their heads.")
console = Console()


@app.command("verify", epilog="Example: supplytrack audit verify --json")
def audit_verify(
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Walk every hash chain of the history and the audit log, then every checkpoint.

    Names the first broken link of each table (table, chain, row id, what is wrong: content
    changed, hash missing, link broken) and of the checkpoints (signature invalid, signing key
    unknown, checkpoint link broken, checkpoint head missing). Exit 0 when all hold, 1 when
    not. Reads a page at a time: memory stays flat however large the tables.
    """
    database = unbounded_database()
    try:
        with database.session_scope(write=False) as session:
            report = verify(session, database.settings)
    finally:
        database.dispose()
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2))
    else:
        for table in report.tables:
            console.print(
                f"{table.table}: {table.rows} rows in {table.chains} chains,"
                f" {table.breaks} broken links"
            )
        console.print(
            f"audit_checkpoints: {report.checkpoints} checkpoints,"
            f" {len(report.checkpoint_breaks)} problems"
        )
        for found in report.first_breaks():
            console.print(f"[red]{found.line()}[/red]", soft_wrap=True)
        console.print("[green]ok[/green]" if report.ok else "[red]broken[/red]")
    if not report.ok:
        raise typer.Exit(code=1)


@app.command("checkpoint", epilog="Example: supplytrack audit checkpoint --grace 0")
def audit_checkpoint(
    grace: Annotated[
        int | None,
        typer.Option(
            help="Seconds: cover the ids seen by a checkpoint this long ago"
            " (default AUDIT_CHECKPOINT_GRACE_SECONDS); 0 covers every row now, safe only"
            " while nothing writes.",
            min=0,
        ),
    ] = None,
) -> None:
    """Sign the chain heads now (HMAC-SHA256 with AUDIT_SIGNING_KEY), as workers do hourly.

    Exit 2 when AUDIT_SIGNING_KEY is not set.
    """
    database = unbounded_database()
    wait = None if grace is None else timedelta(seconds=grace)
    try:
        with database.session_scope() as session:
            made = make_checkpoint(session, database.settings, utcnow(), wait)
            line = (
                f"checkpoint {made.id}: history to id {made.history_boundary}"
                f" ({made.history_rows} new rows), audit log to id {made.audit_boundary}"
                f" ({made.audit_rows} new rows), key {made.key_id}"
            )
    except CheckpointError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(code=2) from error
    finally:
        database.dispose()
    console.print(line)
