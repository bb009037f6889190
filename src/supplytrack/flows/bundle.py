"""The regulatory export: one signed bundle of a project's or a supplier's records.

A bundle is a zip file holding, each as CSV and as JSON (an array of objects):

- ``instances``: the task instances in scope, every column;
- ``history``: their full history, every column (hashes included), in chain order;
- ``audit_log``: the audit rows about the objects in scope (see :func:`_audit_scope`);
- ``access_log``: the requests of the suppliers in scope;
- ``calendars`` and ``holidays``: the working-day calendars of the projects in scope;

and ``manifest.json`` (the format, the scope, when and by whom, each file's SHA-256, size and
row count, the heads of the exported hash chains and the newest signed checkpoint) with its
detached signature ``manifest.sig`` (HMAC-SHA256 with AUDIT_SIGNING_KEY, as the checkpoints).

Rows are streamed from the database into temporary files and the zip is written from those
files, so memory stays flat whatever the row count; only the current chain's head is held.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import os
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Select, and_, false, or_, select
from sqlalchemy.orm import Session

from supplytrack.audit.access import about_project, held_projects, prunable
from supplytrack.audit.chain import CheckpointError, key_id, signing_keys
from supplytrack.audit.chain_models import AuditCheckpoint
from supplytrack.audit.models import AccessLogEntry, AuditEntity, AuditLog, TaskInstanceHistory
from supplytrack.auth.models import ApiToken
from supplytrack.bulk.models import BulkOperation
from supplytrack.calendars.models import ProjectCalendar, ProjectHoliday
from supplytrack.core.backup import file_digest
from supplytrack.core.errors import NotFound
from supplytrack.core.identity import Actor
from supplytrack.core.settings import Settings
from supplytrack.core.time import utcnow
from supplytrack.projects.models import Project
from supplytrack.reports.files import csv_bool, formula_safe
from supplytrack.suppliers.models import Supplier, SupplierProject
from supplytrack.tasks.models import TaskInstance
from supplytrack.templates.models import TaskTemplate

FORMAT = "supplytrack-export/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
_BATCH = 2000

T = TaskInstance
H = TaskInstanceHistory


@dataclass(frozen=True, slots=True)
class Scope:
    """What a bundle holds: one project's records, or one supplier's."""

    kind: str  # "project" or "supplier"
    id: int


@dataclass(slots=True)
class _Heads:
    """The digest of each exported chain's newest row (key, id, hash), chain by chain."""

    digest: Any = field(default_factory=lambda: hashlib.sha256(b"export-heads/1"))
    chains: int = 0
    rows: int = 0
    current: str | None = None
    head: tuple[int, str | None] | None = None

    def add(self, chain: str, row_id: int, row_hash: str | None) -> None:
        self.rows += 1
        if chain != self.current:
            self._flush()
            self.current = chain
            self.chains += 1
        self.head = (row_id, row_hash)

    def _flush(self) -> None:
        if self.current is not None and self.head is not None:
            self.digest.update(f"\n{self.current}|{self.head[0]}|{self.head[1]}".encode())

    def done(self) -> dict[str, Any]:
        self._flush()
        self.current = None
        return {"chains": self.chains, "rows": self.rows, "digest": self.digest.hexdigest()}


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str | dict | list):
        return value
    return str(getattr(value, "value", value))


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return csv_bool(value)
    if isinstance(value, dict | list):
        return formula_safe(json.dumps(value, sort_keys=True, separators=(",", ":")))
    plain = _jsonable(value)
    return formula_safe(plain) if isinstance(plain, str) else plain


class _Dataset:
    """One dataset written as ``<name>.csv`` and ``<name>.json`` side by side, row by row."""

    def __init__(self, directory: Path, name: str, columns: Sequence[str]) -> None:
        self.name = name
        self.columns = list(columns)
        self.paths = (directory / f"{name}.csv", directory / f"{name}.json")
        self._csv: IO[str] = open(self.paths[0], "w", encoding="utf-8", newline="")  # noqa: SIM115
        self._json: IO[str] = open(self.paths[1], "w", encoding="utf-8")  # noqa: SIM115
        self._writer = csv.writer(self._csv, lineterminator="\r\n")
        self._writer.writerow(self.columns)
        self._json.write("[")
        self.rows = 0

    def add(self, values: Sequence[Any]) -> None:
        self._writer.writerow([_cell(value) for value in values])
        record = {name: _jsonable(value) for name, value in zip(self.columns, values, strict=True)}
        self._json.write(("\n" if self.rows == 0 else ",\n") + json.dumps(record, sort_keys=True))
        self.rows += 1

    def close(self) -> None:
        self._json.write("\n]\n" if self.rows else "]\n")
        self._csv.close()
        self._json.close()


def _file_entry(path: Path, rows: int) -> dict[str, Any]:
    size, digest = file_digest(path)
    return {"name": path.name, "sha256": digest, "bytes": size, "rows": rows}


def _columns(model: Any) -> list[str]:
    return [column.name for column in model.__table__.columns]


def _stream(session: Session, stmt: Select[Any]) -> Iterator[Sequence[Any]]:
    # Per statement: Connection.execution_options() would leave the session's connection
    # streaming every later statement (an INSERT through a server-side cursor fails).
    options = {"stream_results": True, "yield_per": _BATCH}
    yield from session.connection().execute(stmt, execution_options=options)


def sign_manifest(data: bytes, key: str) -> dict[str, str]:
    """The detached signature of a manifest's bytes."""
    return {
        "algorithm": "HMAC-SHA256",
        "keyId": key_id(key),
        "signature": hmac.new(key.encode(), data, hashlib.sha256).hexdigest(),
    }


class BundleWriter:
    """Writes the bundle of one scope for one actor (an admin or the system)."""

    def __init__(self, session: Session, actor: Actor, settings: Settings) -> None:
        self.session = session
        self.actor = actor
        self.settings = settings

    # What is in scope ---------------------------------------------------------------------

    def _label(self, scope: Scope) -> dict[str, Any]:
        model: Any = Project if scope.kind == "project" else Supplier
        row = self.session.get(model, scope.id)
        if row is None:
            raise NotFound(scope.kind, scope.id)
        return {"kind": scope.kind, "id": scope.id, "code": row.code, "name": row.name}

    @staticmethod
    def _instances(scope: Scope) -> Any:
        return T.project_id == scope.id if scope.kind == "project" else T.supplier_id == scope.id

    def _project_ids(self, scope: Scope) -> Any:
        if scope.kind == "project":
            return [scope.id]
        return select(SupplierProject.project_id).where(SupplierProject.supplier_id == scope.id)

    def _supplier_ids(self, scope: Scope) -> Any:
        if scope.kind == "supplier":
            return [scope.id]
        return select(SupplierProject.supplier_id).where(SupplierProject.project_id == scope.id)

    def _audit_scope(self, scope: Scope) -> Any:
        """The audit rows about the scope's objects.

        The object itself and, by id, its milestones, assignments, instances, calendars, bulk
        operations and (a supplier's) tokens; objects deleted already are found by their
        created and deleted rows, which name the project or supplier they belonged to.
        """
        a = AuditLog
        marker = f'"{scope.kind}Id":{scope.id}'
        whole = or_(
            a.new_value.contains(marker + ",", autoescape=True),
            a.new_value.contains(marker + "}", autoescape=True),
            a.old_value.contains(marker + ",", autoescape=True),
            a.old_value.contains(marker + "}", autoescape=True),
        )
        kinds = [AuditEntity.ASSIGNMENT, AuditEntity.INSTANCE]
        conditions = [
            and_(a.entity == AuditEntity(scope.kind.upper()), a.entity_id == scope.id),
            and_(
                a.entity == AuditEntity.ASSIGNMENT,
                a.entity_id.in_(
                    select(SupplierProject.id).where(
                        SupplierProject.project_id == scope.id
                        if scope.kind == "project"
                        else SupplierProject.supplier_id == scope.id
                    )
                ),
            ),
            and_(
                a.entity == AuditEntity.INSTANCE,
                a.entity_id.in_(select(T.id).where(self._instances(scope))),
            ),
        ]
        if scope.kind == "project":
            kinds.append(AuditEntity.TEMPLATE)
            conditions += [
                and_(a.entity == AuditEntity.CALENDAR, a.entity_id == scope.id),
                and_(
                    a.entity == AuditEntity.TEMPLATE,
                    a.entity_id.in_(
                        select(TaskTemplate.id).where(TaskTemplate.project_id == scope.id)
                    ),
                ),
                and_(
                    a.entity == AuditEntity.OPERATION,
                    a.entity_id.in_(
                        select(BulkOperation.id).where(BulkOperation.project_id == scope.id)
                    ),
                ),
            ]
        else:
            kinds.append(AuditEntity.TOKEN)
            conditions.append(
                and_(
                    a.entity == AuditEntity.TOKEN,
                    a.entity_id.in_(select(ApiToken.id).where(ApiToken.supplier_id == scope.id)),
                )
            )
        conditions.append(and_(a.entity.in_(kinds), a.field.in_(("created", "deleted")), whole))
        return or_(false(), *conditions)

    def _access_scope(self, scope: Scope) -> Any:
        """A supplier's requests; for a project, its suppliers' requests that name it.

        A supplier's requests about other projects are its business with other customers:
        a project's bundle holds the ones whose path or query names this project (its own
        routes, and ``projectId=``); reads of single instances by id are in the supplier's
        bundle.
        """
        e = AccessLogEntry
        if scope.kind == "supplier":
            return e.supplier_id == scope.id
        return and_(e.supplier_id.in_(self._supplier_ids(scope)), about_project(scope.id))

    # Writing ------------------------------------------------------------------------------

    def _dataset(
        self,
        directory: Path,
        name: str,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        heads: tuple[_Heads, Sequence[int]] | None = None,
    ) -> dict[str, Any]:
        dataset = _Dataset(directory, name, columns)
        try:
            for row in rows:
                dataset.add(row)
                if heads is not None:
                    tracker, key_at = heads
                    chain = "|".join(str(row[index]) for index in key_at)
                    tracker.add(
                        chain, int(row[columns.index("id")]), row[columns.index("row_hash")]
                    )
        finally:
            dataset.close()
        return {
            "rows": dataset.rows,
            "files": [_file_entry(path, dataset.rows) for path in dataset.paths],
        }

    def _key(self) -> str:
        if self.settings.audit_signing_key is None:
            msg = "AUDIT_SIGNING_KEY is not set: the bundle's manifest is signed with it"
            raise CheckpointError(msg, code="AUDIT_KEY_MISSING", status=409)
        return self.settings.audit_signing_key.get_secret_value()

    def write(self, scope: Scope, target: Path) -> dict[str, Any]:
        """Write the bundle to ``target`` (a .zip path); returns the manifest."""
        key = self._key()
        label = self._label(scope)
        directory = Path(tempfile.mkdtemp(prefix="supplytrack-export-"))
        try:
            manifest = self._write_files(scope, label, directory)
            _seal(manifest, key, directory, target)
            return manifest
        finally:
            shutil.rmtree(directory, ignore_errors=True)

    def write_access_log(self, cutoff: datetime, target: Path) -> dict[str, Any]:
        """A bundle of the access-log entries a prune before ``cutoff`` deletes (retention)."""
        key = self._key()
        directory = Path(tempfile.mkdtemp(prefix="supplytrack-export-"))
        try:
            access = (
                select(*AccessLogEntry.__table__.columns)
                .where(prunable(cutoff, held_projects(self.session)))
                .order_by(AccessLogEntry.id)
            )
            files = self._dataset(
                directory, "access_log", _columns(AccessLogEntry), _stream(self.session, access)
            )["files"]
            manifest = {
                "format": FORMAT,
                "scope": {"kind": "access-log", "before": _jsonable(cutoff)},
                "createdAt": _jsonable(utcnow()),
                "createdBy": self.actor.label,
                "files": files,
                "chainHeads": {},
                "checkpoint": None,
            }
            _seal(manifest, key, directory, target)
            return manifest
        finally:
            shutil.rmtree(directory, ignore_errors=True)

    def _write_files(self, scope: Scope, label: dict[str, Any], directory: Path) -> dict[str, Any]:
        files: list[dict[str, Any]] = []
        history_heads, audit_heads = _Heads(), _Heads()
        instance_columns = _columns(T)
        files += self._dataset(
            directory,
            "instances",
            instance_columns,
            _stream(
                self.session,
                select(*T.__table__.columns).where(self._instances(scope)).order_by(T.id),
            ),
        )["files"]
        history_columns = _columns(H)
        history = (
            select(*H.__table__.columns)
            .where(H.task_instance_id.in_(select(T.id).where(self._instances(scope))))
            .order_by(H.task_instance_id, H.id)
        )
        files += self._dataset(
            directory,
            "history",
            history_columns,
            _stream(self.session, history),
            (history_heads, [history_columns.index("task_instance_id")]),
        )["files"]
        audit_columns = _columns(AuditLog)
        audit = (
            select(*AuditLog.__table__.columns)
            .where(self._audit_scope(scope))
            .order_by(AuditLog.entity, AuditLog.entity_id, AuditLog.id)
        )
        files += self._dataset(
            directory,
            "audit_log",
            audit_columns,
            _stream(self.session, audit),
            (audit_heads, [audit_columns.index("entity"), audit_columns.index("entity_id")]),
        )["files"]
        access = (
            select(*AccessLogEntry.__table__.columns)
            .where(self._access_scope(scope))
            .order_by(AccessLogEntry.id)
        )
        files += self._dataset(
            directory, "access_log", _columns(AccessLogEntry), _stream(self.session, access)
        )["files"]
        projects = self._project_ids(scope)
        files += self._dataset(
            directory,
            "calendars",
            _columns(ProjectCalendar),
            _stream(
                self.session,
                select(*ProjectCalendar.__table__.columns)
                .where(ProjectCalendar.project_id.in_(projects))
                .order_by(ProjectCalendar.project_id),
            ),
        )["files"]
        files += self._dataset(
            directory,
            "holidays",
            _columns(ProjectHoliday),
            _stream(
                self.session,
                select(*ProjectHoliday.__table__.columns)
                .where(ProjectHoliday.project_id.in_(projects))
                .order_by(ProjectHoliday.project_id, ProjectHoliday.day),
            ),
        )["files"]
        newest = self.session.scalars(
            select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1)
        ).first()
        return {
            "format": FORMAT,
            "scope": label,
            "createdAt": _jsonable(utcnow()),
            "createdBy": self.actor.label,
            "files": files,
            "chainHeads": {
                "task_instance_history": history_heads.done(),
                "audit_log": audit_heads.done(),
            },
            "checkpoint": None
            if newest is None
            else {
                "id": newest.id,
                "createdAt": _jsonable(newest.created_at),
                "historyBoundary": newest.history_boundary,
                "auditBoundary": newest.audit_boundary,
                "signature": newest.signature,
                "keyId": newest.key_id,
            },
        }


def _seal(manifest: dict[str, Any], key: str, directory: Path, target: Path) -> None:
    """Zip the files with the signed manifest: owner-only, synced, then moved into place."""
    data = json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n"
    signature = json.dumps(sign_manifest(data, key), indent=2, sort_keys=True).encode()
    partial = target.with_name(target.name + ".partial")
    handle = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(handle, "wb") as raw:
            with zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
                for entry in manifest["files"]:
                    bundle.write(directory / entry["name"], entry["name"])
                bundle.writestr(MANIFEST, data)
                bundle.writestr(SIGNATURE, signature + b"\n")
            raw.flush()
            os.fsync(raw.fileno())
        os.chmod(partial, 0o600)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    # The move itself on disk too: retention deletes once this returns.
    folder = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


# Verifying a bundle ----------------------------------------------------------------------


def verify_bundle(path: Path, settings: Settings) -> list[str]:
    """What is wrong with a bundle (empty: its signature and every file check out)."""
    try:
        bundle = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as error:
        return [f"not a readable bundle: {error}"]
    with bundle:
        try:
            return _check(bundle, settings)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as error:
            return [f"the bundle is damaged: {error}"]


def _check(bundle: zipfile.ZipFile, settings: Settings) -> list[str]:
    problems: list[str] = []
    names = set(bundle.namelist())
    if MANIFEST not in names or SIGNATURE not in names:
        return [f"{MANIFEST} or {SIGNATURE} is missing"]
    data = bundle.read(MANIFEST)
    try:
        signed = json.loads(bundle.read(SIGNATURE))
        manifest = json.loads(data)
    except ValueError as error:
        return [f"the manifest or its signature is not JSON: {error}"]
    if not isinstance(signed, dict) or not isinstance(manifest, dict):
        return ["the manifest or its signature is not a JSON object"]
    key = signing_keys(settings).get(str(signed.get("keyId")))
    if key is None:
        problems.append(f"signing key {signed.get('keyId')} is not configured (AUDIT_SIGNING_KEY)")
    elif not hmac.compare_digest(
        sign_manifest(data, key)["signature"], str(signed.get("signature"))
    ):
        problems.append("the manifest's signature is invalid: the manifest was changed")
    if manifest.get("format") != FORMAT:
        problems.append(f"unknown format {manifest.get('format')!r}")
    entries = manifest.get("files")
    if not isinstance(entries, list) or not all(
        isinstance(entry, dict)
        and isinstance(entry.get("name"), str)
        and isinstance(entry.get("sha256"), str)
        and isinstance(entry.get("bytes"), int)
        for entry in entries
    ):
        return [*problems, "the manifest's file list is malformed"]
    listed = {entry["name"]: entry for entry in entries}
    problems.extend(
        f"{extra}: not in the manifest"
        for extra in sorted(names - set(listed) - {MANIFEST, SIGNATURE})
    )
    for name, entry in sorted(listed.items()):
        if name not in names:
            problems.append(f"{name}: listed in the manifest but missing")
            continue
        digest, size = hashlib.sha256(), 0
        try:
            with bundle.open(name) as handle:
                while chunk := handle.read(1 << 16):
                    digest.update(chunk)
                    size += len(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError):
            problems.append(f"{name}: damaged in the zip (changed)")
            continue
        if digest.hexdigest() != entry["sha256"] or size != entry["bytes"]:
            problems.append(f"{name}: its SHA-256 is not the manifest's (changed)")
    return problems
