"""The supplytrack command: serve, worker, db, tokens, demo-data, import, bulk."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from huey.consumer import Consumer
from rich.console import Console
from rich.table import Table
from sqlalchemy import exc

from supplytrack.api.warm import warm
from supplytrack.auth.models import ApiToken
from supplytrack.auth.service import TokenService
from supplytrack.cli.audit import app as audit_app
from supplytrack.cli.bulk import app as bulk_app
from supplytrack.cli.checks import check
from supplytrack.cli.demo import demo_data
from supplytrack.cli.export import app as export_app
from supplytrack.cli.retention import app as retention_app
from supplytrack.core import backup as backups
from supplytrack.core import dbroles, migrate
from supplytrack.core.db import Database, is_unavailable
from supplytrack.core.errors import SupplyTrackError
from supplytrack.core.identity import Role, system_actor
from supplytrack.core.logging import configure_logging
from supplytrack.core.queue import queue_at
from supplytrack.core.server import EnvelopeHttpTools
from supplytrack.core.settings import get_settings
from supplytrack.flows import jobs as _job_kinds  # noqa: F401 - registers the bulk job kinds
from supplytrack.flows.importer import InstanceImporter
from supplytrack.flows.tokens import create_demo_tokens, create_token
from supplytrack.jobs.runner import STOP
from supplytrack.jobs.worker import Sweeper, consumer_app, worker_database
from supplytrack.main import create_app


def example(arguments: str) -> str:
    """A help page's example: a command that works as printed (tests/test_cli_help.py runs it)."""
    return f"Example: supplytrack {arguments}"


app = typer.Typer(
    help="supplytrack: supplier launch-program tracking.",
    epilog="Example: supplytrack db upgrade && supplytrack demo-data --scale small --seed 1"
    " --if-empty && supplytrack serve --port 8100",
    no_args_is_help=True,
)
db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)
tokens_app = typer.Typer(
    help="API tokens (shown once, stored as SHA-256 digests).", no_args_is_help=True
)
cache_app = typer.Typer(
    help="The read cache (exactly invalidated by every committed write).", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(cache_app, name="cache")
app.add_typer(bulk_app, name="bulk")
app.add_typer(audit_app, name="audit")
app.add_typer(export_app, name="export")
app.add_typer(retention_app, name="retention")
app.command("demo-data", epilog=example("demo-data --scale small --seed 1 --if-empty"))(demo_data)
app.add_typer(tokens_app, name="tokens")
console = Console()
# Who the audit log names for changes made from the command line.
CLI_ACTOR = system_actor("cli")
log = logging.getLogger("supplytrack.worker")


def _database() -> Database:
    settings = get_settings()
    configure_logging(settings)
    return Database(settings)


@app.command(epilog=example("serve --port 8100 --workers 2"))
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
    with_worker: Annotated[
        bool, typer.Option(help="Start a job worker beside the API (embedded queue only).")
    ] = True,
) -> None:
    """Serve the API with uvicorn (and, on the embedded queue, a job worker beside it).

    SIGTERM or SIGINT: stop accepting, let requests in flight finish (SHUTDOWN_GRACE_SECONDS),
    stop the job worker after its chunk in hand, exit 0.
    """
    settings = get_settings()
    configure_logging(settings)

    def stop(_signum: int, _frame: object) -> None:
        # uvicorn handles the signals while it serves and raises them again once it has
        # stopped; they land here (as does one that comes before uvicorn is up), and the
        # finally below stops the job worker before the process exits 0.
        raise SystemExit(0)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)
    helper = None
    if with_worker and not settings.redis_url:
        # The embedded queue wants its own consumer process beside the API.
        helper = subprocess.Popen([sys.executable, "-m", "supplytrack", "worker"])
    if settings.web_session_key is None:
        # The workers must sign and check the web app's cookies with one key: make one for this
        # run (sessions then end when serve restarts; set WEB_SESSION_KEY to keep them).
        os.environ["WEB_SESSION_KEY"] = secrets.token_urlsafe(32)
        logging.getLogger("supplytrack.web").info(
            "WEB_SESSION_KEY is not set: web sessions end when the service restarts"
        )
    metrics_dir = None
    if workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        # Each worker keeps its own counters; /metrics merges them from this folder.
        metrics_dir = tempfile.mkdtemp(prefix="supplytrack-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
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
            server_header=False,  # no "server: uvicorn" on every answer
            http=EnvelopeHttpTools,  # malformed requests get the error envelope too
            timeout_graceful_shutdown=settings.shutdown_grace_seconds,
        )
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, signal.SIG_IGN)  # already stopping: finish that
        if helper is not None:
            _stop_worker(helper, settings.job_lease_seconds)
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _stop_worker(helper: subprocess.Popen[bytes], patience: float) -> None:
    """SIGTERM the job worker (it finishes its chunk in hand); SIGKILL if it will not go."""
    if helper.poll() is None:
        helper.send_signal(signal.SIGTERM)
    try:
        helper.wait(timeout=patience)
    except subprocess.TimeoutExpired:
        log.warning("the job worker did not stop within %s s; killed", patience)
        helper.kill()
        helper.wait()


@db_app.command("upgrade", epilog=example("db upgrade"))
def db_upgrade(
    revision: Annotated[str, typer.Argument()] = "head",
    take_backup: Annotated[
        bool, typer.Option("--backup/--no-backup", help="SQLite: back up first (default).")
    ] = True,
) -> None:
    """Migrate the database up (to head by default).

    On SQLite, a database with data that is not at the revision yet is first backed up with
    its manifest into backups/ beside it. PostgreSQL: take `db backup` first (docs/operations.md).
    """
    settings = get_settings()
    configure_logging(settings)
    if take_backup and _current() != (migrate.head_revision() if revision == "head" else revision):
        _backup_first(settings.database_url, "upgrade")
    migrate.upgrade(revision)
    console.print(f"database at {_current()}")


@db_app.command("roles", epilog=example("db roles --owner supplytrack_owner --app supplytrack_app"))
def db_roles(
    owner: Annotated[
        str, typer.Option(help="The role that owns the tables.")
    ] = "supplytrack_owner",
    app_role: Annotated[
        str, typer.Option("--app", help="The role the service connects as.")
    ] = "supplytrack_app",
    admin_url: Annotated[
        str | None,
        typer.Option(help="Connect as this DBA (default: DATABASE_MIGRATION_URL, DATABASE_URL)."),
    ] = None,
    owner_password_env: Annotated[
        str | None, typer.Option(help="Environment variable holding the owner's password.")
    ] = None,
    app_password_env: Annotated[
        str | None, typer.Option(help="Environment variable holding the service's password.")
    ] = None,
) -> None:
    """PostgreSQL: create the tables' owner and the service's role (row-level security).

    The owner gets every object of the schema and runs migrations, backups and restores
    (DATABASE_MIGRATION_URL); the service's role owns nothing, is no superuser, cannot bypass
    row-level security and only reads and writes rows (DATABASE_URL). Idempotent.
    """
    settings = get_settings()
    configure_logging(settings)
    url = admin_url or settings.owner_url
    if url.startswith("sqlite"):
        console.print("SQLite has no database users: nothing to do (the application's scope")
        console.print("is the guard there; row-level security is PostgreSQL's)")
        return

    def secret(name: str | None) -> str | None:
        if name is None:
            return None
        value = os.environ.get(name)
        if not value:
            console.print(f"[red]{name} is not set[/red]")
            raise typer.Exit(code=2)
        return value

    try:
        plan = dbroles.create_roles(
            url,
            owner=owner,
            app=app_role,
            owner_password=secret(owner_password_env),
            app_password=secret(app_password_env),
        )
    except dbroles.RoleError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(code=2) from error
    made = ", ".join(plan.created) or "none (both existed)"
    console.print(f"roles created: {made}; objects handed to {plan.owner}: {plan.handed_over}")
    console.print(f"DATABASE_MIGRATION_URL={dbroles.role_url(url, plan.owner, None)}")
    console.print(f"DATABASE_URL={dbroles.role_url(url, plan.app, None)}")


@db_app.command("backup", epilog=example("db backup backups/example.db"))
def db_backup(
    target: Annotated[
        Path | None, typer.Argument(help="The backup file (default: backups/supplytrack-<time>).")
    ] = None,
) -> None:
    """Back the database up while it serves, with a manifest (revision, rows, checksums).

    SQLite: SQLite's online backup API. PostgreSQL: pg_dump --format=custom, the manifest
    taken in the same snapshot. The manifest is written beside it as <file>.manifest.json.
    """
    settings = get_settings()
    configure_logging(settings)
    where = target or backups.default_target(settings.database_url)
    started = time.perf_counter()
    manifest = _backup_step(lambda: backups.backup(settings.owner_url, where), exit_code=2)
    console.print(
        f"backup {where} ({manifest.file_bytes:,} bytes, {len(manifest.tables)} tables,"
        f" {manifest.rows:,} rows, revision {manifest.revision})"
        f" in {time.perf_counter() - started:.1f} s"
    )


def _backup_step(step: Callable[[], backups.Manifest], exit_code: int) -> backups.Manifest:
    """Run a backup, restore or verify; its refusal printed in red, exiting ``exit_code``."""
    try:
        return step()
    except backups.BackupError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(code=exit_code) from error


@db_app.command("restore", epilog=example("db restore backups/example.db --force"))
def db_restore(
    source: Annotated[Path, typer.Argument(help="A backup file made by db backup.")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace a database that holds data.")
    ] = False,
) -> None:
    """Restore a backup into an empty database and prove it (every table by rows and checksum).

    Stop the service first. A database that holds rows is refused unless --force. Running
    caches are told (every process reads the database again).
    """
    settings = get_settings()
    configure_logging(settings)
    started = time.perf_counter()
    manifest = _backup_step(
        lambda: backups.restore(settings.owner_url, source, force=force), exit_code=2
    )
    database = _database()
    try:
        database.cache.clear()
    finally:
        database.dispose()
    console.print(
        f"restored {source}: {len(manifest.tables)} tables, {manifest.rows:,} rows,"
        f" identical to the backup, in {time.perf_counter() - started:.1f} s"
    )


@db_app.command("verify", epilog=example("db verify backups/example.db"))
def db_verify(
    source: Annotated[Path, typer.Argument(help="A backup file made by db backup.")],
    scratch_url: Annotated[
        str | None,
        typer.Option(help="PostgreSQL: a server URL where a scratch database may be made."),
    ] = None,
) -> None:
    """Check a backup against its manifest (exit 1 when it differs).

    SQLite: the copy is read table by table. PostgreSQL: the archive is listed, and with
    --scratch-url restored into a scratch database, compared and dropped.
    """
    configure_logging(get_settings())
    manifest = _backup_step(lambda: backups.verify(source, scratch_url=scratch_url), exit_code=1)
    console.print(
        f"{source} is sound: {len(manifest.tables)} tables, {manifest.rows:,} rows,"
        " as its manifest says"
    )


# ignore_unknown_options: "-1" (one revision down) is a revision, not an unknown option.
@db_app.command(
    "downgrade",
    context_settings={"ignore_unknown_options": True},
    epilog=example("db downgrade -1"),
)
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="A revision id, -N (N revisions down) or base.")],
    yes: Annotated[
        bool, typer.Option("--yes", help="Go ahead although the downgrade drops rows.")
    ] = False,
    take_backup: Annotated[
        bool, typer.Option("--backup/--no-backup", help="SQLite: back up first (default).")
    ] = True,
) -> None:
    """Migrate the database down, for a rollback to an older release.

    What a revision's downgrade drops is set aside in stash tables and put back by the next
    upgrade, so down and up again leave schema and data as they were. Going below the first
    revision drops everything: with rows in the database that asks for --yes. SQLite is
    backed up first, as for an upgrade.
    """
    settings = get_settings()
    configure_logging(settings)
    database = Database(settings)
    try:
        with database.engine.connect() as connection:
            lost = migrate.data_lost_by(connection, revision)
            steps = migrate.steps_down(connection, revision)
    finally:
        database.dispose()
    if lost is not None and not yes:
        console.print(f"[red]{lost}[/red]")
        raise typer.Exit(code=2)
    if take_backup and steps:
        _backup_first(settings.database_url, "downgrade")
    migrate.downgrade(revision)
    console.print(f"database at {_current() or 'base (empty)'}")


def _backup_first(database_url: str, step: str) -> None:
    """SQLite: a backup beside the database before a migration (exit 2 when it fails)."""
    try:
        copy = backups.sqlite_safety_copy(database_url)
    except backups.BackupError as error:
        console.print(f"[red]no backup, so no {step}: {error}[/red]")
        raise typer.Exit(code=2) from error
    if copy is not None:
        console.print(f"backed up first: {copy}")


def _current() -> str | None:
    database = Database(get_settings())
    try:
        with database.engine.connect() as connection:
            return migrate.current_revision(connection)
    finally:
        database.dispose()


@db_app.command("current", epilog=example("db current"))
def db_current() -> None:
    """Print the database's revision and the newest one."""
    database = _database()
    with database.engine.connect() as connection:
        current = migrate.current_revision(connection)
    head = migrate.head_revision()
    console.print(f"current: {current or 'none'}  head: {head}")
    if current != head:
        raise typer.Exit(code=1)


@tokens_app.command("create", epilog=example("tokens create --role manager --name alice"))
def tokens_create(
    role: Annotated[Role, typer.Option(help="admin, manager, viewer or supplier.")],
    supplier_id: Annotated[int | None, typer.Option(help="For supplier tokens.")] = None,
    name: Annotated[str, typer.Option(help="What the token is for.")] = "cli",
    expires_in: Annotated[
        str | None,
        typer.Option(help="Refuse it after this long: 90d, 12h or 30m (default: never)."),
    ] = None,
) -> None:
    """Create a token and print it (it is shown only this once)."""
    life = _duration(expires_in, "--expires-in") if expires_in else None
    database = _database()
    try:
        with database.session_scope() as session:
            row, raw = create_token(session, name, role, supplier_id, life, CLI_ACTOR)
            token_id = row.id
    except SupplyTrackError as error:
        console.print(f"[red]{error.message}[/red]")
        raise typer.Exit(code=2) from error
    console.print(f"token {token_id} ({role.value}):")
    sys.stdout.write(raw + "\n")


def _duration(text: str, option: str) -> timedelta:
    """90d, 12h, 30m (a bad one: exit 2, naming the option)."""
    match = re.fullmatch(r"(\d{1,6})([dhm])", text.strip())
    if match is None:
        console.print(f"[red]{option}: say how long as 90d, 12h or 30m, not {text!r}[/red]")
        raise typer.Exit(code=2)
    unit = {"d": "days", "h": "hours", "m": "minutes"}[match.group(2)]
    return timedelta(**{unit: int(match.group(1))})


@tokens_app.command("rotate", epilog=example("tokens rotate 1 --grace 1h"))
def tokens_rotate(
    token_id: Annotated[int, typer.Argument(help="The token to replace.")],
    grace: Annotated[
        str, typer.Option(help="How long the old token keeps working: 1h, 30m, 0m.")
    ] = "1h",
) -> None:
    """Print a new token that replaces this one; the old one is refused after the grace period.

    The new token keeps the name, role and supplier (and as long a life, if the old one had
    an expiry). Give it to whoever uses the old one before the grace period ends.
    """
    period = _duration(grace, "--grace")
    database = _database()
    try:
        with database.session_scope() as session:
            row, raw = TokenService(session, CLI_ACTOR).rotate(token_id, period)
            new_id = row.id
    except SupplyTrackError as error:
        console.print(f"[red]{error.message}[/red]")
        raise typer.Exit(code=2) from error
    console.print(f"token {new_id} replaces token {token_id}, which works for {grace} more:")
    sys.stdout.write(raw + "\n")


@tokens_app.command("list", epilog=example("tokens list --include-revoked"))
def tokens_list(
    include_revoked: Annotated[bool, typer.Option(help="Show revoked tokens too.")] = False,
) -> None:
    """List tokens (never the tokens themselves).

    Created and revoked instants are UTC, to the minute; the last use and the expiry (shown
    when some token has one) to the day. A supplier token's role names its supplier. The name
    comes last and wraps, so that the table fits an 80-column terminal.
    """
    database = _database()
    with database.session_scope(write=False) as session:
        service = TokenService(session)
        rows: list[ApiToken] = []
        after: int | None = None
        while True:
            page = service.page(include_revoked=include_revoked, after_id=after, limit=500)
            rows.extend(page[:500])
            if len(page) <= 500:
                break
            after = page[499].id
        used = service.last_used([row.id for row in rows])
    expiring = any(row.expires_at is not None for row in rows)
    table = Table(box=None, pad_edge=False, caption="times in UTC", caption_justify="left")
    headers = ["id", "role", "prefix", "created", "last used"]
    headers += ["expires"] if expiring else []
    headers += ["revoked"] if include_revoked else []
    for header in headers:
        table.add_column(header, no_wrap=True, justify="right" if header == "id" else "left")
    table.add_column("name", overflow="fold", min_width=8)
    for row in rows:
        role = row.role.value + (f" {row.supplier_id}" if row.supplier_id else "")
        cells = [str(row.id), role, row.prefix, _minute(row.created_at), _day(used.get(row.id))]
        cells += [_day(row.expires_at)] if expiring else []
        cells += [_minute(row.revoked_at)] if include_revoked else []
        table.add_row(*cells, row.name)
    console.print(table)


def _day(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d") if moment is not None else ""


def _minute(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment is not None else ""


@tokens_app.command("revoke", epilog=example("tokens revoke 1"))
def tokens_revoke(token_id: Annotated[int, typer.Argument(help="Token id.")]) -> None:
    """Revoke a token: it is refused (401) from now on."""
    database = _database()
    try:
        with database.session_scope() as session:
            TokenService(session, CLI_ACTOR).revoke(token_id)
    except SupplyTrackError as error:
        console.print(f"[red]{error.message}[/red]")
        raise typer.Exit(code=2) from error
    console.print(f"token {token_id} revoked")


@cache_app.command("warm", epilog=example("cache warm"))
def cache_warm() -> None:
    """Fill the cache with the reads most people open first (projects, suppliers, reports).

    With REDIS_URL the values land in Redis for every server; without it, each server
    process keeps its own cache in memory and warms it as it starts (CACHE_WARM), so this
    only shows which reads warming does and how long each takes.
    """
    settings = get_settings()
    configure_logging(settings)
    if not settings.cache_enabled:
        console.print("the cache is off (CACHE_ENABLED=false): nothing to warm")
        return
    application = create_app(settings)
    try:
        done = asyncio.run(warm(application))
    finally:
        application.state.database.dispose()
    table = Table("read", "status", "ms")
    for item in done:
        table.add_row(item.path, str(item.status), f"{item.seconds * 1000:.0f}")
    console.print(table)
    where = "Redis" if settings.redis_url else "this command's memory only (see --help)"
    console.print(f"{len(done)} reads warmed into {where}")
    if any(item.status != 200 for item in done):
        raise typer.Exit(code=1)


@cache_app.command("clear", epilog=example("cache clear"))
def cache_clear() -> None:
    """Invalidate every cached value, in every process.

    For changes made outside the service, such as a restore or a hand-written UPDATE.
    """
    database = _database()
    try:
        database.cache.clear()
    finally:
        database.dispose()
    console.print("cache cleared: every process reads the database again")


@app.command(epilog=example("worker"))
def worker(
    threads: Annotated[int, typer.Option(min=1, max=32, help="Worker threads.")] = 1,
) -> None:
    """Run the job queue's consumer (SIGTERM: finish the current chunk, then exit)."""
    settings = get_settings()
    configure_logging(settings)
    huey, _run_job = consumer_app(queue_at(settings, consumer=True))
    sweeper = threading.Thread(
        target=Sweeper(worker_database()).run, args=(STOP,), name="job-sweeper", daemon=True
    )
    # Hold SIGTERM and SIGINT until the consumer's handlers are in place: one arriving while
    # it starts would otherwise kill the process instead of stopping it gracefully.
    held = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, held)

    class _Consumer(Consumer):  # type: ignore[misc]
        def _set_signal_handlers(self) -> None:
            super()._set_signal_handlers()
            signal.pthread_sigmask(signal.SIG_UNBLOCK, held)
            sweeper.start()
            log.info("worker ready: SIGTERM finishes the chunk in hand, then exits")

        def _handle_signal(self, signum: int, frame: object) -> None:
            STOP.set()
            super()._handle_signal(signum, frame)

    _Consumer(huey, workers=threads, worker_type="thread", graceful_signal="TERM").run()
    STOP.set()
    if sweeper.is_alive():  # a job the sweeper runs stops after its chunk in hand, too
        sweeper.join(timeout=settings.job_lease_seconds)


app.command("check", epilog=example("check --json"))(check)


@app.command("import", epilog=example("import history.csv --dry-run"))
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


ROLE_USES = {
    Role.MANAGER: "program managers and supplier-quality engineers: all project data,"
    " bulk moves, approvals",
    Role.ADMIN: "everything a manager may, plus API tokens and operations",
    Role.VIEWER: "reads and reports only",
    Role.SUPPLIER: "one supplier's own staff: its tasks only",
}


@app.command("demo-tokens", epilog=example("demo-tokens --url http://127.0.0.1:8100"))
def demo_tokens(
    url: Annotated[str, typer.Option(help="Where the API will listen.")] = "http://127.0.0.1:8000",
) -> None:
    """Create fresh demo tokens (one per role) and print them with a first call to paste.

    Earlier demo tokens are revoked.
    """
    database = _database()
    with database.session_scope() as session:
        demo = create_demo_tokens(session, database.settings)
    base = url.rstrip("/")
    console.print(f"\nsupplytrack will listen on [bold]{base}[/bold] (API docs: {base}/docs)")
    console.print(f"open {base}/ in a browser and sign in with one of these tokens")
    console.print("demo tokens (shown only now; earlier demo tokens were revoked):")
    for role, supplier_id, raw in demo.tokens:
        use = ROLE_USES[role]
        if supplier_id is not None:
            use += f" (supplier {supplier_id}, {demo.supplier_name})"
        console.print(f"  {role.value:<9}{raw}  {use}", soft_wrap=True, highlight=False)
    manager = next(raw for role, _s, raw in demo.tokens if role == Role.MANAGER)
    lines = [f"export BASE={base} TOKEN={manager}"]
    lines.append('curl -s -H "Authorization: Bearer $TOKEN" "$BASE/api/projects"')
    if demo.tour_instance is not None:
        instance_id, version = demo.tour_instance
        lines.append(
            'curl -s -X PATCH -H "Authorization: Bearer $TOKEN"'
            f" -H 'If-Match: \"{version}\"' -H 'Content-Type: application/json'"
            ' -d \'{"status": "IN_PROGRESS"}\''
            f' "$BASE/api/task-instances/{instance_id}"'
        )
    console.print("try (as the manager; README.md has the whole tour):")
    for line in lines:
        console.print(f"  {line}", soft_wrap=True, highlight=False, markup=False)
    console.print()


def main() -> None:
    """Entry point of the ``supplytrack`` command."""
    try:
        app()
    except exc.DBAPIError as error:
        # A newcomer's first mistakes: no schema yet, or no server where DATABASE_URL points.
        text = str(error.orig).lower()
        if "no such table" in text or ("does not exist" in text and "relation" in text):
            hint = "the database has no schema yet: run `supplytrack db upgrade` first"
        elif is_unavailable(error):
            hint = "the database cannot be reached: check DATABASE_URL and that the server runs"
        else:
            raise
        Console(stderr=True).print(f"[red]{hint}[/red] ({type(error.orig).__name__})")
        raise SystemExit(2) from error
