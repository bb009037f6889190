"""The regulatory export (issue 13 item 4): one signed bundle, and `export verify` that checks it.

A bundle is made from a small demo set by the CLI and by the admin endpoint; its files must
hold exactly the scope's rows, its manifest their SHA-256, and any change to a file, to the
manifest or to the key must be named by `export verify`.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from supplytrack.audit.models import AccessLogEntry, TaskInstanceHistory
from supplytrack.auth.service import USAGE, TokenService
from supplytrack.cli import app as cli
from supplytrack.core.db import Database
from supplytrack.core.identity import Role, system_actor
from supplytrack.core.settings import get_settings
from supplytrack.core.time import utcnow
from supplytrack.demo.generator import load_demo_data
from supplytrack.demo.plan import Scale
from supplytrack.flows.bundle import MANIFEST, SIGNATURE, verify_bundle
from supplytrack.main import create_app
from supplytrack.tasks.models import TaskInstance
from tests.fixtures.database import DatabaseFactory, settings_for

KEY = "e" * 40
TINY = Scale("tiny", 1, 4, (5, 5), (3, 3), 5_000)


@pytest.fixture
def demo(database_factory: DatabaseFactory) -> Iterator[Database]:
    """A database of its own with a small demo set (instances with history)."""
    url = database_factory.fresh("bundle")
    database = Database(settings_for(url, redis_url=None, audit_signing_key=KEY))
    load_demo_data(database, TINY, 3, date(2026, 6, 1))
    yield database
    database.dispose()


@pytest.fixture
def environment(demo: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    """The CLI's settings point at the demo database, with the signing key."""
    monkeypatch.setenv("DATABASE_URL", demo.settings.database_url)
    monkeypatch.setenv("AUDIT_SIGNING_KEY", KEY)
    monkeypatch.delenv("REDIS_URL", raising=False)
    get_settings.cache_clear()
    yield demo  # type: ignore[misc]
    get_settings.cache_clear()


def _export(tmp_path: Path, *scope: str) -> Path:
    target = tmp_path / "bundle.zip"
    done = CliRunner().invoke(cli, ["export", *scope, "--out", str(target)])
    assert done.exit_code == 0, done.output
    return target


def _rewrite(source: Path, target: Path, name: str, change: Any) -> None:
    """A copy of the bundle with one member's bytes changed."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for member in old.namelist():
            data = old.read(member)
            new.writestr(member, change(data) if member == name else data)


def _csv(bundle: Path, name: str) -> list[dict[str, str]]:
    with zipfile.ZipFile(bundle) as opened:
        text = opened.read(name).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_a_project_bundle_holds_its_rows_and_verifies(
    environment: Database, tmp_path: Path
) -> None:
    bundle = _export(tmp_path, "--project", "1")
    with environment.session_scope(write=False) as session:
        instances = session.scalar(
            select(func.count()).select_from(TaskInstance).where(TaskInstance.project_id == 1)
        )
        history = session.scalar(
            select(func.count())
            .select_from(TaskInstanceHistory)
            .join(TaskInstance, TaskInstance.id == TaskInstanceHistory.task_instance_id)
            .where(TaskInstance.project_id == 1)
        )
        chains = session.scalar(
            select(func.count(func.distinct(TaskInstanceHistory.task_instance_id)))
            .join(TaskInstance, TaskInstance.id == TaskInstanceHistory.task_instance_id)
            .where(TaskInstance.project_id == 1)
        )
    assert instances, "the demo set made no instances"
    assert history, "the demo set made no history"
    with zipfile.ZipFile(bundle) as opened:
        manifest = json.loads(opened.read(MANIFEST))
        names = set(opened.namelist())
        rows = json.loads(opened.read("instances.json"))
    assert manifest["scope"]["kind"] == "project"
    assert manifest["scope"]["id"] == 1
    assert manifest["createdBy"] == system_actor("cli").label
    counted = {entry["name"]: entry["rows"] for entry in manifest["files"]}
    assert counted["instances.csv"] == counted["instances.json"] == instances
    assert counted["history.csv"] == history
    assert names == {entry["name"] for entry in manifest["files"]} | {MANIFEST, SIGNATURE}
    assert {row["project_id"] for row in rows} == {1}
    assert len(_csv(bundle, "history.csv")) == history
    assert all(row["row_hash"] for row in _csv(bundle, "history.csv"))
    heads = manifest["chainHeads"]["task_instance_history"]
    assert (heads["rows"], heads["chains"]) == (history, chains)
    done = CliRunner().invoke(cli, ["export", "verify", str(bundle)])
    assert done.exit_code == 0, done.output
    assert "ok" in done.output


def test_a_supplier_bundle_holds_only_that_supplier(environment: Database, tmp_path: Path) -> None:
    with environment.session_scope(write=False) as session:
        supplier = session.scalars(select(TaskInstance.supplier_id).limit(1)).one()
        theirs = set(
            session.scalars(select(TaskInstance.id).where(TaskInstance.supplier_id == supplier))
        )
    bundle = _export(tmp_path, "--supplier", str(supplier))
    assert {row["supplier_id"] for row in _csv(bundle, "instances.csv")} == {str(supplier)}
    assert len(_csv(bundle, "instances.csv")) == len(theirs)
    assert {int(row["task_instance_id"]) for row in _csv(bundle, "history.csv")} <= theirs
    assert verify_bundle(bundle, environment.settings) == []


def test_verify_names_a_changed_file_a_changed_manifest_and_an_unknown_key(
    environment: Database, tmp_path: Path
) -> None:
    bundle = _export(tmp_path, "--project", "1")
    changed = tmp_path / "changed.zip"
    _rewrite(bundle, changed, "history.csv", lambda data: data.replace(b"APPROVED", b"REJECTED"))
    assert verify_bundle(changed, environment.settings) == [
        "history.csv: its SHA-256 is not the manifest's (changed)"
    ]
    forged = tmp_path / "forged.zip"

    def rehash(data: bytes) -> bytes:
        manifest = json.loads(data)
        manifest["createdBy"] = "someone else"
        return json.dumps(manifest).encode()

    _rewrite(bundle, forged, MANIFEST, rehash)
    assert verify_bundle(forged, environment.settings) == [
        "the manifest's signature is invalid: the manifest was changed"
    ]
    other = environment.settings.model_copy(update={"audit_signing_key": None})
    assert verify_bundle(bundle, other)[0].startswith("signing key ")
    done = CliRunner().invoke(cli, ["export", "verify", str(changed)])
    assert done.exit_code == 1
    assert "history.csv" in done.output
    assert verify_bundle(tmp_path / "missing.zip", environment.settings)[0].startswith(
        "not a readable bundle"
    )


def test_the_cli_refuses_a_bad_scope(environment: Database, tmp_path: Path) -> None:
    runner = CliRunner()
    both = runner.invoke(cli, ["export", "--project", "1", "--supplier", "1"])
    assert both.exit_code == 2
    missing = runner.invoke(
        cli, ["export", "--project", "999999", "--out", str(tmp_path / "x.zip")]
    )
    assert missing.exit_code == 2
    assert not (tmp_path / "x.zip").exists()


def test_the_admin_endpoint_streams_a_bundle_others_may_not(demo: Database, tmp_path: Path) -> None:
    with demo.session_scope() as session:
        _, admin = TokenService(session).create("bundle-admin", Role.ADMIN, None)
        _, manager = TokenService(session).create("bundle-manager", Role.MANAGER, None)
    USAGE.forget()
    with TestClient(create_app(demo.settings, demo)) as client:
        answer = client.get(
            "/api/exports/bundle",
            params={"supplierId": 1},
            headers={"Authorization": f"Bearer {admin}"},
        )
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/zip"
        saved = tmp_path / "api.zip"
        saved.write_bytes(answer.content)
        assert verify_bundle(saved, demo.settings) == []
        with zipfile.ZipFile(saved) as opened:
            assert json.loads(opened.read(MANIFEST))["createdBy"] == "admin:bundle-admin"
        forbidden = client.get(
            "/api/exports/bundle",
            params={"supplierId": 1},
            headers={"Authorization": f"Bearer {manager}"},
        )
        assert forbidden.status_code == 403
        both = client.get(
            "/api/exports/bundle",
            params={"supplierId": 1, "projectId": 1},
            headers={"Authorization": f"Bearer {admin}"},
        )
        assert both.status_code == 422
        assert both.json()["error"]["code"] == "EXPORT_SCOPE"
        missing = client.get(
            "/api/exports/bundle",
            params={"projectId": 999_999},
            headers={"Authorization": f"Bearer {admin}"},
        )
        assert missing.status_code == 404
    keyless = demo.settings.model_copy(update={"audit_signing_key": None})
    with TestClient(create_app(keyless, demo)) as client:
        refused = client.get(
            "/api/exports/bundle",
            params={"projectId": 1},
            headers={"Authorization": f"Bearer {admin}"},
        )
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "AUDIT_KEY_MISSING"


def _log_entry(supplier: int, target: str) -> AccessLogEntry:
    return AccessLogEntry(
        at=utcnow(),
        token_id=None,
        role="supplier",
        supplier_id=supplier,
        method="GET",
        route=target.split("?", maxsplit=1)[0],
        target=target,
        status=200,
        request_id=f"r-{supplier}-{len(target)}",
    )


def test_a_bundle_holds_no_other_suppliers_or_projects_records(
    environment: Database, tmp_path: Path
) -> None:
    with environment.session_scope() as session:
        supplier, project = session.execute(
            select(TaskInstance.supplier_id, TaskInstance.project_id).limit(1)
        ).one()
        other = session.scalars(
            select(TaskInstance.supplier_id).where(TaskInstance.supplier_id != supplier).limit(1)
        ).one()
        session.add_all(
            [
                _log_entry(supplier, f"/api/projects/{project}/calendar"),
                _log_entry(supplier, f"/api/task-instances?projectId={project}"),
                _log_entry(supplier, "/api/projects/999999/calendar"),  # another customer's
                _log_entry(other, "/api/suppliers"),
            ]
        )
    theirs = _csv(_export(tmp_path, "--supplier", str(supplier)), "access_log.csv")
    assert {row["supplier_id"] for row in theirs} == {str(supplier)}
    assert len(theirs) == 3
    audited = _csv(tmp_path / "bundle.zip", "audit_log.csv")
    assert {row["entity"] for row in audited} <= {"SUPPLIER", "ASSIGNMENT", "INSTANCE", "TOKEN"}
    projects = _csv(_export(tmp_path, "--project", str(project)), "access_log.csv")
    assert sorted(row["target"] for row in projects) == sorted(
        [f"/api/projects/{project}/calendar", f"/api/task-instances?projectId={project}"]
    )


def test_verify_reports_a_damaged_or_malformed_bundle_and_the_cli_a_bad_path(
    environment: Database, tmp_path: Path
) -> None:
    bundle = _export(tmp_path, "--project", "1")
    raw = bytearray(bundle.read_bytes())
    with zipfile.ZipFile(bundle) as opened:
        member = opened.getinfo("history.csv")
    # A byte of the stored data itself (past the local header): the CRC no longer matches.
    at = member.header_offset + 30 + len(member.filename) + 5
    raw[at] ^= 0xFF
    damaged = tmp_path / "damaged.zip"
    damaged.write_bytes(bytes(raw))
    problems = verify_bundle(damaged, environment.settings)
    assert problems, "a flipped byte went unnoticed"
    assert all("history.csv" in problem or "damaged" in problem for problem in problems)
    odd = tmp_path / "odd.zip"
    _rewrite(bundle, odd, SIGNATURE, lambda _data: b"[1, 2]")
    assert verify_bundle(odd, environment.settings) == [
        "the manifest or its signature is not a JSON object"
    ]
    missing = CliRunner().invoke(
        cli, ["export", "--project", "1", "--out", str(tmp_path / "no" / "such" / "x.zip")]
    )
    assert missing.exit_code == 2
    assert not list(tmp_path.glob("no/**/*"))
