"""Backup, restore and verify, with a manifest that proves a restore is the database backed up.

A backup is two files: the data (SQLite: a copy made with SQLite's online backup API, while
writers go on; PostgreSQL: ``pg_dump --format=custom``) and ``<file>.manifest.json``: the
schema revision, the data file's size and SHA-256, and per table the row count and a SHA-256
of its rows in primary-key order. On PostgreSQL the manifest is computed in the very snapshot
pg_dump dumps (an exported snapshot), on SQLite from the copy itself, so writes that land
during the backup are in neither or in both.

``restore`` refuses a database that holds rows (unless forced), loads the backup in one
transaction, then computes the restored database's manifest and compares it with the
backup's: any table that differs by count or checksum is named, and the command fails.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, MetaData, Table, create_engine, select
from sqlalchemy.engine import URL, make_url

from supplytrack.core.migrate import current_revision, holds_rows

MANIFEST_FORMAT = 1
_CHUNK = 5000


class BackupError(Exception):
    """A backup, restore or verify that must not go on (the message says why)."""


@dataclass
class Manifest:
    """What a backup holds: revision, file digest, and per table rows and a checksum."""

    engine: str
    revision: str | None
    tables: dict[str, dict[str, Any]]
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    file_bytes: int = 0
    file_sha256: str = ""

    @property
    def rows(self) -> int:
        """Rows in every table together."""
        return sum(int(table["rows"]) for table in self.tables.values())

    def to_json(self) -> str:
        """The manifest file's text."""
        return json.dumps(
            {
                "format": MANIFEST_FORMAT,
                "engine": self.engine,
                "revision": self.revision,
                "createdAt": self.created_at,
                "file": {"bytes": self.file_bytes, "sha256": self.file_sha256},
                "tables": self.tables,
            },
            indent=2,
            sort_keys=True,
        )

    @classmethod
    def read(cls, path: Path) -> Manifest:
        """The manifest of backup ``path`` (BackupError when missing or unreadable)."""
        where = manifest_path(path)
        try:
            raw = json.loads(where.read_text())
            return cls(
                engine=raw["engine"],
                revision=raw["revision"],
                tables=raw["tables"],
                created_at=raw["createdAt"],
                file_bytes=raw["file"]["bytes"],
                file_sha256=raw["file"]["sha256"],
            )
        except FileNotFoundError as error:
            msg = f"{where} is missing: a backup without its manifest cannot be checked"
            raise BackupError(msg) from error
        except (ValueError, KeyError, TypeError) as error:
            raise BackupError(f"{where} is not a supplytrack backup manifest") from error


def manifest_path(path: Path) -> Path:
    """Where the manifest of backup ``path`` is."""
    return path.with_name(path.name + ".manifest.json")


def file_digest(path: Path) -> tuple[int, str]:
    """Size and SHA-256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return path.stat().st_size, digest.hexdigest()


def table_checksums(connection: Connection) -> dict[str, dict[str, Any]]:
    """Per table: its row count and a SHA-256 of its rows in primary-key order."""
    metadata = MetaData()
    metadata.reflect(connection)
    found: dict[str, dict[str, Any]] = {}
    for name in sorted(metadata.tables):
        table: Table = metadata.tables[name]
        order = list(table.primary_key.columns) or list(table.columns)
        digest = hashlib.sha256()
        rows = 0
        result = connection.execution_options(yield_per=_CHUNK).execute(
            select(table).order_by(*order)
        )
        for partition in result.partitions():
            for row in partition:
                digest.update(repr(tuple(row)).encode())
                digest.update(b"\n")
            rows += len(partition)
        found[name] = {"rows": rows, "sha256": digest.hexdigest()}
    return found


def _manifest_of(connection: Connection) -> Manifest:
    return Manifest(
        engine=connection.dialect.name,
        revision=current_revision(connection),
        tables=table_checksums(connection),
    )


def differences(expected: Manifest, found: Manifest) -> list[str]:
    """What differs between two manifests (empty: the same data)."""
    problems = []
    if expected.revision != found.revision:
        problems.append(f"schema revision {found.revision}, expected {expected.revision}")
    for name in sorted(set(expected.tables) | set(found.tables)):
        want, got = expected.tables.get(name), found.tables.get(name)
        if want is None or got is None:
            problems.append(f"table {name}: {'unexpected' if want is None else 'missing'}")
        elif want["rows"] != got["rows"]:
            problems.append(f"table {name}: {got['rows']} rows, expected {want['rows']}")
        elif want["sha256"] != got["sha256"]:
            problems.append(f"table {name}: same row count, different contents")
    return problems


def _libpq(url: URL) -> str:
    """A SQLAlchemy PostgreSQL URL as pg_dump and pg_restore take it."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


# Backups and restores read and write every row: on PostgreSQL with row-level security they
# work as the system scope (core/rowsecurity.py), on their own connections only.
_SYSTEM_OPTIONS = "-c supplytrack.role=system"


def _engine(url: URL) -> Any:
    if url.get_backend_name() == "postgresql":
        return create_engine(url, connect_args={"options": _SYSTEM_OPTIONS})
    return create_engine(url)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        msg = f"{name} is not installed (Debian: apt-get install postgresql-client)"
        raise BackupError(msg)
    return found


def _run(command: list[str]) -> None:
    environment = {**os.environ, "PGOPTIONS": _SYSTEM_OPTIONS}
    done = subprocess.run(  # noqa: S603
        command, capture_output=True, text=True, check=False, env=environment
    )
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {done.stderr.strip()[-2000:]}")


def _sqlite_file(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(url.database)


def _sqlite_copy(source: Path, target: Path) -> None:
    """Copy one SQLite database into another with the online backup API (one consistent step)."""
    reading, writing = sqlite3.connect(source), sqlite3.connect(target)
    try:
        reading.backup(writing)
    finally:
        writing.close()
        reading.close()


def _sqlite_manifest(path: Path) -> Manifest:
    return _manifest_at(make_url(f"sqlite:///{path}"))


def backup(database_url: str, target: Path) -> Manifest:
    """Back ``database_url`` up into ``target`` (and its manifest); the manifest."""
    url = make_url(database_url)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        raise BackupError(f"{target} exists already: choose a new file")
    if url.get_backend_name() == "sqlite":
        source = _sqlite_file(url)
        if not source.exists():
            raise BackupError(f"{source} does not exist")
        _sqlite_copy(source, target)
        manifest = _sqlite_manifest(target)
    else:
        manifest = _pg_backup(url, target)
    manifest.file_bytes, manifest.file_sha256 = file_digest(target)
    manifest_path(target).write_text(manifest.to_json())
    return manifest


def _pg_backup(url: URL, target: Path) -> Manifest:
    pg_dump = _tool("pg_dump")
    engine = _engine(url)
    try:
        with (
            engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection,
            connection.begin(),
        ):
            snapshot = connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
            # pg_dump dumps the very snapshot this transaction holds open and reads.
            _run(
                [
                    pg_dump,
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    "--enable-row-security",
                    f"--snapshot={snapshot}",
                    f"--file={target}",
                    f"--dbname={_libpq(url)}",
                ]
            )
            return _manifest_of(connection)
    finally:
        engine.dispose()


def restore(database_url: str, source: Path, *, force: bool = False) -> Manifest:
    """Restore backup ``source`` into ``database_url`` and prove it; the restored manifest.

    Refuses a database that holds rows unless ``force``; checks the backup file against its
    manifest first, and the restored database against it afterwards.
    """
    expected = _checked(source)
    url = make_url(database_url)
    if url.get_backend_name() != ("sqlite" if expected.engine == "sqlite" else "postgresql"):
        raise BackupError(f"a {expected.engine} backup restores into {expected.engine} only")
    engine = _engine(url)
    try:
        with engine.connect() as connection:
            full = holds_rows(connection)
    finally:
        engine.dispose()
    if full and not force:
        names = ", ".join(full[:5])
        msg = (
            f"the database is not empty ({names} hold rows): restore into an empty one, or --force"
        )
        raise BackupError(msg)
    if expected.engine == "sqlite":
        _sqlite_copy(source, _sqlite_file(url))
    else:
        _pg_restore(url, source, clean=True)
    found = _manifest_at(url)
    problems = differences(expected, found)
    if problems:
        raise BackupError("the restored database differs from the backup: " + "; ".join(problems))
    return found


def _checked(source: Path) -> Manifest:
    """The manifest of ``source``, once the file is there and matches its digest."""
    expected = Manifest.read(source)
    if not source.exists():
        raise BackupError(f"{source} does not exist")
    if file_digest(source) != (expected.file_bytes, expected.file_sha256):
        raise BackupError(f"{source} does not match its manifest (damaged or replaced)")
    return expected


def _pg_restore(url: URL, source: Path, *, clean: bool) -> None:
    """pg_restore in one transaction (``clean``: drop what is there first)."""
    _run(
        [
            _tool("pg_restore"),
            *(["--clean", "--if-exists"] if clean else []),
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            "--enable-row-security",
            f"--dbname={_libpq(url)}",
            str(source),
        ]
    )


def _manifest_at(url: URL) -> Manifest:
    engine = _engine(url)
    try:
        with engine.connect() as connection:
            return _manifest_of(connection)
    finally:
        engine.dispose()


def verify(source: Path, *, scratch_url: str | None = None) -> Manifest:
    """Check a backup against its manifest: the file's digest, then its data.

    SQLite: the copy's tables are read and compared. PostgreSQL: the archive is listed, and
    with ``scratch_url`` (a server where a database may be created) it is restored into a new
    database there, compared table by table, and dropped.
    """
    expected = _checked(source)
    if expected.engine == "sqlite":
        found = _sqlite_manifest(source)
    else:
        _run([_tool("pg_restore"), "--list", str(source)])
        if scratch_url is None:
            return expected
        with _scratch_database(scratch_url) as url:
            _pg_restore(url, source, clean=False)
            found = _manifest_at(url)
    problems = differences(expected, found)
    if problems:
        raise BackupError(f"{source} differs from its manifest: " + "; ".join(problems))
    return found


@contextmanager
def _scratch_database(server_url: str) -> Iterator[URL]:
    """A new, empty PostgreSQL database on the server of ``server_url``, dropped afterwards."""
    url = make_url(server_url)
    # Only letters, digits and _ from the operator's URL: the name is formatted into DDL.
    stem = re.sub(r"[^A-Za-z0-9_]", "_", url.database or "supplytrack")[:45]
    name = f"{stem}_verify_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            # nosemgrep: sql-built-from-strings - a scratch name we made
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield url.set(database=name)
    finally:
        with admin.connect() as connection:
            # nosemgrep: sql-built-from-strings - a scratch name we made
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def default_target(database_url: str, directory: Path | None = None) -> Path:
    """backups/supplytrack-<UTC time>.db (SQLite) or .dump (PostgreSQL)."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    suffix = ".db" if make_url(database_url).get_backend_name() == "sqlite" else ".dump"
    return (directory or Path("backups")) / f"supplytrack-{stamp}{suffix}"


def sqlite_safety_copy(database_url: str) -> Path | None:
    """Before migrating an SQLite file: a backup of it beside it (None when nothing to copy)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    source = Path(url.database)
    if not source.exists() or source.stat().st_size == 0:
        return None
    engine = _engine(url)
    try:
        with engine.connect() as connection:
            if not holds_rows(connection):
                return None  # a schema without data: nothing a backup would keep
    finally:
        engine.dispose()
    directory = source.absolute().parent / "backups"
    target = default_target(database_url, directory)
    while target.exists():
        target = target.with_name(f"{target.stem}-{uuid.uuid4().hex[:4]}{target.suffix}")
    backup(database_url, target)
    return target
