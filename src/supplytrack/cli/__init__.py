"""The supplytrack command: serve, worker, db, tokens, demo-data, import, bulk."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from huey.consumer import Consumer
from rich.console import Console
from rich.table import Table

from supplytrack.auth.service import TokenService
from supplytrack.cli.bulk import app as bulk_app
from supplytrack.cli.demo import demo_data
from supplytrack.core import migrate
from supplytrack.core.db import Database
from supplytrack.core.errors import SupplyTrackError
from supplytrack.core.identity import Role, system_actor
from supplytrack.core.logging import configure_logging
from supplytrack.core.queue import queue_location
from supplytrack.core.settings import get_settings
from supplytrack.flows import jobs as _job_kinds  # noqa: F401 - registers the bulk job kinds
from supplytrack.flows.importer import InstanceImporter
from supplytrack.flows.tokens import create_demo_tokens, create_token
from supplytrack.jobs.runner import STOP
from supplytrack.jobs.worker import consumer_app

app = typer.Typer(help="supplytrack: supplier launch-program tracking.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)
tokens_app = typer.Typer(
    help="API tokens (shown once, stored as SHA-256 digests).", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(bulk_app, name="bulk")
app.command("demo-data")(demo_data)
app.add_typer(tokens_app, name="tokens")
console = Console()


def _database() -> Database:
    settings = get_settings()
    configure_logging(settings)
    return Database(settings)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
    with_worker: Annotated[
        bool, typer.Option(help="Start a job worker beside the API (embedded queue only).")
    ] = True,
) -> None:
    """Serve the API with uvicorn (and, on the embedded queue, a job worker beside it)."""
    settings = get_settings()
    configure_logging(settings)
    helper = None
    if with_worker and not settings.redis_url:
        # The embedded queue wants its own consumer process beside the API.
        helper = subprocess.Popen([sys.executable, "-m", "supplytrack", "worker"])
    if workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        # Each worker keeps its own counters; /metrics merges them from this folder.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="supplytrack-metrics-")
    try:
        uvicorn.run(
            "supplytrack.main:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_config=None,
            access_log=False,
            proxy_headers=False,
        )
    finally:
        if helper is not None:
            helper.terminate()
            helper.wait(timeout=30)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Migrate the database up (to head by default)."""
    configure_logging(get_settings())
    migrate.upgrade(revision)
    console.print(f"database at {_current()}")


# ignore_unknown_options: "-1" (one revision down) is a revision, not an unknown option.
@db_app.command("downgrade", context_settings={"ignore_unknown_options": True})
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="A revision id, -N (N revisions down) or base.")],
) -> None:
    """Migrate the database down, e.g. `supplytrack db downgrade -1`."""
    configure_logging(get_settings())
    migrate.downgrade(revision)
    console.print(f"database at {_current() or 'base (empty)'}")


def _current() -> str | None:
    database = Database(get_settings())
    try:
        with database.engine.connect() as connection:
            return migrate.current_revision(connection)
    finally:
        database.dispose()


@db_app.command("current")
def db_current() -> None:
    """Print the database's revision and the newest one."""
    database = _database()
    with database.engine.connect() as connection:
        current = migrate.current_revision(connection)
    head = migrate.head_revision()
    console.print(f"current: {current or 'none'}  head: {head}")
    if current != head:
        raise typer.Exit(code=1)


@tokens_app.command("create")
def tokens_create(
    role: Annotated[Role, typer.Option(help="admin, manager, viewer or supplier.")],
    supplier_id: Annotated[int | None, typer.Option(help="For supplier tokens.")] = None,
    name: Annotated[str, typer.Option(help="What the token is for.")] = "cli",
) -> None:
    """Create a token and print it (it is shown only this once)."""
    database = _database()
    try:
        with database.session_scope() as session:
            row, raw = create_token(session, name, role, supplier_id)
            token_id = row.id
    except SupplyTrackError as error:
        console.print(f"[red]{error.message}[/red]")
        raise typer.Exit(code=2) from error
    console.print(f"token {token_id} ({role.value}):")
    sys.stdout.write(raw + "\n")


@tokens_app.command("list")
def tokens_list(
    include_revoked: Annotated[bool, typer.Option(help="Show revoked tokens too.")] = False,
) -> None:
    """List tokens (never the tokens themselves)."""
    database = _database()
    table = Table("id", "name", "role", "supplier", "prefix", "created", "revoked")
    with database.session_scope(write=False) as session:
        after: int | None = None
        while True:
            rows = TokenService(session).page(
                include_revoked=include_revoked, after_id=after, limit=500
            )
            for row in rows[:500]:
                table.add_row(
                    str(row.id),
                    row.name,
                    row.role.value,
                    str(row.supplier_id or ""),
                    row.prefix + "…",
                    row.created_at.isoformat(timespec="seconds"),
                    row.revoked_at.isoformat(timespec="seconds") if row.revoked_at else "",
                )
            if len(rows) <= 500:
                break
            after = rows[499].id
    console.print(table)


@tokens_app.command("revoke")
def tokens_revoke(token_id: Annotated[int, typer.Argument(help="Token id.")]) -> None:
    """Revoke a token: it is refused (401) from now on."""
    database = _database()
    try:
        with database.session_scope() as session:
            TokenService(session).revoke(token_id)
    except SupplyTrackError as error:
        console.print(f"[red]{error.message}[/red]")
        raise typer.Exit(code=2) from error
    console.print(f"token {token_id} revoked")


@app.command()
def worker(
    threads: Annotated[int, typer.Option(min=1, max=32, help="Worker threads.")] = 1,
) -> None:
    """Run the job queue's consumer (SIGTERM: finish the current chunk, then exit)."""
    settings = get_settings()
    configure_logging(settings)
    huey, _run_job = consumer_app(queue_location(settings))

    class _Consumer(Consumer):  # type: ignore[misc]
        def _handle_signal(self, signum: int, frame: object) -> None:
            STOP.set()
            super()._handle_signal(signum, frame)

    _Consumer(huey, workers=threads, worker_type="thread", graceful_signal="TERM").run()


@app.command("import")
def import_instances(
    path: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, readable=True, help="CSV file of historic task instances."
        ),
    ],
    dry_run: Annotated[bool, typer.Option(help="Check and count, write nothing.")] = False,
) -> None:
    """Import historic instances from CSV (past dates allowed; audited with source IMPORT)."""
    database = _database()
    session = database.session(write=True)
    try:
        with path.open(newline="", encoding="utf-8-sig") as lines:
            report = InstanceImporter(
                session, system_actor("import"), path.name, database.settings.app_timezone
            ).run(lines)
        for error in report.errors:
            console.print(f"[red]{error}[/red]", soft_wrap=True)
        if report.errors or dry_run:
            session.rollback()
        else:
            session.commit()
    finally:
        session.close()
    verb = "would change" if dry_run else "changed"
    console.print(
        f"{report.rows} rows: {report.created} instances created, {report.changed_fields}"
        f" fields {verb}, {report.unchanged} rows unchanged"
        + ("; nothing written" if report.errors or dry_run else "")
    )
    if report.errors:
        raise typer.Exit(code=2)


@app.command("demo-tokens")
def demo_tokens(
    url: Annotated[str, typer.Option(help="Where the API will listen.")] = "http://127.0.0.1:8000",
) -> None:
    """Create fresh admin, viewer and supplier tokens for local use and print them."""
    database = _database()
    with database.session_scope() as session:
        created = create_demo_tokens(session)
    console.print(f"\nsupplytrack will listen on [bold]{url}[/bold] (API docs: {url}/docs)")
    for role, supplier_id, raw in created:
        scope = f" (supplier {supplier_id})" if supplier_id else ""
        console.print(f"  {role.value:<9}{scope}: [bold]{raw}[/bold]", soft_wrap=True)
    admin_token = created[0][2]
    console.print(
        f'try:  curl -s -H "Authorization: Bearer {admin_token}" {url}/api/projects',
        soft_wrap=True,
    )
    console.print("(earlier demo tokens were revoked; these are shown only now)\n")


def main() -> None:
    """Entry point of the ``supplytrack`` command."""
    app()
